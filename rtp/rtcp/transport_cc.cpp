#include "rtp/rtcp/transport_cc.hpp"

#include <algorithm>
#include <limits>

namespace partyline::rtp {

namespace {

constexpr size_t kFixedFciSize = 8;
constexpr size_t kChunkSize = 2;
constexpr uint8_t kReservedSymbol = 3;
constexpr unsigned kMaxRunLength = 0x1FFF;
constexpr unsigned kOneBitSymbols = 14;
constexpr unsigned kTwoBitSymbols = 7;
constexpr int32_t kMinReferenceTime = -(1 << 23);
constexpr int32_t kMaxReferenceTime = (1 << 23) - 1;

bool is_run_length(uint16_t chunk) { return (chunk & 0x8000) == 0; }

unsigned chunk_symbol_count(uint16_t chunk) {
  if (is_run_length(chunk)) return chunk & kMaxRunLength;
  return (chunk & 0x4000) ? kTwoBitSymbols : kOneBitSymbols;
}

uint8_t chunk_symbol(uint16_t chunk, unsigned index) {
  if (is_run_length(chunk)) return (chunk >> 13) & 0x3;
  if (chunk & 0x4000) return (chunk >> (12 - 2 * index)) & 0x3;
  return (chunk >> (13 - index)) & 0x1;
}

size_t delta_size(uint8_t symbol) {
  return symbol == 1 ? 1 : symbol == 2 ? 2 : 0;
}

int32_t sign_extend_24(uint32_t value) {
  return (value & 0x800000) ? static_cast<int32_t>(value | 0xFF000000u)
                            : static_cast<int32_t>(value);
}

// Walks the chunks covering `status_count` packets, checking symbols and
// summing the delta bytes they announce.
RtcpError scan_chunks(std::span<const uint8_t> after_fixed, size_t base_offset,
                      size_t status_count, size_t& chunk_bytes, size_t& delta_bytes) {
  size_t covered = 0;
  chunk_bytes = delta_bytes = 0;
  while (covered < status_count) {
    if (after_fixed.size() - chunk_bytes < kChunkSize) {
      return rtcp_error(RtcpErrorKind::kTruncatedBody, base_offset + chunk_bytes);
    }
    const uint16_t chunk = read_u16(after_fixed.data() + chunk_bytes);
    const size_t used = std::min<size_t>(chunk_symbol_count(chunk), status_count - covered);
    if (is_run_length(chunk)) {
      const uint8_t symbol = chunk_symbol(chunk, 0);
      if (symbol == kReservedSymbol && used > 0) {
        return rtcp_error(RtcpErrorKind::kBadValue, base_offset + chunk_bytes);
      }
      delta_bytes += used * delta_size(symbol);
    } else {
      for (unsigned i = 0; i < used; ++i) {
        const uint8_t symbol = chunk_symbol(chunk, i);
        if (symbol == kReservedSymbol) {
          return rtcp_error(RtcpErrorKind::kBadValue, base_offset + chunk_bytes);
        }
        delta_bytes += delta_size(symbol);
      }
    }
    covered += used;
    chunk_bytes += kChunkSize;
  }
  return {};
}

}  // namespace

ParseResult<TransportCcView, RtcpError> parse_transport_cc(const RtcpPacketView& packet) {
  if (packet.packet_type != rtcp_type::kTransportFeedback ||
      packet.count != feedback_format::kTransportCc) {
    return rtcp_error(RtcpErrorKind::kWrongType, packet.offset);
  }
  const auto feedback = parse_feedback(packet);
  if (!feedback) return feedback.error();
  const auto fci = feedback->fci;
  if (fci.size() < kFixedFciSize) {
    return rtcp_error(RtcpErrorKind::kTruncatedBody, feedback->fci_offset);
  }
  TransportCcView view;
  view.sender_ssrc = feedback->sender_ssrc;
  view.media_ssrc = feedback->media_ssrc;
  view.base_sequence = read_u16(fci.data());
  view.status_count = read_u16(fci.data() + 2);
  view.reference_time = sign_extend_24(read_u24(fci.data() + 4));
  view.feedback_count = fci[7];

  const auto after_fixed = fci.subspan(kFixedFciSize);
  const size_t base_offset = feedback->fci_offset + kFixedFciSize;
  size_t chunk_bytes = 0;
  size_t delta_bytes = 0;
  const RtcpError error =
      scan_chunks(after_fixed, base_offset, view.status_count, chunk_bytes, delta_bytes);
  if (!error.ok()) return error;
  if (after_fixed.size() - chunk_bytes < delta_bytes) {
    return rtcp_error(RtcpErrorKind::kTruncatedBody, base_offset + chunk_bytes);
  }
  view.chunks = after_fixed.first(chunk_bytes);
  view.deltas = after_fixed.subspan(chunk_bytes, delta_bytes);
  return view;
}

TransportCcReader::TransportCcReader(const TransportCcView& view)
    : view_(view), time_us_(int64_t{view.reference_time} * kTransportCcReferenceUs) {}

bool TransportCcReader::next(TransportCcPacket& packet) {
  if (reported_ >= view_.status_count) return false;
  // Skip empty run-length chunks; the bounds checks keep a hand-built view safe.
  uint16_t chunk = 0;
  while (true) {
    if (view_.chunks.size() - std::min(chunk_offset_, view_.chunks.size()) < kChunkSize) {
      return false;
    }
    chunk = read_u16(view_.chunks.data() + chunk_offset_);
    if (symbol_index_ < chunk_symbol_count(chunk)) break;
    chunk_offset_ += kChunkSize;
    symbol_index_ = 0;
  }
  const uint8_t symbol = chunk_symbol(chunk, symbol_index_++);
  const size_t size = delta_size(symbol);
  if (view_.deltas.size() - delta_offset_ < size) return false;

  packet.sequence_number = static_cast<uint16_t>(view_.base_sequence + reported_);
  packet.received = size != 0;
  packet.delta_ticks = 0;
  packet.receive_time_us = 0;
  if (size == 1) {
    packet.delta_ticks = view_.deltas[delta_offset_];
  } else if (size == 2) {
    packet.delta_ticks = static_cast<int16_t>(read_u16(view_.deltas.data() + delta_offset_));
  }
  if (packet.received) {
    time_us_ += int64_t{packet.delta_ticks} * kTransportCcDeltaUs;
    packet.receive_time_us = time_us_;
  }
  delta_offset_ += size;
  ++reported_;
  return true;
}

size_t read_transport_cc(const TransportCcView& view, std::span<TransportCcPacket> out) {
  TransportCcReader reader(view);
  size_t count = 0;
  while (count < out.size() && reader.next(out[count])) ++count;
  return count;
}

namespace {

// Status symbol of an entry, or kReservedSymbol when its delta cannot be sent.
uint8_t entry_symbol(const TransportCcEntry& entry) {
  if (!entry.received) return 0;
  if (entry.delta_ticks >= 0 && entry.delta_ticks <= 255) return 1;
  if (entry.delta_ticks >= std::numeric_limits<int16_t>::min() &&
      entry.delta_ticks <= std::numeric_limits<int16_t>::max()) {
    return 2;
  }
  return kReservedSymbol;
}

// Greedy chunk encoder: a run-length chunk for runs of 7 or more equal
// symbols, else a one-bit vector when the next 14 symbols need no large
// delta, else a two-bit vector. Calls on_chunk(uint16_t); returns the count.
template <typename F>
size_t encode_chunks(std::span<const TransportCcEntry> packets, F&& on_chunk) {
  const size_t n = packets.size();
  size_t chunks = 0;
  for (size_t i = 0; i < n; ++chunks) {
    const uint8_t first = entry_symbol(packets[i]);
    size_t run = 1;
    while (i + run < n && run < kMaxRunLength && entry_symbol(packets[i + run]) == first) ++run;
    if (run >= kTwoBitSymbols) {
      on_chunk(static_cast<uint16_t>((first << 13) | run));
      i += run;
      continue;
    }
    const size_t one_bit = std::min<size_t>(kOneBitSymbols, n - i);
    const bool fits_one_bit = std::all_of(packets.begin() + static_cast<ptrdiff_t>(i),
                                          packets.begin() + static_cast<ptrdiff_t>(i + one_bit),
                                          [](const auto& e) { return entry_symbol(e) <= 1; });
    uint16_t chunk = 0x8000;
    if (fits_one_bit) {
      for (size_t k = 0; k < one_bit; ++k) chunk |= entry_symbol(packets[i + k]) << (13 - k);
      i += one_bit;
    } else {
      chunk |= 0x4000;
      const size_t two_bit = std::min<size_t>(kTwoBitSymbols, n - i);
      for (size_t k = 0; k < two_bit; ++k) chunk |= entry_symbol(packets[i + k]) << (12 - 2 * k);
      i += two_bit;
    }
    on_chunk(chunk);
  }
  return chunks;
}

}  // namespace

RtcpError write_transport_cc(RtcpWriter& writer, const TransportCcFeedback& feedback,
                             std::span<const TransportCcEntry> packets) {
  if (packets.size() > 0xFFFF) return rtcp_error(RtcpErrorKind::kTooManyItems, writer.size());
  if (packets.empty() || feedback.reference_time < kMinReferenceTime ||
      feedback.reference_time > kMaxReferenceTime) {
    return rtcp_error(RtcpErrorKind::kBadValue, writer.size());
  }
  size_t delta_bytes = 0;
  for (const TransportCcEntry& entry : packets) {
    const uint8_t symbol = entry_symbol(entry);
    if (symbol == kReservedSymbol) return rtcp_error(RtcpErrorKind::kBadValue, writer.size());
    delta_bytes += delta_size(symbol);
  }
  const size_t chunk_count = encode_chunks(packets, [](uint16_t) {});
  const size_t body_size = 8 + kFixedFciSize + chunk_count * kChunkSize + delta_bytes;
  const auto body = writer.append_packet(feedback_format::kTransportCc,
                                         rtcp_type::kTransportFeedback, body_size);
  if (!body) return rtcp_no_room(writer);

  uint8_t* p = body->data();
  write_u32(p, feedback.sender_ssrc);
  write_u32(p + 4, feedback.media_ssrc);
  write_u16(p + 8, feedback.base_sequence);
  write_u16(p + 10, static_cast<uint16_t>(packets.size()));
  write_u24(p + 12, static_cast<uint32_t>(feedback.reference_time) & 0xFFFFFF);
  p[15] = feedback.feedback_count;
  p += 16;
  encode_chunks(packets, [&](uint16_t chunk) {
    write_u16(p, chunk);
    p += kChunkSize;
  });
  for (const TransportCcEntry& entry : packets) {
    const uint8_t symbol = entry_symbol(entry);
    if (symbol == 1) {
      *p++ = static_cast<uint8_t>(entry.delta_ticks);
    } else if (symbol == 2) {
      write_u16(p, static_cast<uint16_t>(static_cast<int16_t>(entry.delta_ticks)));
      p += 2;
    }
  }
  return {};
}

}  // namespace partyline::rtp
