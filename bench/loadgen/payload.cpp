#include "bench/loadgen/payload.hpp"

#include <time.h>

#include "rtp/byte_io.hpp"

namespace partyline::loadgen {

namespace {
constexpr uint32_t kMagic = 0x504c4c47;  // "PLLG"
constexpr uint8_t kKeyframeFlag = 0x01;
}  // namespace

void write_trailer(const PayloadTrailer& trailer, std::span<uint8_t> payload) {
  uint8_t* out = payload.data() + payload.size() - kPayloadTrailerSize;
  rtp::write_u32(out, kMagic);
  rtp::write_u16(out + 4, trailer.publisher);
  out[6] = static_cast<uint8_t>(trailer.kind);
  out[7] = trailer.keyframe ? kKeyframeFlag : 0;
  rtp::write_u32(out + 8, trailer.sequence);
  rtp::write_u64(out + 12, trailer.send_time_ns);
}

std::optional<PayloadTrailer> read_trailer(std::span<const uint8_t> payload) {
  if (payload.size() < kPayloadTrailerSize) return std::nullopt;
  const uint8_t* in = payload.data() + payload.size() - kPayloadTrailerSize;
  if (rtp::read_u32(in) != kMagic || in[6] > static_cast<uint8_t>(StreamKind::kVideo)) return std::nullopt;
  PayloadTrailer trailer;
  trailer.publisher = rtp::read_u16(in + 4);
  trailer.kind = static_cast<StreamKind>(in[6]);
  trailer.keyframe = (in[7] & kKeyframeFlag) != 0;
  trailer.sequence = rtp::read_u32(in + 8);
  trailer.send_time_ns = rtp::read_u64(in + 12);
  return trailer;
}

uint64_t monotonic_ns() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(now.tv_nsec);
}

}  // namespace partyline::loadgen
