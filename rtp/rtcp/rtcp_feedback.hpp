// RTCP feedback messages (RFC 4585 section 6, RFC 5104 section 4.3.1,
// draft-alvestrand-rmcat-remb): generic NACK, PLI, FIR and REMB. Transport-cc
// has its own file (transport_cc.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "rtp/byte_io.hpp"
#include "rtp/rtcp/rtcp_packet.hpp"

namespace partyline::rtp {

namespace feedback_format {
inline constexpr uint8_t kNack = 1;          // RTPFB
inline constexpr uint8_t kTransportCc = 15;  // RTPFB
inline constexpr uint8_t kPli = 1;           // PSFB
inline constexpr uint8_t kFir = 4;           // PSFB
inline constexpr uint8_t kApplication = 15;  // PSFB, REMB uses it
}  // namespace feedback_format

// The part every feedback message shares (RFC 4585 section 6.1).
struct FeedbackView {
  uint8_t format = 0;  // FMT
  uint8_t packet_type = 0;
  uint32_t sender_ssrc = 0;
  uint32_t media_ssrc = 0;
  std::span<const uint8_t> fci;  // feedback control information
  size_t fci_offset = 0;         // within the compound, for errors
};

// For packet types 205 and 206 with at least the two SSRCs.
ParseResult<FeedbackView, RtcpError> parse_feedback(const RtcpPacketView& packet);

// ---- Generic NACK (205/1) ----
struct NackItem {
  uint16_t packet_id = 0;
  uint16_t lost_bitmask = 0;  // bit i set: packet_id + i + 1 lost too
  friend bool operator==(const NackItem&, const NackItem&) = default;
};

struct NackView {
  uint32_t sender_ssrc = 0;
  uint32_t media_ssrc = 0;
  std::span<const uint8_t> fci;
  size_t item_count() const { return fci.size() / 4; }
  NackItem item(size_t index) const {
    return {read_u16(fci.data() + index * 4), read_u16(fci.data() + index * 4 + 2)};
  }

  // Calls `on_lost(uint16_t sequence_number)` for each lost packet, in
  // wire order, duplicates included.
  template <typename F>
  void for_each_lost(F&& on_lost) const {
    for (size_t i = 0; i < item_count(); ++i) {
      const NackItem nack = item(i);
      on_lost(nack.packet_id);
      for (unsigned bit = 0; bit < 16; ++bit) {
        if (nack.lost_bitmask & (1u << bit)) {
          on_lost(static_cast<uint16_t>(nack.packet_id + bit + 1));
        }
      }
    }
  }
  // Fills `out` with lost sequence numbers; returns how many it wrote
  // (it stops when `out` is full; lost_count() gives the total).
  size_t expand(std::span<uint16_t> out) const;
  size_t lost_count() const;
};

ParseResult<NackView, RtcpError> parse_nack(const RtcpPacketView& packet);
// Packs sequence numbers (ascending in wrap-around order; duplicates and
// reorderings only cost extra items) into PID+BLP items.
RtcpError write_nack(RtcpWriter& writer, uint32_t sender_ssrc, uint32_t media_ssrc,
                     std::span<const uint16_t> lost_sequence_numbers);

// ---- PLI (206/1) ----
struct PliView {
  uint32_t sender_ssrc = 0;
  uint32_t media_ssrc = 0;
};
ParseResult<PliView, RtcpError> parse_pli(const RtcpPacketView& packet);
RtcpError write_pli(RtcpWriter& writer, uint32_t sender_ssrc, uint32_t media_ssrc);

// ---- FIR (206/4) ----
struct FirEntry {
  uint32_t ssrc = 0;
  uint8_t sequence_number = 0;
  friend bool operator==(const FirEntry&, const FirEntry&) = default;
};

struct FirView {
  uint32_t sender_ssrc = 0;
  std::span<const uint8_t> fci;
  size_t entry_count() const { return fci.size() / 8; }
  FirEntry entry(size_t index) const {
    return {read_u32(fci.data() + index * 8), fci[index * 8 + 4]};
  }
};
ParseResult<FirView, RtcpError> parse_fir(const RtcpPacketView& packet);
RtcpError write_fir(RtcpWriter& writer, uint32_t sender_ssrc, std::span<const FirEntry> entries);

// ---- REMB (206/15, "REMB") ----
struct RembView {
  uint32_t sender_ssrc = 0;
  uint64_t bitrate_bps = 0;  // mantissa << exponent
  std::span<const uint8_t> ssrc_bytes;
  size_t ssrc_count() const { return ssrc_bytes.size() / 4; }
  uint32_t ssrc(size_t index) const { return read_u32(ssrc_bytes.data() + index * 4); }
};
// kWrongType for application feedback that is not REMB; kBadValue when
// mantissa << exponent does not fit 64 bits.
ParseResult<RembView, RtcpError> parse_remb(const RtcpPacketView& packet);
// Rounds the bitrate down to an 18-bit mantissa. At most 255 SSRCs.
RtcpError write_remb(RtcpWriter& writer, uint32_t sender_ssrc, uint64_t bitrate_bps,
                     std::span<const uint32_t> ssrcs);

}  // namespace partyline::rtp
