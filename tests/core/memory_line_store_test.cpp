#include "core/lines/memory_line_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace partyline::core {
namespace {

MemoryLineStore make_store(size_t max_lines = 10, size_t per_user = 100, size_t members = 1000,
                           size_t invitations = 100) {
  MemoryLineStore::Options options;
  options.max_lines = max_lines;
  options.max_lines_per_user = per_user;
  options.max_members_per_line = members;
  options.max_pending_invitations_per_user = invitations;
  options.make_id = [n = 0]() mutable { return "line-" + std::to_string(n++); };
  options.make_token = [n = 0]() mutable { return "token-" + std::to_string(n++); };
  return MemoryLineStore(options);
}

Invitation invitation(std::string call_id, std::string line_id, std::string callee, int64_t deadline = 1000) {
  return Invitation{std::move(call_id), std::move(line_id), "alice", "Alice", "session-a", std::move(callee), deadline};
}

TEST(MemoryLineStoreTest, CreatorIsTheFirstMemberAndMembersAreAddedOnce) {
  auto store = make_store();
  auto line = store.create_line("alice", 0);
  ASSERT_TRUE(line);
  EXPECT_EQ(line->members, (std::vector<std::string>{"alice"}));
  EXPECT_NE(line->token, "");
  EXPECT_TRUE(store.is_member(line->line_id, "alice"));
  EXPECT_FALSE(store.is_member(line->line_id, "bob"));
  ASSERT_TRUE(store.add_member(line->line_id, "bob").ok());
  ASSERT_TRUE(store.add_member(line->line_id, "bob").ok());
  EXPECT_EQ(store.find_line(line->line_id)->members, (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(store.add_member("nope", "bob").error().code, error_code::kNotFound);
  EXPECT_FALSE(store.find_line("nope").has_value());
}

TEST(MemoryLineStoreTest, RoomsKeepTheirIdsMembersAndTokenAndAreNeverForgottenIdle) {
  auto store = make_store(3);
  auto room = store.add_room(RoomSpec{"chat-1", {"alice", "bob", "alice"}, "", false}, 0);
  ASSERT_TRUE(room);
  EXPECT_EQ(room->line_id, "chat-1");
  EXPECT_TRUE(room->room);
  EXPECT_FALSE(room->open);
  EXPECT_EQ(room->creator, "");
  EXPECT_EQ(room->members, (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(room->token, "token-0") << "a token nobody was told";
  EXPECT_TRUE(store.is_member("chat-1", "bob"));
  EXPECT_EQ(store.lines_of("alice"), (std::vector<std::string>{"chat-1"}));
  auto open = store.add_room(RoomSpec{"peers", {}, "s3cret", true}, 0);
  ASSERT_TRUE(open);
  EXPECT_TRUE(open->open);
  EXPECT_EQ(open->token, "s3cret");
  EXPECT_EQ(store.add_room(RoomSpec{"peers", {}, "", true}, 0).error().code, error_code::kConflict);
  auto line = store.create_line("carol", 0);
  ASSERT_TRUE(line);
  EXPECT_EQ(store.add_room(RoomSpec{"more", {}, "", false}, 0).error().code, error_code::kUnavailable);
  EXPECT_EQ(store.forget_idle_lines(1000000, 10), (std::vector<std::string>{line->line_id}));
  EXPECT_TRUE(store.find_line("chat-1").has_value());
  EXPECT_TRUE(store.find_line("peers").has_value());
}

// One user could create every line the server holds (10,000 in about 5 s)
// and lock everyone out; and invitations of absent users grew a line's
// member list without bound. Each quota is per user or per line.
TEST(MemoryLineStoreTest, LinesPerUserAreBoundedAndFreedWhenTheirLinesAreForgotten) {
  auto store = make_store(10, 2);
  ASSERT_TRUE(store.create_line("alice", 0));
  ASSERT_TRUE(store.create_line("alice", 100));
  auto third = store.create_line("alice", 100);
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code, error_code::kRateLimited);
  EXPECT_NE(third.error().message.find("limits.max_lines_per_user"), std::string::npos) << third.error().message;
  EXPECT_TRUE(store.create_line("bob", 0));  // another user's quota is untouched
  // Membership of someone else's line does not count.
  ASSERT_TRUE(store.add_member("line-2", "alice").ok());
  EXPECT_FALSE(store.create_line("alice", 100));
  // The first line goes idle and is forgotten: alice may create one more.
  auto forgotten = store.forget_idle_lines(50, 50);
  std::sort(forgotten.begin(), forgotten.end());
  EXPECT_EQ(forgotten, (std::vector<std::string>{"line-0", "line-2"}));
  EXPECT_TRUE(store.create_line("alice", 100));
  EXPECT_FALSE(store.create_line("alice", 100));
}

TEST(MemoryLineStoreTest, MembersPerLineAreBounded) {
  auto store = make_store(10, 100, 3);
  auto line = store.create_line("alice", 0);
  ASSERT_TRUE(store.add_member(line->line_id, "bob").ok());
  ASSERT_TRUE(store.add_member(line->line_id, "carol").ok());
  auto fourth = store.add_member(line->line_id, "dave");
  ASSERT_FALSE(fourth.ok());
  EXPECT_EQ(fourth.error().code, error_code::kUnavailable);
  EXPECT_NE(fourth.error().message.find("limits.max_members_per_line"), std::string::npos);
  EXPECT_TRUE(store.add_member(line->line_id, "bob").ok());  // a member again: nothing added
  EXPECT_FALSE(store.is_member(line->line_id, "dave"));
  EXPECT_TRUE(store.lines_of("dave").empty());
}

TEST(MemoryLineStoreTest, RingingInvitationsPerCallerAreBoundedAndFreedWhenTaken) {
  auto store = make_store(10, 100, 1000, 2);
  auto line = store.create_line("alice", 0);
  ASSERT_TRUE(store.add_invitation(invitation("c1", line->line_id, "bob")).ok());
  ASSERT_TRUE(store.add_invitation(invitation("c2", line->line_id, "carol")).ok());
  auto third = store.add_invitation(invitation("c3", line->line_id, "dave"));
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().code, error_code::kRateLimited);
  EXPECT_NE(third.error().message.find("limits.max_pending_invitations_per_user"), std::string::npos);
  EXPECT_FALSE(store.find_invitation("c3"));
  EXPECT_TRUE(store.invitations_for("dave").empty());
  ASSERT_TRUE(store.take_invitation("c1"));
  EXPECT_TRUE(store.add_invitation(invitation("c3", line->line_id, "dave")).ok());
}

// The indexes answer as the lists did: by callee, by caller session, by member.
TEST(MemoryLineStoreTest, LookUpsFollowEveryChange) {
  auto store = make_store();
  auto first = store.create_line("alice", 0);
  auto second = store.create_line("bob", 0);
  ASSERT_TRUE(store.add_member(second->line_id, "alice").ok());
  EXPECT_EQ(store.lines_of("alice"), (std::vector<std::string>{first->line_id, second->line_id}));
  ASSERT_TRUE(store.add_invitation(invitation("c1", first->line_id, "carol")).ok());
  ASSERT_TRUE(store.add_invitation(invitation("c2", second->line_id, "carol")).ok());
  EXPECT_EQ(store.add_invitation(invitation("c3", first->line_id, "carol")).error().code, error_code::kConflict);
  EXPECT_EQ(store.invitations_for("carol").size(), 2u);
  EXPECT_EQ(store.invitations_from_session("session-a").size(), 2u);
  ASSERT_TRUE(store.take_invitation("c1"));
  ASSERT_EQ(store.invitations_for("carol").size(), 1u);
  EXPECT_EQ(store.invitations_for("carol")[0].call_id, "c2");
  EXPECT_EQ(store.invitations_from_session("session-a").size(), 1u);
  ASSERT_TRUE(store.take_invitation("c2"));
  EXPECT_TRUE(store.invitations_for("carol").empty());
  EXPECT_TRUE(store.invitations_from_session("session-a").empty());
  // A forgotten line leaves its members' look-ups.
  EXPECT_EQ(store.forget_idle_lines(10, 5).size(), 2u);
  EXPECT_TRUE(store.lines_of("alice").empty());
  EXPECT_TRUE(store.lines_of("bob").empty());
}

TEST(MemoryLineStoreTest, LineLimitIsEnforced) {
  auto store = make_store(2);
  ASSERT_TRUE(store.create_line("a", 0));
  ASSERT_TRUE(store.create_line("a", 0));
  auto third = store.create_line("a", 0);
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code, error_code::kUnavailable);
}

TEST(MemoryLineStoreTest, LinesOfAUserInCreationOrder) {
  auto store = make_store();
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(store.create_line(i % 2 ? "bob" : "alice", 0)->line_id);
  EXPECT_EQ(store.lines_of("alice"), (std::vector<std::string>{ids[0], ids[2], ids[4]}));
  ASSERT_TRUE(store.add_member(ids[1], "alice").ok());
  EXPECT_EQ(store.lines_of("alice"), (std::vector<std::string>{ids[0], ids[1], ids[2], ids[4]}));
  EXPECT_TRUE(store.lines_of("carol").empty());
}

TEST(MemoryLineStoreTest, IdleLinesAreForgottenUnlessTouchedOrRinging) {
  auto store = make_store();
  auto idle = store.create_line("a", 0)->line_id;
  auto busy = store.create_line("a", 0)->line_id;
  auto ringing = store.create_line("a", 0)->line_id;
  store.touch(busy, 900);
  ASSERT_TRUE(store.add_invitation(invitation("c1", ringing, "bob")).ok());
  EXPECT_EQ(store.forget_idle_lines(1000, 500), (std::vector<std::string>{idle}));
  EXPECT_FALSE(store.find_line(idle).has_value());
  EXPECT_TRUE(store.find_line(busy).has_value());
  EXPECT_TRUE(store.find_line(ringing).has_value());
  EXPECT_EQ(store.line_count(), 2u);
}

TEST(MemoryLineStoreTest, InvitationsAreTakenExactlyOnce) {
  auto store = make_store();
  auto line = store.create_line("alice", 0)->line_id;
  ASSERT_TRUE(store.add_invitation(invitation("c1", line, "bob")).ok());
  EXPECT_EQ(store.add_invitation(invitation("c2", line, "bob")).error().code, error_code::kConflict);
  EXPECT_EQ(store.add_invitation(invitation("c3", "nope", "bob")).error().code, error_code::kNotFound);
  ASSERT_TRUE(store.add_invitation(invitation("c4", line, "carol")).ok());
  EXPECT_EQ(store.invitations_for("bob").size(), 1u);
  EXPECT_EQ(store.invitations_from_session("session-a").size(), 2u);
  ASSERT_TRUE(store.find_invitation("c1").has_value());
  EXPECT_EQ(store.take_invitation("c1")->callee, "bob");
  EXPECT_FALSE(store.take_invitation("c1").has_value());  // the first answer wins
  EXPECT_TRUE(store.invitations_for("bob").empty());
  // Once the first call ended, bob may be invited again.
  EXPECT_TRUE(store.add_invitation(invitation("c5", line, "bob")).ok());
}

TEST(MemoryLineStoreTest, BlockListsBelongToTheBlockingUser) {
  auto store = make_store();
  EXPECT_TRUE(store.block("bob", "mallory").ok());
  EXPECT_TRUE(store.has_blocked("bob", "mallory"));
  EXPECT_FALSE(store.has_blocked("mallory", "bob"));
  EXPECT_FALSE(store.has_blocked("alice", "mallory"));
  EXPECT_TRUE(store.block("bob", "mallory").ok());  // again: no change
  store.unblock("bob", "mallory");
  EXPECT_FALSE(store.has_blocked("bob", "mallory"));
  store.unblock("bob", "nobody");  // harmless
}

// A block list is bounded (limit N: the Nth succeeds, the N+1th is 429, one
// already there still succeeds), and a gone guest's list can be forgotten.
TEST(MemoryLineStoreTest, BlockListsAreBoundedPerUserAndForgettable) {
  MemoryLineStore::Options options;
  options.max_blocked_per_user = 3;
  options.make_id = [] { return std::string("line"); };
  options.make_token = [] { return std::string("token"); };
  MemoryLineStore store(options);
  for (const char* user : {"u1", "u2", "u3"}) EXPECT_TRUE(store.block("bob", user).ok());
  auto refused = store.block("bob", "u4");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, error_code::kRateLimited);
  EXPECT_NE(refused.error().message.find("limits.max_blocked_per_user"), std::string::npos);
  EXPECT_FALSE(store.has_blocked("bob", "u4"));
  EXPECT_TRUE(store.block("bob", "u2").ok());  // already blocked: no change, no refusal
  EXPECT_TRUE(store.block("alice", "u4").ok());  // another user's own list
  store.unblock("bob", "u1");
  EXPECT_TRUE(store.block("bob", "u4").ok());
  store.forget_blocks("bob");
  EXPECT_FALSE(store.has_blocked("bob", "u2"));
  EXPECT_TRUE(store.has_blocked("alice", "u4"));
}

}  // namespace
}  // namespace partyline::core
