// The WebM files, read back with ffprobe and ffmpeg: WebmWriter with real
// VP8 and Opus frames, and a whole RecordingSession fed RTP packets (with a
// loss repaired by retransmission, a stream leaving, a publisher without
// video) in virtual time.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "recording_session.hpp"
#include "test_media.hpp"
#include "webm_writer.hpp"

namespace recorder {
namespace {

using namespace std::chrono_literals;
using namespace test;

bool near_colour(const std::vector<uint8_t>& rgb, int red, int green, int blue) {
  return rgb.size() == 3 && std::abs(rgb[0] - red) < 40 && std::abs(rgb[1] - green) < 40 &&
         std::abs(rgb[2] - blue) < 40;
}

TEST(WebmWriterTest, WritesVp8AndOpusThatFfprobeAndFfmpegRead) {
  const std::string path = temp_folder("writer") + "/a.webm";
  const auto video = encode_vp8(60, 320, 240, 200, 30, 30);  // 2 s at 30 fps
  const auto audio = encode_opus(100, 440);                  // 2 s
  std::string error;
  auto writer = WebmWriter::open(path, {true, true, 320, 240}, error);
  ASSERT_TRUE(writer) << error;
  size_t v = 0, a = 0;
  while (v < video.size() || a < audio.size()) {  // interleaved by time, as the session does
    const int64_t video_pts = static_cast<int64_t>(v) * 1000 / 30, audio_pts = static_cast<int64_t>(a) * 20;
    if (v < video.size() && (a == audio.size() || video_pts <= audio_pts)) {
      ASSERT_TRUE(writer->write_video(video[v].data, video_pts, video[v].keyframe).ok());
      ++v;
    } else {
      ASSERT_TRUE(writer->write_audio(audio[a], audio_pts, 20).ok());
      ++a;
    }
  }
  ASSERT_TRUE(writer->finish().ok());
  const Probe probe = ffprobe(path);
  ASSERT_TRUE(probe.ok);
  EXPECT_EQ(probe.codecs, (std::vector<std::string>{"vp8", "opus"}));
  EXPECT_EQ(probe.width, 320);
  EXPECT_NEAR(probe.duration, 2.0, 0.1);
  const auto colour = frame_colour(path, 1.0);
  EXPECT_TRUE(near_colour(colour, 200, 30, 30)) << int(colour.size() == 3 ? colour[0] : -1);
  EXPECT_NEAR(dominant_frequency(path), 440, 20);
}

TEST(WebmWriterTest, AFileThatCannotBeCreatedSaysWhy) {
  std::string error;
  EXPECT_FALSE(WebmWriter::open("/nonexistent-folder/x.webm", {true, false, 0, 0}, error));
  EXPECT_NE(error.find("/nonexistent-folder/x.webm"), std::string::npos) << error;
}

struct NullRequests : RequestSink {
  void request_keyframe(uint32_t) override { ++keyframes; }
  void nack(uint32_t, std::span<const uint16_t> sequences) override { nacks += sequences.size(); }
  int keyframes = 0;
  size_t nacks = 0;
};

MediaItem announce(uint32_t stream, bool video, const std::string& publisher, Micros at) {
  MediaItem item;
  item.kind = ItemKind::kStreamAdded;
  item.stream = stream;
  item.arrival = at;
  item.length = encode_announcement(
      {video, video ? "VP8" : "opus", video ? 90000u : 48000u, static_cast<uint8_t>(video ? 96 : 111), publisher,
       publisher + "-name"},
      item.data);
  return item;
}

MediaItem packet_item(uint32_t stream, const std::vector<uint8_t>& packet, Micros at) {
  MediaItem item;
  item.kind = ItemKind::kPacket;
  item.stream = stream;
  item.arrival = at;
  item.length = static_cast<uint16_t>(packet.size());
  std::copy(packet.begin(), packet.end(), item.data.begin());
  return item;
}

MediaItem removed(uint32_t stream, Micros at) {
  MediaItem item;
  item.kind = ItemKind::kStreamRemoved;
  item.stream = stream;
  item.arrival = at;
  return item;
}

// Feeds one publisher's 30 fps VP8 and 50 Hz Opus as RTP from `start` for
// `seconds`, the audio starting first (as it does: the first keyframe
// comes later), dropping the packet numbered `drop_video` the first time
// and delivering it 50 ms later (a retransmission).
void feed(RecordingSession& session, NullRequests& requests, uint32_t video_stream, uint32_t audio_stream,
          const std::vector<EncodedFrame>& video, const std::vector<std::vector<uint8_t>>& audio, Micros start,
          int drop_video = -1) {
  uint16_t video_sequence = 1000;
  uint16_t audio_sequence = 65500;  // wraps during the recording
  size_t v = 0, a = 0;
  std::vector<uint8_t> withheld;
  Micros withheld_until{0};
  while (v < video.size() || a < audio.size()) {
    const Micros video_at = start + 300ms + Micros(v * 1000000 / 30), audio_at = start + Micros(a * 20000);
    if (v < video.size() && (a == audio.size() || video_at <= audio_at)) {
      for (auto& packet : vp8_rtp_packets(video[v], 96, video_sequence, 0xfffff000u + v * 3000, v, 400)) {
        if (video_sequence - 1 == drop_video && withheld.empty()) {
          withheld = packet;
          withheld_until = video_at + 50ms;
          continue;
        }
        session.on_item(packet_item(video_stream, packet, video_at), requests);
      }
      ++v;
    } else {
      session.on_item(packet_item(audio_stream, rtp_packet(111, audio_sequence++, a * 960, false, audio[a]), audio_at),
                      requests);
      ++a;
    }
    if (!withheld.empty() && std::min(video_at, audio_at) >= withheld_until) {
      session.on_item(packet_item(video_stream, withheld, withheld_until), requests);
      withheld.clear();
      withheld_until = Micros::max();
    }
  }
}

TEST(RecordingSessionTest, OneFilePerPublisherFromRtp) {
  const std::string folder = temp_folder("session");
  RecordingSession session({folder, "line/1", "20240101T000000Z"});
  NullRequests requests;
  // Ann: audio and video, a lost packet repaired; Ben: audio only, leaves early.
  session.on_item(announce(1, false, "ann", 0ms), requests);
  session.on_item(announce(2, true, "ann", 0ms), requests);
  session.on_item(announce(3, false, "ben", 0ms), requests);
  const auto ann_video = encode_vp8(90, 320, 240, 30, 200, 30);  // 3 s, green
  const auto ann_audio = encode_opus(165, 600);                   // 3.3 s
  const auto ben_audio = encode_opus(100, 300);                   // 2 s
  feed(session, requests, 2, 1, ann_video, ann_audio, 1000ms, 1000 + 40);
  for (size_t a = 0; a < ben_audio.size(); ++a) {
    session.on_item(packet_item(3, rtp_packet(111, a, a * 960, false, ben_audio[a]), 1000ms + Micros(a * 20000)),
                    requests);
  }
  session.on_item(removed(3, 3100ms), requests);
  auto files = session.files();
  ASSERT_EQ(files.size(), 2u);
  EXPECT_TRUE(files[1].finished);   // Ben left: complete already
  EXPECT_FALSE(files[0].finished);
  session.finish(requests);
  files = session.files();
  EXPECT_EQ(files[0].path, folder + "/line_1_20240101T000000Z_ann.webm");
  EXPECT_TRUE(files[0].audio && files[0].video && files[0].finished && files[0].error.empty());
  EXPECT_TRUE(files[1].audio && !files[1].video);
  EXPECT_EQ(files[1].publisher_name, "ben-name");
  EXPECT_GE(requests.nacks, 1u);
  EXPECT_EQ(session.counters().streams.lost, 0u);
  EXPECT_EQ(session.counters().dropped_frames, 0u);

  const Probe ann = ffprobe(files[0].path);
  EXPECT_EQ(ann.codecs, (std::vector<std::string>{"vp8", "opus"}));
  EXPECT_NEAR(ann.duration, 3.3, 0.15);
  EXPECT_TRUE(near_colour(frame_colour(files[0].path, 1.5), 30, 200, 30));
  EXPECT_NEAR(dominant_frequency(files[0].path), 600, 20);
  const Probe ben = ffprobe(files[1].path);
  EXPECT_EQ(ben.codecs, (std::vector<std::string>{"opus"}));
  EXPECT_NEAR(ben.duration, 2.0, 0.1);
  EXPECT_NEAR(dominant_frequency(files[1].path), 300, 20);
}

TEST(RecordingSessionTest, APublisherThatComesBackGetsASecondFile) {
  const std::string folder = temp_folder("comeback");
  RecordingSession session({folder, "l", "t"});
  NullRequests requests;
  const auto audio = encode_opus(10, 440);
  session.on_item(announce(1, false, "ann", 0ms), requests);
  for (size_t a = 0; a < audio.size(); ++a) {
    session.on_item(packet_item(1, rtp_packet(111, a, a * 960, false, audio[a]), Micros(a * 20000)), requests);
  }
  session.on_item(removed(1, 300ms), requests);
  session.on_item(announce(2, false, "ann", 400ms), requests);
  session.on_item(packet_item(2, rtp_packet(111, 7, 0, false, audio[0]), 400ms), requests);
  session.finish(requests);
  const auto files = session.files();
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].path, folder + "/l_t_ann.webm");
  EXPECT_EQ(files[1].path, folder + "/l_t_ann_2.webm");
  EXPECT_TRUE(std::filesystem::exists(files[1].path));
}

TEST(RecordingSessionTest, APublisherWithoutPacketsHasNoFile) {
  RecordingSession session({temp_folder("nopackets"), "l", "t"});
  NullRequests requests;
  session.on_item(announce(1, false, "ann", 0ms), requests);
  EXPECT_EQ(session.files().size(), 1u);  // listed while it may still send
  session.on_item(removed(1, 100ms), requests);
  EXPECT_TRUE(session.files().empty());
}

TEST(RecordingSessionTest, VideoWithoutAKeyframeStillGetsAFileWithItsAudio) {
  const std::string folder = temp_folder("nokeyframe");
  RecordingSession session({folder, "l", "t"});
  NullRequests requests;
  session.on_item(announce(1, false, "ann", 0ms), requests);
  session.on_item(announce(2, true, "ann", 0ms), requests);
  const auto audio = encode_opus(250, 500);  // 5 s
  for (size_t a = 0; a < audio.size(); ++a) {
    session.on_item(packet_item(1, rtp_packet(111, a, a * 960, false, audio[a]), Micros(a * 20000)), requests);
  }
  session.finish(requests);
  const Probe probe = ffprobe(session.files()[0].path);
  EXPECT_EQ(probe.codecs, (std::vector<std::string>{"vp8", "opus"}));
  EXPECT_EQ(probe.width, PublisherRecording::kFallbackWidth);
  EXPECT_NEAR(probe.duration, 5.0, 0.1);
}

}  // namespace
}  // namespace recorder
