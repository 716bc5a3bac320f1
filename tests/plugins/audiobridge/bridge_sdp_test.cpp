// The SDP look-ups of the bridge: media_kinds (what a join's offer holds),
// and from an answer the Opus payload type and the audio level extension's
// id, both read from the first m-line only. The SDP texts are written with
// LF and turned into CRLF (as on the wire) by crlf(), so each case can be
// checked with both line ends.
#include <gtest/gtest.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "bridge_sdp.hpp"

namespace audiobridge {
namespace {

using Kinds = std::vector<std::string>;

std::string crlf(const std::string& lf) {
  std::string out;
  for (char c : lf) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

constexpr const char* kSession =
    "v=0\n"
    "o=- 1 2 IN IP4 127.0.0.1\n"
    "s=-\n"
    "t=0 0\n"
    "a=group:BUNDLE 0 1\n";

constexpr const char* kAudio =
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 0\n"
    "c=IN IP4 0.0.0.0\n"
    "a=mid:0\n"
    "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\n"
    "a=extmap:3 urn:ietf:params:rtp-hdrext:ssrc-audio-level\n"
    "a=rtpmap:0 PCMU/8000\n"
    "a=rtpmap:111 opus/48000/2\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\n";

constexpr const char* kVideo =
    "m=video 9 UDP/TLS/RTP/SAVPF 96\n"
    "c=IN IP4 0.0.0.0\n"
    "a=mid:1\n"
    "a=rtpmap:96 VP8/90000\n";

constexpr const char* kApplication =
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\n"
    "c=IN IP4 0.0.0.0\n"
    "a=mid:2\n";

std::string sdp(std::initializer_list<const char*> sections) {
  std::string text = kSession;
  for (const char* section : sections) text += section;
  return text;
}

TEST(BridgeSdpTest, MediaKindsListsEachMLineInOrder) {
  struct Case {
    std::string sdp;
    Kinds kinds;
  };
  const Case cases[] = {
      {sdp({kAudio}), {"audio"}},
      {sdp({kAudio, kVideo}), {"audio", "video"}},
      {sdp({kVideo, kAudio}), {"video", "audio"}},
      {sdp({kVideo}), {"video"}},
      {sdp({kApplication}), {"application"}},
      {sdp({kAudio, kVideo, kApplication}), {"audio", "video", "application"}},
      {sdp({}), {}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(media_kinds(c.sdp), c.kinds) << c.sdp;
    EXPECT_EQ(media_kinds(crlf(c.sdp)), c.kinds) << "CRLF: " << c.sdp;
  }
}

TEST(BridgeSdpTest, MediaKindsReadsALastLineWithoutItsLineEnd) {
  EXPECT_EQ(media_kinds("v=0\nm=audio 9 RTP/AVP 0"), Kinds{"audio"});
  EXPECT_EQ(media_kinds("v=0\r\nm=video 9 RTP/AVP 96"), Kinds{"video"});
}

TEST(BridgeSdpTest, MediaKindsIgnoresAnMInsideAnotherLine) {
  // Only lines starting with "m=" are m-lines.
  EXPECT_TRUE(media_kinds(sdp({"a=note:m=audio 9 RTP/AVP 0\n"})).empty());
}

TEST(BridgeSdpTest, OpusPayloadTypeIsTheFirstMLinesOpus) {
  for (const std::string& text : {sdp({kAudio}), crlf(sdp({kAudio})), sdp({kAudio, kVideo})}) {
    EXPECT_EQ(opus_payload_type(text), 111) << text;
  }
}

TEST(BridgeSdpTest, OpusPayloadTypeAcceptsAnyCaseAndNoChannelCount) {
  EXPECT_EQ(opus_payload_type(sdp({"m=audio 9 RTP/AVP 109\na=rtpmap:109 OPUS/48000/2\n"})), 109);
  // Codec names are case-insensitive, and the host answers in the offer's spelling.
  EXPECT_EQ(opus_payload_type(sdp({"m=audio 9 RTP/AVP 111\na=rtpmap:111 Opus/48000/2\n"})), 111);
  EXPECT_EQ(opus_payload_type(sdp({"m=audio 9 RTP/AVP 100\na=rtpmap:100 opus/48000\n"})), 100);
}

TEST(BridgeSdpTest, OpusPayloadTypeIsAbsentWithoutOpusAt48kHz) {
  EXPECT_EQ(opus_payload_type(sdp({"m=audio 9 RTP/AVP 0\na=rtpmap:0 PCMU/8000\n"})), std::nullopt);
  EXPECT_EQ(opus_payload_type(sdp({"m=audio 9 RTP/AVP 101\na=rtpmap:101 opus/16000\n"})), std::nullopt);
  // Not 48000, though it starts like it.
  EXPECT_EQ(opus_payload_type(sdp({"m=audio 9 RTP/AVP 101\na=rtpmap:101 opus/480000\n"})), std::nullopt);
  EXPECT_EQ(opus_payload_type(sdp({"m=audio 9 RTP/AVP 101\na=rtpmap:101 opus/48000-x\n"})), std::nullopt);
  EXPECT_EQ(opus_payload_type(sdp({"m=audio 9 RTP/AVP 101\na=rtpmap:101 opusx/48000\n"})), std::nullopt);
  EXPECT_EQ(opus_payload_type(sdp({kVideo})), std::nullopt);
  EXPECT_EQ(opus_payload_type(""), std::nullopt);
}

TEST(BridgeSdpTest, OpusPayloadTypeIgnoresASecondMLinesOpus) {
  // The first m-line has no opus; the second's must not be taken for it.
  const std::string pcmu_then_opus = sdp({"m=audio 9 RTP/AVP 0\na=rtpmap:0 PCMU/8000\n", kAudio});
  EXPECT_EQ(opus_payload_type(pcmu_then_opus), std::nullopt);
  EXPECT_EQ(opus_payload_type(sdp({kVideo, kAudio})), std::nullopt);
  // A first audio m-line's opus wins over a later one's.
  const std::string two_opus = sdp({kAudio, "m=audio 9 RTP/AVP 120\na=rtpmap:120 opus/48000/2\n"});
  EXPECT_EQ(opus_payload_type(two_opus), 111);
}

TEST(BridgeSdpTest, ExtensionIdReadsTheAudioLevelsId) {
  for (const std::string& text : {sdp({kAudio}), crlf(sdp({kAudio}))}) {
    EXPECT_EQ(extension_id(text, kAudioLevelUri), 3) << text;
    EXPECT_EQ(extension_id(text, "urn:ietf:params:rtp-hdrext:sdes:mid"), 1) << text;
  }
}

TEST(BridgeSdpTest, ExtensionIdReadsAnIdWithADirection) {
  const std::string text = sdp({"m=audio 9 RTP/AVP 111\na=extmap:3/sendrecv urn:ietf:params:rtp-hdrext:ssrc-audio-level\n"});
  EXPECT_EQ(extension_id(text, kAudioLevelUri), 3);
}

TEST(BridgeSdpTest, ExtensionIdIgnoresTheExtensionsAttributes) {
  const std::string text =
      sdp({"m=audio 9 RTP/AVP 111\na=extmap:5 urn:ietf:params:rtp-hdrext:ssrc-audio-level vad=on\n"});
  EXPECT_EQ(extension_id(text, kAudioLevelUri), 5);
}

TEST(BridgeSdpTest, ExtensionIdIsZeroWhenAbsent) {
  EXPECT_EQ(extension_id(sdp({kVideo}), kAudioLevelUri), 0);
  EXPECT_EQ(extension_id("", kAudioLevelUri), 0);
  // A URI that only starts like it is another extension.
  const std::string longer =
      sdp({"m=audio 9 RTP/AVP 111\na=extmap:4 urn:ietf:params:rtp-hdrext:ssrc-audio-level-x\n"});
  EXPECT_EQ(extension_id(longer, kAudioLevelUri), 0);
}

TEST(BridgeSdpTest, ExtensionIdIsReadFromTheFirstMLineOnly) {
  const std::string second_only = sdp({kVideo, kAudio});
  EXPECT_EQ(extension_id(second_only, kAudioLevelUri), 0);
  // At session level (before any m-line) it counts.
  const std::string session_level =
      sdp({"a=extmap:6 urn:ietf:params:rtp-hdrext:ssrc-audio-level\n", "m=audio 9 RTP/AVP 111\n"});
  EXPECT_EQ(extension_id(session_level, kAudioLevelUri), 6);
}

TEST(BridgeSdpTest, ExtensionIdOutsideOneTo255IsZero) {
  for (const char* id : {"0", "256", "x"}) {
    const std::string extmap = std::string("a=extmap:") + id + " " + std::string(kAudioLevelUri) + "\n";
    const std::string text = sdp({"m=audio 9 RTP/AVP 111\n", extmap.c_str()});
    EXPECT_EQ(extension_id(text, kAudioLevelUri), 0) << id;
  }
}

}  // namespace
}  // namespace audiobridge
