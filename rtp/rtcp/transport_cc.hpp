// Transport-wide congestion control feedback (RTPFB FMT 15,
// draft-holmer-rmcat-transport-wide-cc-extensions-01 section 3.1): which
// transport-wide sequence numbers arrived, and when.
//
// The FCI is: base sequence number (16), packet status count (16),
// reference time (24, signed, units of 64 ms), feedback packet count (8),
// then packet chunks (run-length, or status vectors of 14 one-bit or 7
// two-bit symbols), then one receive delta per received packet: 1 byte
// unsigned for "small delta", 2 bytes signed for "large delta", both in
// units of 250 us.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "rtp/rtcp/rtcp_feedback.hpp"

namespace partyline::rtp {

inline constexpr int64_t kTransportCcDeltaUs = 250;
inline constexpr int64_t kTransportCcReferenceUs = 64000;

enum class TransportCcStatus : uint8_t {
  kNotReceived = 0,
  kSmallDelta = 1,
  kLargeDelta = 2,
};

struct TransportCcView {
  uint32_t sender_ssrc = 0;
  uint32_t media_ssrc = 0;
  uint16_t base_sequence = 0;
  uint16_t status_count = 0;
  int32_t reference_time = 0;  // units of 64 ms
  uint8_t feedback_count = 0;
  std::span<const uint8_t> chunks;  // status_chunk_count * 2 bytes
  std::span<const uint8_t> deltas;  // exactly the receive deltas
};

// Validates the whole FCI: chunks cover status_count, no reserved symbol for
// a reported packet, and the deltas fit. Trailing zero bytes are allowed.
ParseResult<TransportCcView, RtcpError> parse_transport_cc(const RtcpPacketView& packet);

struct TransportCcPacket {
  uint16_t sequence_number = 0;
  bool received = false;
  int32_t delta_ticks = 0;        // units of 250 us; 0 when not received
  int64_t receive_time_us = 0;    // reference time + deltas so far; 0 when not received
  friend bool operator==(const TransportCcPacket&, const TransportCcPacket&) = default;
};

// Walks the packets of a parsed feedback in sequence order.
class TransportCcReader {
 public:
  explicit TransportCcReader(const TransportCcView& view);
  // True for each of the status_count packets.
  bool next(TransportCcPacket& packet);

 private:
  TransportCcView view_;
  size_t reported_ = 0;
  size_t chunk_offset_ = 0;
  unsigned symbol_index_ = 0;
  size_t delta_offset_ = 0;
  int64_t time_us_;
};

// Decodes up to out.size() packets; returns how many it wrote.
size_t read_transport_cc(const TransportCcView& view, std::span<TransportCcPacket> out);

// What write_transport_cc() reports: packet i has sequence base_sequence + i.
struct TransportCcFeedback {
  uint32_t sender_ssrc = 0;
  uint32_t media_ssrc = 0;
  uint16_t base_sequence = 0;
  int32_t reference_time = 0;  // units of 64 ms, must fit 24 bits signed
  uint8_t feedback_count = 0;
};

struct TransportCcEntry {
  bool received = false;
  int32_t delta_ticks = 0;  // 0..255 is a small delta, else must fit int16
};

// At most 65535 entries; kBadValue for a delta or reference time out of range.
RtcpError write_transport_cc(RtcpWriter& writer, const TransportCcFeedback& feedback,
                             std::span<const TransportCcEntry> packets);

}  // namespace partyline::rtp
