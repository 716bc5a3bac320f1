#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <fstream>
#include <sstream>

#include "rtp/sdp/sdp.hpp"

namespace partyline::rtp {
namespace {

std::string read_capture(const std::string& name) {
  std::ifstream in(std::string(PARTYLINE_TEST_DATA) + "/sdp/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing capture " << name;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> all_captures() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(PARTYLINE_TEST_DATA) + "/sdp")) {
    if (entry.path().extension() == ".sdp") names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

SessionDescription parse_ok(const std::string& text) {
  auto parsed = parse_sdp(text);
  EXPECT_TRUE(parsed.ok()) << parsed.error().message;
  return parsed.ok() ? parsed.value() : SessionDescription{};
}

TEST(SdpParserTest, EveryCaptureParsesAndRoundTrips) {
  std::vector<std::string> names = all_captures();
  // Reference captures (5) and our own (Chromium x2, aiortc).
  ASSERT_GE(names.size(), 8u);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    std::string text = read_capture(name);
    auto first = parse_sdp(text);
    ASSERT_TRUE(first.ok()) << first.error().message;
    EXPECT_GE(first->media.size(), 1u);

    std::string written = to_string(*first);
    EXPECT_EQ(written.find("\n"), written.find("\r\n") + 1) << "every line must end in \\r\\n";
    for (size_t pos = written.find('\n'); pos != std::string::npos; pos = written.find('\n', pos + 1)) {
      ASSERT_EQ(written[pos - 1], '\r') << "bare \\n at offset " << pos;
    }
    auto second = parse_sdp(written);
    ASSERT_TRUE(second.ok()) << second.error().message << "\n" << written;
    EXPECT_EQ(*first, *second) << written;
    EXPECT_EQ(to_string(*second), written);
  }
}

TEST(SdpParserTest, ChromiumOfferDetails) {
  SessionDescription sdp = parse_ok(read_capture("chromium156_offer_av_dc.sdp"));
  EXPECT_EQ(sdp.origin.session_id, "8821970928843285605");
  EXPECT_EQ(sdp.origin.session_version, 2u);
  ASSERT_EQ(sdp.groups.size(), 1u);
  EXPECT_EQ(sdp.groups[0].semantics, "BUNDLE");
  EXPECT_EQ(sdp.groups[0].mids, (std::vector<std::string>{"0", "1", "2"}));
  EXPECT_TRUE(sdp.extmap_allow_mixed);
  EXPECT_EQ(sdp.msid_semantic, "WMS 3b8b6489-9b7c-4cea-b76b-ed7b3fa29fb6");
  ASSERT_EQ(sdp.media.size(), 3u);

  const MediaDescription& audio = sdp.media[0];
  EXPECT_EQ(audio.kind, MediaKind::kAudio);
  EXPECT_EQ(audio.port, 48868);
  EXPECT_EQ(audio.protocol, "UDP/TLS/RTP/SAVPF");
  EXPECT_EQ(audio.formats.size(), 8u);
  EXPECT_EQ(audio.connection->address, "127.0.0.1");
  EXPECT_EQ(audio.mid, "0");
  EXPECT_EQ(audio.direction, MediaDirection::kSendRecv);
  EXPECT_TRUE(audio.rtcp_mux);
  EXPECT_TRUE(audio.rtcp_rsize);
  EXPECT_EQ(audio.rtcp, "9 IN IP4 0.0.0.0");
  EXPECT_EQ(audio.ice_ufrag, "dHk2");
  EXPECT_EQ(audio.ice_pwd, "3/WrZGImweAARP62n3ZwM4C/");
  EXPECT_EQ(audio.ice_options, (std::vector<std::string>{"trickle"}));
  ASSERT_EQ(audio.fingerprints.size(), 1u);
  EXPECT_EQ(audio.fingerprints[0].algorithm, "sha-256");
  EXPECT_TRUE(audio.fingerprints[0].value.starts_with("CF:FA:0C"));
  EXPECT_EQ(audio.setup, DtlsSetup::kActpass);
  ASSERT_EQ(audio.candidates.size(), 2u);
  EXPECT_TRUE(audio.candidates[1].is_tcp());
  EXPECT_FALSE(audio.end_of_candidates);

  const RtpCodec* opus = audio.find_codec(111);
  ASSERT_NE(opus, nullptr);
  EXPECT_EQ(opus->name, "opus");
  EXPECT_EQ(opus->clock_rate, 48000u);
  EXPECT_EQ(opus->channels, 2);
  EXPECT_EQ(opus->fmtp, "minptime=10;useinbandfec=1");
  EXPECT_EQ(opus->rtcp_feedback, (std::vector<std::string>{"transport-cc"}));
  ASSERT_EQ(audio.extmaps.size(), 4u);
  EXPECT_EQ(audio.extmaps[0].id, 1);
  EXPECT_EQ(audio.extmaps[0].uri, "urn:ietf:params:rtp-hdrext:ssrc-audio-level");
  ASSERT_EQ(audio.msids.size(), 1u);
  EXPECT_EQ(audio.msids[0].track_id, "ec828540-57f5-4f65-90ad-092bfa4f488a");
  EXPECT_EQ(audio.ssrc_cname(2382238961u), "H1fPANdrbKbXnkYc");
  ASSERT_EQ(audio.other_attributes.size(), 1u);  // unknown attributes are kept
  EXPECT_EQ(audio.other_attributes[0], (SdpAttribute{"rtcp-xr", "rcvr-rtt=all"}));

  const MediaDescription& video = sdp.media[1];
  EXPECT_EQ(video.kind, MediaKind::kVideo);
  const RtpCodec* vp8 = video.find_codec(96);
  ASSERT_NE(vp8, nullptr);
  EXPECT_EQ(vp8->rtcp_feedback,
            (std::vector<std::string>{"goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"}));
  EXPECT_EQ(video.find_codec(97)->fmtp, "apt=96");
  ASSERT_EQ(video.ssrc_groups.size(), 1u);
  EXPECT_EQ(video.ssrc_groups[0].semantics, "FID");
  EXPECT_EQ(video.ssrc_groups[0].ssrcs, (std::vector<uint32_t>{1889125638u, 2888277619u}));

  const MediaDescription& data = sdp.media[2];
  EXPECT_EQ(data.kind, MediaKind::kApplication);
  EXPECT_EQ(data.protocol, "UDP/DTLS/SCTP");
  EXPECT_EQ(data.formats, (std::vector<std::string>{"webrtc-datachannel"}));
  EXPECT_EQ(data.sctp_port, 5000);
  EXPECT_EQ(data.max_message_size, 262144u);
}

TEST(SdpParserTest, AiortcLegacyDataChannelAndEndOfCandidates) {
  SessionDescription sdp = parse_ok(read_capture("aiortc1.4.0_captured_offer_av_dc.sdp"));
  ASSERT_EQ(sdp.media.size(), 3u);
  EXPECT_EQ(sdp.msid_semantic, "WMS *");
  EXPECT_TRUE(sdp.media[0].end_of_candidates);
  ASSERT_EQ(sdp.media[0].candidates.size(), 1u);
  EXPECT_EQ(sdp.media[0].candidates[0].address, "127.0.0.1");
  const MediaDescription& data = sdp.media[2];
  EXPECT_EQ(data.protocol, "DTLS/SCTP");
  EXPECT_EQ(data.formats, (std::vector<std::string>{"5000"}));
  ASSERT_TRUE(data.sctpmap.has_value());
  EXPECT_EQ(data.sctpmap->number, 5000);
  EXPECT_EQ(data.sctpmap->app, "webrtc-datachannel");
  EXPECT_EQ(data.sctpmap->streams, 65535u);
  EXPECT_EQ(data.max_message_size, 65536u);
}

TEST(SdpParserTest, ChromiumSimulcastRids) {
  for (const char* name : {"chromium156_offer_simulcast.sdp", "chromium156_captured_offer_simulcast.sdp"}) {
    SCOPED_TRACE(name);
    SessionDescription sdp = parse_ok(read_capture(name));
    ASSERT_EQ(sdp.media.size(), 1u);
    const MediaDescription& video = sdp.media[0];
    EXPECT_EQ(video.direction, MediaDirection::kSendOnly);
    ASSERT_EQ(video.rids.size(), 3u);
    EXPECT_EQ(video.rids[0], (Rid{"q", true, std::nullopt}));
    ASSERT_TRUE(video.simulcast.has_value());
    ASSERT_EQ(video.simulcast->send.size(), 3u);
    EXPECT_EQ(video.simulcast->send[2][0].rid, "f");
    EXPECT_TRUE(video.simulcast->recv.empty());
    EXPECT_TRUE(video.ssrcs.empty());
  }
}

TEST(SdpParserTest, AcceptsBareNewlines) {
  std::string crlf = read_capture("werift0.24.4_offer_av_dc.sdp");
  std::string lf;
  for (char c : crlf) {
    if (c != '\r') lf += c;
  }
  ASSERT_NE(lf, crlf);
  EXPECT_EQ(parse_ok(lf), parse_ok(crlf));
  EXPECT_EQ(parse_ok(lf).media[0].find_codec(96)->name, "OPUS");
}

TEST(SdpParserTest, ParsesSimulcastAlternativesAndPausedStreams) {
  SessionDescription sdp = parse_ok(
      "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n"
      "a=rid:a send pt=96;max-width=320\r\na=rid:b send\r\na=rid:c recv\r\n"
      "a=simulcast:send a,~b recv c\r\na=extmap:3/sendonly urn:x ext-attr\r\nb=AS:300\r\n");
  const MediaDescription& video = sdp.media[0];
  EXPECT_EQ(video.rids[0].restrictions, "pt=96;max-width=320");
  EXPECT_FALSE(video.rids[2].send);
  ASSERT_EQ(video.simulcast->send.size(), 1u);
  ASSERT_EQ(video.simulcast->send[0].size(), 2u);
  EXPECT_TRUE(video.simulcast->send[0][1].paused);
  EXPECT_EQ(video.simulcast->recv[0][0].rid, "c");
  EXPECT_EQ(video.extmaps[0].direction, MediaDirection::kSendOnly);
  EXPECT_EQ(video.extmaps[0].attributes, "ext-attr");
  EXPECT_EQ(video.other_lines, (std::vector<SdpLine>{{'b', "AS:300"}}));
  EXPECT_EQ(parse_ok(to_string(sdp)), sdp);
}

// Found by tests/fuzz/sdp_fuzz: e=, u= and p= belong to the session, but a
// media section that carries them kept them on parse and lost them on write.
// Raw lines come back in RFC 8866 order (i=, then b=, then the rest).
TEST(SdpParserTest, KeepsSessionLineTypesFoundInAMediaSection) {
  SessionDescription sdp = parse_ok(
      "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
      "b=AS:64\r\ne=media@example.com\r\nu=http://example.com/\r\np=+1 555 0100\r\ni=media info\r\n");
  const std::vector<SdpLine> in_writer_order = {
      {'i', "media info"},          {'b', "AS:64"},         {'e', "media@example.com"},
      {'u', "http://example.com/"}, {'p', "+1 555 0100"}};
  std::string written = to_string(sdp);
  EXPECT_NE(written.find("\r\ne=media@example.com\r\n"), std::string::npos) << written;
  EXPECT_EQ(parse_ok(written).media[0].other_lines, in_writer_order);
}

struct Malformed {
  std::string body;     // appended to a valid session header
  std::string message;  // the whole expected error message
};

const char kHeader[] = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n";  // lines 1-4

TEST(SdpParserTest, MalformedLinesAreNamed) {
  const Malformed cases[] = {
      {"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:abc opus/48000/2\r\n",
       "line 6 \"a=rtpmap:abc opus/48000/2\": payload type must be an integer 0-127"},
      {"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus\r\n",
       "line 6 \"a=rtpmap:111 opus\": rtpmap must be \"PT NAME/CLOCKRATE[/CHANNELS]\""},
      {"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/0/2\r\n",
       "line 6 \"a=rtpmap:111 opus/0/2\": clock rate must be a positive integer"},
      {"m=audio 99999 UDP/TLS/RTP/SAVPF 111\r\n",
       "line 5 \"m=audio 99999 UDP/TLS/RTP/SAVPF 111\": port must be an integer 0-65535"},
      {"m=audio 9 UDP/TLS/RTP/SAVPF\r\n",
       "line 5 \"m=audio 9 UDP/TLS/RTP/SAVPF\": m= needs media, port, protocol and at least one format"},
      {"m=audio 9 UDP/TLS/RTP/SAVPF 111 opus\r\n",
       "line 5 \"m=audio 9 UDP/TLS/RTP/SAVPF 111 opus\": format \"opus\" must be a payload type 0-127"},
      {"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=fmtp:\r\n", "line 6 \"a=fmtp:\": a=fmtp needs a value"},
      {"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=fmtp:111\r\n",
       "line 6 \"a=fmtp:111\": fmtp needs parameters after the payload type"},
      {"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=fmtp:111 \r\n",
       "line 6 \"a=fmtp:111 \": fmtp needs parameters after the payload type"},
      {"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=extmap:0 urn:x\r\n",
       "line 6 \"a=extmap:0 urn:x\": extmap id must be an integer 1-255"},
      {"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=extmap:1/up urn:x\r\n",
       "line 6 \"a=extmap:1/up urn:x\": extmap direction must be sendrecv, sendonly, recvonly or inactive"},
      {"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=extmap:1\r\n", "line 6 \"a=extmap:1\": extmap needs a URI"},
      {"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=extmap:1 urn:x\r\na=extmap:1 urn:y\r\n",
       "line 7 \"a=extmap:1 urn:y\": extmap id 1 is used twice"},
      {"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ssrc:12x cname:a\r\n",
       "line 6 \"a=ssrc:12x cname:a\": ssrc must be an unsigned 32-bit integer"},
      {"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ssrc:4294967296 cname:a\r\n",
       "line 6 \"a=ssrc:4294967296 cname:a\": ssrc must be an unsigned 32-bit integer"},
      {"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ssrc:1\r\n",
       "line 6 \"a=ssrc:1\": ssrc needs an attribute (e.g. cname:...)"},
      {"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ssrc-group:FID 1 x\r\n",
       "line 6 \"a=ssrc-group:FID 1 x\": ssrc-group member \"x\" is not a 32-bit integer"},
      {"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=fingerprint:sha-256 AB:CD\r\n",
       "line 6 \"a=fingerprint:sha-256 AB:CD\": fingerprint value must be 32 colon-separated hex bytes for sha-256"},
      {"a=fingerprint:rot13 AB\r\n", "line 5 \"a=fingerprint:rot13 AB\": unknown fingerprint algorithm \"rot13\""},
      {"a=setup:both\r\n", "line 5 \"a=setup:both\": setup must be actpass, active, passive or holdconn"},
      {"a=rtpmap:111 opus/48000/2\r\n",
       "line 5 \"a=rtpmap:111 opus/48000/2\": a=rtpmap is only allowed in a media section (after an m= line)"},
      {"a=mid:0\r\n", "line 5 \"a=mid:0\": a=mid is only allowed in a media section (after an m= line)"},
      {"a=candidate:1 1 udp 1 127.0.0.1 9 typ host\r\n",
       "line 5 \"a=candidate:1 1 udp 1 127.0.0.1 9 typ host\": a=candidate is only allowed in a media section "
       "(after an m= line)"},
      {"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=candidate:1 1 udp 1 127.0.0.1 99999 typ host\r\n",
       "line 6 \"a=candidate:1 1 udp 1 127.0.0.1 99999 typ host\": candidate: port must be an integer 0-65535"},
      {"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\n",
       "line 8 \"a=mid:0\": mid \"0\" is used by another m= section"},
      {"a=group:BUNDLE 0 1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n",
       "line 5 \"a=group:BUNDLE 0 1\": no m= section has mid \"1\""},
      {"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtcp-mux:yes\r\n", "line 6 \"a=rtcp-mux:yes\": a=rtcp-mux takes no value"},
      {"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rid:q sideways\r\n",
       "line 6 \"a=rid:q sideways\": rid direction must be send or recv"},
      {"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=simulcast:send\r\n",
       "line 6 \"a=simulcast:send\": simulcast must be \"send|recv RIDS [send|recv RIDS]\""},
      {"m=application 9 DTLS/SCTP 5000\r\na=sctpmap:x webrtc-datachannel\r\n",
       "line 6 \"a=sctpmap:x webrtc-datachannel\": sctpmap port must be an integer 0-65535"},
      {"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:bad ufrag\r\n",
       "line 6 \"a=ice-ufrag:bad ufrag\": ice-ufrag must be 1-256 characters of [A-Za-z0-9+/]"},
      {"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\no=- 1 1 IN IP4 0.0.0.0\r\n",
       "line 6 \"o=- 1 1 IN IP4 0.0.0.0\": o= is only allowed before the first m= line"},
      {"t=0\r\n", "line 5 \"t=0\": duplicate t= line"},
      {"hello\r\n", "line 5 \"hello\": expected a line of the form x=value"},
      {"a=foo:bar\x01\r\n", "line 5 \"a=foo:bar\\x01\": control character 0x01 at column 10"},
      {"a=foo:caf\xc3\r\n", "line 5 \"a=foo:caf\\xc3\": invalid UTF-8 at column 10"},
      {"a=foo:\xc0\xaf\r\n", "line 5 \"a=foo:\\xc0\\xaf\": invalid UTF-8 at column 7"},  // overlong
      {"a=foo:bar\rbaz\r\n", "line 5 \"a=foo:bar\\x0dbaz\": control character 0x0d at column 10"},
  };
  for (const Malformed& bad : cases) {
    auto parsed = parse_sdp(std::string(kHeader) + bad.body);
    ASSERT_FALSE(parsed.ok()) << bad.body;
    EXPECT_EQ(parsed.error().code, error_code::kBadRequest) << bad.body;
    EXPECT_EQ(parsed.error().message, bad.message);
  }
}

TEST(SdpParserTest, AcceptsValidUtf8InValues) {
  SessionDescription sdp = parse_ok(std::string(kHeader) + "a=x-label:caf\xc3\xa9 \xf0\x9f\x8e\x89\r\n");
  EXPECT_EQ(sdp.other_attributes[0].value, "caf\xc3\xa9 \xf0\x9f\x8e\x89");
}

TEST(SdpParserTest, HeaderErrors) {
  auto empty = parse_sdp("");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().message, "SDP is empty: missing v=0");

  auto no_version = parse_sdp("o=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n");
  ASSERT_FALSE(no_version.ok());
  EXPECT_EQ(no_version.error().message, "line 1 \"o=- 1 1 IN IP4 0.0.0.0\": the SDP must start with v=0");

  auto no_origin = parse_sdp("v=0\r\ns=-\r\nt=0 0\r\n");
  ASSERT_FALSE(no_origin.ok());
  EXPECT_EQ(no_origin.error().message, "missing o= line");

  auto bad_origin = parse_sdp("v=0\r\no=- 1 x IN IP4 0.0.0.0\r\n");
  ASSERT_FALSE(bad_origin.ok());
  EXPECT_EQ(bad_origin.error().message,
            "line 2 \"o=- 1 x IN IP4 0.0.0.0\": session version must be an unsigned 64-bit integer");
}

TEST(SdpParserTest, EnforcesSizeLimits) {
  std::string base = kHeader;
  SdpLimits limits;

  limits.max_bytes = 100;
  auto too_big = parse_sdp(base + std::string(100, 'x'), limits);
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.error().code, error_code::kTooLarge);
  EXPECT_EQ(too_big.error().message, "SDP is " + std::to_string(base.size() + 100) +
                                         " bytes, more than the limit of 100");

  std::string many_media = base;
  for (int i = 0; i < 65; ++i) many_media += "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\n";
  auto too_many_media = parse_sdp(many_media);
  ASSERT_FALSE(too_many_media.ok());
  EXPECT_EQ(too_many_media.error().code, error_code::kTooLarge);
  EXPECT_EQ(too_many_media.error().message, "line 69 \"m=audio 9 UDP/TLS/RTP/SAVPF 0\": more than 64 m= sections");

  limits = SdpLimits{};
  limits.max_lines = 6;
  auto too_many_lines = parse_sdp(base + "a=x\r\na=y\r\na=z\r\n", limits);
  ASSERT_FALSE(too_many_lines.ok());
  EXPECT_EQ(too_many_lines.error().code, error_code::kTooLarge);
  EXPECT_EQ(too_many_lines.error().message, "line 7 \"a=z\": more than 6 lines");

  auto long_line = parse_sdp(base + "a=x-long:" + std::string(5000, 'y') + "\r\n");
  ASSERT_FALSE(long_line.ok());
  EXPECT_EQ(long_line.error().code, error_code::kTooLarge);
  EXPECT_TRUE(long_line.error().message.starts_with("line 5 \"a=x-long:yyy"));
  EXPECT_TRUE(long_line.error().message.ends_with("...\": line is longer than 4096 bytes"));
}

// Truncated and corrupted captures: every input either parses, and then
// survives a write/re-parse round trip unchanged, or fails with an error
// naming a line (or the whole-SDP limits). Run under ASan/UBSan too.
TEST(SdpParserTest, CorruptedInputsFailCleanlyOrRoundTrip) {
  std::mt19937 random(12345);  // fixed seed: the same inputs every run
  const char kNasty[] = {'\0', '\r', '\n', ' ', ':', '/', '=', 'a', '9', '\xff', '\xc3', '~', ';', ','};
  size_t parsed_count = 0;
  for (const std::string& name : all_captures()) {
    SCOPED_TRACE(name);
    std::string text = read_capture(name);
    auto check = [&](const std::string& input) {
      auto parsed = parse_sdp(input);
      if (!parsed.ok()) {
        const std::string& message = parsed.error().message;
        EXPECT_TRUE(message.starts_with("line ") || message.starts_with("missing") || message.starts_with("SDP is"))
            << message;
        return;
      }
      ++parsed_count;
      auto again = parse_sdp(to_string(*parsed));
      ASSERT_TRUE(again.ok()) << again.error().message << "\nfrom input:\n" << input;
      EXPECT_EQ(*again, *parsed) << input;
    };
    for (size_t cut = 0; cut < text.size(); cut += 7) check(text.substr(0, cut));
    for (int round = 0; round < 300; ++round) {
      std::string mutated = text;
      for (int edits = 1 + static_cast<int>(random() % 4); edits > 0; --edits) {
        size_t at = random() % mutated.size();
        char c = kNasty[random() % sizeof(kNasty)];
        switch (random() % 3) {
          case 0: mutated[at] = c; break;
          case 1: mutated.insert(mutated.begin() + static_cast<std::ptrdiff_t>(at), c); break;
          default: mutated.erase(at, 1 + random() % 8); break;
        }
      }
      check(mutated);
    }
  }
  EXPECT_GT(parsed_count, 100u);  // the property was exercised on accepted inputs
}

}  // namespace
}  // namespace partyline::rtp
