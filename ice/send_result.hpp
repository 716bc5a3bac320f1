// SendResult: what became of one outgoing datagram, from the media code down
// to the socket. One enum on every edge (IceAgent, PeerTransport, the
// forwarding plane's sinks), so a drop is counted by the same reason wherever
// it is seen, and the hot path never builds an error message.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace partyline::ice {

enum class SendResult : uint8_t {
  kSent,
  kNoPath,          // ICE has no selected pair yet, or the transport is closed
  kNotSecure,       // DTLS-SRTP keys are not installed yet (or the transport is closing)
  kProtectFailed,   // SRTP protection refused the packet (too large, bad header)
  kSocketRefused,   // the kernel refused the datagram (buffer full, unreachable)
  kCount,
};

std::string_view to_string(SendResult result);

// Outcomes of sends, counted by result (a plain array: one increment per
// packet, read by the owning thread).
class SendCounters {
 public:
  SendResult count(SendResult result) {
    ++counts_[static_cast<size_t>(result)];
    return result;
  }
  uint64_t operator[](SendResult result) const { return counts_[static_cast<size_t>(result)]; }
  uint64_t failures() const;

 private:
  std::array<uint64_t, static_cast<size_t>(SendResult::kCount)> counts_{};
};

}  // namespace partyline::ice
