#include "rtp/forward/layer_selector.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "rtp/packet/codec_keyframe.hpp"

namespace partyline::rtp {
namespace {

constexpr size_t kLow = 0, kMid = 1, kHigh = 2;
constexpr uint32_t kHeights[] = {180, 360, 720};

// Three layers sending 30 packets a second each from `start`, a keyframe
// with its height first; returns which layers' packets were forwarded.
struct Publisher {
  LayerSelector& selector;
  int64_t now_us;
  std::vector<size_t> forwarded;

  bool send(size_t layer, bool keyframe = false) {
    const bool forward = selector.on_packet(layer, now_us, keyframe, keyframe ? std::optional(kHeights[layer]) : std::nullopt);
    if (forward) forwarded.push_back(layer);
    return forward;
  }
  // One round: a packet of each layer in `layers`, then 33 ms pass.
  void round(std::initializer_list<size_t> layers, bool keyframes = false) {
    for (size_t layer : layers) send(layer, keyframes);
    now_us += 33'000;
  }
};

TEST(LayerSelector, StartsOnTheTallestLayersKeyframeOnly) {
  LayerSelector selector(3);
  Publisher publisher{selector, 1'000'000, {}};
  publisher.round({kLow, kMid, kHigh});  // no keyframes yet: nothing forwarded
  EXPECT_TRUE(publisher.forwarded.empty());
  EXPECT_EQ(selector.current(), std::nullopt);
  EXPECT_EQ(selector.keyframe_wanted(publisher.now_us), kHigh) << "by the publisher's order: the last is tallest";
  publisher.round({kLow, kMid, kHigh}, true);
  EXPECT_EQ(selector.current(), kHigh);
  EXPECT_EQ(publisher.forwarded, (std::vector<size_t>{kHigh}));
  EXPECT_EQ(selector.keyframe_wanted(publisher.now_us), std::nullopt);
}

TEST(LayerSelector, AMaxHeightSwitchesDownAtTheLowerLayersKeyframeAndBackUpWhenLifted) {
  LayerSelector selector(3);
  Publisher publisher{selector, 1'000'000, {}};
  publisher.round({kLow, kMid, kHigh}, true);
  ASSERT_EQ(selector.current(), kHigh);
  const uint64_t switches_at_start = selector.switches();  // up as each layer's first keyframe came

  selector.set_max_height(200);
  EXPECT_EQ(selector.target(publisher.now_us), kLow);
  EXPECT_EQ(selector.keyframe_wanted(publisher.now_us), kLow);
  EXPECT_EQ(selector.keyframe_wanted(publisher.now_us + 1), std::nullopt) << "one request per retry interval";
  EXPECT_EQ(selector.keyframe_wanted(publisher.now_us + LayerSelector::kKeyframeRetryUs), kLow) << "then again";
  publisher.forwarded.clear();
  publisher.round({kLow, kMid, kHigh});  // no keyframe of the low layer yet: the high one goes on
  EXPECT_EQ(publisher.forwarded, (std::vector<size_t>{kHigh}));
  publisher.forwarded.clear();
  publisher.send(kLow, true);
  publisher.send(kMid);
  publisher.send(kHigh);
  EXPECT_EQ(publisher.forwarded, (std::vector<size_t>{kLow}));
  EXPECT_EQ(selector.switches(), switches_at_start + 1);

  selector.set_max_height(std::nullopt);
  EXPECT_EQ(selector.keyframe_wanted(publisher.now_us), kHigh);
  publisher.forwarded.clear();
  publisher.send(kHigh, true);
  EXPECT_EQ(selector.current(), kHigh);
  EXPECT_EQ(publisher.forwarded, (std::vector<size_t>{kHigh}));
}

TEST(LayerSelector, HeightsDecideNotTheOrder) {
  LayerSelector selector(3);
  Publisher publisher{selector, 1'000'000, {}};
  // Listed tallest first (a client free to order its encodings so).
  selector.on_packet(0, publisher.now_us, true, 720);
  selector.on_packet(1, publisher.now_us, true, 360);
  selector.on_packet(2, publisher.now_us, true, 180);
  EXPECT_EQ(selector.target(publisher.now_us), 0u);
  selector.set_max_height(400);
  EXPECT_EQ(selector.target(publisher.now_us), 1u);
  selector.set_max_height(100);  // none fits: the shortest
  EXPECT_EQ(selector.target(publisher.now_us), 2u);
}

TEST(LayerSelector, APausedLayerIsLeftForTheTallestStillSending) {
  LayerSelector selector(3);
  Publisher publisher{selector, 1'000'000, {}};
  publisher.round({kLow, kMid, kHigh}, true);
  ASSERT_EQ(selector.current(), kHigh);
  // The publisher's estimate drops: it stops sending the high layer.
  for (int i = 0; i < 40; ++i) publisher.round({kLow, kMid});
  EXPECT_EQ(selector.target(publisher.now_us), kMid);
  EXPECT_EQ(selector.keyframe_wanted(publisher.now_us), kMid);
  publisher.send(kMid, true);
  EXPECT_EQ(selector.current(), kMid);
  // It comes back: up again at its next keyframe.
  publisher.round({kLow, kMid, kHigh});
  EXPECT_EQ(selector.target(publisher.now_us), kHigh);
  publisher.forwarded.clear();
  publisher.send(kHigh, true);
  EXPECT_EQ(publisher.forwarded, (std::vector<size_t>{kHigh}));
}

TEST(LayerSelector, WithoutHeightsALimitTakesTheFirstListed) {
  LayerSelector selector(2);
  selector.set_max_height(360);
  EXPECT_FALSE(selector.on_packet(0, 0, false, std::nullopt));
  EXPECT_FALSE(selector.on_packet(1, 0, true, std::nullopt)) << "both send, neither's height is known";
  EXPECT_TRUE(selector.on_packet(0, 0, true, std::nullopt));
  EXPECT_EQ(selector.current(), 0u);
}

TEST(LayerSelector, OneLayerIsForwardedFromItsFirstKeyframe) {
  LayerSelector selector;
  EXPECT_FALSE(selector.on_packet(0, 0, false, std::nullopt));
  EXPECT_TRUE(selector.on_packet(0, 1, true, std::nullopt));
  EXPECT_TRUE(selector.on_packet(0, 2, false, std::nullopt));
  EXPECT_FALSE(selector.on_packet(5, 3, true, std::nullopt)) << "no such layer";
}

// The first packet of a VP8 key frame says its size (RFC 6386 9.1).
TEST(Vp8KeyframeSize, ReadsTheSizeAfterTheStartCode) {
  // Descriptor: X=1, S=1, partition 0; I=1 with a 15-bit picture id.
  const std::vector<uint8_t> keyframe = {0x90, 0x80, 0x81, 0x23,             // descriptor
                                         0x50, 0x42, 0x00,                   // frame tag, P=0
                                         0x9d, 0x01, 0x2a,                   // start code
                                         0x00, 0x05, 0xd0, 0x02};            // 1280, 720
  EXPECT_EQ(vp8_keyframe_size(keyframe), (PictureSize{1280, 720}));
  std::vector<uint8_t> delta = keyframe;
  delta[4] |= 0x01;  // P=1: an inter frame has no size
  EXPECT_EQ(vp8_keyframe_size(delta), std::nullopt);
  std::vector<uint8_t> bad_start = keyframe;
  bad_start[8] = 0x00;
  EXPECT_EQ(vp8_keyframe_size(bad_start), std::nullopt);
  EXPECT_EQ(vp8_keyframe_size(std::span(keyframe).first(12)), std::nullopt) << "truncated";
}

// The downlink's limit: each layer's bitrate is measured from its packets
// (here 30 a second of 800, 2,500 and 8,000 bytes: 192, 600 and 1,920
// kbit/s), and the tallest that fits with 20 % to spare is chosen.
TEST(LayerSelector, AMaxBitrateTakesTheTallestLayerThatFitsWithHeadroom) {
  LayerSelector selector(3);
  int64_t now_us = 1'000'000;
  const size_t bytes[] = {800, 2'500, 8'000};
  auto second = [&](bool keyframes) {
    for (int i = 0; i < 30; ++i) {
      for (size_t layer : {kLow, kMid, kHigh}) {
        const bool keyframe = keyframes && i == 0;
        selector.on_packet(layer, now_us, keyframe, keyframe ? std::optional(kHeights[layer]) : std::nullopt,
                           bytes[layer]);
      }
      now_us += 33'334;
    }
  };
  second(true);
  second(false);
  EXPECT_NEAR(static_cast<double>(selector.layer_bitrate(kLow)), 192'000, 8'000);
  EXPECT_NEAR(static_cast<double>(selector.layer_bitrate(kMid)), 600'000, 25'000);
  EXPECT_NEAR(static_cast<double>(selector.layer_bitrate(kHigh)), 1'920'000, 80'000);
  EXPECT_EQ(selector.target(now_us), kHigh);  // no limit
  for (const auto& [limit, expected] : std::vector<std::pair<uint64_t, size_t>>{
           {3'000'000, kHigh}, {2'000'000, kMid},  // 1.92 Mbit/s needs 2.3 to spare
           {800'000, kMid}, {700'000, kLow}, {100'000, kLow}}) {  // nothing fits: the shortest
    selector.set_max_bitrate(limit);
    EXPECT_EQ(selector.target(now_us), expected) << "limit " << limit;
  }
  // A height limit and a bitrate limit: the stricter wins.
  selector.set_max_bitrate(3'000'000);
  selector.set_max_height(360);
  EXPECT_EQ(selector.target(now_us), kMid);
  selector.set_max_bitrate(500'000);
  EXPECT_EQ(selector.target(now_us), kLow);
  selector.set_max_bitrate(std::nullopt);
  selector.set_max_height(std::nullopt);
  EXPECT_EQ(selector.target(now_us), kHigh);
}

}  // namespace
}  // namespace partyline::rtp
