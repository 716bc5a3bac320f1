#include "bench/loadgen/janus_messages.hpp"

namespace partyline::loadgen::janus {

namespace {

// Janus ids are below 2^53 (JavaScript-safe), so they fit a JSON integer.
json_t* id_value(uint64_t id) { return json_integer(static_cast<json_int_t>(id)); }

core::JsonPtr request(const char* janus, const std::string& transaction) {
  core::JsonPtr object = core::adopt_json(json_object());
  json_object_set_new(object.get(), "janus", json_string(janus));
  json_object_set_new(object.get(), "transaction", json_string(transaction.c_str()));
  return object;
}

core::JsonPtr session_request(const char* janus, uint64_t session, const std::string& transaction) {
  core::JsonPtr object = request(janus, transaction);
  json_object_set_new(object.get(), "session_id", id_value(session));
  return object;
}

std::string string_member(const json_t* object, const char* name) {
  const json_t* value = json_object_get(object, name);
  return json_is_string(value) ? std::string(json_string_value(value)) : std::string();
}

std::optional<uint64_t> id_member(const json_t* object, const char* name) {
  const json_t* value = json_object_get(object, name);
  if (!json_is_integer(value) || json_integer_value(value) < 0) return std::nullopt;
  return static_cast<uint64_t>(json_integer_value(value));
}

Kind kind_of(const std::string& janus) {
  static const std::map<std::string, Kind> kinds = {
      {"success", Kind::kSuccess}, {"error", Kind::kError},       {"ack", Kind::kAck},
      {"event", Kind::kEvent},     {"trickle", Kind::kTrickle},   {"webrtcup", Kind::kWebrtcUp},
      {"hangup", Kind::kHangup},   {"detached", Kind::kDetached}, {"timeout", Kind::kTimeout},
  };
  auto found = kinds.find(janus);
  return found == kinds.end() ? Kind::kOther : found->second;
}

}  // namespace

core::JsonPtr create_session(const std::string& transaction) { return request("create", transaction); }

core::JsonPtr attach(uint64_t session, const std::string& transaction) {
  core::JsonPtr object = session_request("attach", session, transaction);
  json_object_set_new(object.get(), "plugin", json_string(kVideoRoomPlugin));
  return object;
}

core::JsonPtr keepalive(uint64_t session, const std::string& transaction) {
  return session_request("keepalive", session, transaction);
}

core::JsonPtr plugin_message(uint64_t session, uint64_t handle, const std::string& transaction, core::JsonPtr body,
                             const char* jsep_type, const std::string& sdp) {
  core::JsonPtr object = session_request("message", session, transaction);
  json_object_set_new(object.get(), "handle_id", id_value(handle));
  json_object_set_new(object.get(), "body", body.release());
  if (jsep_type != nullptr) {
    json_t* jsep = json_object();
    json_object_set_new(jsep, "type", json_string(jsep_type));
    json_object_set_new(jsep, "sdp", json_string(sdp.c_str()));
    json_object_set_new(object.get(), "jsep", jsep);
  }
  return object;
}

core::JsonPtr trickle(uint64_t session, uint64_t handle, const std::string& transaction, const std::string& candidate) {
  core::JsonPtr object = session_request("trickle", session, transaction);
  json_object_set_new(object.get(), "handle_id", id_value(handle));
  json_t* value = json_object();
  if (candidate.empty()) {
    json_object_set_new(value, "completed", json_true());
  } else {
    json_object_set_new(value, "candidate", json_string(candidate.c_str()));
    json_object_set_new(value, "sdpMid", json_string("0"));
    json_object_set_new(value, "sdpMLineIndex", json_integer(0));
  }
  json_object_set_new(object.get(), "candidate", value);
  return object;
}

core::JsonPtr create_room_body(int publishers) {
  core::JsonPtr body = core::adopt_json(json_object());
  json_object_set_new(body.get(), "request", json_string("create"));
  json_object_set_new(body.get(), "description", json_string("loadgen"));
  json_object_set_new(body.get(), "publishers", json_integer(publishers));
  json_object_set_new(body.get(), "bitrate", json_integer(0));  // no cap (no REMB limit)
  json_object_set_new(body.get(), "fir_freq", json_integer(0));
  json_object_set_new(body.get(), "audiocodec", json_string("opus"));
  json_object_set_new(body.get(), "videocodec", json_string("vp8"));
  json_object_set_new(body.get(), "record", json_false());
  json_object_set_new(body.get(), "notify_joining", json_false());
  json_object_set_new(body.get(), "permanent", json_false());
  return body;
}

core::JsonPtr join_publisher_body(uint64_t room, const std::string& display) {
  core::JsonPtr body = core::adopt_json(json_object());
  json_object_set_new(body.get(), "request", json_string("join"));
  json_object_set_new(body.get(), "ptype", json_string("publisher"));
  json_object_set_new(body.get(), "room", id_value(room));
  json_object_set_new(body.get(), "display", json_string(display.c_str()));
  return body;
}

core::JsonPtr publish_body() {
  core::JsonPtr body = core::adopt_json(json_object());
  json_object_set_new(body.get(), "request", json_string("publish"));
  return body;
}

core::JsonPtr subscribe_body(uint64_t room, const std::vector<uint64_t>& feeds) {
  core::JsonPtr body = core::adopt_json(json_object());
  json_object_set_new(body.get(), "request", json_string("join"));
  json_object_set_new(body.get(), "ptype", json_string("subscriber"));
  json_object_set_new(body.get(), "room", id_value(room));
  json_t* streams = json_array();
  for (uint64_t feed : feeds) {
    json_t* stream = json_object();
    json_object_set_new(stream, "feed", id_value(feed));
    json_array_append_new(streams, stream);
  }
  json_object_set_new(body.get(), "streams", streams);
  return body;
}

core::JsonPtr start_body() {
  core::JsonPtr body = core::adopt_json(json_object());
  json_object_set_new(body.get(), "request", json_string("start"));
  return body;
}

Message read_message(const json_t* message) {
  Message result;
  result.kind = kind_of(string_member(message, "janus"));
  result.transaction = string_member(message, "transaction");
  result.sender = id_member(message, "sender").value_or(0);
  if (const json_t* data = json_object_get(message, "data")) result.data_id = id_member(data, "id");
  const json_t* plugin = json_object_get(message, "plugindata");
  if (const json_t* data = json_object_get(plugin, "data"); json_is_object(data)) result.plugin_data = data;
  if (const json_t* jsep = json_object_get(message, "jsep")) {
    result.jsep_type = string_member(jsep, "type");
    result.sdp = string_member(jsep, "sdp");
  }
  if (result.kind == Kind::kError) {
    const json_t* error = json_object_get(message, "error");
    result.error_code = static_cast<int>(id_member(error, "code").value_or(1));
    result.error = string_member(error, "reason");
  } else if (result.plugin_data != nullptr && json_object_get(result.plugin_data, "error_code") != nullptr) {
    result.error_code = static_cast<int>(id_member(result.plugin_data, "error_code").value_or(1));
    result.error = string_member(result.plugin_data, "error");
  }
  if (result.kind == Kind::kTrickle) {
    const json_t* candidate = json_object_get(message, "candidate");
    result.candidates_completed = json_is_true(json_object_get(candidate, "completed"));
    result.candidate = string_member(candidate, "candidate");
    if (result.candidate.rfind("a=", 0) == 0) result.candidate.erase(0, 2);
  }
  if (result.kind == Kind::kHangup) result.reason = string_member(message, "reason");
  return result;
}

std::string videoroom_event(const json_t* plugin_data) { return string_member(plugin_data, "videoroom"); }

std::optional<uint64_t> plugin_integer(const json_t* plugin_data, const char* name) {
  return id_member(plugin_data, name);
}

bool plugin_ok(const json_t* plugin_data, const char* name) { return string_member(plugin_data, name) == "ok"; }

std::map<std::string, std::string> stream_feeds(const json_t* plugin_data) {
  std::map<std::string, std::string> feeds;
  const json_t* streams = json_object_get(plugin_data, "streams");
  size_t index = 0;
  const json_t* stream = nullptr;
  json_array_foreach(streams, index, stream) {
    const std::string mid = string_member(stream, "mid");
    const auto feed = id_member(stream, "feed_id");
    if (!mid.empty() && feed) feeds[mid] = std::to_string(*feed);
  }
  return feeds;
}

}  // namespace partyline::loadgen::janus
