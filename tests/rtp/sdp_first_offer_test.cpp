// The server's first offer (build_first_offer) and the check of the answer
// to it (apply_first_answer), and the paired answer: start_session() on an
// answer that sends on the participant's own m-lines.
#include "rtp/sdp/sdp_first_offer.hpp"

#include <gtest/gtest.h>

#include "rtp/sdp/sdp_common.hpp"
#include "tests/rtp/negotiated_session_fixtures.hpp"

namespace partyline::rtp {
namespace {

using namespace test_sessions;

FirstOfferOptions options(std::vector<MediaKind> kinds) {
  FirstOfferOptions options;
  options.ice_ufrag = "pLy1";
  options.ice_pwd = "partylinepartylinepass";
  options.fingerprint = Fingerprint{"sha-256", kLocalFingerprint};
  options.cname = "partyline-cname";
  options.stream_id = "partyline-peer";
  options.kinds = std::move(kinds);
  uint32_t next = 1000;
  options.generate_ssrc = [next]() mutable { return next += 7; };
  options.candidates = {kLocalCandidate};
  options.candidates_complete = true;
  options.session_id = 42;
  return options;
}

UpdateOffer first_offer_ok(const FirstOfferOptions& options) {
  auto offer = build_first_offer(options);
  EXPECT_TRUE(offer.ok()) << offer.error().message;
  if (!offer.ok()) return {};
  auto reparsed = parse_sdp(offer->sdp);
  EXPECT_TRUE(reparsed.ok()) << reparsed.error().message << "\n" << offer->sdp;
  if (reparsed.ok()) {
    EXPECT_EQ(*reparsed, offer->description) << offer->sdp;
  }
  return offer.value();
}

// What Chromium answers after addTrack of a microphone and a camera: every
// m-line sendrecv with its own sender, a=setup:active, its own transport.
SessionDescription browser_answer(const UpdateOffer& offer, MediaDirection direction = MediaDirection::kSendRecv,
                                  DtlsSetup setup = DtlsSetup::kActive) {
  SessionDescription answer = offer.description;
  answer.origin.session_id = "7777";
  answer.msid_semantic = "WMS browser";
  uint32_t ssrc = 90000;
  for (MediaDescription& section : answer.media) {
    section.setup = setup;
    section.ice_ufrag = "brws";
    section.ice_pwd = "browserbrowserbrowserpw";
    section.fingerprints = {Fingerprint{"sha-256", "11:22:33:44:55:66:77:88:99:00:11:22:33:44:55:66:77:88:99:00:11:22:33:44:55:66:77:88:99:00:11:22"}};
    section.candidates.clear();
    section.end_of_candidates = false;
    section.direction = direction;
    section.msids.clear();
    section.ssrcs.clear();
    section.ssrc_groups.clear();
    if (sdp_common::sends(direction)) {
      section.msids.push_back(Msid{"browser", std::string("browser-") + std::string(to_string(section.kind))});
      section.ssrcs.push_back(SsrcAttribute{++ssrc, "cname", "browser-cname"});
    }
  }
  return answer;
}

TEST(SdpFirstOfferTest, OneSendrecvMlinePerKindWithAReservedSender) {
  UpdateOffer offer = first_offer_ok(options({MediaKind::kAudio, MediaKind::kVideo}));
  ASSERT_EQ(offer.description.media.size(), 2u);
  ASSERT_EQ(offer.slots.size(), 2u);
  const BundleGroup* bundle = offer.description.find_group("BUNDLE");
  ASSERT_NE(bundle, nullptr);
  EXPECT_EQ(bundle->mids, (std::vector<std::string>{"0", "1"}));
  for (size_t i = 0; i < 2; ++i) {
    const MediaDescription& section = offer.description.media[i];
    const MediaSlot& slot = offer.slots[i];
    EXPECT_EQ(section.effective_direction(), MediaDirection::kSendRecv);
    EXPECT_EQ(section.setup, DtlsSetup::kActpass);
    EXPECT_TRUE(section.rtcp_mux);
    EXPECT_EQ(section.ice_ufrag, "pLy1");
    EXPECT_EQ(slot.origin, MediaOrigin::kParticipant);
    ASSERT_TRUE(slot.stream.has_value());
    EXPECT_EQ(slot.stream->stream_id, "partyline-peer");
    EXPECT_EQ(section.msids, (std::vector<Msid>{Msid{"partyline-peer", slot.stream->track_id}}));
    EXPECT_EQ(section.ssrc_cname(slot.stream->ssrc), "partyline-cname");
  }
  EXPECT_EQ(offer.description.media[0].codecs.front().name, "opus");
  EXPECT_EQ(offer.description.media[1].codecs.front().name, "VP8");
  EXPECT_TRUE(offer.slots[1].stream->rtx_ssrc.has_value());
  EXPECT_EQ(offer.description.media[1].ssrc_groups.size(), 1u);  // FID
  EXPECT_EQ(offer.description.media[0].candidates.size(), 1u);
  EXPECT_TRUE(offer.description.media[0].end_of_candidates);
  EXPECT_TRUE(offer.description.media[1].candidates.empty());
  // One id space across the BUNDLE: sdes:mid has one id in both m-lines.
  auto mid_id = [](const MediaDescription& section) {
    for (const Extmap& extmap : section.extmaps) {
      if (extmap.uri == "urn:ietf:params:rtp-hdrext:sdes:mid") return extmap.id;
    }
    return uint16_t{0};
  };
  EXPECT_NE(mid_id(offer.description.media[0]), 0);
  EXPECT_EQ(mid_id(offer.description.media[0]), mid_id(offer.description.media[1]));
}

TEST(SdpFirstOfferTest, SaysIceLiteWhenTheServerIsAnIceLiteAgent) {
  FirstOfferOptions lite = options({MediaKind::kAudio});
  lite.ice_lite = true;
  EXPECT_NE(first_offer_ok(lite).sdp.find("\r\na=ice-lite\r\n"), std::string::npos);
  EXPECT_EQ(first_offer_ok(options({MediaKind::kAudio})).sdp.find("a=ice-lite"), std::string::npos);
}

TEST(SdpFirstOfferTest, RefusesWhatItCannotOffer) {
  EXPECT_EQ(build_first_offer(options({})).error().code, 500);
  EXPECT_EQ(build_first_offer(options({MediaKind::kApplication})).error().code, 500);
  FirstOfferOptions repeating = options({MediaKind::kAudio, MediaKind::kVideo});
  repeating.generate_ssrc = [] { return 5u; };
  EXPECT_EQ(build_first_offer(repeating).error().code, 500);
}

TEST(SdpFirstOfferTest, TheAnswerStartsTheSessionAndSetsTheDtlsRole) {
  UpdateOffer offer = first_offer_ok(options({MediaKind::kAudio, MediaKind::kVideo}));
  auto session = apply_first_answer(offer, browser_answer(offer));
  ASSERT_TRUE(session.ok()) << session.error().message;
  EXPECT_EQ(session->dtls_role, DtlsRole::kServer);  // the browser is active
  EXPECT_EQ(session->remote_transport.ice_ufrag, "brws");
  EXPECT_EQ(session->bundle_mid, "0");
  ASSERT_EQ(session->media.size(), 2u);
  for (const NegotiatedMedia& media : session->media) {
    EXPECT_TRUE(media.accepted);
    EXPECT_EQ(media.direction, MediaDirection::kSendRecv);
    ASSERT_EQ(media.remote_ssrcs.size(), 1u);  // what the participant publishes
    ASSERT_TRUE(media.local_ssrc.has_value());
  }
  EXPECT_TRUE(session->slots[0].stream.has_value());
  EXPECT_TRUE(session->slots[1].stream.has_value());

  auto passive = apply_first_answer(offer, browser_answer(offer, MediaDirection::kSendRecv, DtlsSetup::kPassive));
  ASSERT_TRUE(passive.ok()) << passive.error().message;
  EXPECT_EQ(passive->dtls_role, DtlsRole::kClient);
}

TEST(SdpFirstOfferTest, AParticipantThatDoesNotReceiveDropsTheReservedSender) {
  UpdateOffer offer = first_offer_ok(options({MediaKind::kAudio}));
  auto session = apply_first_answer(offer, browser_answer(offer, MediaDirection::kSendOnly));
  ASSERT_TRUE(session.ok()) << session.error().message;
  EXPECT_FALSE(session->slots[0].stream.has_value());
  EXPECT_EQ(session->media[0].direction, MediaDirection::kRecvOnly);
}

TEST(SdpFirstOfferTest, RefusedAnswers) {
  UpdateOffer offer = first_offer_ok(options({MediaKind::kAudio, MediaKind::kVideo}));
  auto actpass = apply_first_answer(offer, browser_answer(offer, MediaDirection::kSendRecv, DtlsSetup::kActpass));
  ASSERT_FALSE(actpass.ok());
  EXPECT_EQ(actpass.error().code, 400);
  EXPECT_NE(actpass.error().message.find("a=setup:actpass"), std::string::npos) << actpass.error().message;

  SessionDescription no_credentials = browser_answer(offer);
  for (MediaDescription& section : no_credentials.media) section.ice_pwd.reset();
  EXPECT_EQ(apply_first_answer(offer, no_credentials).error().code, 400);

  SessionDescription no_fingerprint = browser_answer(offer);
  for (MediaDescription& section : no_fingerprint.media) section.fingerprints.clear();
  EXPECT_EQ(apply_first_answer(offer, no_fingerprint).error().code, 400);

  SessionDescription one_mline = browser_answer(offer);
  one_mline.media.pop_back();
  EXPECT_EQ(apply_first_answer(offer, one_mline).error().code, 400);

  SessionDescription other_codec = browser_answer(offer);
  other_codec.media[0].formats = {"0"};
  EXPECT_EQ(apply_first_answer(offer, other_codec).error().code, 400);
}

// A paired session's first answer: the participant's offer answered with
// send_media, so start_session() reserves a sender on its own m-lines.
TEST(SdpPairedAnswerTest, StartSessionKeepsTheAnswersSendersAsSlotStreams) {
  SessionDescription offer = capture("chromium156_offer_av_dc.sdp");
  AnswerOptions answer_options;
  answer_options.ice_ufrag = "pLy1";
  answer_options.ice_pwd = "partylinepartylinepass";
  answer_options.fingerprint = Fingerprint{"sha-256", kLocalFingerprint};
  answer_options.cname = "partyline-cname";
  answer_options.stream_id = "partyline-peer";
  uint32_t next = 500;
  answer_options.generate_ssrc = [&next] { return next += 3; };
  answer_options.send_media = true;
  auto answer = build_answer(offer, answer_options);
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  auto session = start_session(offer, *answer);
  ASSERT_TRUE(session.ok()) << session.error().message;
  size_t paired = 0;
  for (size_t i = 0; i < session->slots.size(); ++i) {
    const MediaSlot& slot = session->slots[i];
    const NegotiatedMedia& media = session->media[i];
    EXPECT_EQ(slot.origin, MediaOrigin::kParticipant);
    if (!media.accepted) {
      EXPECT_FALSE(slot.stream.has_value());
      continue;
    }
    ASSERT_TRUE(slot.stream.has_value()) << slot.mid;
    ++paired;
    EXPECT_EQ(slot.stream->ssrc, media.local_ssrc);
    EXPECT_EQ(slot.stream->stream_id, "partyline-peer");
    EXPECT_EQ(slot.stream->cname, "partyline-cname");
    EXPECT_EQ(media.direction, MediaDirection::kSendRecv);
  }
  EXPECT_EQ(paired, 2u);  // audio and video; the data channel is rejected

  // The SFU's usual answer (send_media false) reserves nothing.
  NegotiatedSession plain = start(offer);
  for (const MediaSlot& slot : plain.slots) EXPECT_FALSE(slot.stream.has_value());
}

}  // namespace
}  // namespace partyline::rtp
