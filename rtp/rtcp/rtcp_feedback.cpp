#include "rtp/rtcp/rtcp_feedback.hpp"

namespace partyline::rtp {

namespace {

constexpr size_t kFeedbackHeaderSize = 8;  // sender SSRC + media SSRC
constexpr size_t kNackItemSize = 4;
constexpr size_t kFirEntrySize = 8;
constexpr size_t kRembFixedSize = 8;  // "REMB", count, exponent + mantissa
constexpr uint32_t kRembIdentifier = 0x52454D42;  // "REMB"
constexpr uint32_t kRembMaxMantissa = (1u << 18) - 1;
constexpr size_t kRembMaxSsrcs = 255;

ParseResult<FeedbackView, RtcpError> parse_typed_feedback(const RtcpPacketView& packet,
                                                          uint8_t packet_type, uint8_t format) {
  if (packet.packet_type != packet_type || packet.count != format) {
    return rtcp_error(RtcpErrorKind::kWrongType, packet.offset);
  }
  return parse_feedback(packet);
}

// Appends a feedback packet with `fci_size` bytes of FCI; returns the FCI.
std::optional<std::span<uint8_t>> append_feedback(RtcpWriter& writer, uint8_t packet_type,
                                                  uint8_t format, uint32_t sender_ssrc,
                                                  uint32_t media_ssrc, size_t fci_size) {
  const auto body = writer.append_packet(format, packet_type, kFeedbackHeaderSize + fci_size);
  if (!body) return std::nullopt;
  write_u32(body->data(), sender_ssrc);
  write_u32(body->data() + 4, media_ssrc);
  return body->subspan(kFeedbackHeaderSize);
}

// Visits the NACK items that `lost` packs into; returns the item count.
template <typename F>
size_t pack_nack_items(std::span<const uint16_t> lost, F&& on_item) {
  size_t count = 0;
  NackItem current;
  bool open = false;
  for (const uint16_t sequence : lost) {
    const uint16_t distance = static_cast<uint16_t>(sequence - current.packet_id);
    if (open && distance == 0) continue;
    if (open && distance <= 16) {
      current.lost_bitmask = static_cast<uint16_t>(current.lost_bitmask | (1u << (distance - 1)));
      continue;
    }
    if (open) on_item(current);
    current = NackItem{sequence, 0};
    open = true;
    ++count;
  }
  if (open) on_item(current);
  return count;
}

}  // namespace

ParseResult<FeedbackView, RtcpError> parse_feedback(const RtcpPacketView& packet) {
  if (packet.packet_type != rtcp_type::kTransportFeedback &&
      packet.packet_type != rtcp_type::kPayloadFeedback) {
    return rtcp_error(RtcpErrorKind::kWrongType, packet.offset);
  }
  if (packet.body.size() < kFeedbackHeaderSize) {
    return rtcp_error(RtcpErrorKind::kTruncatedBody, packet.offset);
  }
  FeedbackView view;
  view.format = packet.count;
  view.packet_type = packet.packet_type;
  view.sender_ssrc = read_u32(packet.body.data());
  view.media_ssrc = read_u32(packet.body.data() + 4);
  view.fci = packet.body.subspan(kFeedbackHeaderSize);
  view.fci_offset = packet.offset + kRtcpHeaderSize + kFeedbackHeaderSize;
  return view;
}

// ---- NACK ----

ParseResult<NackView, RtcpError> parse_nack(const RtcpPacketView& packet) {
  const auto feedback =
      parse_typed_feedback(packet, rtcp_type::kTransportFeedback, feedback_format::kNack);
  if (!feedback) return feedback.error();
  // An empty NACK, or one with a partial item, is malformed.
  if (feedback->fci.empty() || feedback->fci.size() % kNackItemSize != 0) {
    return rtcp_error(RtcpErrorKind::kTruncatedBody, feedback->fci_offset);
  }
  return NackView{feedback->sender_ssrc, feedback->media_ssrc, feedback->fci};
}

size_t NackView::expand(std::span<uint16_t> out) const {
  size_t written = 0;
  for_each_lost([&](uint16_t sequence) {
    if (written < out.size()) out[written++] = sequence;
  });
  return written;
}

size_t NackView::lost_count() const {
  size_t count = 0;
  for_each_lost([&](uint16_t) { ++count; });
  return count;
}

RtcpError write_nack(RtcpWriter& writer, uint32_t sender_ssrc, uint32_t media_ssrc,
                     std::span<const uint16_t> lost_sequence_numbers) {
  if (lost_sequence_numbers.empty()) return rtcp_error(RtcpErrorKind::kBadValue, writer.size());
  const size_t items = pack_nack_items(lost_sequence_numbers, [](const NackItem&) {});
  const auto fci = append_feedback(writer, rtcp_type::kTransportFeedback, feedback_format::kNack,
                                   sender_ssrc, media_ssrc, items * kNackItemSize);
  if (!fci) return rtcp_no_room(writer);
  uint8_t* p = fci->data();
  pack_nack_items(lost_sequence_numbers, [&](const NackItem& item) {
    write_u16(p, item.packet_id);
    write_u16(p + 2, item.lost_bitmask);
    p += kNackItemSize;
  });
  return {};
}

// ---- PLI ----

ParseResult<PliView, RtcpError> parse_pli(const RtcpPacketView& packet) {
  const auto feedback =
      parse_typed_feedback(packet, rtcp_type::kPayloadFeedback, feedback_format::kPli);
  if (!feedback) return feedback.error();
  return PliView{feedback->sender_ssrc, feedback->media_ssrc};
}

RtcpError write_pli(RtcpWriter& writer, uint32_t sender_ssrc, uint32_t media_ssrc) {
  if (!append_feedback(writer, rtcp_type::kPayloadFeedback, feedback_format::kPli, sender_ssrc,
                       media_ssrc, 0)) {
    return rtcp_no_room(writer);
  }
  return {};
}

// ---- FIR ----

ParseResult<FirView, RtcpError> parse_fir(const RtcpPacketView& packet) {
  const auto feedback =
      parse_typed_feedback(packet, rtcp_type::kPayloadFeedback, feedback_format::kFir);
  if (!feedback) return feedback.error();
  if (feedback->fci.empty() || feedback->fci.size() % kFirEntrySize != 0) {
    return rtcp_error(RtcpErrorKind::kTruncatedBody, feedback->fci_offset);
  }
  return FirView{feedback->sender_ssrc, feedback->fci};
}

RtcpError write_fir(RtcpWriter& writer, uint32_t sender_ssrc, std::span<const FirEntry> entries) {
  if (entries.empty()) return rtcp_error(RtcpErrorKind::kBadValue, writer.size());
  // RFC 5104 section 4.3.1.2: the media source SSRC is unused and set to 0.
  const auto fci = append_feedback(writer, rtcp_type::kPayloadFeedback, feedback_format::kFir,
                                   sender_ssrc, 0, entries.size() * kFirEntrySize);
  if (!fci) return rtcp_no_room(writer);
  uint8_t* p = fci->data();
  for (const FirEntry& entry : entries) {
    write_u32(p, entry.ssrc);
    p[4] = entry.sequence_number;
    p[5] = p[6] = p[7] = 0;
    p += kFirEntrySize;
  }
  return {};
}

// ---- REMB ----

ParseResult<RembView, RtcpError> parse_remb(const RtcpPacketView& packet) {
  const auto feedback =
      parse_typed_feedback(packet, rtcp_type::kPayloadFeedback, feedback_format::kApplication);
  if (!feedback) return feedback.error();
  const auto fci = feedback->fci;
  if (fci.size() < 4 || read_u32(fci.data()) != kRembIdentifier) {
    return rtcp_error(RtcpErrorKind::kWrongType, packet.offset);
  }
  if (fci.size() < kRembFixedSize) {
    return rtcp_error(RtcpErrorKind::kTruncatedBody, feedback->fci_offset);
  }
  const size_t ssrc_count = fci[4];
  if (fci.size() - kRembFixedSize < ssrc_count * 4) {
    return rtcp_error(RtcpErrorKind::kTruncatedBody, feedback->fci_offset + 4);
  }
  const unsigned exponent = fci[5] >> 2;
  const uint64_t mantissa = read_u24(fci.data() + 5) & kRembMaxMantissa;
  const uint64_t bitrate = mantissa << exponent;
  if ((bitrate >> exponent) != mantissa) {
    return rtcp_error(RtcpErrorKind::kBadValue, feedback->fci_offset + 5);
  }
  return RembView{feedback->sender_ssrc, bitrate, fci.subspan(kRembFixedSize, ssrc_count * 4)};
}

RtcpError write_remb(RtcpWriter& writer, uint32_t sender_ssrc, uint64_t bitrate_bps,
                     std::span<const uint32_t> ssrcs) {
  if (ssrcs.size() > kRembMaxSsrcs) return rtcp_error(RtcpErrorKind::kTooManyItems, writer.size());
  uint32_t exponent = 0;
  while (bitrate_bps > kRembMaxMantissa) {
    bitrate_bps >>= 1;
    ++exponent;
  }
  const auto fci = append_feedback(writer, rtcp_type::kPayloadFeedback,
                                   feedback_format::kApplication, sender_ssrc, 0,
                                   kRembFixedSize + ssrcs.size() * 4);
  if (!fci) return rtcp_no_room(writer);
  uint8_t* p = fci->data();
  write_u32(p, kRembIdentifier);
  p[4] = static_cast<uint8_t>(ssrcs.size());
  write_u24(p + 5, (exponent << 18) | static_cast<uint32_t>(bitrate_bps));
  p += kRembFixedSize;
  for (const uint32_t ssrc : ssrcs) {
    write_u32(p, ssrc);
    p += 4;
  }
  return {};
}

}  // namespace partyline::rtp
