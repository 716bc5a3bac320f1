#include "core/lines/memory_line_store.hpp"

#include <algorithm>

namespace partyline::core {

MemoryLineStore::MemoryLineStore(Options options) : options_(std::move(options)) {}

Result<LineRecord> MemoryLineStore::create_line(const std::string& creator, int64_t now_ms, LineAudio audio) {
  if (lines_.size() >= options_.max_lines) {
    return make_error(error_code::kUnavailable,
                      "the server holds its maximum of " + std::to_string(options_.max_lines) + " lines");
  }
  size_t& created = lines_created_by_[creator];
  if (created >= options_.max_lines_per_user) {
    return make_error(error_code::kRateLimited, "user '" + creator + "' has created " +
                                                    std::to_string(options_.max_lines_per_user) +
                                                    " lines that still exist (limits.max_lines_per_user)");
  }
  Line line{LineRecord{options_.make_id(), options_.make_token(), creator, {creator}, now_ms, audio}, {creator},
            creation_counter_++};
  ++created;
  lines_by_member_[creator].insert(line.record.line_id);
  const LineRecord record = line.record;
  lines_.emplace(record.line_id, std::move(line));
  return record;
}

Result<LineRecord> MemoryLineStore::add_room(const RoomSpec& room, int64_t now_ms) {
  if (lines_.count(room.id) > 0) return make_error(error_code::kConflict, "line " + room.id + " exists");
  if (lines_.size() >= options_.max_lines) {
    return make_error(error_code::kUnavailable,
                      "the server holds its maximum of " + std::to_string(options_.max_lines) + " lines");
  }
  Line line;
  line.record.line_id = room.id;
  line.record.token = room.token.empty() ? options_.make_token() : room.token;
  line.record.last_active_ms = now_ms;
  line.record.audio = room.audio;
  line.record.room = true;
  line.record.open = room.open;
  line.creation = creation_counter_++;
  for (const std::string& member : room.members) {
    if (!line.members.insert(member).second) continue;
    line.record.members.push_back(member);
    lines_by_member_[member].insert(room.id);
  }
  const LineRecord record = line.record;
  lines_.emplace(room.id, std::move(line));
  return record;
}

std::optional<LineRecord> MemoryLineStore::find_line(const std::string& line_id) const {
  auto it = lines_.find(line_id);
  if (it == lines_.end()) return std::nullopt;
  return it->second.record;
}

bool MemoryLineStore::is_member(const std::string& line_id, const std::string& user) const {
  auto it = lines_.find(line_id);
  return it != lines_.end() && it->second.members.count(user) > 0;
}

Status MemoryLineStore::add_member(const std::string& line_id, const std::string& user) {
  auto it = lines_.find(line_id);
  if (it == lines_.end()) return make_error(error_code::kNotFound, "no line " + line_id);
  Line& line = it->second;
  if (line.members.count(user) > 0) return {};
  if (line.members.size() >= options_.max_members_per_line) {
    return make_error(error_code::kUnavailable, "line " + line_id + " has its " +
                                                    std::to_string(options_.max_members_per_line) +
                                                    " members (limits.max_members_per_line)");
  }
  line.members.insert(user);
  line.record.members.push_back(user);
  lines_by_member_[user].insert(line_id);
  return {};
}

std::vector<std::string> MemoryLineStore::lines_of(const std::string& user) const {
  auto found = lines_by_member_.find(user);
  if (found == lines_by_member_.end()) return {};
  std::vector<std::string> ids(found->second.begin(), found->second.end());
  std::sort(ids.begin(), ids.end(),
            [this](const std::string& a, const std::string& b) { return lines_.at(a).creation < lines_.at(b).creation; });
  return ids;
}

void MemoryLineStore::touch(const std::string& line_id, int64_t now_ms) {
  auto it = lines_.find(line_id);
  if (it != lines_.end()) it->second.record.last_active_ms = std::max(it->second.record.last_active_ms, now_ms);
}

std::vector<std::string> MemoryLineStore::forget_idle_lines(int64_t now_ms, int64_t idle_ms) {
  std::set<std::string> ringing;
  for (const auto& [call_id, invitation] : invitations_) ringing.insert(invitation.line_id);
  std::vector<std::string> forgotten;
  for (auto it = lines_.begin(); it != lines_.end();) {
    if (!it->second.record.room && it->second.record.last_active_ms + idle_ms <= now_ms &&
        ringing.count(it->first) == 0) {
      forgotten.push_back(it->first);
      auto next = std::next(it);
      forget_line(it);
      it = next;
    } else {
      ++it;
    }
  }
  return forgotten;
}

void MemoryLineStore::forget_line(std::unordered_map<std::string, Line>::iterator line) {
  const std::string& line_id = line->first;
  for (const std::string& member : line->second.members) {
    auto lines = lines_by_member_.find(member);
    if (lines == lines_by_member_.end()) continue;
    lines->second.erase(line_id);
    if (lines->second.empty()) lines_by_member_.erase(lines);
  }
  auto created = lines_created_by_.find(line->second.record.creator);
  if (created != lines_created_by_.end() && --created->second == 0) lines_created_by_.erase(created);
  lines_.erase(line);
}

Status MemoryLineStore::add_invitation(const Invitation& invitation) {
  if (lines_.count(invitation.line_id) == 0) return make_error(error_code::kNotFound, "no line " + invitation.line_id);
  if (auto ringing = invitations_by_callee_.find(invitation.callee); ringing != invitations_by_callee_.end()) {
    for (const std::string& call_id : ringing->second) {
      if (invitations_.at(call_id).line_id == invitation.line_id) {
        return make_error(error_code::kConflict, "user '" + invitation.callee + "' is already ringing for this line");
      }
    }
  }
  size_t& sent = invitations_by_caller_[invitation.caller];
  if (sent >= options_.max_pending_invitations_per_user) {
    return make_error(error_code::kRateLimited, "user '" + invitation.caller + "' has " +
                                                    std::to_string(options_.max_pending_invitations_per_user) +
                                                    " invitations ringing (limits.max_pending_invitations_per_user)");
  }
  ++sent;
  invitations_by_callee_[invitation.callee].insert(invitation.call_id);
  invitations_by_session_[invitation.caller_session].insert(invitation.call_id);
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
  unindex(taken);
  return taken;
}

void MemoryLineStore::unindex(const Invitation& invitation) {
  auto drop = [&](std::unordered_map<std::string, std::set<std::string>>& index, const std::string& key) {
    auto found = index.find(key);
    if (found == index.end()) return;
    found->second.erase(invitation.call_id);
    if (found->second.empty()) index.erase(found);
  };
  drop(invitations_by_callee_, invitation.callee);
  drop(invitations_by_session_, invitation.caller_session);
  auto sent = invitations_by_caller_.find(invitation.caller);
  if (sent != invitations_by_caller_.end() && --sent->second == 0) invitations_by_caller_.erase(sent);
}

std::vector<Invitation> MemoryLineStore::invitations_for(const std::string& callee) const {
  std::vector<Invitation> found;
  if (auto ringing = invitations_by_callee_.find(callee); ringing != invitations_by_callee_.end()) {
    for (const std::string& call_id : ringing->second) found.push_back(invitations_.at(call_id));
  }
  return found;
}

std::vector<Invitation> MemoryLineStore::invitations_from_session(const std::string& caller_session) const {
  std::vector<Invitation> found;
  if (auto sent = invitations_by_session_.find(caller_session); sent != invitations_by_session_.end()) {
    for (const std::string& call_id : sent->second) found.push_back(invitations_.at(call_id));
  }
  return found;
}

Status MemoryLineStore::block(const std::string& user, const std::string& blocked) {
  std::set<std::string>& list = blocked_[user];
  if (list.size() >= options_.max_blocked_per_user && !list.contains(blocked)) {
    return make_error(error_code::kRateLimited, "user '" + user + "' has blocked " +
                                                    std::to_string(options_.max_blocked_per_user) +
                                                    " users already (limits.max_blocked_per_user)");
  }
  list.insert(blocked);
  return {};
}

void MemoryLineStore::forget_blocks(const std::string& user) { blocked_.erase(user); }

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
