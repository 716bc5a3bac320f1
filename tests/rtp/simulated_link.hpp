// SimulatedLink: a one-way network link in virtual time for the forwarding
// simulation: fixed delay plus uniform jitter (which can reorder), and random
// loss from a seeded generator, so every run is identical.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <utility>
#include <vector>

namespace partyline::rtp::sim {

// splitmix64: tiny, and the same sequence on every standard library.
class SeededRandom {
 public:
  explicit SeededRandom(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound).
  uint64_t below(uint64_t bound) { return bound == 0 ? 0 : next() % bound; }

 private:
  uint64_t state_;
};

inline std::vector<uint8_t> copy_of(std::span<const uint8_t> bytes) {
  return {bytes.begin(), bytes.end()};
}

template <typename Item>
class SimulatedLink {
 public:
  SimulatedLink(uint64_t seed, uint32_t loss_per_10000, int64_t delay_us, int64_t jitter_us)
      : random_(seed),
        loss_per_10000_(loss_per_10000),
        delay_us_(delay_us),
        jitter_us_(jitter_us) {}

  void send(Item item, int64_t now_us) {
    ++sent_;
    if (random_.below(10000) < loss_per_10000_) {
      ++lost_;
      return;
    }
    const int64_t at = now_us + delay_us_ + static_cast<int64_t>(random_.below(jitter_us_ + 1));
    in_flight_.push_back({at, order_++, std::move(item)});
    std::push_heap(in_flight_.begin(), in_flight_.end(), Later{});
  }

  // Hands every item due by `now_us` to `on_item`, earliest first.
  template <typename F>
  void deliver(int64_t now_us, F&& on_item) {
    while (!in_flight_.empty() && in_flight_.front().at <= now_us) {
      std::pop_heap(in_flight_.begin(), in_flight_.end(), Later{});
      InFlight due = std::move(in_flight_.back());
      in_flight_.pop_back();
      on_item(due.item);
    }
  }

  std::optional<int64_t> next_delivery() const {
    if (in_flight_.empty()) return std::nullopt;
    return in_flight_.front().at;
  }
  uint64_t sent() const { return sent_; }
  uint64_t lost() const { return lost_; }

 private:
  struct InFlight {
    int64_t at;
    uint64_t order;  // keeps equal delivery times in send order
    Item item;
  };
  struct Later {
    bool operator()(const InFlight& a, const InFlight& b) const {
      return std::pair(a.at, a.order) > std::pair(b.at, b.order);
    }
  };

  SeededRandom random_;
  uint32_t loss_per_10000_;
  int64_t delay_us_;
  int64_t jitter_us_;
  std::vector<InFlight> in_flight_;  // a min-heap on (at, order)
  uint64_t order_ = 0;
  uint64_t sent_ = 0;
  uint64_t lost_ = 0;
};

}  // namespace partyline::rtp::sim
