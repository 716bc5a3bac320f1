#include "signaling/admin/webhooks.hpp"

#include <curl/curl.h>
#include <nettle/hmac.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "core/runtime/log.hpp"

namespace partyline::signaling::admin {

namespace {

struct CurlEasyFree {
  void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
struct CurlListFree {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
struct CurlMultiFree {
  void operator()(CURLM* multi) const { curl_multi_cleanup(multi); }
};
using CurlEasy = std::unique_ptr<CURL, CurlEasyFree>;
using CurlList = std::unique_ptr<curl_slist, CurlListFree>;
using CurlMulti = std::unique_ptr<CURLM, CurlMultiFree>;

// The longest the delivery thread sleeps without looking at its clock.
constexpr int kMaxWaitMs = 1000;

std::once_flag curl_initialized;

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

size_t discard_body(char*, size_t size, size_t count, void*) { return size * count; }

CurlList request_headers(const WebhookEvent& event) {
  CurlList list;
  for (const std::string& line : {std::string("Content-Type: application/json"), "X-Partyline-Event: " + event.type,
                                  "X-Partyline-Signature: " + event.signature,
                                  "X-Partyline-Delivery: " + std::to_string(event.id),
                                  std::string("Expect:")}) {  // no 100-continue round trip
    curl_slist* longer = curl_slist_append(list.get(), line.c_str());
    if (longer == nullptr) return nullptr;
    list.release();
    list.reset(longer);
  }
  return list;
}

}  // namespace

WebhookOptions webhook_options(const core::Config::Webhooks& config) {
  WebhookOptions options;
  options.urls = config.urls;
  options.secret = config.secret;
  options.policy.capacity = config.queue_size;
  options.policy.max_attempts = config.max_attempts;
  options.policy.retry_delay_ms = config.retry_delay_ms;
  options.timeout_ms = config.timeout_ms;
  return options;
}

std::string webhook_body(std::string_view type, uint64_t id, int64_t unix_ms, json_t* fields) {
  core::JsonPtr body = core::adopt_json(json_object());
  json_object_set_new(body.get(), "event", json_stringn(type.data(), type.size()));
  json_object_set_new(body.get(), "id", json_integer(static_cast<json_int_t>(id)));
  json_object_set_new(body.get(), "timestamp", json_integer(unix_ms));
  if (json_is_object(fields)) json_object_update_missing(body.get(), fields);
  return core::dump_json(body.get());
}

std::string webhook_signature(std::string_view secret, std::string_view body) {
  hmac_sha256_ctx context;
  hmac_sha256_set_key(&context, secret.size(), reinterpret_cast<const uint8_t*>(secret.data()));
  hmac_sha256_update(&context, body.size(), reinterpret_cast<const uint8_t*>(body.data()));
  uint8_t digest[SHA256_DIGEST_SIZE];
  hmac_sha256_digest(&context, sizeof digest, digest);
  std::string signature = "sha256=";
  static constexpr char kHex[] = "0123456789abcdef";
  for (uint8_t byte : digest) {
    signature.push_back(kHex[byte >> 4]);
    signature.push_back(kHex[byte & 15]);
  }
  return signature;
}

// libcurl's side: one multi handle, an easy handle per attempt in flight.
// The delivery thread only, except wake().
class WebhookSender::Delivery {
 public:
  struct Finished {
    WebhookQueue::Attempt attempt;
    bool delivered = false;
    std::string why;  // when not: "HTTP 503", or libcurl's error
  };

  Delivery() : multi_(curl_multi_init()) {}
  ~Delivery() {
    for (const auto& transfer : transfers_) curl_multi_remove_handle(multi_.get(), transfer->easy.get());
  }
  bool ready() const { return multi_ != nullptr; }

  // Any thread: makes wait() return now (or the next one, at once).
  void wake() { curl_multi_wakeup(multi_.get()); }

  // Starts the POST; an error text when libcurl could not even set it up.
  std::optional<std::string> start(WebhookQueue::Attempt attempt, const std::string& url, long timeout_ms);
  // Drives the transfers; returns those that ended.
  std::vector<Finished> perform();
  void wait(int timeout_ms) { curl_multi_poll(multi_.get(), nullptr, 0, timeout_ms, nullptr); }

 private:
  struct Transfer {
    WebhookQueue::Attempt attempt;
    CurlEasy easy;
    CurlList headers;
    char error[CURL_ERROR_SIZE] = {};
  };

  CurlMulti multi_;
  std::vector<std::unique_ptr<Transfer>> transfers_;
};

std::optional<std::string> WebhookSender::Delivery::start(WebhookQueue::Attempt attempt, const std::string& url,
                                                          long timeout_ms) {
  auto transfer = std::make_unique<Transfer>();
  transfer->easy.reset(curl_easy_init());
  transfer->headers = request_headers(*attempt.event);
  if (!transfer->easy || !transfer->headers) return "out of memory";
  CURL* easy = transfer->easy.get();
  const WebhookEvent& event = *attempt.event;
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_POST, 1L);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, event.body.data());  // the event outlives the transfer
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(event.body.size()));
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, transfer->headers.get());
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "partyline/" PARTYLINE_VERSION);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard_body);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer->error);
  curl_easy_setopt(easy, CURLOPT_PRIVATE, transfer.get());
  if (CURLMcode added = curl_multi_add_handle(multi_.get(), easy); added != CURLM_OK) {
    return std::string(curl_multi_strerror(added));
  }
  transfer->attempt = std::move(attempt);
  transfers_.push_back(std::move(transfer));
  return std::nullopt;
}

std::vector<WebhookSender::Delivery::Finished> WebhookSender::Delivery::perform() {
  int running = 0;
  curl_multi_perform(multi_.get(), &running);
  std::vector<Finished> finished;
  int left = 0;
  while (CURLMsg* message = curl_multi_info_read(multi_.get(), &left)) {
    if (message->msg != CURLMSG_DONE) continue;
    Transfer* transfer = nullptr;
    curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &transfer);
    Finished done;
    done.attempt = std::move(transfer->attempt);
    long status = 0;
    curl_easy_getinfo(message->easy_handle, CURLINFO_RESPONSE_CODE, &status);
    if (message->data.result != CURLE_OK) {
      done.why = transfer->error[0] != '\0' ? transfer->error : curl_easy_strerror(message->data.result);
    } else if (status < 200 || status > 299) {
      done.why = "HTTP " + std::to_string(status);
    } else {
      done.delivered = true;
    }
    curl_multi_remove_handle(multi_.get(), message->easy_handle);
    std::erase_if(transfers_, [transfer](const auto& candidate) { return candidate.get() == transfer; });
    finished.push_back(std::move(done));
  }
  return finished;
}

WebhookSender::WebhookSender(WebhookOptions options)
    : options_(std::move(options)), queue_(options_.policy, options_.urls.size()) {
  std::call_once(curl_initialized, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  delivery_ = std::make_unique<Delivery>();
  if (!delivery_->ready()) {
    PL_LOG(kError, "webhooks") << "libcurl could not start: no event will be delivered";
    return;
  }
  thread_ = std::thread([this] { run(); });
}

WebhookSender::~WebhookSender() {
  stopping_ = true;
  if (thread_.joinable()) {
    delivery_->wake();
    thread_.join();
  }
  std::lock_guard lock(mutex_);
  if (queue_.size() > 0) {
    PL_LOG(kInfo, "webhooks") << "stopped: " << queue_.size() << " queued event(s) not delivered";
  }
}

void WebhookSender::on_call_event(std::string_view type, core::JsonPtr fields) {
  auto event = std::make_shared<WebhookEvent>();
  event->id = ++last_id_;
  event->type = type;
  event->body = webhook_body(type, event->id, unix_ms(), fields.get());
  event->signature = webhook_signature(options_.secret, event->body);
  bool queued = false;
  {
    std::lock_guard lock(mutex_);
    queued = queue_.push(std::move(event));
  }
  if (!queued) {
    ++counters_.dropped_queue_full;
    if (!dropping_) {
      PL_LOG(kWarn, "webhooks") << "queue full (queue_size " << queue_.capacity() << "): dropping events";
    }
    dropping_ = true;
    return;
  }
  dropping_ = false;
  ++counters_.queued;
  if (thread_.joinable()) delivery_->wake();
}

WebhookCounts WebhookSender::counts() const {
  WebhookCounts counts;
  counts.queued = counters_.queued.load();
  counts.delivered = counters_.delivered.load();
  counts.retries = counters_.retries.load();
  counts.dropped_queue_full = counters_.dropped_queue_full.load();
  counts.dropped_after_retries = counters_.dropped_after_retries.load();
  return counts;
}

void WebhookSender::run() {
  while (!stopping_) {
    std::vector<WebhookQueue::Attempt> due;
    std::optional<int64_t> wakeup_ms;
    {
      std::lock_guard lock(mutex_);
      const int64_t now_ms = steady_ms();
      while (auto attempt = queue_.next_attempt(now_ms)) due.push_back(std::move(*attempt));
      wakeup_ms = queue_.next_wakeup_ms();
    }
    std::vector<Delivery::Finished> finished;
    for (WebhookQueue::Attempt& attempt : due) {
      if (attempt.number > 1) ++counters_.retries;
      const std::string& url = options_.urls[attempt.url];
      if (auto error = delivery_->start(attempt, url, options_.timeout_ms)) finished.push_back({attempt, false, *error});
    }
    for (Delivery::Finished& done : delivery_->perform()) finished.push_back(std::move(done));
    for (const Delivery::Finished& done : finished) finish(done.attempt, done.delivered, done.why);
    if (!finished.empty()) continue;  // the next events may be due now
    const int64_t wait_ms = wakeup_ms ? std::clamp<int64_t>(*wakeup_ms - steady_ms(), 0, kMaxWaitMs) : kMaxWaitMs;
    delivery_->wait(static_cast<int>(wait_ms));
  }
}

void WebhookSender::finish(const WebhookQueue::Attempt& attempt, bool delivered, const std::string& why) {
  WebhookQueue::Outcome outcome;
  {
    std::lock_guard lock(mutex_);
    outcome = queue_.finish(attempt.url, delivered, steady_ms());
  }
  const WebhookEvent& event = *attempt.event;
  switch (outcome) {
    case WebhookQueue::Outcome::kDelivered:
      ++counters_.delivered;
      break;
    case WebhookQueue::Outcome::kRetryLater:
      PL_LOG(kDebug, "webhooks") << "event " << event.id << " (" << event.type << ") to URL #" << attempt.url + 1
                                 << ", attempt " << attempt.number << ": " << why << "; will retry";
      break;
    case WebhookQueue::Outcome::kGivenUp:
      ++counters_.dropped_after_retries;
      PL_LOG(kWarn, "webhooks") << "event " << event.id << " (" << event.type << ") to URL #" << attempt.url + 1
                                << " dropped after " << attempt.number << " attempts: " << why;
      break;
  }
}

}  // namespace partyline::signaling::admin
