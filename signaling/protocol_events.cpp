#include "signaling/protocol_events.hpp"

#include "rtp/sdp/sdp.hpp"

namespace partyline::signaling::events {

core::JsonPtr event(const char* name) {
  core::JsonPtr object = core::adopt_json(json_object());
  json_object_set_new(object.get(), "event", json_string(name));
  return object;
}

core::JsonPtr jsep(const char* type, const std::string& sdp) {
  core::JsonPtr object = core::adopt_json(json_object());
  json_object_set_new(object.get(), "type", json_string(type));
  json_object_set_new(object.get(), "sdp", json_stringn(sdp.data(), sdp.size()));
  return object;
}

core::JsonPtr ice_candidate(const std::string* candidate, const std::string& mid) {
  core::JsonPtr object = event("ice_candidate");
  if (candidate == nullptr) {
    json_object_set_new(object.get(), "candidate", json_null());
    return object;
  }
  // With BUNDLE every candidate belongs to the first m-line's transport.
  json_t* value = json_object();
  json_object_set_new(value, "candidate", json_stringn(candidate->data(), candidate->size()));
  json_object_set_new(value, "sdpMid", json_string(mid.c_str()));
  json_object_set_new(value, "sdpMLineIndex", json_integer(0));
  json_object_set_new(object.get(), "candidate", value);
  return object;
}

std::optional<std::string> first_mid(std::string_view sdp) {
  auto description = rtp::parse_sdp(sdp);
  if (!description || description->media.empty()) return std::nullopt;
  return description->media.front().mid;
}

const char* webrtc_state_name(ice::TransportState state) {
  switch (state) {
    case ice::TransportState::kNew: return nullptr;
    case ice::TransportState::kChecking: return "checking";
    case ice::TransportState::kConnected: return "connected";
    case ice::TransportState::kSecure: return "secure";
    case ice::TransportState::kFailed: return "failed";
    case ice::TransportState::kClosed: return "closed";
  }
  return nullptr;
}

core::JsonPtr webrtc_state(const char* state, const Error* error) {
  core::JsonPtr object = event("webrtc_state");
  json_object_set_new(object.get(), "state", json_string(state));
  if (error != nullptr) json_object_set_new(object.get(), "reason", json_string(error->message.c_str()));
  return object;
}

core::JsonPtr error(const Error& error) {
  core::JsonPtr object = event("error");
  json_object_set_new(object.get(), "code", json_integer(error.code));
  json_object_set_new(object.get(), "reason", json_string(error.message.c_str()));
  return object;
}

core::JsonPtr call_event(const char* name, const core::Invitation& call) {
  core::JsonPtr object = event(name);
  json_object_set_new(object.get(), "call_id", json_string(call.call_id.c_str()));
  json_object_set_new(object.get(), "line_id", json_string(call.line_id.c_str()));
  return object;
}

core::JsonPtr user(const std::string& user, const std::string& name) {
  core::JsonPtr object = core::adopt_json(json_object());
  json_object_set_new(object.get(), "user", json_string(user.c_str()));
  json_object_set_new(object.get(), "name", json_string(name.c_str()));
  return object;
}

core::JsonPtr party(const std::string& user_id, const std::string& name, const std::string& session) {
  core::JsonPtr object = user(user_id, name);
  json_object_set_new(object.get(), "session", json_string(session.c_str()));
  return object;
}

}  // namespace partyline::signaling::events
