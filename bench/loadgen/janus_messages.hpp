// The Janus API (WebSocket transport, subprotocol janus-protocol) and the
// VideoRoom plugin's requests, as the loadgen needs them: building the
// requests and reading what comes back. Pure code, no I/O; JanusDialect
// drives it.
//
// Shapes (Janus 1.1): every request carries "janus" (create, attach,
// message, trickle, keepalive) and a "transaction"; replies are
// "success" (with "data" or, for synchronous plugin requests, "plugindata"),
// "error", or "ack" followed later by an "event" with the plugin's answer;
// unprompted messages name the handle they concern in "sender" (event,
// trickle, webrtcup, media, slowlink, hangup, detached) or the session
// (timeout).
#pragma once

#include <jansson.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/runtime/json.hpp"

namespace partyline::loadgen::janus {

inline constexpr const char* kSubprotocol = "janus-protocol";
inline constexpr const char* kVideoRoomPlugin = "janus.plugin.videoroom";

// --- Requests -------------------------------------------------------------

core::JsonPtr create_session(const std::string& transaction);
core::JsonPtr attach(uint64_t session, const std::string& transaction);
core::JsonPtr keepalive(uint64_t session, const std::string& transaction);
// A message to the plugin behind `handle`; `jsep_type`/`sdp` attach an SDP.
core::JsonPtr plugin_message(uint64_t session, uint64_t handle, const std::string& transaction, core::JsonPtr body,
                             const char* jsep_type = nullptr, const std::string& sdp = {});
// One trickled candidate ("candidate:..." on m-line 0, mid "0"), or the
// end of our candidates when `candidate` is empty.
core::JsonPtr trickle(uint64_t session, uint64_t handle, const std::string& transaction, const std::string& candidate);

// VideoRoom bodies.
// A room for `publishers` publishers: VP8 + Opus, no bitrate cap, no
// periodic keyframe requests, no recording, no join notifications.
core::JsonPtr create_room_body(int publishers);
core::JsonPtr join_publisher_body(uint64_t room, const std::string& display);
core::JsonPtr publish_body();
// One multistream subscription to every stream of each feed.
core::JsonPtr subscribe_body(uint64_t room, const std::vector<uint64_t>& feeds);
core::JsonPtr start_body();

// --- Replies and events ---------------------------------------------------

enum class Kind : uint8_t {
  kSuccess,
  kError,
  kAck,
  kEvent,
  kTrickle,
  kWebrtcUp,
  kHangup,
  kDetached,
  kTimeout,
  kOther,  // media, slowlink, keepalive acks we do not track...
};

struct Message {
  Kind kind = Kind::kOther;
  std::string transaction;
  uint64_t sender = 0;                  // the handle an event concerns
  std::optional<uint64_t> data_id;      // success: data.id (session or handle)
  const json_t* plugin_data = nullptr;  // plugindata.data (borrowed from the parsed message)
  std::string jsep_type;                // "offer" / "answer" when an SDP is attached
  std::string sdp;
  // An error from Janus itself (kError) or from the plugin (error_code in
  // plugindata.data); 0 when there is none.
  int error_code = 0;
  std::string error;
  // kTrickle: the candidate line, or completed.
  std::string candidate;
  bool candidates_completed = false;
  std::string reason;  // kHangup
};

// Reads one message from Janus. The result borrows from `message`.
Message read_message(const json_t* message);

// The VideoRoom's name for what happened ("created", "joined", "attached",
// "event", ...), or empty.
std::string videoroom_event(const json_t* plugin_data);
// An integer member of the plugin's data ("room", "id"), if present.
std::optional<uint64_t> plugin_integer(const json_t* plugin_data, const char* name);
// True when the plugin's data carries `name` == "ok" ("configured", "started").
bool plugin_ok(const json_t* plugin_data, const char* name);
// "streams" of an attached/updated event: m-line mid -> the feed id it
// carries (as text, the form the loadgen uses for a publisher's session id).
std::map<std::string, std::string> stream_feeds(const json_t* plugin_data);

}  // namespace partyline::loadgen::janus
