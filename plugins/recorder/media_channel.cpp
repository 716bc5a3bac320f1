#include "media_channel.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <system_error>

namespace recorder {

MediaChannel::MediaChannel() : items_(kSlots), requests_(kRequestSlots), wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (wake_fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
}

MediaChannel::~MediaChannel() { close(wake_fd_); }

MediaItem* MediaChannel::claim(ItemKind kind, uint32_t stream, Micros now, size_t reserve) {
  const uint32_t current = session.load(std::memory_order_acquire);
  if (current == 0) return nullptr;  // not recording: late callbacks after a stop
  MediaItem* item = items_.claim(reserve);
  if (item == nullptr) {
    dropped_ring_full.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  item->kind = kind;
  item->session = current;
  item->stream = stream;
  item->arrival = now;
  item->length = 0;
  return item;
}

void MediaChannel::publish() {
  items_.publish();
  // Pairs with sleep(): it sets sleeping_ and then checks for items; we
  // published and then check sleeping_. Both sequentially consistent, so
  // one of the two sees the other.
  if (sleeping_.load(std::memory_order_seq_cst) && sleeping_.exchange(false)) wake();
}

void MediaChannel::stream_added(uint32_t stream, const StreamAnnouncement& announcement, Micros now) {
  MediaItem* item = claim(ItemKind::kStreamAdded, stream, now, 0);
  if (item == nullptr) return;
  item->length = encode_announcement(announcement, item->data);
  publish();
}

void MediaChannel::packet(uint32_t stream, std::span<const uint8_t> bytes, Micros now) {
  if (bytes.size() > kMaxItemBytes) {
    dropped_too_large.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  MediaItem* item = claim(ItemKind::kPacket, stream, now, kControlReserve);
  if (item == nullptr) return;
  std::memcpy(item->data.data(), bytes.data(), bytes.size());
  item->length = static_cast<uint16_t>(bytes.size());
  publish();
}

void MediaChannel::stream_removed(uint32_t stream, Micros now) {
  if (claim(ItemKind::kStreamRemoved, stream, now, 0) != nullptr) publish();
}

void MediaChannel::push_request(const Request& request) {
  Request* slot = requests_.claim();
  if (slot == nullptr) {
    dropped_requests.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  *slot = request;
  requests_.publish();
}

void MediaChannel::request_keyframe(uint32_t stream) {
  Request request;
  request.kind = Request::Kind::kKeyframe;
  request.stream = stream;
  push_request(request);
}

void MediaChannel::nack(uint32_t stream, std::span<const uint16_t> sequence_numbers) {
  Request request;
  request.kind = Request::Kind::kNack;
  request.stream = stream;
  while (!sequence_numbers.empty()) {
    const size_t count = std::min(sequence_numbers.size(), request.sequence_numbers.size());
    std::copy_n(sequence_numbers.begin(), count, request.sequence_numbers.begin());
    request.count = static_cast<uint8_t>(count);
    push_request(request);
    sequence_numbers = sequence_numbers.subspan(count);
  }
}

void MediaChannel::sleep(std::chrono::milliseconds timeout, const std::atomic<bool>& pending) {
  sleeping_.store(true, std::memory_order_seq_cst);
  if (items_.empty() && !pending.load(std::memory_order_seq_cst)) {
    pollfd wait{wake_fd_, POLLIN, 0};
    (void)poll(&wait, 1, static_cast<int>(timeout.count()));
  }
  sleeping_.store(false, std::memory_order_seq_cst);
  eventfd_t ignored;
  (void)eventfd_read(wake_fd_, &ignored);  // non-blocking: clears a wake-up
}

void MediaChannel::wake() { (void)eventfd_write(wake_fd_, 1); }

}  // namespace recorder
