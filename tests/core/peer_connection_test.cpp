// PeerConnection::answer_offer (a line participant's re-offer, answered on
// the worker at once) and add_remote_candidate. A real PeerConnection on its own GMainContext with a
// loopback ICE agent (it gathers, nobody connects) and a one-worker fabric.
#include "core/session/peer_connection.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>

#include "ice/certificate.hpp"
#include "rtp/sdp/sdp.hpp"
#include "tests/core/glib_deadline.hpp"
#include "tests/rtp/negotiated_session_fixtures.hpp"

namespace partyline::core {
namespace {

using rtp::test_sessions::add_sending_mline;
using rtp::test_sessions::capture;

class PeerConnectionReofferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    context_ = g_main_context_new();
    auto certificate = ice::Certificate::generate();
    ASSERT_TRUE(certificate.ok()) << certificate.error().message;
    settings_.ice.local_addresses = {"127.0.0.1"};
    settings_.ice.allowed_remote_networks = {"127.0.0.0/8"};
    settings_.certificate = *certificate;
    settings_.gathering_wait = std::chrono::milliseconds(300);
    settings_.fabric = &fabric_;
    pc_ = std::make_unique<PeerConnection>(context_, settings_, "session=test pc=line", PeerConnection::Events{},
                                           &fabric_.router(0));
  }
  void TearDown() override {
    pc_.reset();
    while (g_main_context_iteration(context_, FALSE)) {
    }
    g_main_context_unref(context_);
  }

  // The first offer, answered once gathering is done (or its wait is over).
  Negotiation negotiate() {
    std::optional<Result<Negotiation>> result;
    pc_->negotiate(rtp::to_string(first_offer_), MediaRole::kLineParticipant,
                   [&](Result<Negotiation> answer) { result = std::move(answer); });
    test_support::DeadlineWake wake(context_, std::chrono::milliseconds(10'000));
    while (!result && !wake.passed()) g_main_context_iteration(context_, TRUE);
    EXPECT_TRUE(result && result->ok()) << (result ? result->error().message : "no answer");
    return result && result->ok() ? result->value() : Negotiation{};
  }

  // What Chromium offers next: version + 1, its rejected data channel at
  // port 0 out of the BUNDLE, a screen share appended (mid 3).
  rtp::SessionDescription reoffer() const {
    rtp::SessionDescription offer = first_offer_;
    offer.origin.session_version += 1;
    offer.media[2].port = 0;
    offer.groups[0].mids = {"0", "1"};
    add_sending_mline(offer, rtp::MediaKind::kVideo, "3", 5000, 5001);
    return offer;
  }

  GMainContext* context_ = nullptr;
  MediaFabric fabric_{1};
  PeerConnectionSettings settings_;
  std::unique_ptr<PeerConnection> pc_;
  rtp::SessionDescription first_offer_ = capture("chromium156_offer_av_dc.sdp");
};

TEST_F(PeerConnectionReofferTest, BeforeTheFirstNegotiationAReofferIsAConflict) {
  auto answer = pc_->answer_offer(rtp::to_string(reoffer()));
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().code, error_code::kConflict);
}

// libnice reads a candidate's numbers with atoi: 65536 and -1 became other
// ports. A trickled candidate is checked by our parser first.
TEST_F(PeerConnectionReofferTest, ATrickledCandidateWithAnOutOfRangePortIsRefused) {
  negotiate();
  for (const char* port : {"65536", "-1", "99999999999"}) {
    auto added = pc_->add_remote_candidate(std::string("candidate:1 1 udp 2130706431 127.0.0.1 ") + port + " typ host");
    ASSERT_FALSE(added.ok()) << port;
    EXPECT_EQ(added.error().code, error_code::kBadRequest) << port;
    EXPECT_NE(added.error().message.find("port must be an integer 0-65535"), std::string::npos)
        << added.error().message;
  }
  auto good = pc_->add_remote_candidate("candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host");
  ASSERT_TRUE(good.ok()) << good.error().message;
  EXPECT_TRUE(*good);
}

TEST_F(PeerConnectionReofferTest, AReofferIsAnsweredAtOnceAndPublishesTheNewStream) {
  const Negotiation first = negotiate();
  ASSERT_EQ(first.published.size(), 2u);
  auto first_answer = rtp::parse_sdp(first.answer_sdp);
  ASSERT_TRUE(first_answer.ok());

  auto result = pc_->answer_offer(rtp::to_string(reoffer()));
  ASSERT_TRUE(result.ok()) << result.error().message;
  const Negotiation& negotiation = *result;
  ASSERT_EQ(negotiation.published.size(), 3u);
  EXPECT_EQ(negotiation.published[0].key, first.published[0].key);
  EXPECT_EQ(negotiation.published[1].key, first.published[1].key);
  EXPECT_NE(negotiation.published[2].key, first.published[1].key);
  EXPECT_EQ(negotiation.published[2].mid, "3");
  EXPECT_TRUE(negotiation.publishes_audio);
  EXPECT_TRUE(negotiation.publishes_video);

  auto answer = rtp::parse_sdp(negotiation.answer_sdp);
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  ASSERT_EQ(answer->media.size(), 4u);
  EXPECT_EQ(answer->media[3].mid, "3");
  EXPECT_EQ(answer->media[3].direction, rtp::MediaDirection::kRecvOnly);
  EXPECT_EQ(answer->origin.session_id, first_answer->origin.session_id);
  EXPECT_EQ(answer->origin.session_version, first_answer->origin.session_version + 1);
  EXPECT_EQ(answer->media[0].ice_ufrag, first_answer->media[0].ice_ufrag);
  EXPECT_EQ(answer->media[0].fingerprints, first_answer->media[0].fingerprints);
  // The candidates gathered so far, on the BUNDLE tag, as in the first answer.
  EXPECT_FALSE(answer->media[0].candidates.empty());
  EXPECT_EQ(answer->media[0].candidates.size(), first_answer->media[0].candidates.size());
  EXPECT_TRUE(answer->media[3].candidates.empty());
  ASSERT_TRUE(pc_->stats().published.size() == 3u);
  EXPECT_EQ(pc_->stats().published[2].ssrc, 5000u);
}

TEST_F(PeerConnectionReofferTest, AReofferWhileAServerOfferAwaitsItsAnswerIsAConflict) {
  ASSERT_EQ(negotiate().published.size(), 2u);
  auto offer = pc_->offer_streams({});
  ASSERT_TRUE(offer.ok()) << offer.error().message;
  auto answer = pc_->answer_offer(rtp::to_string(reoffer()));
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().code, error_code::kConflict);
  EXPECT_NE(answer.error().message.find("server offer"), std::string::npos) << answer.error().message;
  EXPECT_EQ(pc_->stats().published.size(), 2u);  // nothing changed
}

TEST_F(PeerConnectionReofferTest, ARefusedReofferChangesNothing) {
  const Negotiation first = negotiate();
  ASSERT_EQ(first.published.size(), 2u);
  rtp::SessionDescription restart = reoffer();
  for (rtp::MediaDescription& section : restart.media) section.ice_ufrag = "n3wU";
  restart.media[1].direction = rtp::MediaDirection::kInactive;  // would stop the camera
  auto refused = pc_->answer_offer(rtp::to_string(restart));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, error_code::kNotImplemented);
  EXPECT_NE(refused.error().message.find("ICE restart is not supported"), std::string::npos);
  EXPECT_EQ(pc_->stats().published.size(), 2u);

  auto garbage = pc_->answer_offer("v=0\r\nnot sdp");
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().code, error_code::kBadRequest);

  rtp::SessionDescription unchanged = first_offer_;
  unchanged.origin.session_version += 1;
  auto again = pc_->answer_offer(rtp::to_string(unchanged));
  ASSERT_TRUE(again.ok()) << again.error().message;
  ASSERT_EQ(again->published.size(), 2u);
  EXPECT_EQ(again->published[1].key, first.published[1].key);  // the camera was never stopped
}

}  // namespace
}  // namespace partyline::core
