#include "rtp/sdp/sdp_answer.hpp"
#include "rtp/sdp/sdp_offer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace partyline::rtp {
namespace {

const char kLocalFingerprint[] =
    "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99";

std::string read_capture(const std::string& name) {
  std::ifstream in(std::string(PARTYLINE_TEST_DATA) + "/sdp/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing capture " << name;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

SessionDescription offer_from(const std::string& name) {
  auto parsed = parse_sdp(read_capture(name));
  EXPECT_TRUE(parsed.ok()) << name << ": " << parsed.error().message;
  return parsed.ok() ? parsed.value() : SessionDescription{};
}

// Deterministic options: SSRCs 1000, 1001, ...
AnswerOptions test_options() {
  AnswerOptions options;
  options.ice_ufrag = "pLy1";
  options.ice_pwd = "partylinepartylinepass";
  options.fingerprint = Fingerprint{"sha-256", kLocalFingerprint};
  options.cname = "partyline-cname";
  options.stream_id = "partyline-stream";
  options.generate_ssrc = [next = uint32_t{1000}]() mutable { return next++; };
  return options;
}

Answer answer_ok(const SessionDescription& offer, const AnswerOptions& options = test_options()) {
  auto answer = build_answer(offer, options);
  EXPECT_TRUE(answer.ok()) << answer.error().message;
  return answer.ok() ? std::move(answer.value()) : Answer{};
}

std::vector<std::string> feedback_of(const MediaDescription& media, uint8_t pt) {
  const RtpCodec* codec = media.find_codec(pt);
  return codec ? codec->rtcp_feedback : std::vector<std::string>{};
}

std::vector<uint16_t> extmap_ids(const std::vector<Extmap>& extmaps) {
  std::vector<uint16_t> ids;
  for (const Extmap& extmap : extmaps) ids.push_back(extmap.id);
  return ids;
}

// Checks that hold for every answer: it re-parses to what it was written
// from, and every accepted m-line carries our transport and BUNDLE.
void expect_well_formed(const Answer& answer, const SessionDescription& offer) {
  auto reparsed = parse_sdp(answer.sdp);
  ASSERT_TRUE(reparsed.ok()) << reparsed.error().message << "\n" << answer.sdp;
  EXPECT_EQ(*reparsed, answer.description);
  ASSERT_EQ(reparsed->media.size(), offer.media.size());
  ASSERT_EQ(answer.media.size(), offer.media.size());
  std::vector<std::string> accepted_mids;
  for (size_t i = 0; i < offer.media.size(); ++i) {
    const MediaDescription& section = reparsed->media[i];
    const NegotiatedMedia& negotiated = answer.media[i];
    EXPECT_EQ(section.mid, offer.media[i].mid);
    EXPECT_EQ(section.kind, offer.media[i].kind);
    // Every m-line, rejected ones too, carries our ICE/DTLS parameters
    // (aiortc refuses an answer otherwise).
    EXPECT_EQ(section.ice_ufrag, "pLy1");
    EXPECT_EQ(section.ice_pwd, "partylinepartylinepass");
    EXPECT_EQ(section.fingerprints, (std::vector<Fingerprint>{{"sha-256", kLocalFingerprint}}));
    EXPECT_TRUE(section.setup.has_value());
    if (!negotiated.accepted) {
      EXPECT_EQ(section.port, 0);
      EXPECT_FALSE(negotiated.local_ssrc.has_value());
      continue;
    }
    accepted_mids.push_back(*section.mid);
    EXPECT_NE(section.port, 0);
    EXPECT_TRUE(section.rtcp_mux);
    EXPECT_EQ(section.direction, negotiated.direction);
    ASSERT_TRUE(negotiated.codec.has_value());
    EXPECT_EQ(section.formats.front(), std::to_string(negotiated.codec->payload_type));
  }
  const BundleGroup* bundle = reparsed->find_group("BUNDLE");
  ASSERT_NE(bundle, nullptr);
  EXPECT_EQ(bundle->mids, accepted_mids);
  EXPECT_EQ(answer.bundle_mid, accepted_mids.front());
}

TEST(SdpAnswerTest, EveryCapturedOfferGetsAValidAnswer) {
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(PARTYLINE_TEST_DATA) + "/sdp")) {
    if (entry.path().extension() != ".sdp") continue;
    SCOPED_TRACE(entry.path().filename().string());
    SessionDescription offer = offer_from(entry.path().filename().string());
    Answer answer = answer_ok(offer);
    expect_well_formed(answer, offer);
    EXPECT_EQ(answer.dtls_role, DtlsRole::kServer);  // every client offers actpass
    for (const MediaDescription& section : answer.description.media) {
      EXPECT_EQ(section.setup, DtlsSetup::kPassive);
    }
    for (const NegotiatedMedia& media : answer.media) {
      if (media.kind == MediaKind::kApplication) {
        EXPECT_FALSE(media.accepted);
        EXPECT_EQ(media.rejection_reason, "data channels are not supported");
      }
      if (media.kind == MediaKind::kAudio) {
        ASSERT_TRUE(media.accepted);
        EXPECT_TRUE(media.codec->name == "opus" || media.codec->name == "OPUS");
        EXPECT_EQ(media.codec->fmtp, "minptime=10;useinbandfec=1");
      }
      if (media.kind == MediaKind::kVideo) {
        ASSERT_TRUE(media.accepted);
        EXPECT_EQ(media.codec->name, "VP8");
      }
    }
    ++checked;
  }
  EXPECT_GE(checked, 8);
}

TEST(SdpAnswerTest, ChromiumOffer) {
  for (const char* name : {"chromium156_offer_av_dc.sdp", "chromium156_captured_offer_av_dc.sdp"}) {
    SCOPED_TRACE(name);
    SessionDescription offer = offer_from(name);
    Answer answer = answer_ok(offer);
    expect_well_formed(answer, offer);
    const MediaDescription& audio = answer.description.media[0];
    const MediaDescription& video = answer.description.media[1];
    const MediaDescription& data = answer.description.media[2];

    EXPECT_EQ(answer.description.find_group("BUNDLE")->mids, (std::vector<std::string>{"0", "1"}));
    EXPECT_TRUE(answer.description.extmap_allow_mixed);
    EXPECT_EQ(audio.formats, (std::vector<std::string>{"111"}));
    EXPECT_EQ(audio.find_codec(111)->name, "opus");
    EXPECT_EQ(audio.find_codec(111)->channels, 2);
    EXPECT_EQ(feedback_of(audio, 111), (std::vector<std::string>{"transport-cc"}));
    EXPECT_EQ(audio.direction, MediaDirection::kSendRecv);
    EXPECT_TRUE(audio.rtcp_rsize);
    // audio-level 1, abs-send-time 2, transport-wide-cc 3, mid 4.
    EXPECT_EQ(extmap_ids(audio.extmaps), (std::vector<uint16_t>{1, 2, 3, 4}));

    EXPECT_EQ(video.formats, (std::vector<std::string>{"96", "97"}));
    EXPECT_EQ(video.find_codec(97)->name, "rtx");
    EXPECT_EQ(video.find_codec(97)->fmtp, "apt=96");
    EXPECT_EQ(feedback_of(video, 96), (std::vector<std::string>{"transport-cc", "ccm fir", "nack", "nack pli"}));
    // abs-send-time 2, video-orientation 13, transport-wide-cc 3, mid 4.
    EXPECT_EQ(extmap_ids(video.extmaps), (std::vector<uint16_t>{2, 13, 3, 4}));

    EXPECT_EQ(data.port, 0);
    EXPECT_EQ(data.protocol, "UDP/DTLS/SCTP");
    EXPECT_EQ(data.formats, (std::vector<std::string>{"webrtc-datachannel"}));

    const NegotiatedMedia& audio_summary = answer.media[0];
    const NegotiatedMedia& video_summary = answer.media[1];
    ASSERT_EQ(audio_summary.remote_ssrcs.size(), 1u);
    EXPECT_EQ(audio_summary.remote_ssrcs[0].ssrc, offer.media[0].ssrcs[0].ssrc);
    EXPECT_FALSE(audio_summary.remote_ssrcs[0].rtx_ssrc.has_value());
    ASSERT_EQ(video_summary.remote_ssrcs.size(), 1u);
    EXPECT_EQ(video_summary.remote_ssrcs[0].ssrc, offer.media[1].ssrc_groups[0].ssrcs[0]);
    EXPECT_EQ(video_summary.remote_ssrcs[0].rtx_ssrc, offer.media[1].ssrc_groups[0].ssrcs[1]);
    EXPECT_EQ(video_summary.rtx_payload_type, 97);

    // Ours: audio 1000; video 1001 + RTX 1002, declared with cname and msid.
    EXPECT_EQ(audio_summary.local_ssrc, 1000u);
    EXPECT_FALSE(audio_summary.local_rtx_ssrc.has_value());
    EXPECT_EQ(video_summary.local_ssrc, 1001u);
    EXPECT_EQ(video_summary.local_rtx_ssrc, 1002u);
    EXPECT_EQ(video.ssrc_groups, (std::vector<SsrcGroup>{{"FID", {1001, 1002}}}));
    EXPECT_EQ(video.ssrc_cname(1001), "partyline-cname");
    EXPECT_EQ(video.ssrc_cname(1002), "partyline-cname");
    EXPECT_EQ(audio.msids, (std::vector<Msid>{{"partyline-stream", "audio-0"}}));
    EXPECT_EQ(video.msids, (std::vector<Msid>{{"partyline-stream", "video-1"}}));

    EXPECT_EQ(answer.remote_transport.ice_ufrag, offer.media[0].ice_ufrag);
    EXPECT_EQ(answer.remote_transport.ice_pwd, offer.media[0].ice_pwd);
    EXPECT_EQ(answer.remote_transport.fingerprint, offer.media[0].fingerprints[0]);
    EXPECT_EQ(answer.remote_transport.candidates, offer.media[0].candidates);
  }
}

TEST(SdpAnswerTest, AiortcOfferUsesBundleAndRtcpMux) {
  for (const char* name : {"aiortc1.4.0_offer_av_dc.sdp", "aiortc1.4.0_captured_offer_av_dc.sdp"}) {
    SCOPED_TRACE(name);
    SessionDescription offer = offer_from(name);
    ASSERT_NE(offer.find_group("BUNDLE"), nullptr);
    Answer answer = answer_ok(offer);
    expect_well_formed(answer, offer);
    const MediaDescription& video = answer.description.media[1];
    EXPECT_EQ(answer.media[0].codec->payload_type, 96);
    EXPECT_EQ(video.formats, (std::vector<std::string>{"97", "98"}));
    EXPECT_EQ(feedback_of(video, 97), (std::vector<std::string>{"nack", "nack pli"})) << "goog-remb dropped";
    // aiortc gives id 2 to ssrc-audio-level (audio) and abs-send-time
    // (video) in one BUNDLE: an ambiguous id is accepted on neither m-line.
    EXPECT_EQ(extmap_ids(video.extmaps), (std::vector<uint16_t>{1}));
    EXPECT_EQ(extmap_ids(answer.description.media[0].extmaps), (std::vector<uint16_t>{1}));
    EXPECT_EQ(answer.description.media[2].port, 0);
    EXPECT_EQ(answer.description.media[2].formats, (std::vector<std::string>{"5000"}));
    // aiortc gives each m-line its own ICE credentials; the BUNDLE uses mid 0's.
    EXPECT_EQ(answer.remote_transport.ice_ufrag, *offer.media[0].ice_ufrag);
    EXPECT_NE(answer.media[1].remote.ice_ufrag, answer.remote_transport.ice_ufrag);
    EXPECT_TRUE(answer.remote_transport.end_of_candidates);
    ASSERT_EQ(answer.remote_transport.candidates.size(), 1u);
    EXPECT_EQ(answer.remote_transport.candidates[0].port, offer.media[0].port);
    EXPECT_EQ(answer.media[1].remote_ssrcs.size(), 1u);
    EXPECT_TRUE(answer.media[1].remote_ssrcs[0].rtx_ssrc.has_value());
  }
}

// RFC 8853: the answer receives the offer's simulcast as offered (recv,
// the same rids, the rid extensions that tell the layers apart), so that
// the browser keeps sending every layer and can answer the server's later
// offers, which repeat it.
TEST(SdpAnswerTest, SimulcastOfferIsReceivedWithoutSending) {
  SessionDescription offer = offer_from("chromium156_captured_offer_simulcast.sdp");
  Answer answer = answer_ok(offer);
  expect_well_formed(answer, offer);
  const NegotiatedMedia& video = answer.media[0];
  const MediaDescription& section = answer.description.media[0];
  EXPECT_EQ(video.direction, MediaDirection::kRecvOnly);  // the offer is sendonly
  EXPECT_EQ(video.remote_rids, (std::vector<std::string>{"q", "h", "f"}));
  EXPECT_TRUE(video.remote_ssrcs.empty());
  EXPECT_FALSE(video.local_ssrc.has_value());
  EXPECT_TRUE(section.ssrcs.empty());
  EXPECT_TRUE(section.msids.empty());
  ASSERT_TRUE(section.simulcast.has_value());
  EXPECT_TRUE(section.simulcast->send.empty());
  ASSERT_EQ(section.simulcast->recv.size(), 3u);
  EXPECT_EQ(section.simulcast->recv[2], (SimulcastStream{SimulcastAlternative{"f", false}}));
  EXPECT_EQ(section.rids, (std::vector<Rid>{{"q", false, std::nullopt}, {"h", false, std::nullopt},
                                            {"f", false, std::nullopt}}));
  EXPECT_NE(answer.sdp.find("a=simulcast:recv q;h;f\r\n"), std::string::npos) << answer.sdp;
  EXPECT_NE(answer.sdp.find("a=rid:h recv\r\n"), std::string::npos);
  // mid 9, rid 10, repaired rid 11 with the offer's ids.
  std::vector<std::pair<uint16_t, std::string>> extmaps;
  for (const Extmap& extmap : section.extmaps) extmaps.emplace_back(extmap.id, extmap.uri);
  EXPECT_NE(std::find(extmaps.begin(), extmaps.end(),
                      std::pair<uint16_t, std::string>{10, "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"}),
            extmaps.end());
  EXPECT_NE(std::find(extmaps.begin(), extmaps.end(),
                      std::pair<uint16_t, std::string>{11, "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"}),
            extmaps.end());

  // The server's next offer (another occupant's stream added) repeats it.
  auto session = start_session(offer, answer);
  ASSERT_TRUE(session.ok()) << session.error().message;
  auto update = build_update_offer(*session, {OutgoingStream{MediaKind::kVideo, "bob", "video-bob", 4242, 4243, "bob"}});
  ASSERT_TRUE(update.ok()) << update.error().message;
  EXPECT_NE(update->sdp.find("a=simulcast:recv q;h;f\r\n"), std::string::npos) << update->sdp;
  EXPECT_NE(update->sdp.find("a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n"), std::string::npos);
}

// Without the rid extension the layers could not be told apart: no
// simulcast in the answer, so the browser sends one layer; paused layers
// (~h) are not received.
TEST(SdpAnswerTest, SimulcastNeedsTheRidExtensionAndSkipsPausedLayers) {
  SessionDescription offer = offer_from("chromium156_captured_offer_simulcast.sdp");
  offer.media[0].simulcast->send[1][0].paused = true;
  Answer answer = answer_ok(offer);
  EXPECT_EQ(answer.media[0].remote_rids, (std::vector<std::string>{"q", "f"}));
  std::erase_if(offer.media[0].extmaps, [](const Extmap& extmap) {
    return extmap.uri == "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
  });
  answer = answer_ok(offer);
  EXPECT_TRUE(answer.media[0].remote_rids.empty());
  EXPECT_FALSE(answer.description.media[0].simulcast.has_value());
  EXPECT_TRUE(answer.description.media[0].rids.empty());
  for (const Extmap& extmap : answer.description.media[0].extmaps) {
    EXPECT_EQ(extmap.uri.find("rtp-stream-id"), std::string::npos) << extmap.uri;
  }
}

// Removes a payload type (and its RTX) from an m-line's formats.
void drop_format(MediaDescription& media, const std::string& pt) {
  media.formats.erase(std::remove(media.formats.begin(), media.formats.end(), pt), media.formats.end());
}

TEST(SdpAnswerTest, H264IsChosenWithoutVp8WhenConstrainedBaselineAndMode1) {
  SessionDescription offer = offer_from("chromium156_offer_av_dc.sdp");
  drop_format(offer.media[1], "96");
  Answer answer = answer_ok(offer);
  // 102 is 42001f (Baseline, not constrained) and 104 is mode 0: 108 is the
  // first constrained-baseline, mode-1 H.264.
  ASSERT_TRUE(answer.media[1].codec.has_value());
  EXPECT_EQ(answer.media[1].codec->payload_type, 108);
  EXPECT_EQ(answer.media[1].codec->fmtp, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f");
  EXPECT_EQ(answer.media[1].rtx_payload_type, 109);
  EXPECT_EQ(answer.description.media[1].formats, (std::vector<std::string>{"108", "109"}));

  // Another level of constrained baseline is compatible; it is answered as offered.
  auto& codecs = offer.media[1].codecs;
  auto h264 = std::find_if(codecs.begin(), codecs.end(), [](const RtpCodec& c) { return c.payload_type == 108; });
  ASSERT_NE(h264, codecs.end());
  h264->fmtp = "packetization-mode=1;profile-level-id=42e034";
  answer = answer_ok(offer);
  EXPECT_EQ(answer.media[1].codec->fmtp, "packetization-mode=1;profile-level-id=42e034");
  expect_well_formed(answer, offer);
}

// The start of the participant's send-side estimate is a hint in the answer
// only: every video codec's fmtp carries it, audio's not, and the negotiated
// format (what legs are built for) stays the offer's.
TEST(SdpAnswerTest, VideoCodecsCarryTheStartBitrateHint) {
  SessionDescription offer = offer_from("chromium156_offer_av_dc.sdp");
  AnswerOptions options = test_options();
  options.video_start_bitrate_kbps = 1000;
  Answer answer = answer_ok(offer, options);
  expect_well_formed(answer, offer);
  EXPECT_EQ(answer.description.media[1].find_codec(96)->fmtp, "x-google-start-bitrate=1000");
  EXPECT_EQ(answer.description.media[1].find_codec(97)->fmtp, "apt=96");
  EXPECT_EQ(answer.description.media[0].find_codec(111)->fmtp, "minptime=10;useinbandfec=1");
  EXPECT_NE(answer.sdp.find("a=fmtp:96 x-google-start-bitrate=1000\r\n"), std::string::npos) << answer.sdp;
  EXPECT_EQ(answer.media[1].codec->fmtp, std::nullopt);

  // H.264 keeps its own parameters before the hint.
  drop_format(offer.media[1], "96");
  answer = answer_ok(offer, options);
  EXPECT_EQ(answer.description.media[1].find_codec(108)->fmtp,
            "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f;x-google-start-bitrate=1000");
  EXPECT_EQ(answer.media[1].codec->fmtp, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f");

  options.video_start_bitrate_kbps = 0;  // off: nothing added
  answer = answer_ok(offer_from("chromium156_offer_av_dc.sdp"), options);
  EXPECT_EQ(answer.sdp.find("x-google"), std::string::npos);
}

TEST(SdpAnswerTest, VideoWithoutCommonCodecIsRejected) {
  SessionDescription offer = offer_from("chromium156_offer_av_dc.sdp");
  // Without VP8 (96) and constrained baseline (108, 114) only Baseline,
  // Main, VP9 and AV1 are left.
  for (const char* pt : {"96", "108", "114"}) drop_format(offer.media[1], pt);
  Answer answer = answer_ok(offer);
  expect_well_formed(answer, offer);
  EXPECT_FALSE(answer.media[1].accepted);
  EXPECT_NE(answer.media[1].rejection_reason.find("no common codec"), std::string::npos);
  EXPECT_EQ(answer.description.media[1].port, 0);
  EXPECT_EQ(answer.description.find_group("BUNDLE")->mids, (std::vector<std::string>{"0"}));

  offer.media.erase(offer.media.begin());  // no audio left either
  offer.groups[0].mids = {"1", "2"};
  auto none = build_answer(offer, test_options());
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, error_code::kUnsupported);
  EXPECT_NE(none.error().message.find("no m-line can be accepted"), std::string::npos) << none.error().message;
  EXPECT_NE(none.error().message.find("m-line 0 (video, mid \"1\"): no common codec"), std::string::npos)
      << none.error().message;
  EXPECT_NE(none.error().message.find("m-line 1 (application, mid \"2\"): data channels are not supported"),
            std::string::npos)
      << none.error().message;
}

// media.video_codecs: which video codecs are taken, in the server's order
// of preference (not the offer's): Chromium offers VP8 first, yet H264
// wins when it comes first; a codec left out is never answered.
TEST(SdpAnswerTest, VideoCodecsAreTakenInTheConfiguredOrder) {
  SessionDescription offer = offer_from("chromium156_offer_av_dc.sdp");
  EXPECT_EQ(answer_ok(offer).media[1].codec->name, "VP8");  // the default: VP8, else H264
  AnswerOptions h264_first = test_options();
  h264_first.video_codecs = {"H264", "VP8"};
  const Answer h264 = answer_ok(offer, h264_first);
  ASSERT_TRUE(h264.media[1].codec.has_value());
  EXPECT_EQ(h264.media[1].codec->name, "H264");
  EXPECT_EQ(h264.media[1].codec->payload_type, 108);  // the first constrained baseline, mode 1
  EXPECT_EQ(h264.media[1].rtx_payload_type, 109);

  AnswerOptions vp8_only = test_options();
  vp8_only.video_codecs = {"VP8"};
  for (const char* pt : {"96"}) drop_format(offer.media[1], pt);
  const Answer refused = answer_ok(offer, vp8_only);
  EXPECT_FALSE(refused.media[1].accepted);
  EXPECT_EQ(refused.media[1].rejection_reason, "no common codec (partyline takes VP8)");
}

TEST(SdpAnswerTest, AudioWithoutOpusIsRejectedButVideoAccepted) {
  SessionDescription offer = offer_from("aiortc1.4.0_offer_av_dc.sdp");
  drop_format(offer.media[0], "96");
  Answer answer = answer_ok(offer);
  expect_well_formed(answer, offer);
  EXPECT_FALSE(answer.media[0].accepted);
  EXPECT_EQ(answer.description.media[0].direction, MediaDirection::kInactive);
  EXPECT_EQ(answer.bundle_mid, "1");
  // The BUNDLE tag moved to mid 1: its transport is the one to use.
  EXPECT_EQ(answer.remote_transport.ice_ufrag, *offer.media[1].ice_ufrag);
}

TEST(SdpAnswerTest, RequiresBundle) {
  SessionDescription offer = offer_from("chromium156_offer_av_dc.sdp");
  offer.groups.clear();
  auto answer = build_answer(offer, test_options());
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().code, error_code::kUnsupported);
  EXPECT_EQ(answer.error().message,
            "the offer has no a=group:BUNDLE containing m-line 0 (audio, mid \"0\"); partyline requires BUNDLE");

  offer = offer_from("chromium156_offer_av_dc.sdp");
  offer.groups[0].mids = {"0", "2"};
  answer = build_answer(offer, test_options());
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().code, error_code::kUnsupported);
  EXPECT_EQ(answer.error().message,
            "m-line 1 (video, mid \"1\") is not in the a=group:BUNDLE of m-line 0 (audio, mid \"0\")");
}

TEST(SdpAnswerTest, RequiresRtcpMux) {
  SessionDescription offer = offer_from("werift0.24.4_offer_av_dc.sdp");
  offer.media[1].rtcp_mux = false;
  auto answer = build_answer(offer, test_options());
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().code, error_code::kUnsupported);
  EXPECT_EQ(answer.error().message,
            "m-line 1 (video, mid \"1\") has no a=rtcp-mux; partyline requires rtcp-mux");
}

TEST(SdpAnswerTest, RequiresIceCredentialsAndFingerprint) {
  SessionDescription offer = offer_from("werift0.24.4_offer_av_dc.sdp");
  offer.media[0].ice_pwd.reset();
  auto answer = build_answer(offer, test_options());
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().code, error_code::kBadRequest);
  EXPECT_EQ(answer.error().message,
            "m-line 0 (audio, mid \"0\") has no a=ice-ufrag/a=ice-pwd (media or session level)");

  // Session-level credentials count.
  offer.ice_pwd = "sessionlevelpasswordxx";
  EXPECT_TRUE(build_answer(offer, test_options()).ok());

  offer = offer_from("werift0.24.4_offer_av_dc.sdp");
  offer.media[0].fingerprints.clear();
  answer = build_answer(offer, test_options());
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().code, error_code::kBadRequest);
  EXPECT_EQ(answer.error().message, "m-line 0 (audio, mid \"0\") has no a=fingerprint (media or session level)");
}

TEST(SdpAnswerTest, DtlsRoleFollowsOfferedSetup) {
  SessionDescription offer = offer_from("werift0.24.4_offer_av_dc.sdp");
  for (MediaDescription& media : offer.media) media.setup = DtlsSetup::kPassive;
  Answer answer = answer_ok(offer);
  EXPECT_EQ(answer.dtls_role, DtlsRole::kClient);
  EXPECT_EQ(answer.description.media[0].setup, DtlsSetup::kActive);

  for (MediaDescription& media : offer.media) media.setup = DtlsSetup::kActive;
  answer = answer_ok(offer);
  EXPECT_EQ(answer.dtls_role, DtlsRole::kServer);
  EXPECT_EQ(answer.description.media[0].setup, DtlsSetup::kPassive);
}

TEST(SdpAnswerTest, DirectionMirrorsTheOffer) {
  struct Case {
    MediaDirection offered;
    bool send_media;
    MediaDirection answered;
    bool declares_ssrc;
  };
  const Case cases[] = {
      {MediaDirection::kSendRecv, true, MediaDirection::kSendRecv, true},
      {MediaDirection::kSendOnly, true, MediaDirection::kRecvOnly, false},
      {MediaDirection::kRecvOnly, true, MediaDirection::kSendOnly, true},
      {MediaDirection::kInactive, true, MediaDirection::kInactive, false},
      {MediaDirection::kSendRecv, false, MediaDirection::kRecvOnly, false},
      {MediaDirection::kRecvOnly, false, MediaDirection::kInactive, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(to_string(c.offered)) + (c.send_media ? " sending" : " not sending"));
    SessionDescription offer = offer_from("werift0.24.4_offer_av_dc.sdp");
    offer.media[0].direction = c.offered;
    AnswerOptions options = test_options();
    options.send_media = c.send_media;
    Answer answer = answer_ok(offer, options);
    EXPECT_EQ(answer.media[0].direction, c.answered);
    EXPECT_EQ(answer.description.media[0].direction, c.answered);
    EXPECT_EQ(answer.media[0].local_ssrc.has_value(), c.declares_ssrc);
    EXPECT_EQ(answer.description.media[0].ssrcs.empty(), !c.declares_ssrc);
  }
}

TEST(SdpAnswerTest, LocalCandidatesGoInTheBundleTag) {
  SessionDescription offer = offer_from("chromium156_offer_av_dc.sdp");
  AnswerOptions options = test_options();
  options.candidates = {"candidate:1 1 UDP 2015363327 127.0.0.1 40411 typ host"};
  options.candidates_complete = true;
  Answer answer = answer_ok(offer, options);
  expect_well_formed(answer, offer);
  const MediaDescription& tag = answer.description.media[0];
  ASSERT_EQ(tag.candidates.size(), 1u);
  EXPECT_EQ(tag.candidates[0].port, 40411);
  EXPECT_TRUE(tag.end_of_candidates);
  EXPECT_TRUE(tag.ice_options.empty());
  EXPECT_EQ(tag.port, 40411);
  EXPECT_EQ(tag.connection->address, "127.0.0.1");
  EXPECT_TRUE(answer.description.media[1].candidates.empty());
  EXPECT_EQ(answer.description.media[1].port, 40411);  // bundled: same transport

  options.candidates = {"candidate:1 1 UDP 2015363327 127.0.0.1 port typ host"};
  auto bad = build_answer(offer, options);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, error_code::kInternal);

  Answer trickled = answer_ok(offer);
  EXPECT_EQ(trickled.description.media[0].port, 9);
  EXPECT_EQ(trickled.description.media[0].ice_options, (std::vector<std::string>{"trickle"}));
  EXPECT_FALSE(trickled.description.media[0].end_of_candidates);
}

TEST(SdpAnswerTest, SsrcGeneratorResultsThatCollideAreDrawnAgain) {
  SessionDescription offer = offer_from("chromium156_offer_av_dc.sdp");
  uint32_t remote_audio = offer.media[0].ssrcs[0].ssrc;
  std::vector<uint32_t> draws = {0, remote_audio, 7, 7, 8, 9};
  AnswerOptions options = test_options();
  options.generate_ssrc = [&draws, i = size_t{0}]() mutable { return draws[std::min(i++, draws.size() - 1)]; };
  Answer answer = answer_ok(offer, options);
  EXPECT_EQ(answer.media[0].local_ssrc, 7u);
  EXPECT_EQ(answer.media[1].local_ssrc, 8u);
  EXPECT_EQ(answer.media[1].local_rtx_ssrc, 9u);

  options.generate_ssrc = [] { return uint32_t{5}; };
  auto stuck = build_answer(offer, options);
  ASSERT_FALSE(stuck.ok());
  EXPECT_EQ(stuck.error().code, error_code::kInternal);
}

// Corrupted offers that still parse: the answer is either built (and then
// re-parses) or refused with 400/415, never anything else.
TEST(SdpAnswerTest, CorruptedOffersAreAnsweredOrRefusedCleanly) {
  std::mt19937 random(777);  // fixed seed: the same inputs every run
  const char kNasty[] = {' ', ':', '/', '=', '0', '9', 'a', '\n', ';'};
  size_t answered = 0;
  size_t refused = 0;
  for (const char* name : {"chromium156_captured_offer_av_dc.sdp", "aiortc1.4.0_captured_offer_av_dc.sdp",
                           "werift0.24.4_offer_av_dc.sdp", "wrtc0.10.0_offer_av_dc.sdp"}) {
    std::string text = read_capture(name);
    for (int round = 0; round < 400; ++round) {
      std::string mutated = text;
      for (int edits = 1 + static_cast<int>(random() % 3); edits > 0; --edits) {
        size_t at = random() % mutated.size();
        if (random() % 2 == 0) mutated[at] = kNasty[random() % sizeof(kNasty)];
        else mutated.erase(at, 1 + random() % 12);
      }
      auto offer = parse_sdp(mutated);
      if (!offer.ok()) continue;
      auto answer = build_answer(*offer, test_options());
      if (!answer.ok()) {
        ++refused;
        EXPECT_TRUE(answer.error().code == error_code::kBadRequest ||
                    answer.error().code == error_code::kUnsupported)
            << answer.error().message;
        continue;
      }
      ++answered;
      auto reparsed = parse_sdp(answer->sdp);
      ASSERT_TRUE(reparsed.ok()) << reparsed.error().message << "\n" << answer->sdp;
      EXPECT_EQ(*reparsed, answer->description);
    }
  }
  EXPECT_GT(answered, 100u);
  EXPECT_GT(refused, 0u);
}

}  // namespace
}  // namespace partyline::rtp
