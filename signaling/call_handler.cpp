#include "signaling/call_handler.hpp"

#include "core/log.hpp"

namespace partyline::signaling {

namespace {

Error field_error(const std::string& field, const std::string& what) {
  return make_error(error_code::kBadRequest, "field '" + field + "' " + what);
}

// jsep: {"type": "offer", "sdp": "..."}
Result<std::string> read_offer(const json_t* message) {
  const json_t* jsep = json_object_get(message, "jsep");
  if (jsep == nullptr) return field_error("jsep", "is missing");
  if (!json_is_object(jsep)) return field_error("jsep", "must be an object");
  auto type = core::get_required_string(jsep, "type", "jsep.type");
  if (!type) return type.error();
  if (*type != "offer") return field_error("jsep.type", "must be \"offer\"");
  auto sdp = core::get_required_string(jsep, "sdp", "jsep.sdp");
  if (!sdp) return sdp.error();
  return std::move(sdp.value());
}

// The "candidate" of an ice_trickle: a candidate line, or the end of
// candidates (null, {"completed": true}, or the empty candidate browsers emit
// last).
struct TrickledCandidate {
  bool end_of_candidates = false;
  std::string line;
};

Result<TrickledCandidate> read_trickled_candidate(const json_t* message) {
  const TrickledCandidate end{true, {}};
  const json_t* candidate = json_object_get(message, "candidate");
  if (candidate == nullptr) return field_error("candidate", "is missing");
  if (json_is_null(candidate)) return end;
  if (!json_is_object(candidate)) return field_error("candidate", "must be an object or null");
  if (json_is_true(json_object_get(candidate, "completed"))) return end;
  auto line = core::get_required_string(candidate, "candidate", "candidate.candidate");
  if (!line) return line.error();
  std::string_view text = line.value();
  if (text.starts_with("a=")) text.remove_prefix(2);
  if (text.empty()) return end;
  if (text.size() > 1024) return make_error(error_code::kTooLarge, "field 'candidate.candidate' is over 1024 bytes");
  return TrickledCandidate{false, std::string(text)};
}

core::JsonPtr make_event(const char* name) {
  core::JsonPtr event = core::adopt_json(json_object());
  json_object_set_new(event.get(), "event", json_string(name));
  return event;
}

const char* protocol_state(ice::TransportState state) {
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

}  // namespace

CallHandler::CallHandler(core::EventLoop& signaling_loop, core::WorkerPool& workers,
                         core::PeerConnectionSettings settings)
    : loop_(signaling_loop), workers_(workers), settings_(std::move(settings)) {}

void CallHandler::on_session_open(const std::shared_ptr<ClientSession>& session) {
  calls_.emplace(session->id(), CallState{});
  PL_LOG(kInfo, session->log_context()) << "connected from " << session->remote_address();
}

void CallHandler::on_session_closed(const std::shared_ptr<ClientSession>& session) {
  auto it = calls_.find(session->id());
  if (it == calls_.end()) return;
  if (it->second.peer) it->second.peer->close();
  calls_.erase(it);
  PL_LOG(kInfo, session->log_context()) << "disconnected";
}

void CallHandler::on_request(const std::shared_ptr<ClientSession>& session, Request request) {
  if (request.name == "echo") return handle_echo(session, request);
  if (request.name == "ice_trickle") return handle_ice_trickle(session, request);
  if (request.name == "hangup") return handle_hangup(session, request);
  session->respond_error(request.transaction, request.name,
                         make_error(error_code::kNotFound, "unknown request '" + request.name + "'"));
}

core::PeerConnectionHandle::Events CallHandler::peer_events(const std::shared_ptr<ClientSession>& session) {
  std::weak_ptr<ClientSession> weak = session;
  core::PeerConnectionHandle::Events events;
  events.on_local_candidate = [weak](std::string candidate) {
    auto alive = weak.lock();
    if (!alive) return;
    core::JsonPtr event = make_event("ice_candidate");
    json_t* value = json_object();
    json_object_set_new(value, "candidate", json_string(candidate.c_str()));
    json_object_set_new(value, "sdpMid", json_string("0"));
    json_object_set_new(value, "sdpMLineIndex", json_integer(0));
    json_object_set_new(event.get(), "candidate", value);
    alive->send_event(std::move(event));
  };
  events.on_end_of_candidates = [weak] {
    auto alive = weak.lock();
    if (!alive) return;
    core::JsonPtr event = make_event("ice_candidate");
    json_object_set_new(event.get(), "candidate", json_null());
    alive->send_event(std::move(event));
  };
  events.on_state = [this, weak](ice::TransportState state, std::optional<Error> error) {
    on_peer_state(weak, state, error);
  };
  return events;
}

void CallHandler::on_peer_state(const std::weak_ptr<ClientSession>& weak, ice::TransportState state,
                                const std::optional<Error>& error) {
  auto session = weak.lock();
  const char* name = protocol_state(state);
  if (!session || name == nullptr) return;
  auto it = calls_.find(session->id());
  if (it != calls_.end() && (state == ice::TransportState::kFailed || state == ice::TransportState::kClosed)) {
    it->second.peer_finished = true;
  }
  core::JsonPtr event = make_event("webrtc_state");
  json_object_set_new(event.get(), "state", json_string(name));
  if (error) json_object_set_new(event.get(), "reason", json_string(error->message.c_str()));
  session->send_event(std::move(event));
  if (state == ice::TransportState::kFailed && error) {
    core::JsonPtr error_event = make_event("error");
    json_object_set_new(error_event.get(), "code", json_integer(error->code));
    json_object_set_new(error_event.get(), "reason", json_string(error->message.c_str()));
    session->send_event(std::move(error_event));
  }
}

void CallHandler::handle_echo(const std::shared_ptr<ClientSession>& session, const Request& request) {
  CallState& call = calls_[session->id()];
  if (call.peer && !call.peer_finished) {
    session->respond_error(request.transaction, request.name,
                           make_error(error_code::kConflict, "an echo call is already running; hang up first"));
    return;
  }
  auto offer = read_offer(request.message.get());
  if (!offer) {
    session->respond_error(request.transaction, request.name, offer.error());
    return;
  }
  if (call.peer) call.peer->close();
  call.peer_finished = false;
  call.peer = core::PeerConnectionHandle::create(workers_.pick(), loop_, settings_, session->log_context() + " pc=echo",
                                                 peer_events(session));
  call.answer_transaction = request.transaction;
  std::weak_ptr<ClientSession> weak = session;
  std::weak_ptr<core::PeerConnectionHandle> weak_peer = call.peer;
  call.peer->negotiate_echo(std::move(offer.value()), [this, weak, weak_peer](Result<std::string> answer) {
    auto session = weak.lock();
    if (!session) return;
    auto it = calls_.find(session->id());
    if (it == calls_.end() || it->second.peer != weak_peer.lock() || !it->second.answer_transaction) return;
    CallState& current = it->second;
    const std::string transaction = std::move(*current.answer_transaction);
    current.answer_transaction.reset();
    if (!answer) {
      current.peer->close();
      current.peer.reset();
      session->respond_error(transaction, "echo", answer.error());
      return;
    }
    core::JsonPtr fields = core::adopt_json(json_object());
    json_t* jsep = json_object();
    json_object_set_new(jsep, "type", json_string("answer"));
    json_object_set_new(jsep, "sdp", json_string(answer->c_str()));
    json_object_set_new(fields.get(), "jsep", jsep);
    session->respond_success(transaction, "echo", std::move(fields));
  });
  // Candidates that came before the offer follow it on the worker's queue.
  for (auto& candidate : call.early_candidates) call.peer->add_remote_candidate(std::move(candidate), nullptr);
  call.early_candidates.clear();
  if (call.early_end_of_candidates) call.peer->end_of_remote_candidates();
  call.early_end_of_candidates = false;
}

void CallHandler::handle_ice_trickle(const std::shared_ptr<ClientSession>& session, const Request& request) {
  CallState& call = calls_[session->id()];
  auto candidate = read_trickled_candidate(request.message.get());
  if (!candidate) {
    session->respond_error(request.transaction, request.name, candidate.error());
    return;
  }
  if (!call.peer || call.peer_finished) {
    if (candidate->end_of_candidates) {
      call.early_end_of_candidates = true;
    } else if (call.early_candidates.size() >= kMaxEarlyCandidates) {
      session->respond_error(request.transaction, request.name,
                             make_error(error_code::kTooLarge, "too many candidates before the offer"));
      return;
    } else {
      call.early_candidates.push_back(std::move(candidate->line));
    }
    session->respond_success(request.transaction, request.name, nullptr);
    return;
  }
  if (candidate->end_of_candidates) {
    call.peer->end_of_remote_candidates();
    session->respond_success(request.transaction, request.name, nullptr);
    return;
  }
  std::weak_ptr<ClientSession> weak = session;
  call.peer->add_remote_candidate(std::move(candidate->line), [weak, transaction = request.transaction](Result<bool> added) {
    auto session = weak.lock();
    if (!session) return;
    if (!added) {
      session->respond_error(transaction, "ice_trickle", added.error());
      return;
    }
    core::JsonPtr fields;
    if (!added.value()) {
      fields = core::adopt_json(json_object());
      json_object_set_new(fields.get(), "ignored", json_true());
    }
    session->respond_success(transaction, "ice_trickle", std::move(fields));
  });
}

void CallHandler::close_peer(CallState& call, const std::shared_ptr<ClientSession>& session) {
  call.peer->close();
  call.peer.reset();
  call.peer_finished = false;
  if (call.answer_transaction) {
    session->respond_error(*call.answer_transaction, "echo",
                           make_error(error_code::kConflict, "hung up before the answer was ready"));
    call.answer_transaction.reset();
  }
  core::JsonPtr event = make_event("webrtc_state");
  json_object_set_new(event.get(), "state", json_string("closed"));
  session->send_event(std::move(event));
}

void CallHandler::handle_hangup(const std::shared_ptr<ClientSession>& session, const Request& request) {
  CallState& call = calls_[session->id()];
  if (!call.peer) {
    session->respond_error(request.transaction, request.name,
                           make_error(error_code::kNotFound, "there is no PeerConnection to hang up"));
    return;
  }
  session->respond_success(request.transaction, request.name, nullptr);
  close_peer(call, session);
}

void CallHandler::close_all() {
  for (auto& [id, call] : calls_) {
    if (call.peer) call.peer->close();
  }
}

size_t CallHandler::open_peer_connections() const {
  size_t count = 0;
  for (const auto& [id, call] : calls_) count += (call.peer && !call.peer_finished) ? 1 : 0;
  return count;
}

}  // namespace partyline::signaling
