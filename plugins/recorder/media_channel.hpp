// What a recorder handle's media thread and its writer thread share: the
// ring of media items (media thread -> writer), the ring of requests back
// (writer -> media thread: NACKs, keyframe requests, which the host takes
// only on the media thread), and the writer's wake-up.
//
// The media thread's side never blocks, allocates or takes a lock: it copies
// into a preallocated slot, publishes it, and writes the eventfd only when
// the writer said it is going to sleep, so at most once per batch.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <span>

#include "media_item.hpp"
#include "spsc_ring.hpp"
#include "stream_pipeline.hpp"
#include "time.hpp"

namespace recorder {

struct Request {
  enum class Kind : uint8_t { kKeyframe, kNack };
  Kind kind = Kind::kKeyframe;
  uint8_t count = 0;  // sequence numbers used in a NACK
  uint32_t stream = 0;
  std::array<uint16_t, 16> sequence_numbers{};
};

class MediaChannel : public RequestSink {
 public:
  // 4096 slots of 1.5 kB (6 MB per recording handle): about 15 s of a
  // 2.5 Mbit/s camera, room for the writer thread to stall on a slow disk.
  static constexpr size_t kSlots = 4096;
  // Kept free for stream announcements and removals when packets fill the
  // ring: losing one would lose a whole file, losing packets only a moment.
  static constexpr size_t kControlReserve = 64;
  static constexpr size_t kRequestSlots = 256;

  MediaChannel();
  ~MediaChannel() override;
  MediaChannel(const MediaChannel&) = delete;
  MediaChannel& operator=(const MediaChannel&) = delete;

  // The recording whose items the media thread stamps (0: none, drop them).
  // Set on the signaling thread before line_join, cleared at stop.
  std::atomic<uint32_t> session{0};

  // ---- media thread ----
  void stream_added(uint32_t stream, const StreamAnnouncement& announcement, Micros now);
  void packet(uint32_t stream, std::span<const uint8_t> bytes, Micros now);
  void stream_removed(uint32_t stream, Micros now);
  // Hands each pending request to `perform` (which calls the host).
  template <typename Perform>
  void drain_requests(Perform&& perform) {
    while (const Request* request = requests_.front()) {
      perform(*request);
      requests_.pop();
    }
  }

  // ---- writer thread ----
  MediaItem* front() { return items_.front(); }
  void pop() { items_.pop(); }
  bool empty() const { return items_.empty(); }
  // RequestSink: queued for the media thread's next callback or timer.
  void request_keyframe(uint32_t stream) override;
  void nack(uint32_t stream, std::span<const uint16_t> sequence_numbers) override;
  // Sleeps until an item is published, wake() is called or `timeout`
  // passes; returns at once when `pending` (the writer's commands) is set.
  void sleep(std::chrono::milliseconds timeout, const std::atomic<bool>& pending);

  // ---- any thread ----
  void wake();

  // Drops, by reason (read by any thread for status).
  std::atomic<uint64_t> dropped_ring_full{0};
  std::atomic<uint64_t> dropped_too_large{0};
  std::atomic<uint64_t> dropped_requests{0};

 private:
  MediaItem* claim(ItemKind kind, uint32_t stream, Micros now, size_t reserve);
  void publish();
  void push_request(const Request& request);

  SpscRing<MediaItem> items_;
  SpscRing<Request> requests_;
  int wake_fd_ = -1;  // an eventfd
  std::atomic<bool> sleeping_{false};
};

}  // namespace recorder
