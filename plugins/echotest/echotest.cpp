// echotest: the echo test as a plugin. A client attaches, sends
// {"request": "start"} with its offer as jsep; the host negotiates the
// PeerConnection and the plugin sends the answer in an event
// ({"echotest": "answer"} with jsep). Everything the client sends comes back
// on the server's own SSRCs of the same m-line; the first video packet of
// each m-line asks the client for a keyframe, and the client's own keyframe
// requests (about what it receives) go back to it as requests about what it
// sends. {"request": "stop"} closes the PeerConnection.
//
// Built against the public header only (target partyline_plugin_api);
// jansson is this plugin's own choice for reading its messages.
#include <jansson.h>
#include <partyline/plugin.h>

#include <array>
#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace {

const pl_host* g_host = nullptr;  // valid from init to destroy

struct JsonDeleter {
  void operator()(json_t* value) const { json_decref(value); }
};
using Json = std::unique_ptr<json_t, JsonDeleter>;

struct Echo {
  pl_handle* handle = nullptr;
  // Per m-line: whether its first video packet asked for a keyframe yet
  // (the media thread's alone).
  std::array<bool, 16> keyframe_asked{};
  std::atomic<uint64_t> echoed{0};
};

void log(const pl_handle* handle, pl_log_level level, std::string_view text) {
  g_host->log(g_host, handle, level, text.data(), text.size());
}

int reply_text(pl_reply* reply, std::string_view text) { return g_host->reply(reply, text.data(), text.size()); }

int init(const pl_host* host, const char*, size_t, void** state) {
  if (host->api_minor < 1) return 500;  // needs the media services of API 1.1
  g_host = host;
  *state = nullptr;
  log(nullptr, PL_LOG_INFO, "echotest ready");
  return PL_OK;
}

void destroy(void*) { g_host = nullptr; }

int create_handle(void*, pl_handle* handle, void** handle_state) {
  auto echo = std::make_unique<Echo>();
  echo->handle = handle;
  *handle_state = echo.release();
  return PL_OK;
}

void destroy_handle(void*, void* handle_state) {
  // The host closed the PeerConnection first: no media callback runs now.
  std::unique_ptr<Echo> echo(static_cast<Echo*>(handle_state));
}

int handle_message(void*, void* handle_state, const char* body, size_t body_length, const char* jsep_type,
                   const char* jsep_sdp, size_t jsep_sdp_length, pl_reply* reply) {
  auto* echo = static_cast<Echo*>(handle_state);
  Json message(json_loadb(body, body_length, 0, nullptr));
  const char* request = json_string_value(json_object_get(message.get(), "request"));
  if (request == nullptr) return reply_text(reply, "the body needs a string 'request'"), 400;
  const std::string_view name(request);
  if (name == "start") {
    if (jsep_type == nullptr || std::string_view(jsep_type) != "offer") {
      return reply_text(reply, "'start' needs a jsep offer"), 400;
    }
    const int status = g_host->negotiate(echo->handle, jsep_sdp, jsep_sdp_length);
    if (status != PL_OK) return reply_text(reply, "could not start the PeerConnection"), status;
    return PL_OK;  // the answer follows as an event
  }
  if (name == "stop") {
    const int status = g_host->close_media(echo->handle);
    if (status != PL_OK) return reply_text(reply, "no PeerConnection to stop"), status;
    return reply_text(reply, R"({"stopped": true})");
  }
  if (name == "stats") {
    const std::string stats = R"({"echoed": )" + std::to_string(echo->echoed.load()) + "}";
    return reply_text(reply, stats);
  }
  return reply_text(reply, "unknown request"), 400;
}

void negotiated(void*, void* handle_state, int status, const char* text, size_t length) {
  auto* echo = static_cast<Echo*>(handle_state);
  if (status == PL_OK) {
    static constexpr std::string_view kAnswer = R"({"echotest": "answer"})";
    g_host->push_event(echo->handle, kAnswer.data(), kAnswer.size(), "answer", text, length);
    return;
  }
  Json event(json_pack("{s:s, s:i, s:s%}", "echotest", "error", "code", status, "reason", text, length));
  std::unique_ptr<char, decltype(&free)> dumped(json_dumps(event.get(), JSON_COMPACT), &free);
  g_host->push_event(echo->handle, dumped.get(), std::strlen(dumped.get()), nullptr, nullptr, 0);
}

void media_state(void*, void* handle_state, pl_media_state state, const char* reason) {
  auto* echo = static_cast<Echo*>(handle_state);
  const std::string text = std::string("media ") +
                           (state == PL_MEDIA_UP ? "up" : state == PL_MEDIA_FAILED ? "failed" : "closed") +
                           (reason ? std::string(": ") + reason : std::string());
  log(echo->handle, PL_LOG_INFO, text);
}

void incoming_rtp(void*, void* handle_state, uint32_t mline, int video, int rtx, uint8_t* packet, size_t length) {
  auto* echo = static_cast<Echo*>(handle_state);
  if (g_host->send_rtp(echo->handle, mline, packet, length) == PL_OK) echo->echoed.fetch_add(1, std::memory_order_relaxed);
  if (video && !rtx && mline < echo->keyframe_asked.size() && !echo->keyframe_asked[mline]) {
    echo->keyframe_asked[mline] = g_host->request_keyframe(echo->handle, mline) == PL_OK;
  }
}

void keyframe_requested(void*, void* handle_state, uint32_t mline) {
  auto* echo = static_cast<Echo*>(handle_state);
  (void)g_host->request_keyframe(echo->handle, mline);
}

const pl_plugin kEchotest = [] {
  pl_plugin plugin{};
  plugin.api_major = PARTYLINE_PLUGIN_API_VERSION_MAJOR;
  plugin.api_minor = PARTYLINE_PLUGIN_API_VERSION_MINOR;
  plugin.struct_size = sizeof(pl_plugin);
  plugin.name = "echotest";
  plugin.version = "1.0.0";
  plugin.description = "sends back whatever the client sends: the echo test";
  plugin.init = init;
  plugin.destroy = destroy;
  plugin.create_handle = create_handle;
  plugin.destroy_handle = destroy_handle;
  plugin.handle_message = handle_message;
  plugin.negotiated = negotiated;
  plugin.media_state = media_state;
  plugin.incoming_rtp = incoming_rtp;
  plugin.keyframe_requested = keyframe_requested;
  return plugin;
}();

}  // namespace

extern "C" PARTYLINE_PLUGIN_EXPORT const pl_plugin* partyline_plugin_entry(void) { return &kEchotest; }
