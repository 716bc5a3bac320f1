// Invitations over a MemoryLineStore in virtual time: ring, accept, decline,
// busy, cancel, timeout, offline, blocked, and the answered calls of `ready`.
#include "core/calls/invitations.hpp"

#include <gtest/gtest.h>

#include "core/lines/memory_line_store.hpp"

namespace partyline::core {
namespace {

using Hears = CallEnd::CallerHears;

class InvitationsTest : public ::testing::Test {
 protected:
  InvitationsTest() : store_(store_options()), invitations_(store_, kRing, [this] { return "call-" + std::to_string(next_call_++); }) {
    line_ = store_.create_line("alice", 0)->line_id;
  }

  static MemoryLineStore::Options store_options() {
    MemoryLineStore::Options options;
    options.make_id = [n = 0]() mutable { return "line-" + std::to_string(n++); };
    options.make_token = [] { return std::string("token"); };
    return options;
  }

  Invitation ring(const std::string& callee = "bob", int64_t now = 0) {
    auto outcome = invitations_.invite(alice_, line_, callee, true, now);
    EXPECT_TRUE(outcome);
    EXPECT_TRUE(outcome->rings());
    return *outcome->call;
  }

  static constexpr int64_t kRing = 60000;
  MemoryLineStore store_;
  Invitations invitations_;
  int next_call_ = 0;
  std::string line_;
  const Caller alice_{"alice", "Alice", "session-a"};
};

TEST_F(InvitationsTest, InvitingRingsUntilTheDeadlineAndMakesTheCalleeAMember) {
  const Invitation call = ring("bob", 1000);
  EXPECT_EQ(call.caller_session, "session-a");
  EXPECT_EQ(call.deadline_ms, 1000 + kRing);
  EXPECT_TRUE(store_.is_member(line_, "bob"));
  EXPECT_EQ(invitations_.next_wakeup(), 1000 + kRing);
  EXPECT_TRUE(invitations_.expire(1000 + kRing - 1).empty());
  auto ended = invitations_.expire(1000 + kRing);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].caller_hears, Hears::kTimeout);
  EXPECT_EQ(ended[0].callee_reason, "timeout");
  EXPECT_EQ(ended[0].answering_session, "");
  EXPECT_FALSE(invitations_.next_wakeup());
  EXPECT_FALSE(store_.find_invitation(call.call_id));
}

TEST_F(InvitationsTest, RefusalsComeWithTheirCodes) {
  EXPECT_EQ(invitations_.invite(alice_, "nope", "bob", true, 0).error().code, error_code::kNotFound);
  EXPECT_EQ(invitations_.invite({"mallory", "M", "s-m"}, line_, "bob", true, 0).error().code, error_code::kForbidden);
  EXPECT_EQ(invitations_.invite(alice_, line_, "alice", true, 0).error().code, error_code::kBadRequest);
  ring("bob");
  EXPECT_EQ(invitations_.invite(alice_, line_, "bob", true, 0).error().code, error_code::kConflict);
  EXPECT_EQ(invitations_.ringing_for("call-0", "carol").error().code, error_code::kForbidden);
  EXPECT_EQ(invitations_.ringing_for("nope", "bob").error().code, error_code::kNotFound);
  EXPECT_EQ(invitations_.accept("call-0", "carol", "s-c").error().code, error_code::kForbidden);
  EXPECT_EQ(invitations_.cancel("call-0", "bob").error().code, error_code::kForbidden);
  EXPECT_EQ(invitations_.decline("nope", "bob", "s-b", "declined").error().code, error_code::kNotFound);
}

TEST_F(InvitationsTest, AnOfflineCalleeIsNotRungButBecomesAMember) {
  auto outcome = invitations_.invite(alice_, line_, "bob", false, 0);
  ASSERT_TRUE(outcome);
  EXPECT_FALSE(outcome->call);
  EXPECT_FALSE(outcome->rings());
  EXPECT_TRUE(store_.is_member(line_, "bob"));
  EXPECT_FALSE(invitations_.next_wakeup());
}

TEST_F(InvitationsTest, ACalleeWhoBlockedTheCallerDeclinesAtOnceAndNothingRings) {
  ASSERT_TRUE(store_.block("bob", "alice").ok());
  auto outcome = invitations_.invite(alice_, line_, "bob", true, 0);
  ASSERT_TRUE(outcome);
  ASSERT_TRUE(outcome->call);
  EXPECT_FALSE(outcome->rings());  // `delivered` false
  ASSERT_TRUE(outcome->declined_at_once);
  EXPECT_EQ(outcome->declined_at_once->caller_hears, Hears::kDeclined);
  EXPECT_EQ(outcome->declined_at_once->caller_reason, "blocked");
  EXPECT_TRUE(outcome->declined_at_once->callee_hears_nothing());
  EXPECT_FALSE(store_.find_invitation(outcome->call->call_id));
  EXPECT_FALSE(invitations_.next_wakeup());
}

TEST_F(InvitationsTest, TheFirstAnswerWinsAndStopsTheRing) {
  const Invitation call = ring();
  auto accepted = invitations_.accept(call.call_id, "bob", "session-b1");
  ASSERT_TRUE(accepted);
  EXPECT_EQ(accepted->caller_hears, Hears::kAccepted);
  EXPECT_EQ(accepted->answering_session, "session-b1");  // bob's other sessions: answered_elsewhere
  EXPECT_FALSE(invitations_.next_wakeup());
  EXPECT_TRUE(invitations_.expire(kRing * 2).empty());
  EXPECT_EQ(invitations_.decline(call.call_id, "bob", "session-b2", "busy").error().code, error_code::kNotFound);
}

TEST_F(InvitationsTest, DeclineBusyAndCancelTellTheRightParties) {
  auto busy = invitations_.decline(ring().call_id, "bob", "session-b", "busy");
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->caller_hears, Hears::kBusy);
  auto declined = invitations_.decline(ring().call_id, "bob", "session-b", "declined");
  EXPECT_EQ(declined->caller_hears, Hears::kDeclined);
  EXPECT_EQ(declined->caller_reason, "declined");
  auto cancelled = invitations_.cancel(ring().call_id, "alice");
  ASSERT_TRUE(cancelled);
  EXPECT_EQ(cancelled->caller_hears, Hears::kCancelled);
  EXPECT_EQ(cancelled->answering_session, "");
  EXPECT_EQ(cancelled->callee_reason, "cancelled");
  EXPECT_FALSE(invitations_.next_wakeup());
}

TEST_F(InvitationsTest, TheCallerLeavingTheLineCancelsOnlyItsCallsOnThatLine) {
  const std::string other = store_.create_line("alice", 0)->line_id;
  ring("bob");
  ASSERT_TRUE(invitations_.invite(alice_, other, "carol", true, 0));
  auto ended = invitations_.caller_left_line("session-a", line_);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].call.callee, "bob");
  EXPECT_EQ(ended[0].caller_hears, Hears::kCancelled);
  EXPECT_EQ(invitations_.ringing_here(), 1u);  // carol still rings
}

TEST_F(InvitationsTest, ClosingSessionsEndTheirCalls) {
  ring("bob");
  // The caller's session closes: the callee hears caller_left, the caller nothing.
  auto ended = invitations_.session_closed("session-a", "alice", true);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].caller_hears, Hears::kNothing);
  EXPECT_EQ(ended[0].callee_reason, "caller_left");
  // The callee's last session closes: declined, offline.
  ring("bob");
  EXPECT_TRUE(invitations_.session_closed("session-b1", "bob", true).empty());  // bob is still online
  ended = invitations_.session_closed("session-b2", "bob", false);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].caller_hears, Hears::kDeclined);
  EXPECT_EQ(ended[0].caller_reason, "offline");
  EXPECT_FALSE(invitations_.next_wakeup());
}

TEST_F(InvitationsTest, AnAnsweredCallTakesReadyFromItsAnsweringSessionUntilEitherGoes) {
  const Invitation call = ring();
  EXPECT_EQ(invitations_.answered_by(call.call_id, "session-b").error().code, error_code::kNotFound);  // ringing
  ASSERT_TRUE(invitations_.accept(call.call_id, "bob", "session-b"));
  auto answered = invitations_.answered_by(call.call_id, "session-b");
  ASSERT_TRUE(answered);
  EXPECT_EQ(answered->call.caller_session, "session-a");
  EXPECT_EQ(invitations_.answered_by(call.call_id, "session-b2").error().code, error_code::kForbidden);
  invitations_.left_line("session-x", call.line_id);  // someone else leaving changes nothing
  EXPECT_TRUE(invitations_.answered_by(call.call_id, "session-b"));
  invitations_.session_closed("session-a", "alice", false);
  EXPECT_EQ(invitations_.answered_by(call.call_id, "session-b").error().code, error_code::kNotFound);
  EXPECT_EQ(invitations_.answered_here(), 0u);
  // Leaving the line forgets it too.
  const Invitation again = ring();
  ASSERT_TRUE(invitations_.accept(again.call_id, "bob", "session-b"));
  invitations_.left_line("session-b", again.line_id);
  EXPECT_EQ(invitations_.answered_here(), 0u);
}

TEST_F(InvitationsTest, ACallEndedElsewhereLeavesOnlyItsDeadlineWhichExpiresQuietly) {
  const Invitation call = ring();
  ASSERT_TRUE(store_.take_invitation(call.call_id));  // e.g. another node answered it
  EXPECT_TRUE(invitations_.expire(call.deadline_ms).empty());
  EXPECT_FALSE(invitations_.next_wakeup());
}

}  // namespace
}  // namespace partyline::core
