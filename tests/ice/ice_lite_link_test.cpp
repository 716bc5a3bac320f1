// An IceLiteLink on a SharedUdpPort against a full libnice agent, the
// participant's side, on 127.0.0.1 (run under `unshare -n` with lo up):
// the agent's checks are answered on the shared port, its nomination
// selects the path, datagrams flow both ways, consent lapses after the agent
// goes, and a second participant on the same port is told apart by its
// fragment and address.
#include "ice/ice_lite_link.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "ice/ice_agent.hpp"
#include "tests/ice/test_main_context.hpp"

namespace partyline::ice {
namespace {

struct Events {
  std::vector<std::string> candidates;
  bool gathering_done = false;
  std::vector<IceState> states;
  std::vector<std::vector<uint8_t>> received;
  std::string selected_local, selected_remote;

  IceLink::Callbacks callbacks() {
    IceLink::Callbacks callbacks;
    callbacks.on_local_candidate = [this](std::string c) { candidates.push_back(std::move(c)); };
    callbacks.on_gathering_done = [this] { gathering_done = true; };
    callbacks.on_state = [this](IceState state) { states.push_back(state); };
    callbacks.on_selected_pair = [this](const std::string& local, const std::string& remote) {
      selected_local = local;
      selected_remote = remote;
    };
    callbacks.on_receive = [this](std::span<uint8_t> d) { received.emplace_back(d.begin(), d.end()); };
    return callbacks;
  }
  bool received_bytes(const std::vector<uint8_t>& bytes) const {
    for (const auto& datagram : received) {
      if (datagram == bytes) return true;
    }
    return false;
  }
};

struct Participant {
  Events events;
  std::unique_ptr<IceAgent> agent;
};

class IceLiteLinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto port = SharedUdpPort::open(context_, "127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.error().message;
    port_ = std::move(port).value();
  }
  void TearDown() override {
    links_.clear();
    participants_.clear();
    port_.reset();
  }

  IceLiteLink& add_link(Events& events, int64_t consent_timeout_us = 30'000'000,
                        std::vector<std::string> allowed_networks = {}) {
    IceLiteLink::Options options;
    options.advertised_addresses = {"127.0.0.1"};
    options.consent_timeout_us = consent_timeout_us;
    options.allowed_remote_networks = std::move(allowed_networks);
    auto link = IceLiteLink::create(context_, *port_, options, events.callbacks());
    EXPECT_TRUE(link.ok());
    links_.push_back(std::move(link).value());
    return *links_.back();
  }

  Participant& add_participant() {
    participants_.push_back(std::make_unique<Participant>());
    Participant& participant = *participants_.back();
    IceConfig config;
    config.local_addresses = {"127.0.0.1"};
    config.allowed_remote_networks = {"127.0.0.0/8"};
    config.controlling = true;  // a browser facing an ICE-lite server
    auto agent = IceAgent::create(context_, config, participant.events.callbacks());
    EXPECT_TRUE(agent.ok());
    participant.agent = std::move(agent).value();
    return participant;
  }

  // The offer/answer exchange, then checks; the participant's candidates
  // reach the link when `tell_candidates`.
  void connect(IceLiteLink& link, Events& link_events, Participant& participant, bool tell_candidates = false) {
    ASSERT_TRUE(link.start_gathering().ok());
    ASSERT_TRUE(participant.agent->start_gathering().ok());
    ASSERT_TRUE(run_until([&] { return link_events.gathering_done && participant.events.gathering_done; }));
    ASSERT_TRUE(link.set_remote_credentials(participant.agent->local_ufrag(), participant.agent->local_pwd()).ok());
    ASSERT_TRUE(participant.agent->set_remote_credentials(link.local_ufrag(), link.local_pwd()).ok());
    for (const std::string& candidate : link_events.candidates) {
      ASSERT_TRUE(participant.agent->add_remote_candidate(candidate).ok());
    }
    participant.agent->end_of_remote_candidates();
    if (tell_candidates) {
      for (const std::string& candidate : participant.events.candidates) {
        ASSERT_TRUE(link.add_remote_candidate(candidate).ok());
      }
    }
  }

  bool run_until(const std::function<bool()>& done) { return loop_.run_until(done); }

  test_support::TestMainContext loop_;  // first: outlives what runs on it
  GMainContext* context_ = loop_.get();
  std::unique_ptr<SharedUdpPort> port_;
  std::vector<std::unique_ptr<IceLiteLink>> links_;
  std::vector<std::unique_ptr<Participant>> participants_;
};

TEST_F(IceLiteLinkTest, AdvertisesOneHostCandidateOnTheSharedPort) {
  Events events;
  IceLiteLink& link = add_link(events);
  ASSERT_TRUE(link.start_gathering().ok());
  EXPECT_TRUE(events.candidates.empty());  // announced from the loop, not from inside the call
  ASSERT_TRUE(run_until([&] { return events.gathering_done; }));
  ASSERT_EQ(events.candidates.size(), 1u);
  EXPECT_EQ(events.candidates[0],
            "candidate:1 1 udp 2130706431 127.0.0.1 " + std::to_string(port_->port()) + " typ host");
  EXPECT_GE(link.local_ufrag().size(), 4u);
  EXPECT_GE(link.local_pwd().size(), 22u);
  const auto kept = link.add_remote_candidate("candidate:1 1 udp 2130706431 127.0.0.1 4000 typ host");
  ASSERT_TRUE(kept.ok());
  EXPECT_TRUE(kept->accepted);
  const auto tcp = link.add_remote_candidate("candidate:2 1 tcp 2130706431 127.0.0.1 9 typ host tcptype active");
  ASSERT_TRUE(tcp.ok());
  EXPECT_FALSE(tcp->accepted);
  EXPECT_FALSE(link.add_remote_candidate("candidate:garbage").ok());
}

TEST_F(IceLiteLinkTest, AFullAgentConnectsThroughTheSharedPortAndDatagramsFlowBothWays) {
  Events link_events;
  IceLiteLink& link = add_link(link_events);
  Participant& participant = add_participant();
  connect(link, link_events, participant);
  ASSERT_TRUE(run_until([&] { return link.has_selected_pair() && participant.agent->has_selected_pair(); }));
  EXPECT_EQ(link.state(), IceState::kReady);
  EXPECT_TRUE(participant.agent->state() == IceState::kConnected || participant.agent->state() == IceState::kReady);
  EXPECT_NE(link_events.selected_remote.find("typ prflx"), std::string::npos) << link_events.selected_remote;
  EXPECT_EQ(link_events.selected_local, link_events.candidates[0]);
  ASSERT_TRUE(run_until([&] { return link.responder().nominated(); }));

  const std::vector<uint8_t> up = {0x80, 0x60, 0x00, 0x01, 'u', 'p'};
  const std::vector<uint8_t> down = {0x80, 0x60, 0x00, 0x02, 'd', 'o', 'w', 'n'};
  EXPECT_EQ(participant.agent->send(up), SendResult::kSent);
  EXPECT_EQ(link.send(down), SendResult::kSent);
  ASSERT_TRUE(run_until([&] { return link_events.received_bytes(up) && participant.events.received_bytes(down); }));
  EXPECT_GT(link.responder().checks_answered(), 0u);
  EXPECT_EQ(port_->counters().dropped, 0u);
}

TEST_F(IceLiteLinkTest, NamesTheSelectedPairsRemoteEndByTheParticipantsCandidate) {
  Events link_events;
  IceLiteLink& link = add_link(link_events);
  Participant& participant = add_participant();
  connect(link, link_events, participant, /*tell_candidates=*/true);
  ASSERT_TRUE(run_until([&] { return link.has_selected_pair(); }));
  ASSERT_FALSE(participant.events.candidates.empty());
  // One of the participant's host candidates, as it wrote it.
  const auto selected = rtp::parse_ice_candidate(link_events.selected_remote);
  ASSERT_TRUE(selected.ok()) << link_events.selected_remote;
  EXPECT_EQ(selected->type, rtp::IceCandidateType::kHost);
  bool listed = false;
  for (const std::string& line : participant.events.candidates) {
    const auto candidate = rtp::parse_ice_candidate(line);
    listed = listed || (candidate.ok() && *candidate == *selected);
  }
  EXPECT_TRUE(listed) << link_events.selected_remote;
}

TEST_F(IceLiteLinkTest, ACandidateTrickledAfterTheCheckNamesThePairAgain) {
  Events link_events;
  IceLiteLink& link = add_link(link_events);
  Participant& participant = add_participant();
  connect(link, link_events, participant);
  ASSERT_TRUE(run_until([&] { return link.has_selected_pair(); }));
  EXPECT_NE(link_events.selected_remote.find("typ prflx"), std::string::npos) << link_events.selected_remote;
  for (const std::string& candidate : participant.events.candidates) {
    ASSERT_TRUE(link.add_remote_candidate(candidate).ok());
  }
  EXPECT_NE(link_events.selected_remote.find("typ host"), std::string::npos) << link_events.selected_remote;
}

TEST_F(IceLiteLinkTest, ChecksFromOutsideTheAllowedNetworksGoUnanswered) {
  Events link_events;
  IceLiteLink& link = add_link(link_events, 30'000'000, {"10.0.0.0/8"});
  Participant& participant = add_participant();
  connect(link, link_events, participant);
  ASSERT_TRUE(run_until([&] { return link.counters().outside_networks >= 2; }));
  EXPECT_FALSE(link.has_selected_pair());
  EXPECT_EQ(link.responder().checks_answered(), 0u);
  EXPECT_FALSE(participant.agent->has_selected_pair());
}

TEST_F(IceLiteLinkTest, ConsentLapsesWhenTheParticipantGoesAndSendingStops) {
  Events link_events;
  IceLiteLink& link = add_link(link_events, 1'500'000);
  Participant& participant = add_participant();
  connect(link, link_events, participant);
  ASSERT_TRUE(run_until([&] { return link.has_selected_pair(); }));
  participant.agent->close();
  const auto closed_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_until([&] { return link.state() == IceState::kFailed; }));
  const auto waited = std::chrono::steady_clock::now() - closed_at;
  EXPECT_LT(waited, std::chrono::milliseconds(2500));
  EXPECT_FALSE(link.has_selected_pair());
  EXPECT_EQ(link.send(std::vector<uint8_t>{0x80, 0, 0, 1}), SendResult::kNoPath);
  EXPECT_EQ(link_events.states.back(), IceState::kFailed);
}

TEST_F(IceLiteLinkTest, TwoParticipantsOnOnePortAreToldApart) {
  Events events_a, events_b;
  IceLiteLink& link_a = add_link(events_a);
  IceLiteLink& link_b = add_link(events_b);
  Participant& alice = add_participant();
  Participant& bob = add_participant();
  connect(link_a, events_a, alice);
  connect(link_b, events_b, bob);
  ASSERT_TRUE(run_until([&] {
    return link_a.has_selected_pair() && link_b.has_selected_pair() && alice.agent->has_selected_pair() &&
           bob.agent->has_selected_pair();
  }));
  const std::vector<uint8_t> from_alice = {0x80, 0x60, 0, 1, 'a'};
  const std::vector<uint8_t> from_bob = {0x80, 0x60, 0, 1, 'b'};
  EXPECT_EQ(alice.agent->send(from_alice), SendResult::kSent);
  EXPECT_EQ(bob.agent->send(from_bob), SendResult::kSent);
  ASSERT_TRUE(run_until([&] { return events_a.received_bytes(from_alice) && events_b.received_bytes(from_bob); }));
  EXPECT_FALSE(events_a.received_bytes(from_bob));
  EXPECT_FALSE(events_b.received_bytes(from_alice));
  // Closing one link leaves the other's routes.
  link_a.close();
  EXPECT_EQ(bob.agent->send(from_bob), SendResult::kSent);
  events_b.received.clear();
  ASSERT_TRUE(run_until([&] { return events_b.received_bytes(from_bob); }));
}

TEST_F(IceLiteLinkTest, ChecksForAnUnknownFragmentAreDroppedAndCounted) {
  Events link_events;
  add_link(link_events);
  Participant& stranger = add_participant();
  ASSERT_TRUE(stranger.agent->start_gathering().ok());
  ASSERT_TRUE(run_until([&] { return stranger.events.gathering_done; }));
  ASSERT_TRUE(stranger.agent->set_remote_credentials("nobody00", "no-such-password-0123456789").ok());
  ASSERT_TRUE(stranger.agent
                  ->add_remote_candidate("candidate:1 1 udp 2130706431 127.0.0.1 " + std::to_string(port_->port()) +
                                         " typ host")
                  .ok());
  ASSERT_TRUE(run_until([&] { return port_->counters().dropped > 0; }));
  EXPECT_FALSE(stranger.agent->has_selected_pair());
  EXPECT_TRUE(link_events.received.empty());
}

}  // namespace
}  // namespace partyline::ice
