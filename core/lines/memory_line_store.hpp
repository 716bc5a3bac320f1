// The in-memory LineStore of a single node. Used from one thread (the
// signaling loop), so it takes no locks.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <unordered_map>

#include "core/lines/line_store.hpp"

namespace partyline::core {

class MemoryLineStore final : public LineStore {
 public:
  struct Options {
    size_t max_lines = 10000;
    // Makes ids and tokens; injectable so tests are deterministic.
    std::function<std::string()> make_id;
    std::function<std::string()> make_token;
  };
  explicit MemoryLineStore(Options options);

  Result<LineRecord> create_line(const std::string& creator, int64_t now_ms) override;
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

  void block(const std::string& user, const std::string& blocked) override;
  void unblock(const std::string& user, const std::string& blocked) override;
  bool has_blocked(const std::string& user, const std::string& other) const override;

  size_t line_count() const override { return lines_.size(); }

 private:
  Options options_;
  std::unordered_map<std::string, LineRecord> lines_;
  std::map<std::string, Invitation> invitations_;  // by call id
  std::unordered_map<std::string, std::set<std::string>> blocked_;  // user -> users it blocked
  uint64_t creation_counter_ = 0;  // orders lines_of() by creation
  std::unordered_map<std::string, uint64_t> creation_order_;
};

}  // namespace partyline::core
