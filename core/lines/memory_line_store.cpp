#include "core/lines/memory_line_store.hpp"

#include <algorithm>

namespace partyline::core {

MemoryLineStore::MemoryLineStore(Options options) : options_(std::move(options)) {}

Result<LineRecord> MemoryLineStore::create_line(const std::string& creator, int64_t now_ms) {
  if (lines_.size() >= options_.max_lines) {
    return make_error(error_code::kUnavailable,
                      "the server holds its maximum of " + std::to_string(options_.max_lines) + " lines");
  }
  LineRecord line{options_.make_id(), options_.make_token(), creator, {creator}, now_ms};
  creation_order_[line.line_id] = creation_counter_++;
  lines_.emplace(line.line_id, line);
  return line;
}

std::optional<LineRecord> MemoryLineStore::find_line(const std::string& line_id) const {
  auto it = lines_.find(line_id);
  if (it == lines_.end()) return std::nullopt;
  return it->second;
}

bool MemoryLineStore::is_member(const std::string& line_id, const std::string& user) const {
  auto it = lines_.find(line_id);
  if (it == lines_.end()) return false;
  const auto& members = it->second.members;
  return std::find(members.begin(), members.end(), user) != members.end();
}

Status MemoryLineStore::add_member(const std::string& line_id, const std::string& user) {
  auto it = lines_.find(line_id);
  if (it == lines_.end()) return make_error(error_code::kNotFound, "no line " + line_id);
  auto& members = it->second.members;
  if (std::find(members.begin(), members.end(), user) == members.end()) members.push_back(user);
  return {};
}

std::vector<std::string> MemoryLineStore::lines_of(const std::string& user) const {
  std::vector<std::string> ids;
  for (const auto& [id, line] : lines_) {
    if (std::find(line.members.begin(), line.members.end(), user) != line.members.end()) ids.push_back(id);
  }
  std::sort(ids.begin(), ids.end(),
            [this](const std::string& a, const std::string& b) { return creation_order_.at(a) < creation_order_.at(b); });
  return ids;
}

void MemoryLineStore::touch(const std::string& line_id, int64_t now_ms) {
  auto it = lines_.find(line_id);
  if (it != lines_.end()) it->second.last_active_ms = std::max(it->second.last_active_ms, now_ms);
}

std::vector<std::string> MemoryLineStore::forget_idle_lines(int64_t now_ms, int64_t idle_ms) {
  std::set<std::string> ringing;
  for (const auto& [call_id, invitation] : invitations_) ringing.insert(invitation.line_id);
  std::vector<std::string> forgotten;
  for (auto it = lines_.begin(); it != lines_.end();) {
    if (it->second.last_active_ms + idle_ms <= now_ms && ringing.count(it->first) == 0) {
      forgotten.push_back(it->first);
      creation_order_.erase(it->first);
      it = lines_.erase(it);
    } else {
      ++it;
    }
  }
  return forgotten;
}

Status MemoryLineStore::add_invitation(const Invitation& invitation) {
  if (lines_.count(invitation.line_id) == 0) return make_error(error_code::kNotFound, "no line " + invitation.line_id);
  for (const auto& [call_id, pending] : invitations_) {
    if (pending.line_id == invitation.line_id && pending.callee == invitation.callee) {
      return make_error(error_code::kConflict, "user '" + invitation.callee + "' is already ringing for this line");
    }
  }
  invitations_.emplace(invitation.call_id, invitation);
  return {};
}

std::optional<Invitation> MemoryLineStore::find_invitation(const std::string& call_id) const {
  auto it = invitations_.find(call_id);
  if (it == invitations_.end()) return std::nullopt;
  return it->second;
}

std::optional<Invitation> MemoryLineStore::take_invitation(const std::string& call_id) {
  auto it = invitations_.find(call_id);
  if (it == invitations_.end()) return std::nullopt;
  Invitation taken = std::move(it->second);
  invitations_.erase(it);
  return taken;
}

std::vector<Invitation> MemoryLineStore::invitations_for(const std::string& callee) const {
  std::vector<Invitation> found;
  for (const auto& [call_id, invitation] : invitations_) {
    if (invitation.callee == callee) found.push_back(invitation);
  }
  return found;
}

std::vector<Invitation> MemoryLineStore::invitations_from_session(const std::string& caller_session) const {
  std::vector<Invitation> found;
  for (const auto& [call_id, invitation] : invitations_) {
    if (invitation.caller_session == caller_session) found.push_back(invitation);
  }
  return found;
}

void MemoryLineStore::block(const std::string& user, const std::string& blocked) { blocked_[user].insert(blocked); }

void MemoryLineStore::unblock(const std::string& user, const std::string& blocked) {
  auto it = blocked_.find(user);
  if (it == blocked_.end()) return;
  it->second.erase(blocked);
  if (it->second.empty()) blocked_.erase(it);
}

bool MemoryLineStore::has_blocked(const std::string& user, const std::string& other) const {
  auto it = blocked_.find(user);
  return it != blocked_.end() && it->second.count(other) > 0;
}

}  // namespace partyline::core
