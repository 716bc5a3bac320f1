// LineStore: the shared state of phone lines — lines, their members and
// tokens, pending invitations and block lists — behind one interface, so a
// store shared by several nodes can replace the in-memory one without
// touching the protocol code. Who occupies a line right now is not here: an
// occupant is a live WebSocket session with a PeerConnection on this node.
//
// Time is passed in (milliseconds on any monotonic clock); nothing here
// reads a clock or arms a timer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rtp/result.hpp"

namespace partyline::core {

// How a line's occupants hear each other (docs/protocol.md, create_line's
// "audio"): every occupant's audio forwarded to every other, or mixed by
// the line's mixer (a plugin handle, plugin API 1.4), which alone receives
// the occupants' audio and sends each occupant one stream.
enum class LineAudio { kForwarded, kMixed };

struct LineRecord {
  std::string line_id;  // UUID
  std::string token;    // capability: whoever presents it may join
  std::string creator;  // user id
  std::vector<std::string> members;  // user ids, creator first, in order of admission
  int64_t last_active_ms = 0;
  LineAudio audio = LineAudio::kForwarded;
  // A room (add_room): its id was chosen by the operator, it has no
  // creator and is never forgotten for being idle.
  bool room = false;
  // Anyone may join (a room for clients without a membership of their own,
  // e.g. seed 002's peers); joining does not make them members.
  bool open = false;
};

// What add_room makes (config lines.rooms).
struct RoomSpec {
  std::string id;
  std::vector<std::string> members;
  std::string token;  // empty: a random one, told to nobody (no token admission)
  bool open = false;
  LineAudio audio = LineAudio::kForwarded;
};

struct Invitation {
  std::string call_id;  // UUID
  std::string line_id;
  std::string caller;   // user id
  std::string caller_name;
  std::string caller_session;  // the session that invited: it gets the call's events
  std::string callee;   // user id
  int64_t deadline_ms = 0;  // rings until then
};

class LineStore {
 public:
  virtual ~LineStore() = default;

  // A new line with `creator` as its first member; 503 beyond the limit.
  virtual Result<LineRecord> create_line(const std::string& creator, int64_t now_ms,
                                         LineAudio audio = LineAudio::kForwarded) = 0;
  // A room with the id it names; 409 when a line with that id exists, 503
  // beyond max_lines. Not counted among anyone's lines created.
  virtual Result<LineRecord> add_room(const RoomSpec& room, int64_t now_ms) = 0;
  virtual std::optional<LineRecord> find_line(const std::string& line_id) const = 0;
  virtual bool is_member(const std::string& line_id, const std::string& user) const = 0;
  // Adds `user` to the members (no-op if already one); 404 for an unknown line.
  virtual Status add_member(const std::string& line_id, const std::string& user) = 0;
  // Lines `user` is a member of, oldest first.
  virtual std::vector<std::string> lines_of(const std::string& user) const = 0;
  // Marks the line as in use (occupied or ringing) at `now_ms`.
  virtual void touch(const std::string& line_id, int64_t now_ms) = 0;
  // Forgets lines unused since `now_ms - idle_ms` that have no invitation
  // (never rooms); returns their ids.
  virtual std::vector<std::string> forget_idle_lines(int64_t now_ms, int64_t idle_ms) = 0;

  // 409 if `callee` is already ringing for the same line; 404 for an unknown line.
  virtual Status add_invitation(const Invitation& invitation) = 0;
  virtual std::optional<Invitation> find_invitation(const std::string& call_id) const = 0;
  // Removes and returns the invitation: whoever takes it first ends the call.
  virtual std::optional<Invitation> take_invitation(const std::string& call_id) = 0;
  // Invitations ringing for `callee`, or sent by `caller_session`.
  virtual std::vector<Invitation> invitations_for(const std::string& callee) const = 0;
  virtual std::vector<Invitation> invitations_from_session(const std::string& caller_session) const = 0;

  // 429 when `user` has blocked its maximum of users already.
  virtual Status block(const std::string& user, const std::string& blocked) = 0;
  virtual void unblock(const std::string& user, const std::string& blocked) = 0;
  // Forgets whom `user` blocked (a guest, gone: its name may be anyone's next).
  virtual void forget_blocks(const std::string& user) = 0;
  // Whether `user` has blocked `other`.
  virtual bool has_blocked(const std::string& user, const std::string& other) const = 0;

  virtual size_t line_count() const = 0;
};

}  // namespace partyline::core
