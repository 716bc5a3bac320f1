// The in-memory LineStore of a single node. Used from one thread (the
// signaling loop), so it takes no locks. Every look-up a request makes is
// constant time or proportional to its answer (indexes by line member, by
// user, by callee and by caller), and what one user can make the store hold
// is bounded (lines it created, members per line, invitations it has
// ringing), so no user can lock others out or make a request slow.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "core/lines/line_store.hpp"

namespace partyline::core {

class MemoryLineStore final : public LineStore {
 public:
  struct Options {
    size_t max_lines = 10000;
    // Makes ids and tokens; injectable so tests are deterministic.
    std::function<std::string()> make_id;
    std::function<std::string()> make_token;
    size_t max_lines_per_user = 100;          // lines one user created that still exist: 429 beyond
    size_t max_members_per_line = 1000;       // 503 beyond
    size_t max_pending_invitations_per_user = 100;  // ringing invitations one user sent: 429 beyond
    size_t max_blocked_per_user = 1000;       // users one user may block: 429 beyond
  };
  explicit MemoryLineStore(Options options);

  Result<LineRecord> create_line(const std::string& creator, int64_t now_ms,
                                 LineAudio audio = LineAudio::kForwarded) override;
  Result<LineRecord> add_room(const RoomSpec& room, int64_t now_ms) override;
  std::optional<LineRecord> find_line(const std::string& line_id) const override;
  bool is_member(const std::string& line_id, const std::string& user) const override;
  Status add_member(const std::string& line_id, const std::string& user) override;
  std::vector<std::string> lines_of(const std::string& user) const override;
  void touch(const std::string& line_id, int64_t now_ms) override;
  std::vector<std::string> forget_idle_lines(int64_t now_ms, int64_t idle_ms) override;

  Status add_invitation(const Invitation& invitation) override;
  std::optional<Invitation> find_invitation(const std::string& call_id) const override;
  std::optional<Invitation> take_invitation(const std::string& call_id) override;
  std::vector<Invitation> invitations_for(const std::string& callee) const override;
  std::vector<Invitation> invitations_from_session(const std::string& caller_session) const override;

  Status block(const std::string& user, const std::string& blocked) override;
  void unblock(const std::string& user, const std::string& blocked) override;
  void forget_blocks(const std::string& user) override;
  bool has_blocked(const std::string& user, const std::string& other) const override;

  size_t line_count() const override { return lines_.size(); }

 private:
  struct Line {
    LineRecord record;
    std::unordered_set<std::string> members;  // record.members, for look-ups
    uint64_t creation = 0;                    // orders lines_of() by creation
  };
  void forget_line(std::unordered_map<std::string, Line>::iterator line);
  void unindex(const Invitation& invitation);

  Options options_;
  std::unordered_map<std::string, Line> lines_;
  uint64_t creation_counter_ = 0;
  std::unordered_map<std::string, std::unordered_set<std::string>> lines_by_member_;  // user -> line ids
  std::unordered_map<std::string, size_t> lines_created_by_;                         // user -> count
  std::map<std::string, Invitation> invitations_;  // by call id
  std::unordered_map<std::string, std::set<std::string>> invitations_by_callee_;    // user -> call ids
  std::unordered_map<std::string, std::set<std::string>> invitations_by_session_;   // caller session -> call ids
  std::unordered_map<std::string, size_t> invitations_by_caller_;                   // user -> ringing count
  std::unordered_map<std::string, std::set<std::string>> blocked_;  // user -> users it blocked
};

}  // namespace partyline::core
