#include "rtp/sdp/sdp_offer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "rtp/sdp/sdp_server_media.hpp"
#include "tests/rtp/negotiated_session_fixtures.hpp"

namespace partyline::rtp {
namespace {

using namespace test_sessions;

OutgoingStream stream(MediaKind kind, const std::string& publisher, uint32_t ssrc,
                      std::optional<uint32_t> rtx = std::nullopt) {
  std::string track = publisher + (kind == MediaKind::kAudio ? "-audio" : "-video");
  return OutgoingStream{kind, publisher, track, ssrc, rtx, publisher + "-cname"};
}
OutgoingStream audio(const std::string& publisher, uint32_t ssrc) { return stream(MediaKind::kAudio, publisher, ssrc); }
OutgoingStream video(const std::string& publisher, uint32_t ssrc) {
  return stream(MediaKind::kVideo, publisher, ssrc, ssrc + 1);
}

// ---------------------------------------------------------------------------
// plan_slots: the m-line assignment, as a table.

MediaSlot participant(const std::string& mid, MediaKind kind, bool rejected = false) {
  return MediaSlot{mid, kind, MediaOrigin::kParticipant, rejected, std::nullopt};
}
MediaSlot server(const std::string& mid, MediaKind kind, std::optional<OutgoingStream> sent) {
  return MediaSlot{mid, kind, MediaOrigin::kServer, false, std::move(sent)};
}

// "mid:kind:P|S:track" per slot ("-" when nothing is sent, "R" when rejected).
std::string summary(const std::vector<MediaSlot>& slots) {
  std::string out;
  for (const MediaSlot& slot : slots) {
    if (!out.empty()) out += ' ';
    out += slot.mid + ':' + std::string(to_string(slot.kind)) + ':' +
           (slot.origin == MediaOrigin::kServer ? 'S' : 'P') + ':' +
           (slot.rejected ? std::string("R") : slot.stream ? slot.stream->track_id : std::string("-"));
  }
  return out;
}

const std::vector<MediaSlot> kPublisherOnly = {participant("0", MediaKind::kAudio), participant("1", MediaKind::kVideo),
                                               participant("2", MediaKind::kApplication, true)};

std::vector<MediaSlot> with(std::vector<MediaSlot> slots, std::vector<MediaSlot> more) {
  slots.insert(slots.end(), more.begin(), more.end());
  return slots;
}

struct PlanCase {
  const char* name;
  std::vector<MediaSlot> current;
  std::vector<OutgoingStream> streams;
  std::string expected;
};

TEST(SdpOfferPlanTest, AssignmentTable) {
  const std::string P = "0:audio:P:- 1:video:P:- 2:application:P:R";
  const std::vector<PlanCase> cases = {
      {"nothing to send", kPublisherOnly, {}, P},
      {"add one", kPublisherOnly, {audio("a", 10)}, P + " 3:audio:S:a-audio"},
      {"add three", kPublisherOnly, {audio("a", 10), video("a", 20), audio("b", 30)},
       P + " 3:audio:S:a-audio 4:video:S:a-video 5:audio:S:b-audio"},
      {"remove middle",
       with(kPublisherOnly, {server("3", MediaKind::kAudio, audio("a", 10)), server("4", MediaKind::kVideo, video("a", 20)),
                             server("5", MediaKind::kAudio, audio("b", 30))}),
       {audio("a", 10), audio("b", 30)},
       P + " 3:audio:S:a-audio 4:video:S:- 5:audio:S:b-audio"},
      {"re-add reuses the inactive slot",
       with(kPublisherOnly, {server("3", MediaKind::kAudio, audio("a", 10)), server("4", MediaKind::kVideo, std::nullopt)}),
       {audio("a", 10), video("c", 40)},
       P + " 3:audio:S:a-audio 4:video:S:c-video"},
      {"the first inactive slot of the kind is taken",
       with(kPublisherOnly, {server("3", MediaKind::kVideo, std::nullopt), server("4", MediaKind::kVideo, std::nullopt)}),
       {video("c", 40)},
       P + " 3:video:S:c-video 4:video:S:-"},
      {"kinds kept apart",
       with(kPublisherOnly, {server("3", MediaKind::kVideo, std::nullopt)}),
       {audio("c", 40)},
       P + " 3:video:S:- 4:audio:S:c-audio"},
      {"a slot freed in this round is not reused in the same round",
       with(kPublisherOnly, {server("3", MediaKind::kVideo, video("a", 20))}),
       {video("c", 40)},
       P + " 3:video:S:- 4:video:S:c-video"},
      {"the participant's own m-lines are never used",
       {participant("0", MediaKind::kAudio), participant("1", MediaKind::kVideo)},
       {video("c", 40)},
       "0:audio:P:- 1:video:P:- 2:video:S:c-video"},
      {"a rejected server slot is never reused",
       with(kPublisherOnly, {MediaSlot{"3", MediaKind::kAudio, MediaOrigin::kServer, true, std::nullopt}}),
       {audio("c", 40)},
       P + " 3:audio:S:R 4:audio:S:c-audio"},
      {"non-numeric mids: appended mids stay unique",
       {participant("audio", MediaKind::kAudio), participant("video", MediaKind::kVideo)},
       {audio("a", 10), audio("b", 30)},
       "audio:audio:P:- video:video:P:- 0:audio:S:a-audio 1:audio:S:b-audio"},
  };
  for (const PlanCase& c : cases) {
    auto plan = plan_slots(c.current, c.streams);
    ASSERT_TRUE(plan.ok()) << c.name << ": " << plan.error().message;
    EXPECT_EQ(summary(*plan), c.expected) << c.name;
  }
}

TEST(SdpOfferPlanTest, AKeptStreamTakesItsNewSsrcs) {
  auto plan = plan_slots(with(kPublisherOnly, {server("3", MediaKind::kVideo, video("a", 20))}), {video("a", 70)});
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  ASSERT_EQ(plan->size(), 4u);
  EXPECT_EQ((*plan)[3].stream->ssrc, 70u);
  EXPECT_EQ((*plan)[3].stream->rtx_ssrc, 71u);
}

TEST(SdpOfferPlanTest, InvalidStreamListsAreRefused) {
  OutgoingStream application = audio("a", 10);
  application.kind = MediaKind::kApplication;
  OutgoingStream spaced = audio("a", 10);
  spaced.track_id = "a b";
  OutgoingStream no_cname = audio("a", 10);
  no_cname.cname.clear();
  const std::vector<std::pair<std::vector<OutgoingStream>, std::string>> cases = {
      {{application}, "kind must be audio or video"},
      {{spaced}, "SDP tokens"},
      {{no_cname}, "cname"},
      {{audio("a", 0)}, "SSRC 0"},
      {{audio("a", 10), audio("a", 11)}, "listed twice"},
      {{audio("a", 10), video("b", 9)}, "SSRC already used"},  // b's RTX is 10
  };
  for (const auto& [streams, reason] : cases) {
    auto plan = plan_slots(kPublisherOnly, streams);
    ASSERT_FALSE(plan.ok()) << reason;
    EXPECT_EQ(plan.error().code, error_code::kInternal);
    EXPECT_NE(plan.error().message.find(reason), std::string::npos) << plan.error().message;
    EXPECT_NE(plan.error().message.find("outgoing stream"), std::string::npos) << plan.error().message;
  }
}

// ---------------------------------------------------------------------------
// Offers and answers on a session started from a captured Chromium offer.

class SdpOfferTest : public ::testing::Test {
 protected:
  SessionDescription client_offer_ = capture("chromium156_offer_av_dc.sdp");
  NegotiatedSession session_ = start(client_offer_);
};

TEST_F(SdpOfferTest, FirstUpdateAppendsSendonlyMlinesWithTheParticipantsNumbering) {
  UpdateOffer offer = offer_ok(session_, {audio("a", 10), video("a", 20), audio("b", 30), video("b", 40)});
  const SessionDescription& d = offer.description;
  EXPECT_EQ(d.origin.session_id, session_.local.origin.session_id);
  EXPECT_EQ(d.origin.session_version, session_.local.origin.session_version + 1);
  ASSERT_EQ(d.media.size(), 7u);
  ASSERT_NE(d.find_group("BUNDLE"), nullptr);
  // The rejected data channel stays rejected and out of the BUNDLE.
  EXPECT_EQ(d.find_group("BUNDLE")->mids, (std::vector<std::string>{"0", "1", "3", "4", "5", "6"}));
  EXPECT_EQ(d.media[2].port, 0);
  EXPECT_EQ(d.media[2].kind, MediaKind::kApplication);
  const MediaDescription& tag = d.media[0];
  EXPECT_EQ(tag.port, 40000);
  EXPECT_EQ(tag.candidates.size(), 1u);
  EXPECT_TRUE(tag.end_of_candidates);
  // The participant's m-lines keep their direction and codec.
  EXPECT_EQ(d.media[0].direction, MediaDirection::kRecvOnly);
  EXPECT_EQ(d.media[1].direction, MediaDirection::kRecvOnly);
  for (size_t i = 3; i < 7; ++i) {
    const MediaDescription& section = d.media[i];
    const MediaDescription& own = d.media[section.kind == MediaKind::kAudio ? 0 : 1];
    SCOPED_TRACE("m-line " + std::to_string(i));
    EXPECT_EQ(section.mid, std::to_string(i));
    EXPECT_EQ(section.direction, MediaDirection::kSendOnly);
    EXPECT_EQ(section.port, 40000);
    EXPECT_TRUE(section.candidates.empty());
    EXPECT_TRUE(section.rtcp_mux);
    EXPECT_EQ(section.ice_ufrag, "pLy1");
    EXPECT_EQ(section.fingerprints, own.fingerprints);
    EXPECT_EQ(section.setup, DtlsSetup::kActpass);
    EXPECT_EQ(section.formats, own.formats);
    EXPECT_EQ(section.codecs, own.codecs);
    ASSERT_EQ(section.extmaps.size(), own.extmaps.size());
    for (size_t e = 0; e < own.extmaps.size(); ++e) {
      EXPECT_EQ(section.extmaps[e].id, own.extmaps[e].id);
      EXPECT_EQ(section.extmaps[e].uri, own.extmaps[e].uri);
    }
    ASSERT_EQ(section.msids.size(), 1u);
  }
  EXPECT_EQ(d.media[3].codecs[0].payload_type, 111);
  EXPECT_EQ(d.media[4].formats, (std::vector<std::string>{"96", "97"}));
  EXPECT_EQ(d.media[4].msids[0], (Msid{"a", std::string("a-video")}));
  EXPECT_EQ(d.media[4].ssrc_groups, (std::vector<SsrcGroup>{{"FID", {20, 21}}}));
  EXPECT_EQ(d.media[4].ssrc_cname(21), "a-cname");
  EXPECT_TRUE(d.media[3].ssrc_groups.empty());  // audio has no RTX
  EXPECT_EQ(d.msid_semantic, "WMS a b");
  for (const MediaDescription& section : d.media) EXPECT_EQ(section.setup, DtlsSetup::kActpass);
}

TEST_F(SdpOfferTest, AnswerRoundsKeepSlotsStableAndReuseInactiveOnes) {
  UpdateOffer first = offer_ok(session_, {audio("a", 10), video("a", 20), audio("b", 30), video("b", 40)});
  NegotiatedSession one = applied(session_, first, client_answer(first, client_offer_));
  ASSERT_EQ(one.media.size(), 7u);
  const NegotiatedMedia& a_video = one.media[4];
  EXPECT_TRUE(a_video.accepted);
  EXPECT_EQ(a_video.direction, MediaDirection::kSendOnly);
  EXPECT_EQ(a_video.codec->payload_type, 96);
  EXPECT_EQ(a_video.rtx_payload_type, 97);
  EXPECT_EQ(a_video.local_ssrc, 20u);
  EXPECT_EQ(a_video.local_rtx_ssrc, 21u);
  EXPECT_EQ(one.media[0].direction, MediaDirection::kRecvOnly);
  ASSERT_EQ(one.media[1].remote_ssrcs.size(), 1u);
  EXPECT_EQ(one.media[1].remote_ssrcs[0].ssrc, 1889125638u);
  EXPECT_EQ(one.bundle_mid, "0");
  EXPECT_EQ(one.dtls_role, DtlsRole::kServer);

  // b leaves: its m-lines go inactive, in place.
  UpdateOffer second = offer_ok(one, {audio("a", 10), video("a", 20)});
  EXPECT_EQ(second.description.origin.session_version, first.description.origin.session_version + 1);
  ASSERT_EQ(second.description.media.size(), 7u);
  EXPECT_EQ(second.description.media[5].direction, MediaDirection::kInactive);
  EXPECT_EQ(second.description.media[6].direction, MediaDirection::kInactive);
  EXPECT_TRUE(second.description.media[6].msids.empty());
  EXPECT_TRUE(second.description.media[6].ssrcs.empty());
  EXPECT_NE(second.description.media[6].port, 0);  // still bundled
  EXPECT_EQ(second.description.find_group("BUNDLE")->mids.size(), 6u);
  EXPECT_NE(second.sdp.find("a=mid:6\r\na=extmap"), std::string::npos);
  NegotiatedSession two = applied(one, second, client_answer(second, client_offer_));
  EXPECT_EQ(two.media[6].direction, MediaDirection::kInactive);
  EXPECT_FALSE(two.media[6].local_ssrc.has_value());

  // c joins: it takes b's m-lines (same mids), with its own msid and SSRCs.
  UpdateOffer third = offer_ok(two, {audio("a", 10), video("a", 20), video("c", 60), audio("c", 50)});
  ASSERT_EQ(third.description.media.size(), 7u);
  EXPECT_EQ(third.description.media[5].msids[0].stream_id, "c");
  EXPECT_EQ(third.description.media[5].kind, MediaKind::kAudio);
  EXPECT_EQ(third.description.media[6].msids[0].track_id, "c-video");
  EXPECT_EQ(third.description.media[6].ssrc_groups, (std::vector<SsrcGroup>{{"FID", {60, 61}}}));
  NegotiatedSession three = applied(two, third, client_answer(third, client_offer_));
  EXPECT_EQ(three.slots[6].stream->track_id, "c-video");
  EXPECT_EQ(three.media[6].local_ssrc, 60u);
}

TEST_F(SdpOfferTest, WithoutAnMlineOfTheKindDefaultsAvoidTheSessionsNumbers) {
  SessionDescription audio_only = client_offer_;
  audio_only.media.erase(audio_only.media.begin() + 1, audio_only.media.end());
  audio_only.groups[0].mids = {"0"};
  NegotiatedSession session = start(audio_only);
  UpdateOffer offer = offer_ok(session, {video("a", 20)});
  ASSERT_EQ(offer.description.media.size(), 2u);
  const MediaDescription& section = offer.description.media[1];
  EXPECT_EQ(section.mid, "1");
  ASSERT_EQ(section.codecs.size(), 2u);
  EXPECT_EQ(section.codecs[0].name, "VP8");
  EXPECT_EQ(section.codecs[0].payload_type, 96);  // free in Chromium's audio m-line
  EXPECT_EQ(section.codecs[1].fmtp, "apt=96");
  // abs-send-time keeps the participant's id 2, mid its 4; video-orientation
  // gets the lowest id the participant's offer does not use.
  std::vector<std::pair<uint16_t, std::string>> extmaps;
  for (const Extmap& extmap : section.extmaps) extmaps.emplace_back(extmap.id, extmap.uri);
  EXPECT_EQ(extmaps, (std::vector<std::pair<uint16_t, std::string>>{
                         {4, "urn:ietf:params:rtp-hdrext:sdes:mid"},
                         {2, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"},
                         {5, "urn:3gpp:video-orientation"}}));
}

TEST_F(SdpOfferTest, AnOutgoingSsrcThatTheParticipantSendsIsAConflict) {
  auto offer = build_update_offer(session_, {video("a", 2382238961u)});
  ASSERT_FALSE(offer.ok());
  EXPECT_EQ(offer.error().code, error_code::kConflict);
  EXPECT_NE(offer.error().message.find("2382238961"), std::string::npos) << offer.error().message;
}

// ---------------------------------------------------------------------------
// Answer validation.

struct BadAnswer {
  const char* name;
  std::function<void(SessionDescription&)> corrupt;
  int code;
  std::string message_part;
};

TEST_F(SdpOfferTest, AnswersThatDoNotMatchTheOfferAreRefused) {
  UpdateOffer offer = offer_ok(session_, {audio("a", 10), video("a", 20)});
  const SessionDescription good = client_answer(offer, client_offer_);
  ASSERT_TRUE(apply_update_answer(session_, offer, good).ok());
  const std::vector<BadAnswer> cases = {
      {"m-line missing", [](SessionDescription& a) { a.media.pop_back(); }, 400, "the answer has 4 m-lines"},
      {"kind changed", [](SessionDescription& a) { a.media[3].media = "video"; }, 400, "the offer has m=audio"},
      {"mid changed", [](SessionDescription& a) { a.media[4].mid = "9"; }, 400, "the offer has mid \"4\""},
      {"payload type not offered",
       [](SessionDescription& a) { a.media[4].formats.push_back("100"); }, 400, "payload type 100 was not offered"},
      {"payload type redefined",
       [](SessionDescription& a) { a.media[4].codecs[0].name = "H264"; }, 400, "offered as VP8/90000"},
      {"only RTX kept",
       [](SessionDescription& a) { a.media[4].formats = {"97"}; }, 400, "accepts no media codec"},
      {"extension id moved",
       [](SessionDescription& a) { a.media[4].extmaps[0].id = 12; }, 400, "was not offered with that id"},
      {"direction not allowed",
       [](SessionDescription& a) { a.media[3].direction = MediaDirection::kSendOnly; }, 400,
       "a=sendonly does not answer a=sendonly"},
      {"ICE restarted",
       [](SessionDescription& a) { a.media[0].ice_ufrag = "zzzz"; }, 400, "ICE credentials changed"},
      {"fingerprint changed",
       [](SessionDescription& a) { a.media[0].fingerprints[0].value = "00:11"; }, 400, "fingerprint changed"},
      {"DTLS role flip",
       [](SessionDescription& a) { a.media[0].setup = DtlsSetup::kPassive; }, 400, "a=setup:passive would change"},
      {"no BUNDLE", [](SessionDescription& a) { a.groups.clear(); }, 415, "a=group:BUNDLE"},
      {"no rtcp-mux", [](SessionDescription& a) { a.media[3].rtcp_mux = false; }, 415, "a=rtcp-mux"},
      {"BUNDLE tag rejected",
       [](SessionDescription& a) {
         a.media[0].port = 0;
         a.groups[0].mids.erase(a.groups[0].mids.begin());
       },
       415, "rejects the BUNDLE tag"},
  };
  for (const BadAnswer& c : cases) {
    SessionDescription answer = good;
    c.corrupt(answer);
    auto result = apply_update_answer(session_, offer, answer);
    ASSERT_FALSE(result.ok()) << c.name;
    EXPECT_EQ(result.error().code, c.code) << c.name << ": " << result.error().message;
    EXPECT_NE(result.error().message.find(c.message_part), std::string::npos) << c.name << ": " << result.error().message;
  }
}

TEST_F(SdpOfferTest, AnAnswerMayRejectAServerMlineWhichIsThenNeverReused) {
  UpdateOffer offer = offer_ok(session_, {audio("a", 10), video("a", 20)});
  SessionDescription answer = client_answer(offer, client_offer_);
  answer.media[4].port = 0;
  std::erase(answer.groups[0].mids, "4");
  NegotiatedSession next = applied(session_, offer, answer);
  EXPECT_FALSE(next.media[4].accepted);
  EXPECT_TRUE(next.slots[4].rejected);
  EXPECT_FALSE(next.slots[4].stream.has_value());
  EXPECT_TRUE(next.media[3].accepted);

  UpdateOffer again = offer_ok(next, {audio("a", 10), video("a", 20)});
  ASSERT_EQ(again.description.media.size(), 6u);
  EXPECT_EQ(again.description.media[4].port, 0);
  EXPECT_EQ(again.description.media[5].mid, "5");
  EXPECT_EQ(again.description.media[5].msids[0].track_id, "a-video");
  const BundleGroup* bundle = again.description.find_group("BUNDLE");
  ASSERT_NE(bundle, nullptr);
  EXPECT_EQ(std::count(bundle->mids.begin(), bundle->mids.end(), "4"), 0);
}

// aiortc 1.4 answers our rejected data channel m-line with a live port and
// puts it back in its BUNDLE group: tolerated, the m-line stays rejected.
TEST_F(SdpOfferTest, AnAnswerRevivingARejectedMlineLeavesItRejected) {
  UpdateOffer offer = offer_ok(session_, {audio("a", 10)});
  SessionDescription answer = client_answer(offer, client_offer_);
  answer.media[2].port = 9;
  answer.groups[0].mids.push_back("2");
  NegotiatedSession next = applied(session_, offer, answer);
  EXPECT_FALSE(next.media[2].accepted);
  EXPECT_TRUE(next.slots[2].rejected);
  EXPECT_NE(next.media[2].rejection_reason.find("ignored"), std::string::npos);
  UpdateOffer again = offer_ok(next, {audio("a", 10)});
  EXPECT_EQ(again.description.media[2].port, 0);
}

TEST_F(SdpOfferTest, AnAnswerMayDeclineToReceive) {
  UpdateOffer offer = offer_ok(session_, {audio("a", 10)});
  SessionDescription answer = client_answer(offer, client_offer_);
  answer.media[3].direction = MediaDirection::kInactive;
  NegotiatedSession next = applied(session_, offer, answer);
  EXPECT_TRUE(next.media[3].accepted);
  EXPECT_EQ(next.media[3].direction, MediaDirection::kInactive);
  EXPECT_FALSE(next.media[3].local_ssrc.has_value());
}

// ---------------------------------------------------------------------------
// Codec per stream: a server m-line offers its publisher's codec.

const StreamCodec kVp8{"VP8", 90000, "x-google-start-bitrate=1000"};
const StreamCodec kH264{"H264", 90000, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f;x-google-start-bitrate=1000"};

OutgoingStream video_in(const std::string& publisher, uint32_t ssrc, const StreamCodec& codec) {
  OutgoingStream out = video(publisher, ssrc);
  out.codec = codec;
  return out;
}

TEST(SdpServerMedia, CarriesMatchesNameClockAndH264ProfileAndMode) {
  const RtpCodec h264_42e01f{108, "H264", 90000, 0, "packetization-mode=1;profile-level-id=42E01F", {}};
  const RtpCodec h264_42e034{110, "h264", 90000, 0, "profile-level-id=42e034;packetization-mode=1", {}};
  const RtpCodec h264_mode0{114, "H264", 90000, 0, "packetization-mode=0;profile-level-id=42e01f", {}};
  const RtpCodec h264_42001f{102, "H264", 90000, 0, "packetization-mode=1;profile-level-id=42001f", {}};
  const RtpCodec vp8{96, "vp8", 90000, 0, std::nullopt, {}};
  EXPECT_TRUE(server_media::carries(kH264, h264_42e01f));  // case of the hex digits does not matter
  EXPECT_TRUE(server_media::carries(kH264, h264_42e034));  // another level of the profile
  EXPECT_FALSE(server_media::carries(kH264, h264_mode0));
  EXPECT_FALSE(server_media::carries(kH264, h264_42001f));
  EXPECT_FALSE(server_media::carries(kH264, vp8));
  EXPECT_TRUE(server_media::carries(kVp8, vp8));
  EXPECT_EQ(server_media::offered_fmtp(kVp8.fmtp), std::nullopt);
  EXPECT_EQ(server_media::offered_fmtp(kH264.fmtp),
            "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f");
}

// Chromium's offer numbers H.264 42e01f mode 1 as 108 (RTX 109): an H.264
// publisher's stream is offered under those, alone; a VP8 one as before.
TEST_F(SdpOfferTest, EachStreamIsOfferedInItsPublishersCodec) {
  UpdateOffer offer = offer_ok(session_, {video_in("a", 20, kVp8), video_in("h", 40, kH264)});
  const SessionDescription& d = offer.description;
  ASSERT_EQ(d.media.size(), 5u);
  EXPECT_EQ(d.media[3].codecs, d.media[1].codecs);  // VP8 as the participant's own m-line
  const MediaDescription& h264 = d.media[4];
  EXPECT_EQ(h264.formats, (std::vector<std::string>{"108", "109"}));
  ASSERT_EQ(h264.codecs.size(), 2u);
  EXPECT_EQ(h264.codecs[0].name, "H264");
  EXPECT_EQ(h264.codecs[0].fmtp, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f");
  EXPECT_EQ(h264.codecs[0].rtcp_feedback, d.media[1].codecs[0].rtcp_feedback);
  EXPECT_EQ(h264.codecs[1].fmtp, "apt=108");
  EXPECT_NE(offer.sdp.find("a=rtpmap:108 H264/90000"), std::string::npos);

  // The browser takes it: the leg is built for H.264 under 108.
  NegotiatedSession next = applied(session_, offer, client_answer(offer, client_offer_));
  ASSERT_TRUE(next.media[4].codec.has_value());
  EXPECT_EQ(next.media[4].codec->name, "H264");
  EXPECT_EQ(next.media[4].codec->payload_type, 108);
  EXPECT_EQ(next.media[4].rtx_payload_type, 109);
  EXPECT_EQ(next.media[3].codec->name, "VP8");
}

// A participant whose offer listed no H.264 (codec preferences, or a client
// without it) gets free payload types, one pair for every H.264 stream.
TEST_F(SdpOfferTest, ACodecTheParticipantNeverNumberedGetsFreePayloadTypes) {
  SessionDescription vp8_only = client_offer_;
  for (MediaDescription& section : vp8_only.media) {
    if (section.kind != MediaKind::kVideo) continue;
    std::erase_if(section.codecs, [](const RtpCodec& codec) { return codec.payload_type != 96 && codec.payload_type != 97; });
    section.formats = {"96", "97"};
  }
  NegotiatedSession session = start(vp8_only);
  UpdateOffer offer = offer_ok(session, {video_in("h", 40, kH264), video_in("k", 60, kH264)});
  const MediaDescription& first = offer.description.media[3];
  const MediaDescription& second = offer.description.media[4];
  ASSERT_EQ(first.codecs.size(), 2u);
  EXPECT_EQ(first.codecs[0].name, "H264");
  std::set<std::string> taken;
  for (const MediaDescription& section : session.remote.media) taken.insert(section.formats.begin(), section.formats.end());
  EXPECT_EQ(taken.count(first.formats[0]) + taken.count(first.formats[1]), 0u) << first.formats[0];
  EXPECT_EQ(second.formats, first.formats);  // one meaning per payload type in the BUNDLE
}

// An inactive m-line that carried a VP8 stream takes an H.264 one: its
// codecs change with it.
TEST_F(SdpOfferTest, AReusedMlineTakesTheNewStreamsCodec) {
  UpdateOffer first = offer_ok(session_, {video_in("a", 20, kVp8)});
  NegotiatedSession one = applied(session_, first, client_answer(first, client_offer_));
  UpdateOffer second = offer_ok(one, {});
  NegotiatedSession two = applied(one, second, client_answer(second, client_offer_));
  UpdateOffer third = offer_ok(two, {video_in("h", 40, kH264)});
  ASSERT_EQ(third.description.media.size(), 4u);
  EXPECT_EQ(third.description.media[3].msids[0].stream_id, "h");
  EXPECT_EQ(third.description.media[3].formats, (std::vector<std::string>{"108", "109"}));
  NegotiatedSession three = applied(two, third, client_answer(third, client_offer_));
  EXPECT_EQ(three.media[3].codec->name, "H264");
}

// A participant that publishes no video has no numbering of its own to
// copy: the first video m-line gets the defaults (VP8 96, RTX 97), and an
// H.264 stream's m-line of the same offer other numbers, never 96 or 97.
TEST_F(SdpOfferTest, WithoutAVideoMlineEachCodecGetsNumbersOfItsOwn) {
  SessionDescription audio_only = client_offer_;
  audio_only.media.erase(audio_only.media.begin() + 1, audio_only.media.end());
  audio_only.groups[0].mids = {"0"};
  NegotiatedSession session = start(audio_only);
  UpdateOffer offer = offer_ok(session, {video_in("a", 20, kVp8), video_in("h", 40, kH264), video_in("b", 60, kVp8)});
  ASSERT_EQ(offer.description.media.size(), 4u);
  const MediaDescription& vp8 = offer.description.media[1];
  const MediaDescription& h264 = offer.description.media[2];
  EXPECT_EQ(vp8.codecs[0].name, "VP8");
  EXPECT_EQ(h264.codecs[0].name, "H264");
  for (const std::string& format : h264.formats) {
    EXPECT_EQ(std::count(vp8.formats.begin(), vp8.formats.end(), format), 0) << format;
  }
  // The second VP8 stream reuses the first one's numbers.
  EXPECT_EQ(offer.description.media[3].formats, vp8.formats);
}

}  // namespace
}  // namespace partyline::rtp
