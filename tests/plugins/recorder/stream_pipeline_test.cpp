// StreamPipeline in virtual time: NACKs for gaps, frames held back until a
// keyframe, keyframe requests once a second while waiting, Opus passing
// packet by packet with its duration.
#include <gtest/gtest.h>

#include <vector>

#include "stream_pipeline.hpp"
#include "test_media.hpp"

namespace recorder {
namespace {

using namespace std::chrono_literals;
using test::rtp_packet;

struct Recorded : UnitSink, RequestSink {
  void on_unit(const MediaUnit& unit) override {
    units.push_back(unit);
    units.back().data = {};  // not valid after the call
    sizes.push_back(unit.data.size());
  }
  void request_keyframe(uint32_t stream) override { keyframes.push_back(stream); }
  void nack(uint32_t, std::span<const uint16_t> sequences) override {
    nacks.insert(nacks.end(), sequences.begin(), sequences.end());
  }
  std::vector<MediaUnit> units;
  std::vector<size_t> sizes;
  std::vector<uint32_t> keyframes;
  std::vector<uint16_t> nacks;
};

StreamInfo vp8_info() { return {7, true, "VP8", 90000, 96, "p1", "Ann"}; }

// A one-packet VP8 frame: keyframe (with a 320x240 header) or not.
std::vector<uint8_t> vp8(uint16_t sequence, uint32_t timestamp, bool keyframe) {
  std::vector<uint8_t> payload = keyframe ? std::vector<uint8_t>{0x10, 0x00, 0, 0, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00}
                                          : std::vector<uint8_t>{0x10, 0x01, 0, 0, 0x55};
  return rtp_packet(96, sequence, timestamp, true, payload);
}

TEST(StreamPipelineTest, VideoWaitsForAKeyframeAskingEverySecond) {
  StreamPipeline pipeline(vp8_info());
  Recorded out;
  pipeline.on_packet(vp8(1, 0, false), 0ms, out, out);
  EXPECT_EQ(out.keyframes, (std::vector<uint32_t>{7}));  // the first frame is not one: asked at once
  pipeline.on_packet(vp8(2, 3000, false), 500ms, out, out);
  EXPECT_EQ(out.keyframes.size(), 1u);
  pipeline.on_packet(vp8(3, 6000, false), 1000ms, out, out);
  EXPECT_EQ(out.keyframes.size(), 2u);
  pipeline.advance(2000ms, out, out);
  EXPECT_EQ(out.keyframes.size(), 3u);
  EXPECT_TRUE(out.units.empty());
  EXPECT_EQ(pipeline.counters().skipped_frames, 3u);
  pipeline.on_packet(vp8(4, 9000, true), 2100ms, out, out);
  ASSERT_EQ(out.units.size(), 1u);
  EXPECT_TRUE(out.units[0].keyframe);
  EXPECT_EQ(out.units[0].width, 320);
  pipeline.on_packet(vp8(5, 12000, false), 2200ms, out, out);
  EXPECT_EQ(out.units.size(), 2u);
  pipeline.advance(5000ms, out, out);
  EXPECT_EQ(out.keyframes.size(), 3u);  // no more once it came
}

TEST(StreamPipelineTest, AGapIsNackedAndARetransmissionRepairsIt) {
  StreamPipeline pipeline(vp8_info());
  Recorded out;
  pipeline.on_packet(vp8(10, 0, true), 0ms, out, out);
  pipeline.on_packet(vp8(13, 9000, false), 100ms, out, out);
  EXPECT_EQ(out.nacks, (std::vector<uint16_t>{11, 12}));
  EXPECT_EQ(out.units.size(), 1u);
  pipeline.on_packet(vp8(11, 3000, false), 150ms, out, out);
  pipeline.on_packet(vp8(12, 6000, false), 160ms, out, out);
  EXPECT_EQ(out.units.size(), 4u);
  EXPECT_EQ(out.units[3].rtp_timestamp, 9000u);
  EXPECT_TRUE(out.keyframes.empty());
  EXPECT_EQ(pipeline.counters().lost, 0u);
}

TEST(StreamPipelineTest, ALossNotRepairedWaitsForTheNextKeyframe) {
  StreamPipeline pipeline(vp8_info());
  Recorded out;
  pipeline.on_packet(vp8(10, 0, true), 0ms, out, out);
  pipeline.on_packet(vp8(12, 6000, false), 10ms, out, out);
  pipeline.advance(300ms, out, out);  // 11 given up
  EXPECT_EQ(pipeline.counters().lost, 1u);
  EXPECT_EQ(out.keyframes, (std::vector<uint32_t>{7}));
  EXPECT_EQ(out.units.size(), 1u);  // 12 references the lost frame: skipped
  pipeline.on_packet(vp8(13, 9000, false), 320ms, out, out);
  EXPECT_EQ(out.units.size(), 1u);
  pipeline.on_packet(vp8(14, 12000, true), 400ms, out, out);
  EXPECT_EQ(out.units.size(), 2u);
}

TEST(StreamPipelineTest, OpusPassesPacketByPacketWithItsDuration) {
  StreamPipeline pipeline({3, false, "opus", 48000, 111, "p1", "Ann"});
  Recorded out;
  const std::vector<uint8_t> toc20ms = {31 << 3, 1, 2, 3};
  pipeline.on_packet(rtp_packet(111, 1, 0, false, toc20ms), 0ms, out, out);
  pipeline.on_packet(rtp_packet(111, 3, 1920, false, toc20ms), 40ms, out, out);  // 2 missing
  EXPECT_TRUE(out.nacks.empty());  // audio is not NACKed
  pipeline.on_packet(rtp_packet(100, 4, 2880, false, toc20ms), 60ms, out, out);  // another payload type
  EXPECT_EQ(pipeline.counters().foreign, 1u);
  pipeline.finish(out, out);
  ASSERT_EQ(out.units.size(), 2u);
  EXPECT_EQ(out.units[0].samples_48k, 960u);
  EXPECT_EQ(out.sizes[1], 4u);
  EXPECT_EQ(out.units[1].rtp_timestamp, 1920u);
}

TEST(StreamPipelineTest, H264IsNotRecordable) {
  StreamPipeline pipeline({1, true, "H264", 90000, 102, "p", "n"});
  EXPECT_FALSE(pipeline.recordable());
}

}  // namespace
}  // namespace recorder
