#include "bench/loadgen/partyline_dialect.hpp"

#include <algorithm>

namespace partyline::loadgen {

namespace {

std::string string_field(const json_t* object, const char* name) {
  const json_t* value = json_object_get(object, name);
  return json_is_string(value) ? std::string(json_string_value(value)) : std::string();
}

core::JsonPtr jsep(const char* type, const std::string& sdp) {
  core::JsonPtr object = core::adopt_json(json_object());
  json_object_set_new(object.get(), "type", json_string(type));
  json_object_set_new(object.get(), "sdp", json_string(sdp.c_str()));
  return object;
}

}  // namespace

std::string PartylineDialect::websocket_path(const std::string& url_path) const {
  const char separator = url_path.find('?') == std::string::npos ? '?' : '&';
  return url_path + separator + "name=loadgen-" + std::to_string(participant_.index());
}

// Each join sends every occupant the whole occupant list: with N
// participants that is O(N^3) bytes of JSON during set-up, none of it needed.
bool PartylineDialect::ignorable(std::string_view text) const {
  return text.find("\"event\":\"occupants\"") != std::string_view::npos;
}

void PartylineDialect::on_message(const json_t* message) {
  if (json_object_get(message, "handshake") != nullptr) return on_handshake(message);
  if (json_object_get(message, "response") != nullptr) return on_response(message);
  const std::string event = string_field(message, "event");
  if (!event.empty()) on_event(event, message);
}

void PartylineDialect::on_handshake(const json_t* message) {
  if (string_field(message, "handshake") != "state") return;  // a keepalive echo
  const std::string session = string_field(message, "session");
  if (session.empty()) return participant_.fail(Step::kHandshake, "the handshake state has no session id");
  participant_.set_session(session);
  // The server closes a session without a keepalive for twice the interval.
  const json_t* interval = json_object_get(message, "keepalive_interval");
  const long long interval_ms = json_is_integer(interval) ? json_integer_value(interval) : 30000;
  keepalive_timer_.start(participant_.run().context, std::chrono::milliseconds(std::max(500LL, interval_ms / 2)),
                         [this] {
                           send_keepalive();
                           return true;
                         });
  if (participant_.creates_room()) {
    participant_.reached(Step::kCreateRoom);
    send_request("create_line", core::adopt_json(json_object()));
    return;
  }
  participant_.reached(Step::kJoin);
  participant_.run().room.when_ready([this](bool room_exists) { join(room_exists); });
}

void PartylineDialect::join(bool room_exists) {
  if (joining_) return;
  joining_ = true;
  participant_.reached(Step::kJoin);
  if (!room_exists) return participant_.fail(Step::kJoin, "no line to join: its creator (participant 0) failed");
  participant_.prepare(Leg::kMain, [this] { send_join(); });
}

void PartylineDialect::send_join() {
  auto offer = participant_.create_offer();
  if (!offer) return participant_.fail(Step::kJoin, "creating the offer: " + offer.error().message);
  const SharedRoom& room = participant_.run().room;
  core::JsonPtr body = core::adopt_json(json_object());
  json_object_set_new(body.get(), "line_id", json_string(room.id().c_str()));
  json_object_set_new(body.get(), "token", json_string(room.token().c_str()));
  json_object_set_new(body.get(), "jsep", jsep("offer", *offer).release());
  send_request("join", std::move(body));
  participant_.start_gathering(Leg::kMain);
}

void PartylineDialect::on_response(const json_t* message) {
  const std::string transaction = string_field(message, "transaction");
  auto pending = pending_.find(transaction);
  if (pending == pending_.end()) return;  // not ours (or already answered)
  const std::string request = pending->second;
  pending_.erase(pending);
  if (string_field(message, "response") == "success") return on_success(request, message);
  const json_t* code = json_object_get(message, "code");
  participant_.fail(step_of(request), "'" + request + "' refused with " +
                                          (json_is_integer(code) ? std::to_string(json_integer_value(code)) : "?") +
                                          ": " + string_field(message, "reason"));
}

void PartylineDialect::on_success(const std::string& request, const json_t* message) {
  if (request == "create_line") {
    const std::string line = string_field(message, "line_id");
    const std::string token = string_field(message, "token");
    if (line.empty()) return participant_.fail(Step::kCreateRoom, "create_line answered without a line_id");
    participant_.run().room.publish(line, token);
    join(true);
  } else if (request == "join") {
    participant_.reached(Step::kAnswer);
  } else if (request == "update") {
    participant_.offer_answered(Leg::kMain);
  }
}

void PartylineDialect::on_event(const std::string& event, const json_t* message) {
  const json_t* description = json_object_get(message, "jsep");
  const std::string sdp = string_field(description, "sdp");
  if (event == "accepted" && description != nullptr) {
    if (Status status = participant_.apply_answer(sdp); !status) {
      participant_.fail(Step::kAnswer, "applying the server's answer: " + status.error().message);
    }
  } else if (event == "update" && description != nullptr) {
    auto answer = participant_.answer_offer(Leg::kMain, sdp, {});
    if (!answer) return participant_.fail(Step::kStreams, "answering the server's offer: " + answer.error().message);
    core::JsonPtr body = core::adopt_json(json_object());
    json_object_set_new(body.get(), "jsep", jsep("answer", *answer).release());
    send_request("update", std::move(body));
  } else if (event == "ice_candidate") {
    const json_t* candidate = json_object_get(message, "candidate");
    const std::string line = string_field(candidate, "candidate");
    if (line.empty()) return participant_.end_of_remote_candidates(Leg::kMain);
    participant_.add_remote_candidate(Leg::kMain, line);
  } else if (event == "webrtc_state" && string_field(message, "state") == "failed") {
    participant_.fail(Step::kSecure, "the server reports its PeerConnection failed: " + string_field(message, "reason"));
  } else if (event == "error") {
    const json_t* code = json_object_get(message, "code");
    participant_.fail(Step::kSecure, "error event " +
                                         (json_is_integer(code) ? std::to_string(json_integer_value(code)) : "?") +
                                         ": " + string_field(message, "reason"));
  }
}

void PartylineDialect::on_local_candidate(Leg, const std::string& candidate) {
  core::JsonPtr body = core::adopt_json(json_object());
  json_t* value = json_object();
  json_object_set_new(value, "candidate", json_string(candidate.c_str()));
  json_object_set_new(value, "sdpMid", json_string("0"));
  json_object_set_new(value, "sdpMLineIndex", json_integer(0));
  json_object_set_new(body.get(), "candidate", value);
  send_request("ice_trickle", std::move(body));
}

void PartylineDialect::on_end_of_local_candidates(Leg) {
  core::JsonPtr body = core::adopt_json(json_object());
  json_object_set_new(body.get(), "candidate", json_null());
  send_request("ice_trickle", std::move(body));
}

void PartylineDialect::send_request(const char* name, core::JsonPtr body) {
  const std::string transaction = "t-" + std::to_string(next_transaction_++);
  json_object_set_new(body.get(), "request", json_string(name));
  json_object_set_new(body.get(), "transaction", json_string(transaction.c_str()));
  pending_[transaction] = name;
  participant_.send_message(body.get());
}

void PartylineDialect::send_keepalive() {
  core::JsonPtr body = core::adopt_json(json_object());
  json_object_set_new(body.get(), "handshake", json_string("keepalive"));
  json_object_set_new(body.get(), "transaction", json_string(("k-" + std::to_string(next_transaction_++)).c_str()));
  participant_.send_message(body.get());
}

Step PartylineDialect::step_of(const std::string& request) const {
  if (request == "create_line") return Step::kCreateRoom;
  if (request == "join") return Step::kJoin;
  if (request == "update") return Step::kStreams;
  return Step::kSecure;  // ice_trickle
}

}  // namespace partyline::loadgen
