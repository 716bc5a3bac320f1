// MediaChannel and RecorderWriter with their real threads: this test plays
// the media thread (it fills the ring) and the signaling thread, against a
// fake host that captures pushed events. Every wait is bounded.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "recorder_writer.hpp"
#include "test_media.hpp"

namespace recorder {
namespace {

using namespace std::chrono_literals;
using namespace test;

std::mutex g_mutex;
std::condition_variable g_changed;
std::vector<std::string> g_events;

void fake_log(const pl_host*, const pl_handle*, pl_log_level, const char*, size_t) {}
int fake_push_event(pl_handle*, const char* json, size_t length, const char*, const char*, size_t) {
  std::lock_guard lock(g_mutex);
  g_events.emplace_back(json, length);
  g_changed.notify_all();
  return PL_OK;
}

pl_host fake_host() {
  pl_host host{};
  host.api_major = PARTYLINE_PLUGIN_API_VERSION_MAJOR;
  host.api_minor = PARTYLINE_PLUGIN_API_VERSION_MINOR;
  host.struct_size = sizeof(pl_host);
  host.log = fake_log;
  host.push_event = fake_push_event;
  return host;
}

// Waits (at most 10 s) for an event containing `text`.
bool wait_for_event(const std::string& text) {
  std::unique_lock lock(g_mutex);
  return g_changed.wait_for(lock, 10s, [&] {
    for (const auto& event : g_events) {
      if (event.find(text) != std::string::npos) return true;
    }
    return false;
  });
}

class RecorderWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::lock_guard lock(g_mutex);
    g_events.clear();
  }
  pl_host host_ = fake_host();
  pl_handle* handle_ = reinterpret_cast<pl_handle*>(&host_);  // opaque to the writer: any address
};

void send_audio(MediaChannel& channel, uint32_t stream, int count, Micros start) {
  const auto audio = encode_opus(count, 440);
  for (int a = 0; a < count; ++a) {
    channel.packet(stream, rtp_packet(111, a, a * 960, false, audio[a]), start + Micros(a * 20000));
  }
}

TEST_F(RecorderWriterTest, StopCompletesTheFilesAndTellsTheClient) {
  auto channel = std::make_shared<MediaChannel>();
  RecorderWriter writer(&host_, handle_, channel);
  const std::string folder = temp_folder("writer_thread");
  writer.start(1, {folder, "line", "t"});
  channel->session = 1;
  const Micros now = steady_now();
  channel->stream_added(5, {false, "opus", 48000, 111, "ann", "Ann"}, now);
  send_audio(*channel, 5, 50, now);
  channel->session = 0;
  channel->packet(5, rtp_packet(111, 99, 99 * 960, false, {0xf8, 1}), now);  // after the stop: not even queued
  writer.stop(1, "stop");
  ASSERT_TRUE(wait_for_event(R"("recorder":"stopped")"));
  const auto files = writer.snapshot().files;
  ASSERT_EQ(files.size(), 1u);
  EXPECT_TRUE(files[0].finished);
  EXPECT_EQ(files[0].publisher_name, "Ann");
  EXPECT_NEAR(ffprobe(files[0].path).duration, 1.0, 0.05);
  EXPECT_EQ(writer.snapshot().counters.streams.packets, 50u);
  std::lock_guard lock(g_mutex);
  EXPECT_NE(g_events[0].find(R"("reason":"stop")"), std::string::npos) << g_events[0];
  EXPECT_NE(g_events[0].find(files[0].path), std::string::npos) << g_events[0];
}

TEST_F(RecorderWriterTest, NacksComeBackToTheMediaThread) {
  auto channel = std::make_shared<MediaChannel>();
  RecorderWriter writer(&host_, handle_, channel);
  writer.start(1, {temp_folder("nack"), "line", "t"});
  channel->session = 1;
  const Micros now = steady_now();
  channel->stream_added(9, {true, "VP8", 90000, 96, "ann", "Ann"}, now);
  const std::vector<uint8_t> keyframe = {0x10, 0x00, 0, 0, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00};
  channel->packet(9, rtp_packet(96, 1, 0, true, keyframe), now);
  channel->packet(9, rtp_packet(96, 4, 3000, true, keyframe), now);
  std::vector<uint16_t> nacked;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (nacked.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    channel->drain_requests([&](const Request& request) {
      if (request.kind == Request::Kind::kNack) {
        EXPECT_EQ(request.stream, 9u);
        nacked.insert(nacked.end(), request.sequence_numbers.begin(), request.sequence_numbers.begin() + request.count);
      }
    });
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(nacked, (std::vector<uint16_t>{2, 3}));
}

TEST_F(RecorderWriterTest, ARetiredWriterCompletesItsFilesWithoutTheHandle) {
  auto channel = std::make_shared<MediaChannel>();
  auto writer = std::make_unique<RecorderWriter>(&host_, handle_, channel);
  writer->start(1, {temp_folder("retire"), "line", "t"});
  channel->session = 1;
  channel->stream_added(5, {false, "opus", 48000, 111, "ann", "Ann"}, steady_now());
  send_audio(*channel, 5, 25, steady_now());
  writer->retire();
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!writer->exited() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  ASSERT_TRUE(writer->exited());
  const auto files = writer->snapshot().files;
  writer.reset();
  ASSERT_EQ(files.size(), 1u);
  EXPECT_TRUE(files[0].finished);
  EXPECT_NEAR(ffprobe(files[0].path).duration, 0.5, 0.05);
  std::lock_guard lock(g_mutex);
  EXPECT_TRUE(g_events.empty());  // the handle is gone: no event
}

TEST_F(RecorderWriterTest, AFullRingDropsPacketsButKeepsAnnouncements) {
  auto channel = std::make_shared<MediaChannel>();
  channel->session = 1;  // no writer: nothing drains the ring
  const std::vector<uint8_t> packet = rtp_packet(111, 1, 0, false, {0xf8});
  for (size_t i = 0; i < MediaChannel::kSlots; ++i) channel->packet(5, packet, 0ms);
  EXPECT_EQ(channel->dropped_ring_full.load(), MediaChannel::kControlReserve);
  channel->stream_removed(5, 0ms);  // into the reserve
  EXPECT_EQ(channel->dropped_ring_full.load(), MediaChannel::kControlReserve);
  channel->packet(5, std::vector<uint8_t>(kMaxItemBytes + 1, 0x80), 0ms);
  EXPECT_EQ(channel->dropped_too_large.load(), 1u);
}

}  // namespace
}  // namespace recorder
