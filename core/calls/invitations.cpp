#include "core/calls/invitations.hpp"

#include <algorithm>

namespace partyline::core {

std::optional<Invitation> Invitations::take(const std::string& call_id) {
  auto call = store_.take_invitation(call_id);
  if (call) {
    auto range = deadlines_.equal_range(call->deadline_ms);
    for (auto it = range.first; it != range.second; ++it) {
      if (it->second == call_id) {
        deadlines_.erase(it);
        break;
      }
    }
  }
  return call;
}

Result<InviteOutcome> Invitations::invite(const Caller& caller, const std::string& line_id, const std::string& callee,
                                          bool callee_online, int64_t now_ms) {
  if (!store_.find_line(line_id)) return make_error(error_code::kNotFound, "no line " + line_id);
  if (!store_.is_member(line_id, caller.user)) {
    return make_error(error_code::kForbidden, "not a member of line " + line_id);
  }
  if (callee == caller.user) return make_error(error_code::kBadRequest, "field 'user' names the caller itself");
  InviteOutcome outcome;
  // The callee becomes a member whatever follows (offline, blocked, ringing):
  // a line with all its members refuses the invitation (503).
  if (auto member = store_.add_member(line_id, callee); !member) return member.error();
  if (!callee_online) return outcome;
  Invitation call{make_call_id_(), line_id, caller.user, caller.name, caller.session, callee, now_ms + ring_timeout_ms_};
  if (store_.has_blocked(callee, caller.user)) {
    // Declined at once and nothing rings: the callee never hears of it.
    outcome.declined_at_once = CallEnd{call, CallEnd::CallerHears::kDeclined, "blocked", "", ""};
    outcome.call = std::move(call);
    return outcome;
  }
  if (auto added = store_.add_invitation(call); !added) return added.error();
  deadlines_.emplace(call.deadline_ms, call.call_id);
  outcome.call = std::move(call);
  return outcome;
}

Result<Invitation> Invitations::ringing_for(const std::string& call_id, const std::string& user) const {
  auto pending = store_.find_invitation(call_id);
  if (!pending) return make_error(error_code::kNotFound, "no ringing call " + call_id);
  if (pending->callee != user) return make_error(error_code::kForbidden, "only the callee may answer call " + call_id);
  return *pending;
}

Result<CallEnd> Invitations::accept(const std::string& call_id, const std::string& user, const std::string& session) {
  auto pending = store_.find_invitation(call_id);
  if (!pending) return make_error(error_code::kNotFound, "no ringing call " + call_id);
  if (pending->callee != user) return make_error(error_code::kForbidden, "only the callee may accept call " + call_id);
  auto call = take(call_id);
  if (!call) return make_error(error_code::kNotFound, "no ringing call " + call_id);
  answered_[call_id] = AnsweredCall{*call, session};
  return CallEnd{*call, CallEnd::CallerHears::kAccepted, "", session, ""};
}

Result<CallEnd> Invitations::decline(const std::string& call_id, const std::string& user, const std::string& session,
                                     const std::string& reason) {
  auto pending = store_.find_invitation(call_id);
  if (!pending) return make_error(error_code::kNotFound, "no ringing call " + call_id);
  if (pending->callee != user) return make_error(error_code::kForbidden, "only the callee may decline call " + call_id);
  auto call = take(call_id);
  if (!call) return make_error(error_code::kNotFound, "no ringing call " + call_id);
  if (reason == "busy") return CallEnd{*call, CallEnd::CallerHears::kBusy, "", session, ""};
  return CallEnd{*call, CallEnd::CallerHears::kDeclined, reason, session, ""};
}

Result<CallEnd> Invitations::cancel(const std::string& call_id, const std::string& user) {
  auto pending = store_.find_invitation(call_id);
  if (!pending) return make_error(error_code::kNotFound, "no ringing call " + call_id);
  if (pending->caller != user) return make_error(error_code::kForbidden, "only the caller may cancel call " + call_id);
  auto call = take(call_id);
  if (!call) return make_error(error_code::kNotFound, "no ringing call " + call_id);
  return CallEnd{*call, CallEnd::CallerHears::kCancelled, "", "", "cancelled"};
}

std::vector<CallEnd> Invitations::caller_left_line(const std::string& session, const std::string& line_id) {
  std::vector<CallEnd> ended;
  for (const Invitation& pending : store_.invitations_from_session(session)) {
    if (pending.line_id != line_id) continue;
    if (auto call = take(pending.call_id)) {
      ended.push_back(CallEnd{*call, CallEnd::CallerHears::kCancelled, "", "", "cancelled"});
    }
  }
  return ended;
}

std::vector<CallEnd> Invitations::session_closed(const std::string& session, const std::string& user,
                                                 bool user_still_online) {
  std::vector<CallEnd> ended;
  for (const Invitation& pending : store_.invitations_from_session(session)) {
    if (auto call = take(pending.call_id)) {
      ended.push_back(CallEnd{*call, CallEnd::CallerHears::kNothing, "", "", "caller_left"});
    }
  }
  if (!user_still_online) {
    for (const Invitation& pending : store_.invitations_for(user)) {
      if (auto call = take(pending.call_id)) {
        ended.push_back(CallEnd{*call, CallEnd::CallerHears::kDeclined, "offline", "", "offline"});
      }
    }
  }
  std::erase_if(answered_, [&](const auto& entry) {
    return entry.second.call.caller_session == session || entry.second.answering_session == session;
  });
  return ended;
}

void Invitations::left_line(const std::string& session, const std::string& line_id) {
  std::erase_if(answered_, [&](const auto& entry) {
    const AnsweredCall& answered = entry.second;
    return answered.call.line_id == line_id &&
           (answered.call.caller_session == session || answered.answering_session == session);
  });
}

std::vector<CallEnd> Invitations::expire(int64_t now_ms) {
  std::vector<std::string> due;
  for (auto it = deadlines_.begin(); it != deadlines_.end() && it->first <= now_ms; ++it) due.push_back(it->second);
  std::vector<CallEnd> ended;
  for (const std::string& call_id : due) {
    if (auto call = take(call_id)) {
      ended.push_back(CallEnd{*call, CallEnd::CallerHears::kTimeout, "", "", "timeout"});
    } else {
      // Ended elsewhere (another node took it): only the deadline is left.
      std::erase_if(deadlines_, [&](const auto& entry) { return entry.second == call_id; });
    }
  }
  return ended;
}

std::optional<int64_t> Invitations::next_wakeup() const {
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.begin()->first;
}

Result<AnsweredCall> Invitations::answered_by(const std::string& call_id, const std::string& session) const {
  auto it = answered_.find(call_id);
  if (it == answered_.end()) return make_error(error_code::kNotFound, "no answered call " + call_id);
  if (it->second.answering_session != session) {
    return make_error(error_code::kForbidden, "call " + call_id + " was answered by another session");
  }
  return it->second;
}

}  // namespace partyline::core
