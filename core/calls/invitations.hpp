// Invitations: ringing a user into a line and everything that ends a
// ringing call (docs/protocol.md, `invite` to `ready`), as decisions over the
// LineStore's pending invitations. Sans-I/O: time comes with each call
// (milliseconds, monotonic); the owner comes back at next_wakeup() and
// calls expire(), and turns each outcome into events for the parties.
//
// The store holds what other nodes must see (the invitations themselves);
// this unit holds what only this node needs: the ring deadlines it must
// act on, and the calls answered here (for `ready`, until either party's
// session ends).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/lines/line_store.hpp"
#include "rtp/result.hpp"

namespace partyline::core {

struct Caller {
  std::string user, name, session;
};

// How a ringing call ended, and who must be told what.
struct CallEnd {
  enum class CallerHears { kNothing, kAccepted, kDeclined, kBusy, kCancelled, kTimeout };
  Invitation call;
  CallerHears caller_hears = CallerHears::kNothing;
  std::string caller_reason;  // kDeclined: "declined", "blocked" or "offline"
  // The callee session that answered (accept, decline): the callee's other
  // sessions hear `answered_elsewhere`. Empty: every callee session hears
  // `cancelled` with `callee_reason` ("cancelled", "timeout", "caller_left",
  // "offline"); both empty: the callee hears nothing (it never rang).
  std::string answering_session;
  std::string callee_reason;
  bool callee_hears_nothing() const { return answering_session.empty() && callee_reason.empty(); }
};

struct InviteOutcome {
  // Nullopt: no session of the callee is connected; nothing rings and no
  // call exists (`delivered` false, no call id).
  std::optional<Invitation> call;
  // The callee blocked the caller: the call exists only to be declined at
  // once (`delivered` false; `declined` with reason "blocked").
  std::optional<CallEnd> declined_at_once;
  bool rings() const { return call && !declined_at_once; }
};

// A call accepted on this node, while both sessions live.
struct AnsweredCall {
  Invitation call;
  std::string answering_session;
};

class Invitations {
 public:
  Invitations(LineStore& store, int64_t ring_timeout_ms, std::function<std::string()> make_call_id)
      : store_(store), ring_timeout_ms_(ring_timeout_ms), make_call_id_(std::move(make_call_id)) {}

  // The caller must be a member (403; 404 unknown line; 400 oneself; 409
  // already ringing for this line). The callee becomes a member either way.
  Result<InviteOutcome> invite(const Caller& caller, const std::string& line_id, const std::string& callee,
                               bool callee_online, int64_t now_ms);
  // The call ringing for `user`: 404 none, 403 it rings for someone else.
  Result<Invitation> ringing_for(const std::string& call_id, const std::string& user) const;
  // Only the callee (403); a call no longer ringing is 404.
  Result<CallEnd> accept(const std::string& call_id, const std::string& user, const std::string& session);
  // `reason`: "declined", "busy" or "blocked" (checked by the caller).
  Result<CallEnd> decline(const std::string& call_id, const std::string& user, const std::string& session,
                          const std::string& reason);
  // Only the caller (403).
  Result<CallEnd> cancel(const std::string& call_id, const std::string& user);
  // The caller's session left `line_id` (hangup) or failed to join it: the
  // calls it placed there stop ringing (`cancelled`).
  std::vector<CallEnd> caller_left_line(const std::string& session, const std::string& line_id);
  // A session closed: the calls it placed stop (callees hear "caller_left");
  // when it was the user's last session, calls ringing for the user are
  // declined ("offline"). Answered calls involving it are forgotten.
  std::vector<CallEnd> session_closed(const std::string& session, const std::string& user, bool user_still_online);

  // The session left the line: the calls of that line it accepted or placed
  // here are no longer answered calls (`ready` then gets 404).
  void left_line(const std::string& session, const std::string& line_id);

  // Calls whose ring time is up at `now_ms` (`timeout`).
  std::vector<CallEnd> expire(int64_t now_ms);
  std::optional<int64_t> next_wakeup() const;

  // `ready` (docs/protocol.md): the call `session` accepted here, while its
  // caller's session lives. 404 unknown or never accepted here; 403 accepted
  // by another session.
  Result<AnsweredCall> answered_by(const std::string& call_id, const std::string& session) const;

  size_t ringing_here() const { return deadlines_.size(); }
  size_t answered_here() const { return answered_.size(); }

 private:
  // Removes the call from the store (false: someone ended it first).
  std::optional<Invitation> take(const std::string& call_id);

  LineStore& store_;
  int64_t ring_timeout_ms_;
  std::function<std::string()> make_call_id_;
  std::multimap<int64_t, std::string> deadlines_;  // deadline -> call id, calls rung here
  std::unordered_map<std::string, AnsweredCall> answered_;  // by call id
};

}  // namespace partyline::core
