// answer_reoffer(): a participant's re-offer on a session started from a
// captured Chromium offer (audio mid 0, video mid 1, a rejected data channel
// mid 2) that already receives one audio and one video stream from the
// server (mids 3 and 4).
#include "rtp/sdp/sdp_reoffer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <sstream>

#include "rtp/sdp/sdp_common.hpp"
#include "tests/rtp/negotiated_session_fixtures.hpp"

namespace partyline::rtp {
namespace {

using namespace test_sessions;

const OutgoingStream kServerAudio{MediaKind::kAudio, "alice", "audio-alice", 10, std::nullopt, "alice-cname"};
const OutgoingStream kServerVideo{MediaKind::kVideo, "alice", "video-alice", 20, 21, "alice-cname"};

ReofferOptions options() {
  ReofferOptions options;
  options.candidates = {kLocalCandidate};
  options.candidates_complete = true;
  return options;
}

std::vector<std::string> formats_of(const MediaDescription& section) { return section.formats; }

class SdpReofferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const UpdateOffer offer = offer_ok(start(client_offer_), {kServerAudio, kServerVideo});
    session_ = applied(start(client_offer_), offer, client_answer(offer, client_offer_));
    ASSERT_EQ(session_.slots.size(), 5u);
  }

  ReofferAnswer answer_ok(const SessionDescription& offer) {
    auto answer = answer_reoffer(session_, offer, options());
    EXPECT_TRUE(answer.ok()) << answer.error().message;
    if (!answer.ok()) return {};
    auto reparsed = parse_sdp(answer->sdp);
    EXPECT_TRUE(reparsed.ok()) << reparsed.error().message;
    if (reparsed.ok()) {
      EXPECT_EQ(*reparsed, answer->description) << answer->sdp;
    }
    EXPECT_EQ(answer->description.media.size(), offer.media.size());
    EXPECT_EQ(answer->session.slots.size(), offer.media.size());
    EXPECT_EQ(answer->session.media.size(), offer.media.size());
    return answer.value();
  }

  Error refused(const SessionDescription& offer) {
    auto answer = answer_reoffer(session_, offer, options());
    EXPECT_FALSE(answer.ok());
    return answer.ok() ? Error{} : answer.error();
  }

  SessionDescription client_offer_ = capture("chromium156_offer_av_dc.sdp");
  NegotiatedSession session_;
};

TEST_F(SdpReofferTest, AnUnchangedReofferKeepsEverything) {
  const ReofferAnswer answer = answer_ok(client_reoffer(session_, client_offer_));
  const SessionDescription& d = answer.description;
  EXPECT_EQ(d.origin.session_id, session_.local.origin.session_id);
  EXPECT_EQ(d.origin.session_version, session_.local.origin.session_version + 1);
  ASSERT_NE(d.find_group("BUNDLE"), nullptr);
  EXPECT_EQ(d.find_group("BUNDLE")->mids, (std::vector<std::string>{"0", "1", "3", "4"}));
  for (const MediaDescription& section : d.media) {
    SCOPED_TRACE(section.mid.value_or("?"));
    EXPECT_EQ(section.ice_ufrag, "pLy1");
    EXPECT_EQ(section.ice_pwd, "partylinepartylinepass");
    ASSERT_EQ(section.fingerprints.size(), 1u);
    EXPECT_EQ(section.fingerprints[0].value, kLocalFingerprint);
    EXPECT_EQ(section.setup, DtlsSetup::kPassive);  // our role stays DTLS server
  }
  EXPECT_EQ(d.media[0].candidates.size(), 1u);  // the BUNDLE tag carries them
  EXPECT_TRUE(d.media[0].end_of_candidates);
  EXPECT_TRUE(d.media[1].candidates.empty());
  EXPECT_EQ(d.media[0].direction, MediaDirection::kRecvOnly);
  EXPECT_EQ(d.media[1].direction, MediaDirection::kRecvOnly);
  EXPECT_EQ(d.media[2].port, 0);
  EXPECT_EQ(d.media[3].direction, MediaDirection::kSendOnly);
  EXPECT_EQ(d.media[4].direction, MediaDirection::kSendOnly);
  EXPECT_EQ(d.media[4].ssrc_groups, (std::vector<SsrcGroup>{{"FID", {20, 21}}}));
  EXPECT_EQ(d.media[4].msids, (std::vector<Msid>{{"alice", std::string("video-alice")}}));
  EXPECT_EQ(d.msid_semantic, "WMS alice");
  const NegotiatedSession& next = answer.session;
  EXPECT_EQ(next.slots, session_.slots);
  EXPECT_EQ(next.bundle_mid, "0");
  EXPECT_EQ(next.dtls_role, DtlsRole::kServer);
  EXPECT_EQ(next.media[4].local_ssrc, 20u);
  EXPECT_EQ(next.media[4].local_rtx_ssrc, 21u);
  ASSERT_EQ(next.media[1].remote_ssrcs.size(), 1u);
  EXPECT_EQ(next.media[1].remote_ssrcs[0].ssrc, 1889125638u);
}

// Single-port mode: the server says it is an ICE-lite agent in its answer,
// and keeps saying so in every description after (RFC 8445 section 5.3: an
// agent's role does not change within a session).
TEST(SdpIceLiteTest, AnswerUpdateOfferAndReofferAnswerAllSayIceLite) {
  auto says_ice_lite = [](const std::string& sdp) {
    const size_t first_media = sdp.find("\r\nm=");
    const size_t lite = sdp.find("\r\na=ice-lite\r\n");
    return lite != std::string::npos && lite < first_media;
  };
  const SessionDescription offer = capture("chromium156_offer_av_dc.sdp");
  const NegotiatedSession plain = start(offer);
  EXPECT_FALSE(says_ice_lite(to_string(plain.local)));

  const NegotiatedSession lite = start(offer, /*ice_lite=*/true);
  EXPECT_TRUE(lite.local.ice_lite);
  EXPECT_TRUE(says_ice_lite(to_string(lite.local)));
  const UpdateOffer update = offer_ok(lite, {kServerAudio, kServerVideo});
  EXPECT_TRUE(says_ice_lite(update.sdp)) << update.sdp;
  const NegotiatedSession next = applied(lite, update, client_answer(update, offer));
  auto reoffer = answer_reoffer(next, client_reoffer(next, offer), options());
  ASSERT_TRUE(reoffer.ok()) << reoffer.error().message;
  EXPECT_TRUE(says_ice_lite(reoffer->sdp)) << reoffer->sdp;
  EXPECT_TRUE(reoffer->session.local.ice_lite);
}

TEST_F(SdpReofferTest, ASecondVideoMlineIsAppendedAndReceived) {
  SessionDescription offer = client_reoffer(session_, client_offer_);
  add_sending_mline(offer, MediaKind::kVideo, "5", 5000, 5001);
  const ReofferAnswer answer = answer_ok(offer);
  const MediaDescription& section = answer.description.media[5];
  EXPECT_EQ(section.mid, "5");
  EXPECT_EQ(section.direction, MediaDirection::kRecvOnly);
  EXPECT_EQ(formats_of(section), (std::vector<std::string>{"96", "97"}));
  EXPECT_TRUE(section.msids.empty());  // we send nothing on it
  EXPECT_EQ(answer.description.find_group("BUNDLE")->mids, (std::vector<std::string>{"0", "1", "3", "4", "5"}));
  const NegotiatedSession& next = answer.session;
  EXPECT_EQ(next.slots[5], (MediaSlot{"5", MediaKind::kVideo, MediaOrigin::kParticipant, false, std::nullopt}));
  const NegotiatedMedia& media = next.media[5];
  EXPECT_TRUE(media.accepted);
  EXPECT_EQ(media.direction, MediaDirection::kRecvOnly);
  EXPECT_EQ(media.codec->name, "VP8");
  EXPECT_EQ(media.rtx_payload_type, 97);
  ASSERT_EQ(media.remote_ssrcs.size(), 1u);
  EXPECT_EQ(media.remote_ssrcs[0].ssrc, 5000u);
  EXPECT_EQ(media.remote_ssrcs[0].rtx_ssrc, 5001u);
  // The server's next offer keeps it as the participant's, never reused.
  const UpdateOffer update = offer_ok(next, {kServerAudio, kServerVideo});
  ASSERT_EQ(update.description.media.size(), 6u);
  EXPECT_EQ(update.description.media[5].direction, MediaDirection::kRecvOnly);
  EXPECT_TRUE(update.description.media[5].msids.empty());
}

// JSEP 5.2.2 with bundlePolicy max-bundle: a new m-line comes with port 0
// and a=bundle-only; it is bundled, not rejected.
TEST_F(SdpReofferTest, ABundleOnlyNewMlineIsAccepted) {
  SessionDescription offer = client_reoffer(session_, client_offer_);
  add_sending_mline(offer, MediaKind::kAudio, "5", 6000);
  offer.media[5].port = 0;
  offer.media[5].bundle_only = true;
  const ReofferAnswer answer = answer_ok(offer);
  EXPECT_TRUE(answer.session.media[5].accepted);
  EXPECT_EQ(answer.session.media[5].direction, MediaDirection::kRecvOnly);
  EXPECT_NE(answer.description.media[5].port, 0);
  EXPECT_FALSE(answer.description.media[5].bundle_only);
}

TEST_F(SdpReofferTest, AudioCanBeAddedAfterJoiningWithVideoOnly) {
  SessionDescription video_only = client_offer_;
  video_only.media.erase(video_only.media.begin());  // mids 1 (video), 2 (data)
  video_only.groups[0].mids = {"1", "2"};
  session_ = start(video_only);
  ASSERT_EQ(session_.slots.size(), 2u);
  SessionDescription offer = client_reoffer(session_, video_only);
  offer.media.push_back(client_offer_.media[0]);  // the browser's audio m-line, as a new transceiver
  offer.media.back().mid = "3";
  offer.groups[0].mids.push_back("3");
  const ReofferAnswer answer = answer_ok(offer);
  const NegotiatedMedia& audio = answer.session.media[2];
  EXPECT_TRUE(audio.accepted);
  EXPECT_EQ(audio.kind, MediaKind::kAudio);
  EXPECT_EQ(audio.direction, MediaDirection::kRecvOnly);
  EXPECT_EQ(audio.codec->payload_type, 111);
  EXPECT_EQ(answer.description.media[2].formats, (std::vector<std::string>{"111"}));
  EXPECT_EQ(answer.session.bundle_mid, "1");
}

TEST_F(SdpReofferTest, AVideoStopsWhenItsMlineStopsSending) {
  struct Case {
    const char* name;
    std::function<void(SessionDescription&)> stop;
    bool rejected;
  };
  const std::vector<Case> cases = {
      {"inactive", [](SessionDescription& o) { o.media[1].direction = MediaDirection::kInactive; }, false},
      {"recvonly", [](SessionDescription& o) { o.media[1].direction = MediaDirection::kRecvOnly; }, false},
      {"port 0 (transceiver.stop())",
       [](SessionDescription& o) {
         o.media[1].port = 0;
         std::erase(o.groups[0].mids, "1");
       },
       true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    SessionDescription offer = client_reoffer(session_, client_offer_);
    c.stop(offer);
    const ReofferAnswer answer = answer_ok(offer);
    const NegotiatedMedia& video = answer.session.media[1];
    EXPECT_EQ(video.accepted, !c.rejected);
    EXPECT_EQ(answer.session.slots[1].rejected, c.rejected);
    EXPECT_FALSE(sdp_common::receives(video.direction));  // nothing the participant sends is taken
    if (c.rejected) {
      EXPECT_EQ(answer.description.media[1].port, 0);
      EXPECT_EQ(answer.description.find_group("BUNDLE")->mids, (std::vector<std::string>{"0", "3", "4"}));
    } else {
      EXPECT_EQ(answer.description.media[1].direction, MediaDirection::kInactive);
      EXPECT_EQ(answer.description.media[1].formats, (std::vector<std::string>{"96", "97"}));
    }
    EXPECT_EQ(answer.session.media[0].direction, MediaDirection::kRecvOnly);  // audio untouched
  }
}

TEST_F(SdpReofferTest, ARejectedMlineStaysRejected) {
  SessionDescription offer = client_reoffer(session_, client_offer_);
  offer.media[1].port = 0;
  std::erase(offer.groups[0].mids, "1");
  session_ = answer_ok(offer).session;
  SessionDescription revived = client_reoffer(session_, client_offer_);
  revived.media[1].port = 9;
  revived.groups[0].mids.push_back("1");
  const ReofferAnswer answer = answer_ok(revived);
  EXPECT_FALSE(answer.session.media[1].accepted);
  EXPECT_EQ(answer.description.media[1].port, 0);
}

TEST_F(SdpReofferTest, TheBundleTagMovesWhenItsMlineIsStopped) {
  SessionDescription offer = client_reoffer(session_, client_offer_);
  offer.media[0].port = 0;
  offer.groups[0].mids = {"1", "3", "4"};
  const ReofferAnswer answer = answer_ok(offer);
  EXPECT_EQ(answer.session.bundle_mid, "1");
  EXPECT_EQ(answer.description.media[1].candidates.size(), 1u);
  EXPECT_TRUE(answer.description.media[0].candidates.empty());
  // The server can offer on the session that follows.
  EXPECT_EQ(offer_ok(answer.session, {kServerVideo}).description.media[1].candidates.size(), 1u);
}

struct BadReoffer {
  const char* name;
  std::function<void(SessionDescription&)> corrupt;
  int code;
  std::string message_part;
};

TEST_F(SdpReofferTest, ReoffersThatDoNotFitTheSessionAreRefused) {
  const SessionDescription good = client_reoffer(session_, client_offer_);
  const std::vector<BadReoffer> cases = {
      {"m-line removed", [](SessionDescription& o) { o.media.pop_back(); }, 400, "mid \"4\", is missing"},
      {"m-lines reordered", [](SessionDescription& o) { std::swap(o.media[0], o.media[1]); }, 400,
       "the session has m=audio here"},
      {"kind changed",
       [](SessionDescription& o) {
         o.media[3] = o.media[4];
         o.media[3].mid = "3";
       },
       400, "offer m-line 3 (video, mid \"3\"): the session has m=audio"},
      {"mid changed", [](SessionDescription& o) { o.media[4].mid = "9"; }, 400, "the session has mid \"4\" here"},
      {"mid repeated",
       [](SessionDescription& o) {
         o.media.push_back(o.media[1]);
         o.media.back().direction = MediaDirection::kSendOnly;
       },
       400, "mid \"1\" is used twice"},
      {"BUNDLE dropped", [](SessionDescription& o) { o.groups.clear(); }, 415, "a=group:BUNDLE"},
      {"an m-line out of the BUNDLE", [](SessionDescription& o) { std::erase(o.groups[0].mids, "3"); }, 415,
       "m-line 3 (audio, mid \"3\") is not in the offer's a=group:BUNDLE"},
      {"rtcp-mux dropped", [](SessionDescription& o) { o.media[1].rtcp_mux = false; }, 415, "a=rtcp-mux"},
      {"ICE restart",
       [](SessionDescription& o) {
         for (MediaDescription& m : o.media) m.ice_ufrag = "n3wU";
       },
       501, "ICE restart is not supported"},
      {"ICE password changed", [](SessionDescription& o) { o.media[0].ice_pwd = "anotherpasswordanother"; }, 501,
       "ICE restart is not supported"},
      {"fingerprint changed", [](SessionDescription& o) { o.media[0].fingerprints[0].value = "00:11:22"; }, 400,
       "fingerprint changed"},
      {"DTLS role flip", [](SessionDescription& o) { o.media[0].setup = DtlsSetup::kPassive; }, 400,
       "a=setup:passive would change the DTLS roles"},
      {"no ICE credentials",
       [](SessionDescription& o) {
         o.media[3].ice_ufrag.reset();
         o.ice_ufrag.reset();
       },
       400, "no a=ice-ufrag"},
      {"the server's codec withdrawn", [](SessionDescription& o) { std::erase(o.media[4].formats, "96"); }, 400,
       "payload type 96 (VP8), which the server sends here"},
  };
  for (const BadReoffer& c : cases) {
    SessionDescription offer = good;
    c.corrupt(offer);
    const Error error = refused(offer);
    EXPECT_EQ(error.code, c.code) << c.name << ": " << error.message;
    EXPECT_NE(error.message.find(c.message_part), std::string::npos) << c.name << ": " << error.message;
  }
}

TEST_F(SdpReofferTest, SetupActiveOrActpassKeepsOurRole) {
  for (DtlsSetup setup : {DtlsSetup::kActive, DtlsSetup::kActpass}) {
    SessionDescription offer = client_reoffer(session_, client_offer_);
    for (MediaDescription& section : offer.media) section.setup = setup;
    const ReofferAnswer answer = answer_ok(offer);
    EXPECT_EQ(answer.description.media[0].setup, DtlsSetup::kPassive);
    EXPECT_EQ(answer.session.remote_transport.setup, DtlsSetup::kActive);
  }
}

// A browser's addTrack may reuse a receiving transceiver: the participant
// then sends on a server m-line. The server keeps sending there and never
// receives, so nothing of it is published.
TEST_F(SdpReofferTest, AParticipantSendingOnAServerMlineIsAnsweredSendonly) {
  SessionDescription offer = client_reoffer(session_, client_offer_);
  offer.media[4].direction = MediaDirection::kSendRecv;
  offer.media[4].msids = {Msid{"s", std::string("t")}};
  offer.media[4].ssrcs = {SsrcAttribute{7777, "cname", std::string("browser")}};
  const ReofferAnswer answer = answer_ok(offer);
  const MediaDescription& section = answer.description.media[4];
  EXPECT_EQ(section.direction, MediaDirection::kSendOnly);
  EXPECT_EQ(section.msids, (std::vector<Msid>{{"alice", std::string("video-alice")}}));
  EXPECT_EQ(section.ssrc_groups, (std::vector<SsrcGroup>{{"FID", {20, 21}}}));
  const NegotiatedMedia& media = answer.session.media[4];
  EXPECT_EQ(media.direction, MediaDirection::kSendOnly);
  EXPECT_FALSE(sdp_common::receives(media.direction));
  EXPECT_EQ(media.local_ssrc, 20u);
  EXPECT_EQ(answer.session.slots[4].origin, MediaOrigin::kServer);
  EXPECT_EQ(answer.session.slots[4].stream, kServerVideo);
}

TEST_F(SdpReofferTest, AServerMlineFollowsWhetherTheParticipantStillReceives) {
  struct Case {
    MediaDirection offered;
    MediaDirection answered;
  };
  for (const Case& c : {Case{MediaDirection::kSendOnly, MediaDirection::kInactive},
                        Case{MediaDirection::kInactive, MediaDirection::kInactive},
                        Case{MediaDirection::kRecvOnly, MediaDirection::kSendOnly}}) {
    SessionDescription offer = client_reoffer(session_, client_offer_);
    offer.media[3].direction = c.offered;
    const ReofferAnswer answer = answer_ok(offer);
    EXPECT_EQ(answer.description.media[3].direction, c.answered) << to_string(c.offered);
    EXPECT_EQ(answer.description.media[3].msids.empty(), c.answered == MediaDirection::kInactive);
    EXPECT_EQ(answer.session.slots[3].stream, kServerAudio);  // still the server's to send on
  }
  // An inactive server m-line (its stream left) stays inactive even if the
  // participant now sends on it.
  const UpdateOffer drop = offer_ok(session_, {kServerVideo});
  session_ = applied(session_, drop, client_answer(drop, client_offer_));
  SessionDescription offer = client_reoffer(session_, client_offer_);
  offer.media[3].direction = MediaDirection::kSendRecv;
  const ReofferAnswer answer = answer_ok(offer);
  EXPECT_EQ(answer.description.media[3].direction, MediaDirection::kInactive);
  EXPECT_FALSE(answer.session.media[3].local_ssrc.has_value());
}

TEST_F(SdpReofferTest, PayloadTypesOfExistingMlinesAreKept) {
  SessionDescription offer = client_reoffer(session_, client_offer_);
  // H.264 (102) now listed first on the participant's video and on the
  // server's: what flows stays VP8 96 with RTX 97 on both.
  for (size_t i : {size_t{1}, size_t{4}}) {
    auto& formats = offer.media[i].formats;
    std::erase(formats, "102");
    formats.insert(formats.begin(), "102");
  }
  const ReofferAnswer answer = answer_ok(offer);
  EXPECT_EQ(answer.session.media[1].codec->payload_type, 96);
  EXPECT_EQ(answer.session.media[1].rtx_payload_type, 97);
  EXPECT_EQ(answer.session.media[4].codec->payload_type, 96);
  EXPECT_EQ(answer.description.media[1].formats, (std::vector<std::string>{"96", "97"}));
  EXPECT_EQ(answer.description.media[4].formats, (std::vector<std::string>{"96", "97"}));
  EXPECT_EQ(answer.session.media[0].codec->payload_type, 111);
  EXPECT_EQ(answer.session.media[4].extmaps, session_.media[4].extmaps);
}

TEST_F(SdpReofferTest, AKeptH264PayloadTypeWinsOverVp8) {
  SessionDescription h264_first = client_offer_;
  std::erase(h264_first.media[1].formats, "96");
  std::erase(h264_first.media[1].formats, "97");
  session_ = start(h264_first);
  ASSERT_EQ(session_.media[1].codec->name, "H264");
  const uint8_t kept = session_.media[1].codec->payload_type;
  const ReofferAnswer answer = answer_ok(client_reoffer(session_, client_offer_));  // VP8 offered again
  EXPECT_EQ(answer.session.media[1].codec->payload_type, kept);
  EXPECT_EQ(answer.session.media[1].codec->name, "H264");
}

// A re-offer as Chromium 156 writes it after addTransceiver(screenTrack,
// {direction: "sendonly"}): the captured first offer's text with o= version
// 3, the rejected data channel at port 0 out of the BUNDLE group, and a
// video m-line appended with the capture's video section as it was (every
// codec, candidates, rtcp-xr), mid 3, a=sendonly and its own senders.
TEST_F(SdpReofferTest, AChromiumShapedReofferAddingAScreenShare) {
  std::ifstream in(std::string(PARTYLINE_TEST_DATA) + "/sdp/chromium156_captured_offer_av_dc.sdp", std::ios::binary);
  std::ostringstream read;
  read << in.rdbuf();
  std::string text = read.str();
  ASSERT_FALSE(text.empty());
  auto first = parse_sdp(text);
  ASSERT_TRUE(first.ok()) << first.error().message;
  session_ = start(*first);
  ASSERT_EQ(session_.slots.size(), 3u);

  auto replace = [](std::string& in, const std::string& from, const std::string& to) {
    const size_t at = in.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    in.replace(at, from.size(), to);
  };
  std::string video = text.substr(text.find("m=video"), text.find("m=application") - text.find("m=video"));
  replace(video, "a=mid:1", "a=mid:3");
  replace(video, "a=sendrecv", "a=sendonly");
  for (const char* ssrc : {"2942828698", "2942828698", "2942828698", "282935871", "282935871", "282935871"}) {
    replace(video, ssrc, std::string(ssrc) == "282935871" ? "1234567" : "7654321");
  }
  std::string reoffer = text;
  replace(reoffer, "o=- 8903236539045993821 2", "o=- 8903236539045993821 3");
  replace(reoffer, "a=group:BUNDLE 0 1 2", "a=group:BUNDLE 0 1 3");
  replace(reoffer, "m=application 34555", "m=application 0");
  reoffer += video;
  auto offer = parse_sdp(reoffer);
  ASSERT_TRUE(offer.ok()) << offer.error().message;
  ASSERT_EQ(offer->media.size(), 4u);

  const ReofferAnswer answer = answer_ok(*offer);
  const NegotiatedSession& next = answer.session;
  EXPECT_EQ(next.slots[3], (MediaSlot{"3", MediaKind::kVideo, MediaOrigin::kParticipant, false, std::nullopt}));
  EXPECT_EQ(next.media[3].direction, MediaDirection::kRecvOnly);
  EXPECT_EQ(next.media[3].codec->payload_type, 96);
  EXPECT_EQ(next.media[3].rtx_payload_type, 97);
  ASSERT_EQ(next.media[3].remote_ssrcs.size(), 1u);
  EXPECT_EQ(next.media[3].remote_ssrcs[0].ssrc, 7654321u);
  EXPECT_EQ(next.media[3].remote_ssrcs[0].rtx_ssrc, 1234567u);
  EXPECT_EQ(next.media[1].remote_ssrcs[0].ssrc, 2942828698u);  // the camera goes on
  EXPECT_EQ(next.media[1].direction, MediaDirection::kRecvOnly);
  EXPECT_FALSE(next.media[2].accepted);
  EXPECT_EQ(answer.description.media[2].port, 0);
  // Only extensions partyline accepts, with Chromium's ids.
  std::vector<std::pair<uint16_t, std::string>> extmaps;
  for (const Extmap& extmap : answer.description.media[3].extmaps) extmaps.emplace_back(extmap.id, extmap.uri);
  EXPECT_EQ(extmaps, (std::vector<std::pair<uint16_t, std::string>>{
                         {2, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"},
                         {13, "urn:3gpp:video-orientation"},
                         {3, "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"},
                         {4, "urn:ietf:params:rtp-hdrext:sdes:mid"}}));
  EXPECT_NE(answer.sdp.find("a=group:BUNDLE 0 1 3\r\n"), std::string::npos) << answer.sdp;
  EXPECT_NE(answer.sdp.find("a=setup:passive"), std::string::npos);
  EXPECT_EQ(answer.sdp.find("a=setup:actpass"), std::string::npos);
}

}  // namespace
}  // namespace partyline::rtp
