// LineMedia end to end without a network: two occupants negotiated from a
// captured Chromium offer, the publisher on worker 0 and the subscriber on
// worker 1 of one MediaFabric (drained by hand), transports that record what
// would have been protected and sent.
#include "core/media/line_media.hpp"

#include <gtest/gtest.h>

#include "tests/core/line_media_fixture.hpp"

namespace partyline::core {
namespace {

using namespace line_media_test;

TEST_F(LineMediaTest, ANewSubscriberMakesThePublisherSendOneKeyframeRequest) {
  const auto plis = alice_transport_.feedback(206, rtp::feedback_format::kPli);
  ASSERT_EQ(plis.size(), 1u);  // audio legs ask for nothing
  EXPECT_EQ(plis[0].media_ssrc, kAliceVideoSsrc);
}

// Chromium's offer carries the transport-wide sequence number (id 3) and
// "transport-cc" feedback, and the answer takes both: every packet that
// arrives, also a padding-only probe on the RTX SSRC and one of no known
// stream, is reported at the next 100 ms tick; the sequence number never
// reaches a subscriber, though Bob negotiated the same extension.
TEST_F(LineMediaTest, APublishersPacketsAreAcknowledgedInTransportCcFeedback) {
  alice_.on_timer(now_us_);
  alice_transport_.rtcp.clear();
  for (uint16_t i = 0; i < 5; ++i) {
    if (i == 2) continue;  // lost on the way
    Bytes packet = video_packet(static_cast<uint16_t>(500 + i), 9000, 0x20, kAliceVideoSsrc, uint16_t(40 + i));
    now_us_ += 2'000;
    alice_.on_rtp(packet, now_us_);
  }
  Bytes probe = video_packet(700, 9000, 0, kAliceRtxSsrc, uint16_t{45});
  probe.resize(rtp::parse_rtp_packet(probe)->header_size);  // no payload: a padding probe
  alice_.on_rtp(probe, now_us_ += 1'000);
  Bytes stranger = video_packet(1, 1, 0, 0xDEAD, uint16_t{46});
  alice_.on_rtp(stranger, now_us_ += 1'000);
  EXPECT_TRUE(transport_cc_received(alice_transport_, 0xA11CE | 1).empty()) << "not before the tick";

  alice_.on_timer(now_us_ += 100'000);
  EXPECT_EQ(transport_cc_received(alice_transport_, 0xA11CE | 1),
            (std::vector<std::vector<uint16_t>>{{40, 41, 43, 44, 45, 46}}));
  EXPECT_EQ(alice_.stats().transport_feedbacks_sent, 1u);
  alice_.on_timer(now_us_ += 100'000);
  EXPECT_EQ(alice_.stats().transport_feedbacks_sent, 1u) << "nothing new to report";

  for (const Bytes& forwarded : bob_received()) {
    auto parsed = rtp::parse_rtp_packet(forwarded);
    ASSERT_TRUE(parsed.ok());
    if (!parsed->has_extension) continue;
    auto sequence = rtp::find_header_extension(parsed->extension_profile, parsed->extension_data, kTransportCcId);
    EXPECT_FALSE(sequence.has_value()) << "the publisher's transport-wide sequence number reached a leg";
  }
  EXPECT_FALSE(bob_transport_.rtp.empty());
}

TEST_F(LineMediaTest, PacketsReachTheSubscriberRewrittenForItsLeg) {
  const Bytes sent = video_packet(1000, 90000, 0xAB);
  Bytes received_by_server = sent;
  alice_.on_rtp(received_by_server, now_us_);
  ASSERT_EQ(bob_received().size(), 1u);
  const Bytes& forwarded = bob_transport_.rtp[0];
  ASSERT_EQ(forwarded.size(), sent.size());  // blanked extensions keep the size
  auto parsed = rtp::parse_rtp_packet(forwarded);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->ssrc, kLegVideoSsrc);
  EXPECT_EQ(parsed->payload_type, kVp8);
  auto original = rtp::parse_rtp_packet(sent);
  ASSERT_TRUE(original.ok());
  EXPECT_TRUE(std::equal(parsed->payload.begin(), parsed->payload.end(), original->payload.begin(),
                         original->payload.end()));
  // Alice's mid names her m-line, not Bob's: never forwarded.
  EXPECT_FALSE(rtp::find_header_extension(parsed->extension_profile, parsed->extension_data, kMidId).has_value());
  auto abs_send_time = rtp::find_header_extension(parsed->extension_profile, parsed->extension_data, kAbsSendTimeId);
  ASSERT_TRUE(abs_send_time.has_value());
  EXPECT_EQ(abs_send_time->size(), 3u);
}

TEST_F(LineMediaTest, ANackIsAnsweredFromTheCacheAsRtxAndAMissGoesUpstream) {
  for (uint16_t sequence : {1000, 1001, 1003}) {  // 1002 lost on Alice's link
    Bytes packet = video_packet(sequence, 90000 + sequence, static_cast<uint8_t>(sequence));
    alice_.on_rtp(packet, now_us_);
  }
  ASSERT_EQ(bob_received().size(), 3u);
  auto first = rtp::parse_rtp_packet(bob_transport_.rtp[0]);
  ASSERT_TRUE(first.ok());
  const uint16_t leg_first = first->sequence_number;
  EXPECT_EQ(rtp::parse_rtp_packet(bob_transport_.rtp[2])->sequence_number, static_cast<uint16_t>(leg_first + 3));

  // Bob NACKs the second packet (cached) and the third (never arrived).
  Bytes feedback = nack(kLegVideoSsrc, {static_cast<uint16_t>(leg_first + 1), static_cast<uint16_t>(leg_first + 2)});
  bob_.on_rtcp(feedback, now_us_);
  ASSERT_EQ(bob_transport_.rtp.size(), 4u);
  auto rtx = rtp::parse_rtp_packet(bob_transport_.rtp[3]);
  ASSERT_TRUE(rtx.ok());
  EXPECT_EQ(rtx->ssrc, kLegRtxSsrc);
  EXPECT_EQ(rtx->payload_type, kRtx);
  ASSERT_GE(rtx->payload.size(), 2u);
  EXPECT_EQ((rtx->payload[0] << 8) | rtx->payload[1], leg_first + 1);
  EXPECT_EQ(rtx->payload[2], 0x10);
  EXPECT_EQ(rtx->payload[5], static_cast<uint8_t>(1001));

  const auto upstream = alice_transport_.feedback(205, rtp::feedback_format::kNack);
  ASSERT_EQ(upstream.size(), 1u);
  EXPECT_EQ(upstream[0].media_ssrc, kAliceVideoSsrc);
  ASSERT_EQ(upstream[0].fci.size(), 4u);
  EXPECT_EQ((upstream[0].fci[0] << 8) | upstream[0].fci[1], 1002);  // in Alice's numbering
  EXPECT_EQ(fabric_.router(1).retransmitted(), 1u);

  // Alice retransmits 1002 as RTX: it fills Bob's hole, on Bob's media SSRC.
  Bytes repaired = video_packet(1002, 91002, 0x42);
  auto view = rtp::parse_rtp_packet(repaired);
  ASSERT_TRUE(view.ok());
  Bytes as_rtx(repaired.begin(), repaired.begin() + static_cast<std::ptrdiff_t>(view->header_size));
  as_rtx.push_back(1002 >> 8);
  as_rtx.push_back(1002 & 0xff);
  as_rtx.insert(as_rtx.end(), view->payload.begin(), view->payload.end());
  rtp::set_rtp_ssrc(as_rtx, kAliceRtxSsrc);
  rtp::set_rtp_payload_type(as_rtx, kRtx);
  rtp::set_rtp_sequence_number(as_rtx, 7);
  alice_.on_rtp(as_rtx, now_us_);
  ASSERT_EQ(bob_received().size(), 5u);
  auto filled = rtp::parse_rtp_packet(bob_transport_.rtp[4]);
  ASSERT_TRUE(filled.ok());
  EXPECT_EQ(filled->ssrc, kLegVideoSsrc);
  EXPECT_EQ(filled->sequence_number, static_cast<uint16_t>(leg_first + 2));
  EXPECT_EQ(filled->payload_type, kVp8);
  EXPECT_EQ(filled->payload.size(), view->payload.size());
}

TEST_F(LineMediaTest, KeyframeRequestsFromSubscribersAreCoalesced) {
  alice_transport_.rtcp.clear();
  Bytes pli(64);
  rtp::RtcpWriter writer(pli);
  ASSERT_TRUE(rtp::write_pli(writer, 0x77, kLegVideoSsrc).ok());
  pli.resize(writer.size());
  for (int i = 0; i < 5; ++i) bob_.on_rtcp(pli, now_us_);  // within the hold-off of the first request
  EXPECT_TRUE(alice_transport_.feedback(206, rtp::feedback_format::kPli).empty());
  alice_.on_timer(now_us_ + 400'000);  // the hold-off is over: one request for all five
  EXPECT_EQ(alice_transport_.feedback(206, rtp::feedback_format::kPli).size(), 1u);
  alice_.on_timer(now_us_ + 500'000);
  EXPECT_EQ(alice_transport_.feedback(206, rtp::feedback_format::kPli).size(), 1u);
}

TEST_F(LineMediaTest, AKeyframeRequestLostBeforeTheTransportWasSecureIsMadeAgain) {
  const uint64_t sent_before = alice_.stats().keyframe_requests_sent;
  alice_transport_.rtcp.clear();
  alice_transport_.secure = false;
  alice_.on_timer(now_us_ + 400'000);
  alice_.on_keyframe_request(kVideoKey, rtp::KeyframeRequestReason::kNewSubscriber);
  alice_.on_timer(now_us_ + 800'000);
  EXPECT_EQ(alice_.stats().keyframe_requests_sent, sent_before);  // refused sends are not counted
  alice_transport_.secure = true;
  alice_.on_transport_secure(now_us_ + 1'200'000);
  const auto plis = alice_transport_.feedback(206, rtp::feedback_format::kPli);
  ASSERT_EQ(plis.size(), 1u);
  EXPECT_EQ(plis[0].media_ssrc, kAliceVideoSsrc);
}

TEST_F(LineMediaTest, ASubscriberBecomingSecureAsksForAKeyframeOfEveryLeg) {
  alice_transport_.rtcp.clear();
  bob_.on_transport_secure(now_us_);  // within the hold-off of the request made when the leg was added
  alice_.on_timer(now_us_ + 400'000);
  EXPECT_EQ(alice_transport_.feedback(206, rtp::feedback_format::kPli).size(), 1u);
}

TEST_F(LineMediaTest, ReportsGoToThePublisherAndPerLegToTheSubscriber) {
  Bytes audio = audio_packet();
  alice_.on_rtp(audio, now_us_);
  ASSERT_EQ(bob_received().size(), 1u);
  alice_transport_.rtcp.clear();
  alice_.on_timer(now_us_ + 2 * LineMedia::kReportIntervalUs);
  bob_.on_timer(now_us_ + 2 * LineMedia::kReportIntervalUs);

  auto first_packet_type = [](const std::vector<Bytes>& compounds, uint8_t type, uint32_t ssrc) {
    for (const Bytes& compound : compounds) {
      rtp::RtcpCompoundReader reader(compound);
      rtp::RtcpPacketView packet;
      while (reader.next(packet)) {
        if (packet.packet_type == 200 && type == 200) {
          auto report = rtp::parse_sender_report(packet);
          if (report && report->sender_ssrc == ssrc) return report->info.packet_count;
        }
        if (packet.packet_type == 201 && type == 201) {
          auto report = rtp::parse_receiver_report(packet);
          for (size_t i = 0; report && i < report->blocks.size(); ++i) {
            if (report->blocks[i].ssrc == ssrc) return 1u;
          }
        }
      }
    }
    return 0u;
  };
  EXPECT_EQ(first_packet_type(alice_transport_.rtcp, 201, kAliceAudioSsrc), 1u) << "no RR block about Alice's audio";
  EXPECT_EQ(first_packet_type(bob_transport_.rtcp, 200, kLegAudioSsrc), 1u) << "no SR for Bob's audio leg";
}

TEST_F(LineMediaTest, ALegNoLongerOfferedLeavesTheRouter) {
  EXPECT_EQ(fabric_.router(1).leg_count(), 2u);
  rtp::OutgoingStream video{rtp::MediaKind::kVideo, "alice", "video-alice", kLegVideoSsrc, kLegRtxSsrc, "alice"};
  const rtp::UpdateOffer offer = offer_ok(bob_session_, {video});
  bob_session_ = applied(bob_session_, offer, client_answer(offer, bob_offer_));
  EXPECT_TRUE(bob_.set_legs(bob_session_, requests_).empty());
  EXPECT_EQ(bob_.leg_count(), 1u);
  EXPECT_EQ(fabric_.router(1).leg_count(), 1u);
  Bytes audio = audio_packet();
  alice_.on_rtp(audio, now_us_);
  EXPECT_TRUE(bob_received().empty());
}

TEST_F(LineMediaTest, AnOperatorsForceMuteStopsForwardingUntilLifted) {
  Bytes first = video_packet(1, 90000, 0x01);
  alice_.on_rtp(first, now_us_);
  ASSERT_EQ(bob_received().size(), 1u);
  alice_.set_forwarding(rtp::MediaKind::kVideo, false);
  Bytes muted = video_packet(2, 93000, 0x02);
  alice_.on_rtp(muted, now_us_ + 33'000);
  EXPECT_EQ(bob_received().size(), 1u);  // not forwarded
  EXPECT_EQ(alice_.stats().muted_drops, 1u);
  EXPECT_EQ(alice_.stats().received_packets, 2u);  // still received and reported on
  const auto stats = alice_.published_stats();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_FALSE(stats[1].forwarding);
  EXPECT_TRUE(stats[0].forwarding);  // the audio was not muted

  const size_t plis_before = alice_transport_.feedback(206, rtp::feedback_format::kPli).size();
  now_us_ += 1'000'000;  // past the keyframe requester's hold-off
  alice_.set_forwarding(rtp::MediaKind::kVideo, true);
  // Lifted: the others get a keyframe to start from, and packets again.
  EXPECT_EQ(alice_transport_.feedback(206, rtp::feedback_format::kPli).size(), plis_before + 1);
  Bytes again = video_packet(3, 96000, 0x03);
  alice_.on_rtp(again, now_us_);
  EXPECT_EQ(bob_received().size(), 2u);
}

TEST_F(LineMediaTest, StatsCountEachStreamAndLegWithBitratesPerReportInterval) {
  (void)alice_.on_timer(now_us_);  // the first reports: the interval starts
  (void)bob_.on_timer(now_us_);
  for (uint16_t i = 0; i < 10; ++i) {
    Bytes packet = video_packet(static_cast<uint16_t>(100 + i), 90000 + 3000u * i, 0x10);
    alice_.on_rtp(packet, now_us_ + i * 10'000);
  }
  ASSERT_EQ(bob_received().size(), 10u);
  (void)alice_.on_timer(now_us_ + LineMedia::kReportIntervalUs);
  (void)bob_.on_timer(now_us_ + LineMedia::kReportIntervalUs);
  const auto published = alice_.published_stats();
  ASSERT_EQ(published.size(), 2u);
  EXPECT_EQ(published[1].packets, 10u);
  EXPECT_EQ(published[1].ssrc, kAliceVideoSsrc);
  EXPECT_EQ(published[1].bytes, 10u * 600);
  EXPECT_EQ(published[1].bitrate_bps, 10u * 600 * 8);  // over exactly one second
  EXPECT_EQ(published[0].packets, 0u);
  const auto legs = bob_.leg_stats();
  ASSERT_EQ(legs.size(), 2u);
  EXPECT_EQ(legs[1].key, kVideoKey);
  EXPECT_EQ(legs[1].stream_id, "alice");
  EXPECT_EQ(legs[1].packets, 10u);
  EXPECT_EQ(legs[1].bytes, 10u * 600);
  EXPECT_EQ(legs[1].bitrate_bps, 10u * 600 * 8);
  Bytes ask = nack(kLegVideoSsrc, {1});
  bob_.on_rtcp(ask, now_us_ + LineMedia::kReportIntervalUs);
  EXPECT_EQ(bob_.leg_stats()[1].nacked_packets, 1u);
}

// ---- client re-offers (LineMedia::republish) ----

constexpr uint32_t kAliceScreenSsrc = 5000, kAliceScreenRtxSsrc = 5001;
constexpr StreamKey kScreenKey = 42;
constexpr uint32_t kLegScreenSsrc = 0x3333, kLegScreenRtxSsrc = 0x3334;

rtp::NegotiatedSession reoffer_answered(const rtp::NegotiatedSession& session, const rtp::SessionDescription& offer) {
  auto answer = rtp::answer_reoffer(session, offer, {});
  EXPECT_TRUE(answer.ok()) << answer.error().message;
  return answer.ok() ? answer->session : rtp::NegotiatedSession{};
}

uint16_t sequence_number_of(const Bytes& packet) { return rtp::parse_rtp_packet(packet)->sequence_number; }

TEST_F(LineMediaTest, AReofferedScreenShareReachesASubscriberUnderANewKey) {
  rtp::SessionDescription offer = client_reoffer(alice_session_, alice_offer_);
  add_sending_mline(offer, rtp::MediaKind::kVideo, "3", kAliceScreenSsrc, kAliceScreenRtxSsrc);
  alice_session_ = reoffer_answered(alice_session_, offer);
  const auto published = alice_.republish(alice_session_, [] { return kScreenKey; });
  ASSERT_EQ(published.size(), 3u);
  EXPECT_EQ(published[0].key, kAudioKey);  // kept
  EXPECT_EQ(published[1].key, kVideoKey);
  EXPECT_EQ(published[2].key, kScreenKey);
  EXPECT_EQ(published[2].mid, "3");
  EXPECT_EQ(published[2].format.codec_name, "VP8");

  // Bob gets the screen share through a server offer, as a third leg.
  rtp::OutgoingStream audio{rtp::MediaKind::kAudio, "alice", "audio-alice", kLegAudioSsrc, std::nullopt, "alice"};
  rtp::OutgoingStream video{rtp::MediaKind::kVideo, "alice", "video-alice", kLegVideoSsrc, kLegRtxSsrc, "alice"};
  rtp::OutgoingStream screen{rtp::MediaKind::kVideo, "alice", "video-alice-3", kLegScreenSsrc, kLegScreenRtxSsrc,
                             "alice"};
  const rtp::UpdateOffer update = offer_ok(bob_session_, {audio, video, screen});
  bob_session_ = applied(bob_session_, update, client_answer(update, bob_offer_));
  requests_.push_back(LegRequest{kScreenKey, 0, published[2].format, "alice", "video-alice-3", "alice", "Alice"});
  ASSERT_TRUE(bob_.set_legs(bob_session_, requests_).empty());
  ASSERT_EQ(bob_.leg_count(), 3u);

  Bytes packet = video_packet(1, 90000, 0x5C, kAliceScreenSsrc);
  alice_.on_rtp(packet, now_us_);
  Bytes camera = video_packet(1000, 90000, 0xCA);
  alice_.on_rtp(camera, now_us_);
  ASSERT_EQ(bob_received().size(), 2u);
  EXPECT_EQ(rtp::parse_rtp_packet(bob_transport_.rtp[0])->ssrc, kLegScreenSsrc);
  EXPECT_EQ(rtp::parse_rtp_packet(bob_transport_.rtp[1])->ssrc, kLegVideoSsrc);
  EXPECT_EQ(alice_.stats().unknown_ssrc_drops, 0u);
  EXPECT_EQ(alice_.published_stats()[2].ssrc, kAliceScreenSsrc);
}

TEST_F(LineMediaTest, AStoppedVideoLeavesTheRouterAndItsPacketsAreDropped) {
  Bytes before = video_packet(1000, 90000, 0x01);
  alice_.on_rtp(before, now_us_);
  ASSERT_EQ(bob_received().size(), 1u);

  rtp::SessionDescription offer = client_reoffer(alice_session_, alice_offer_);
  offer.media[1].direction = rtp::MediaDirection::kInactive;  // the camera stopped
  alice_session_ = reoffer_answered(alice_session_, offer);
  const auto published = alice_.republish(alice_session_, [] { return kScreenKey; });
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].key, kAudioKey);
  ASSERT_EQ(alice_.published_stats().size(), 1u);

  Bytes after = video_packet(1001, 93000, 0x02);
  alice_.on_rtp(after, now_us_);
  EXPECT_EQ(alice_.stats().unknown_ssrc_drops, 1u);
  EXPECT_EQ(bob_received().size(), 1u);

  // Bob's leg of the removed source is harmless until his own renegotiation:
  // no packets, and its keyframe requests and NACKs reach nobody.
  EXPECT_EQ(bob_.leg_count(), 2u);
  alice_transport_.rtcp.clear();
  Bytes pli(64);
  rtp::RtcpWriter writer(pli);
  ASSERT_TRUE(rtp::write_pli(writer, 0x77, kLegVideoSsrc).ok());
  pli.resize(writer.size());
  bob_.on_rtcp(pli, now_us_ + 1'000'000);
  Bytes ask = nack(kLegVideoSsrc, {static_cast<uint16_t>(sequence_number_of(bob_transport_.rtp[0]) + 1)});
  bob_.on_rtcp(ask, now_us_ + 1'000'000);
  alice_.on_timer(now_us_ + 2'000'000);
  EXPECT_TRUE(alice_transport_.feedback(206, rtp::feedback_format::kPli).empty());
  EXPECT_TRUE(alice_transport_.feedback(205, rtp::feedback_format::kNack).empty());

  // The audio goes on under its key.
  Bytes audio = audio_packet();
  alice_.on_rtp(audio, now_us_);
  ASSERT_EQ(bob_received().size(), 2u);
  EXPECT_EQ(rtp::parse_rtp_packet(bob_transport_.rtp[1])->ssrc, kLegAudioSsrc);
}

TEST_F(LineMediaTest, AKeptStreamFollowsTheSsrcTheReofferAnnounces) {
  Bytes first = video_packet(1000, 90000, 0x01);
  alice_.on_rtp(first, now_us_);
  rtp::SessionDescription offer = client_reoffer(alice_session_, alice_offer_);
  for (rtp::SsrcAttribute& attribute : offer.media[1].ssrcs) {
    if (attribute.ssrc == kAliceVideoSsrc) attribute.ssrc = 0xD00D;
  }
  offer.media[1].ssrc_groups[0].ssrcs[0] = 0xD00D;
  alice_session_ = reoffer_answered(alice_session_, offer);
  const auto published = alice_.republish(alice_session_, [] { return kScreenKey; });
  ASSERT_EQ(published.size(), 2u);
  EXPECT_EQ(published[1].key, kVideoKey);
  Bytes renumbered = video_packet(7, 95000, 0x02, 0xD00D);
  alice_.on_rtp(renumbered, now_us_);
  Bytes stale = video_packet(1001, 93000, 0x03);
  alice_.on_rtp(stale, now_us_);
  EXPECT_EQ(alice_.stats().unknown_ssrc_drops, 1u);
  ASSERT_EQ(bob_received().size(), 2u);
  // One stream for Bob: the leg goes on from its own numbering.
  EXPECT_EQ(rtp::parse_rtp_packet(bob_transport_.rtp[1])->ssrc, kLegVideoSsrc);
  EXPECT_EQ(sequence_number_of(bob_transport_.rtp[1]), static_cast<uint16_t>(sequence_number_of(bob_transport_.rtp[0]) + 1));
  EXPECT_EQ(alice_.published_stats()[1].ssrc, 0xD00Du);
}

TEST_F(LineMediaTest, AnOperatorsForceMuteHoldsForAStreamAReofferAdds) {
  alice_.set_forwarding(rtp::MediaKind::kVideo, false);
  rtp::SessionDescription offer = client_reoffer(alice_session_, alice_offer_);
  add_sending_mline(offer, rtp::MediaKind::kVideo, "3", kAliceScreenSsrc, kAliceScreenRtxSsrc);
  alice_session_ = reoffer_answered(alice_session_, offer);
  ASSERT_EQ(alice_.republish(alice_session_, [] { return kScreenKey; }).size(), 3u);
  const auto stats = alice_.published_stats();
  EXPECT_TRUE(stats[0].forwarding);
  EXPECT_FALSE(stats[1].forwarding);
  EXPECT_FALSE(stats[2].forwarding);
  Bytes packet = video_packet(1, 90000, 0x5C, kAliceScreenSsrc);
  alice_.on_rtp(packet, now_us_);
  EXPECT_EQ(alice_.stats().muted_drops, 1u);
}

TEST_F(LineMediaTest, TheReofferingSubscribersLegsKeepForwardingWithTheirNumbering) {
  Bytes first = video_packet(1000, 90000, 0x01);
  alice_.on_rtp(first, now_us_);
  ASSERT_EQ(bob_received().size(), 1u);
  const uint16_t leg_first = sequence_number_of(bob_transport_.rtp[0]);
  const size_t plis = alice_transport_.feedback(206, rtp::feedback_format::kPli).size();

  // Bob starts a screen share: his re-offer keeps the server's m-lines.
  rtp::SessionDescription offer = client_reoffer(bob_session_, bob_offer_);
  add_sending_mline(offer, rtp::MediaKind::kVideo, "5", 0xB0B5, 0xB0B6);
  bob_session_ = reoffer_answered(bob_session_, offer);
  EXPECT_EQ(bob_.republish(bob_session_, next_stream_key).size(), 3u);
  EXPECT_TRUE(bob_.set_legs(bob_session_, requests_).empty());
  EXPECT_EQ(bob_.leg_count(), 2u);
  EXPECT_EQ(fabric_.router(1).leg_count(), 2u);

  Bytes second = video_packet(1001, 93000, 0x02);
  alice_.on_rtp(second, now_us_ + 33'000);
  ASSERT_EQ(bob_received().size(), 2u);
  EXPECT_EQ(rtp::parse_rtp_packet(bob_transport_.rtp[1])->ssrc, kLegVideoSsrc);
  EXPECT_EQ(sequence_number_of(bob_transport_.rtp[1]), static_cast<uint16_t>(leg_first + 1));
  // The same legs: a new one would have asked Alice for a keyframe.
  EXPECT_EQ(alice_transport_.feedback(206, rtp::feedback_format::kPli).size(), plis);
}

}  // namespace
}  // namespace partyline::core
