// Two IceAgents on 127.0.0.1 (run under `unshare -n` with lo up).
#include "ice/ice_agent.hpp"
#include "tests/ice/test_main_context.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <vector>

namespace partyline::ice {
namespace {

struct Side {
  std::unique_ptr<IceAgent> agent;
  std::vector<std::string> candidates;
  bool gathering_done = false;
  std::vector<IceState> states;
  std::vector<std::vector<uint8_t>> received;
  std::string selected_local;
};

class IceAgentTest : public ::testing::Test {
 protected:
  void TearDown() override {
    a_.agent.reset();
    b_.agent.reset();
  }

  void create(Side& side, bool controlling) {
    IceConfig config;
    config.local_addresses = {"127.0.0.1"};
    config.allowed_remote_networks = {"127.0.0.0/8"};
    config.controlling = controlling;
    IceAgent::Callbacks callbacks;
    callbacks.on_local_candidate = [&side](std::string c) { side.candidates.push_back(std::move(c)); };
    callbacks.on_gathering_done = [&side] { side.gathering_done = true; };
    callbacks.on_state = [&side](IceState state) { side.states.push_back(state); };
    callbacks.on_selected_pair = [&side](const std::string& local, const std::string&) {
      side.selected_local = local;
    };
    callbacks.on_receive = [&side](std::span<uint8_t> d) { side.received.emplace_back(d.begin(), d.end()); };
    auto agent = IceAgent::create(context_, config, std::move(callbacks));
    ASSERT_TRUE(agent.ok()) << agent.error().message;
    side.agent = std::move(agent).value();
  }

  bool run_until(const std::function<bool()>& done) { return loop_.run_until(done); }

  test_support::TestMainContext loop_;  // first: outlives what runs on it
  GMainContext* context_ = loop_.get();
  Side a_;
  Side b_;
};

TEST_F(IceAgentTest, ConnectsWithEarlyCandidatesAndSendsSingleAndBatched) {
  create(a_, false);
  create(b_, true);
  EXPECT_FALSE(a_.agent->local_ufrag().empty());
  EXPECT_FALSE(a_.agent->local_pwd().empty());
  ASSERT_TRUE(a_.agent->start_gathering().ok());
  ASSERT_TRUE(b_.agent->start_gathering().ok());
  ASSERT_TRUE(run_until([&] { return a_.gathering_done && b_.gathering_done; }));
  ASSERT_FALSE(a_.candidates.empty());
  ASSERT_FALSE(b_.candidates.empty());

  // All candidates before the credentials: they must be held, then applied.
  for (const auto& c : b_.candidates) {
    auto outcome = a_.agent->add_remote_candidate(c);
    ASSERT_TRUE(outcome.ok() && outcome->accepted && outcome->queued);
  }
  for (const auto& c : a_.candidates) {
    auto outcome = b_.agent->add_remote_candidate("a=" + c);
    ASSERT_TRUE(outcome.ok() && outcome->accepted && outcome->queued);
  }
  EXPECT_EQ(SendResult::kNoPath, a_.agent->send(std::vector<uint8_t>{1, 2, 3}));  // no pair yet
  ASSERT_TRUE(a_.agent->set_remote_credentials(b_.agent->local_ufrag(), b_.agent->local_pwd()).ok());
  ASSERT_TRUE(b_.agent->set_remote_credentials(a_.agent->local_ufrag(), a_.agent->local_pwd()).ok());
  a_.agent->end_of_remote_candidates();
  b_.agent->end_of_remote_candidates();
  ASSERT_TRUE(run_until([&] { return a_.agent->has_selected_pair() && b_.agent->has_selected_pair(); }));
  EXPECT_NE(a_.selected_local.find("127.0.0.1"), std::string::npos);
  // A host pair: media goes straight to its socket, around nice_agent_send.
  EXPECT_TRUE(a_.agent->sends_directly());
  EXPECT_TRUE(b_.agent->sends_directly());

  const std::vector<uint8_t> single = {0x80, 96, 0, 1, 9, 9, 9, 9};
  ASSERT_EQ(SendResult::kSent, a_.agent->send(single));
  ASSERT_TRUE(run_until([&] { return !b_.received.empty(); }));
  EXPECT_EQ(single, b_.received.front());

  std::vector<std::vector<uint8_t>> packets;
  for (uint8_t i = 0; i < 40; ++i) packets.push_back({0x80, 96, 0, i, 1, 2, 3, 4});
  for (const auto& packet : packets) EXPECT_EQ(SendResult::kSent, b_.agent->send(packet));
  ASSERT_TRUE(run_until([&] { return a_.received.size() >= 40; }));
  EXPECT_EQ(packets, a_.received);
  EXPECT_TRUE(a_.states.back() == IceState::kConnected || a_.states.back() == IceState::kReady);

  // Closed: nothing more goes out, directly or not.
  a_.agent->close();
  EXPECT_FALSE(a_.agent->sends_directly());
  EXPECT_EQ(SendResult::kNoPath, a_.agent->send(single));
}

TEST(CandidateFilterTest, MatchesIpv4AndIpv6NetworksAndRejectsBadCidr) {
  auto filter = CandidateFilter::create({"192.168.0.0/16", "fd00::/8"});
  ASSERT_TRUE(filter.ok()) << filter.error().message;
  auto candidate_at = [](const char* address) {
    NiceCandidate* candidate = nice_candidate_new(NICE_CANDIDATE_TYPE_HOST);
    candidate->component_id = 1;
    candidate->transport = NICE_CANDIDATE_TRANSPORT_UDP;
    nice_address_set_from_string(&candidate->addr, address);
    return std::unique_ptr<NiceCandidate, void (*)(NiceCandidate*)>(candidate, nice_candidate_free);
  };
  EXPECT_FALSE(filter->rejection_reason(*candidate_at("192.168.4.2")));
  EXPECT_FALSE(filter->rejection_reason(*candidate_at("fd00::1234")));
  EXPECT_TRUE(filter->rejection_reason(*candidate_at("10.0.0.1")));
  EXPECT_TRUE(filter->rejection_reason(*candidate_at("2001:db8::1")));

  auto any = CandidateFilter::create({});
  ASSERT_TRUE(any.ok());
  EXPECT_FALSE(any->rejection_reason(*candidate_at("203.0.113.9")));
  EXPECT_TRUE(any->rejection_reason(*candidate_at("::1")));

  auto bad = CandidateFilter::create({"banana"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("banana"), std::string::npos);
}

}  // namespace
}  // namespace partyline::ice
