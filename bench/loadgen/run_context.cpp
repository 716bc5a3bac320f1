#include "bench/loadgen/run_context.hpp"

namespace partyline::loadgen {

std::string_view to_string(Step step) {
  switch (step) {
    case Step::kConnect: return "connect";
    case Step::kHandshake: return "handshake";
    case Step::kCreateRoom: return "create_room";
    case Step::kJoin: return "join";
    case Step::kAnswer: return "answer";
    case Step::kSecure: return "ice_dtls";
    case Step::kStreams: return "streams";
    case Step::kMedia: return "media";
  }
  return "unknown";
}

void SharedRoom::when_ready(std::function<void(bool ok)> then) {
  switch (state_) {
    case State::kReady: return then(true);
    case State::kFailed: return then(false);
    case State::kPending: waiters_.push_back(std::move(then));
  }
}

void SharedRoom::publish(std::string id, std::string token) {
  if (state_ != State::kPending) return;
  state_ = State::kReady;
  id_ = std::move(id);
  token_ = std::move(token);
  auto waiters = std::move(waiters_);
  for (auto& waiter : waiters) waiter(true);
}

void SharedRoom::fail() {
  if (state_ != State::kPending) return;
  state_ = State::kFailed;
  auto waiters = std::move(waiters_);
  for (auto& waiter : waiters) waiter(false);
}

void PublisherBoard::when_settled(std::function<void()> then) {
  if (settled()) return then();
  waiters_.push_back(std::move(then));
}

void PublisherBoard::settle(size_t index, State state) {
  if (index >= states_.size() || states_[index] != State::kPending) return;
  states_[index] = state;
  if (!settled()) return;
  auto waiters = std::move(waiters_);
  for (auto& waiter : waiters) waiter();
}

bool PublisherBoard::settled() const {
  for (State state : states_) {
    if (state == State::kPending) return false;
  }
  return true;
}

std::optional<uint16_t> RunContext::publisher_of(const std::string& session_id) const {
  for (size_t i = 0; i < publisher_sessions.size(); ++i) {
    if (!session_id.empty() && publisher_sessions[i] == session_id) return static_cast<uint16_t>(i);
  }
  return std::nullopt;
}

}  // namespace partyline::loadgen
