#include "signaling/admin/webhooks.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <thread>

namespace partyline::signaling::admin {
namespace {

using std::chrono::steady_clock;

TEST(WebhookSignature, MatchesRfc4231) {
  // RFC 4231, test cases 1 and 2 (HMAC-SHA-256).
  EXPECT_EQ(webhook_signature(std::string(20, '\x0b'), "Hi There"),
            "sha256=b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(webhook_signature("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // A key longer than the block (131 bytes), test case 6.
  EXPECT_EQ(webhook_signature(std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First"),
            "sha256=60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(WebhookBody, StampsFirstThenTheEventsFields) {
  core::JsonPtr fields = core::adopt_json(
      json_pack("{s:s, s:s, s:n, s:s}", "line_id", "L1", "session", "S1", "plugin", "event", "spoofed"));
  EXPECT_EQ(webhook_body("joined", 7, 1'700'000'000'123, fields.get()),
            R"({"event":"joined","id":7,"timestamp":1700000000123,"line_id":"L1","session":"S1","plugin":null})");
  EXPECT_EQ(webhook_body("session_down", 1, 5, nullptr), R"({"event":"session_down","id":1,"timestamp":5})");
}

TEST(WebhookOptions, ComeFromTheConfig) {
  core::Config::Webhooks config;
  config.urls = {"http://127.0.0.1:9/a", "https://example.test/b"};
  config.secret = "s";
  config.queue_size = 7;
  config.max_attempts = 3;
  config.retry_delay_ms = 40;
  config.timeout_ms = 900;
  const WebhookOptions options = webhook_options(config);
  EXPECT_EQ(options.urls, config.urls);
  EXPECT_EQ(options.secret, "s");
  EXPECT_EQ(options.policy.capacity, 7u);
  EXPECT_EQ(options.policy.max_attempts, 3u);
  EXPECT_EQ(options.policy.retry_delay_ms, 40);
  EXPECT_EQ(options.timeout_ms, 900);
}

// A port nothing listens on, so connecting is refused at once (loopback).
constexpr const char* kRefusingUrl = "http://127.0.0.1:1/hook";

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds within) {
  const auto deadline = steady_clock::now() + within;
  while (steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a counter with a deadline
  }
  return condition();
}

core::JsonPtr some_fields() { return core::adopt_json(json_pack("{s:s}", "session", "S1")); }

TEST(WebhookSender, RetriesAnUnreachableUrlThenDropsAndCounts) {
  WebhookOptions options;
  options.urls = {kRefusingUrl};
  options.secret = "k";
  options.policy = {10, 3, 10};
  options.timeout_ms = 1000;
  WebhookSender sender(options);
  sender.on_call_event("session_up", some_fields());
  sender.on_call_event("session_down", some_fields());
  ASSERT_TRUE(eventually([&] { return sender.counts().dropped_after_retries == 2; }, std::chrono::seconds(10)))
      << "dropped_after_retries " << sender.counts().dropped_after_retries;
  const WebhookCounts counts = sender.counts();
  EXPECT_EQ(counts.queued, 2u);
  EXPECT_EQ(counts.retries, 4u);  // two retries per event
  EXPECT_EQ(counts.delivered, 0u);
  EXPECT_EQ(counts.dropped_queue_full, 0u);
}

TEST(WebhookSender, AFullQueueDropsAndCountsWithoutWaiting) {
  WebhookOptions options;
  options.urls = {kRefusingUrl};
  options.secret = "k";
  options.policy = {1, 5, 60'000};  // the first event waits a minute for its retry
  WebhookSender sender(options);
  sender.on_call_event("session_up", some_fields());
  ASSERT_TRUE(eventually([&] { return sender.counts().retries == 0 && sender.counts().queued == 1; },
                         std::chrono::seconds(10)));
  const auto started = steady_clock::now();
  for (int i = 0; i < 50; ++i) sender.on_call_event("joined", some_fields());
  EXPECT_LT(steady_clock::now() - started, std::chrono::milliseconds(500));
  EXPECT_EQ(sender.counts().dropped_queue_full, 50u);
  EXPECT_EQ(sender.counts().queued, 1u);
}

TEST(WebhookSender, StopsPromptlyWhileWaitingToRetry) {
  WebhookOptions options;
  options.urls = {kRefusingUrl};
  options.secret = "k";
  options.policy = {10, 30, 1};  // retries after 1, 2, 4, ... ms
  auto sender = std::make_unique<WebhookSender>(options);
  sender->on_call_event("session_up", some_fields());
  // After the 11th retry failed, the next waits 2 s (the thread sleeps at
  // most 1 s at a time: stopping must not wait for that either).
  ASSERT_TRUE(eventually([&] { return sender->counts().retries >= 11; }, std::chrono::seconds(20)));
  const auto started = steady_clock::now();
  sender.reset();
  EXPECT_LT(steady_clock::now() - started, std::chrono::milliseconds(300));
}

// A TCP listener on 127.0.0.1 the test drives by hand.
class Listener {
 public:
  Listener() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 || listen(fd_, 4) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      ADD_FAILURE() << "listener: " << std::strerror(errno);
    }
    port_ = ntohs(address.sin_port);
  }
  ~Listener() { close(fd_); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  // Whether a connection waits to be accepted within `timeout_ms`.
  bool connection_pending(int timeout_ms) const {
    pollfd waiting{fd_, POLLIN, 0};
    return poll(&waiting, 1, timeout_ms) == 1;
  }
  // Accepts one connection, reads one request, answers `status`; the request.
  std::string serve_one(int status) {
    if (!connection_pending(10'000)) return "";
    const int connection = accept(fd_, nullptr, nullptr);
    std::string request;
    char buffer[4096];
    while (!complete(request)) {
      pollfd readable{connection, POLLIN, 0};
      if (poll(&readable, 1, 10'000) != 1) break;
      const ssize_t got = read(connection, buffer, sizeof buffer);
      if (got <= 0) break;
      request.append(buffer, static_cast<size_t>(got));
    }
    const std::string answer =
        "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    (void)!write(connection, answer.data(), answer.size());
    close(connection);
    return request;
  }

 private:
  static bool complete(const std::string& request) {
    const size_t end = request.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    const size_t length_at = request.find("Content-Length: ");
    if (length_at == std::string::npos || length_at > end) return true;
    return request.size() >= end + 4 + std::stoul(request.substr(length_at + 16));
  }

  int fd_ = -1;
  uint16_t port_ = 0;
};

std::string body_of(const std::string& request) { return request.substr(request.find("\r\n\r\n") + 4); }

TEST(WebhookSender, PostsSignedEventsInOrderAndRetriesNon2xx) {
  Listener receiver;
  WebhookOptions options;
  options.urls = {receiver.url()};
  options.secret = "webhook-secret";
  options.policy = {10, 3, 1};
  WebhookSender sender(options);
  sender.on_call_event("session_up", some_fields());
  sender.on_call_event("kicked", some_fields());
  const std::string refused = receiver.serve_one(503);
  const std::string first = receiver.serve_one(200);
  const std::string second = receiver.serve_one(204);
  ASSERT_EQ(body_of(refused), body_of(first));  // the same bytes again
  const std::string body = body_of(first);
  EXPECT_EQ(body.rfind(R"({"event":"session_up","id":1,"timestamp":)", 0), 0u) << body;
  EXPECT_NE(first.find("POST /hook HTTP/1.1\r\n"), std::string::npos) << first;
  EXPECT_NE(first.find("Content-Type: application/json\r\n"), std::string::npos) << first;
  EXPECT_NE(first.find("X-Partyline-Event: session_up\r\n"), std::string::npos) << first;
  EXPECT_NE(first.find("X-Partyline-Delivery: 1\r\n"), std::string::npos) << first;
  EXPECT_NE(first.find("X-Partyline-Signature: " + webhook_signature("webhook-secret", body) + "\r\n"),
            std::string::npos)
      << first;
  EXPECT_NE(second.find("X-Partyline-Event: kicked\r\n"), std::string::npos) << second;
  EXPECT_NE(second.find("X-Partyline-Delivery: 2\r\n"), std::string::npos) << second;
  ASSERT_TRUE(eventually([&] { return sender.counts().delivered == 2; }, std::chrono::seconds(10)));
  EXPECT_EQ(sender.counts().retries, 1u);
  EXPECT_EQ(sender.counts().dropped_after_retries, 0u);
}

TEST(WebhookSender, StopsPromptlyMidRequest) {
  Listener silent;  // accepts connections (the kernel does) and never answers
  WebhookOptions options;
  options.urls = {silent.url()};
  options.secret = "k";
  options.timeout_ms = 30'000;
  auto sender = std::make_unique<WebhookSender>(options);
  sender->on_call_event("session_up", some_fields());
  ASSERT_TRUE(silent.connection_pending(10'000));
  const auto started = steady_clock::now();
  sender.reset();
  EXPECT_LT(steady_clock::now() - started, std::chrono::milliseconds(300));
}

}  // namespace
}  // namespace partyline::signaling::admin
