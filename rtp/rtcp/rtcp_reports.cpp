#include "rtp/rtcp/rtcp_reports.hpp"

#include <algorithm>

#include "rtp/byte_io.hpp"

namespace partyline::rtp {

namespace {

constexpr size_t kSenderInfoSize = 20;
constexpr size_t kMaxSdesValue = 255;
constexpr size_t kMaxByeReason = 255;
constexpr int32_t kMaxCumulativeLost = 0x7FFFFF;
constexpr int32_t kMinCumulativeLost = -0x800000;

size_t align4(size_t size) { return (size + 3) / 4 * 4; }

int32_t sign_extend_24(uint32_t value) {
  return (value & 0x800000) ? static_cast<int32_t>(value | 0xFF000000u)
                            : static_cast<int32_t>(value);
}

void write_report_block(uint8_t* p, const ReportBlock& block) {
  const int32_t lost = std::clamp(block.cumulative_lost, kMinCumulativeLost, kMaxCumulativeLost);
  write_u32(p, block.ssrc);
  p[4] = block.fraction_lost;
  write_u24(p + 5, static_cast<uint32_t>(lost) & 0xFFFFFF);
  write_u32(p + 8, block.extended_highest_sequence);
  write_u32(p + 12, block.jitter);
  write_u32(p + 16, block.last_sender_report);
  write_u32(p + 20, block.delay_since_last_sender_report);
}

// Splits the body after `fixed_size` bytes into `count` report blocks and the
// profile-specific extension.
ParseResult<std::span<const uint8_t>, RtcpError> report_blocks(const RtcpPacketView& packet,
                                                               size_t fixed_size) {
  const size_t needed = fixed_size + size_t{packet.count} * kReportBlockSize;
  if (packet.body.size() < needed) {
    return rtcp_error(RtcpErrorKind::kTruncatedBody, packet.offset);
  }
  return packet.body.subspan(fixed_size, needed - fixed_size);
}

}  // namespace

ReportBlock ReportBlockList::operator[](size_t index) const {
  const uint8_t* p = bytes_.data() + index * kReportBlockSize;
  ReportBlock block;
  block.ssrc = read_u32(p);
  block.fraction_lost = p[4];
  block.cumulative_lost = sign_extend_24(read_u24(p + 5));
  block.extended_highest_sequence = read_u32(p + 8);
  block.jitter = read_u32(p + 12);
  block.last_sender_report = read_u32(p + 16);
  block.delay_since_last_sender_report = read_u32(p + 20);
  return block;
}

ParseResult<SenderReportView, RtcpError> parse_sender_report(const RtcpPacketView& packet) {
  if (packet.packet_type != rtcp_type::kSenderReport) {
    return rtcp_error(RtcpErrorKind::kWrongType, packet.offset);
  }
  const auto blocks = report_blocks(packet, 4 + kSenderInfoSize);
  if (!blocks) return blocks.error();
  const uint8_t* p = packet.body.data();
  SenderReportView view;
  view.sender_ssrc = read_u32(p);
  view.info.ntp_timestamp = read_u64(p + 4);
  view.info.rtp_timestamp = read_u32(p + 12);
  view.info.packet_count = read_u32(p + 16);
  view.info.octet_count = read_u32(p + 20);
  view.blocks = ReportBlockList(*blocks);
  view.profile_extension = packet.body.subspan(4 + kSenderInfoSize + blocks->size());
  return view;
}

ParseResult<ReceiverReportView, RtcpError> parse_receiver_report(const RtcpPacketView& packet) {
  if (packet.packet_type != rtcp_type::kReceiverReport) {
    return rtcp_error(RtcpErrorKind::kWrongType, packet.offset);
  }
  const auto blocks = report_blocks(packet, 4);
  if (!blocks) return blocks.error();
  ReceiverReportView view;
  view.sender_ssrc = read_u32(packet.body.data());
  view.blocks = ReportBlockList(*blocks);
  view.profile_extension = packet.body.subspan(4 + blocks->size());
  return view;
}

RtcpError write_sender_report(RtcpWriter& writer, uint32_t sender_ssrc, const SenderInfo& info,
                              std::span<const ReportBlock> blocks) {
  if (blocks.size() > kRtcpMaxCount) return rtcp_error(RtcpErrorKind::kTooManyItems, writer.size());
  const auto body = writer.append_packet(static_cast<uint8_t>(blocks.size()),
                                         rtcp_type::kSenderReport,
                                         4 + kSenderInfoSize + blocks.size() * kReportBlockSize);
  if (!body) return rtcp_no_room(writer);
  uint8_t* p = body->data();
  write_u32(p, sender_ssrc);
  write_u64(p + 4, info.ntp_timestamp);
  write_u32(p + 12, info.rtp_timestamp);
  write_u32(p + 16, info.packet_count);
  write_u32(p + 20, info.octet_count);
  p += 4 + kSenderInfoSize;
  for (const ReportBlock& block : blocks) {
    write_report_block(p, block);
    p += kReportBlockSize;
  }
  return {};
}

RtcpError write_receiver_report(RtcpWriter& writer, uint32_t sender_ssrc,
                                std::span<const ReportBlock> blocks) {
  if (blocks.size() > kRtcpMaxCount) return rtcp_error(RtcpErrorKind::kTooManyItems, writer.size());
  const auto body = writer.append_packet(static_cast<uint8_t>(blocks.size()),
                                         rtcp_type::kReceiverReport,
                                         4 + blocks.size() * kReportBlockSize);
  if (!body) return rtcp_no_room(writer);
  uint8_t* p = body->data();
  write_u32(p, sender_ssrc);
  p += 4;
  for (const ReportBlock& block : blocks) {
    write_report_block(p, block);
    p += kReportBlockSize;
  }
  return {};
}

// ---- SDES ----

SdesReader::SdesReader(const RtcpPacketView& packet)
    : body_(packet.body),
      base_offset_(packet.offset + kRtcpHeaderSize),
      chunks_left_(packet.count) {
  if (packet.packet_type != rtcp_type::kSourceDescription) {
    error_ = rtcp_error(RtcpErrorKind::kWrongType, packet.offset);
  }
}

bool SdesReader::fail(RtcpErrorKind kind) {
  error_ = rtcp_error(kind, base_offset_ + offset_);
  return false;
}

bool SdesReader::start_chunk() {
  if (body_.size() - offset_ < 4) return fail(RtcpErrorKind::kTruncatedBody);
  ssrc_ = read_u32(body_.data() + offset_);
  offset_ += 4;
  in_chunk_ = true;
  return true;
}

bool SdesReader::next(SdesItemView& item) {
  if (!error_.ok()) return false;
  while (true) {
    if (!in_chunk_) {
      if (chunks_left_ == 0) return false;
      --chunks_left_;
      if (!start_chunk()) return false;
    }
    // Every chunk ends with a null item; running out of body first is an error.
    if (offset_ >= body_.size()) return fail(RtcpErrorKind::kBadItem);
    const uint8_t type = body_[offset_];
    if (type == sdes_type::kEnd) {
      // The null octets run up to the next 32-bit boundary.
      const size_t chunk_end = align4(offset_ + 1);
      if (chunk_end > body_.size()) return fail(RtcpErrorKind::kBadItem);
      offset_ = chunk_end;
      in_chunk_ = false;
      continue;
    }
    if (body_.size() - offset_ < 2) return fail(RtcpErrorKind::kBadItem);
    const size_t length = body_[offset_ + 1];
    if (body_.size() - offset_ - 2 < length) return fail(RtcpErrorKind::kBadItem);
    item.ssrc = ssrc_;
    item.type = type;
    item.value = body_.subspan(offset_ + 2, length);
    offset_ += 2 + length;
    return true;
  }
}

std::optional<SdesItemView> find_sdes_cname(const RtcpPacketView& packet) {
  SdesReader reader(packet);
  SdesItemView item;
  while (reader.next(item)) {
    if (item.type == sdes_type::kCname) return item;
  }
  return std::nullopt;
}

RtcpError write_sdes_cname(RtcpWriter& writer, uint32_t ssrc, std::string_view cname) {
  if (cname.size() > kMaxSdesValue) return rtcp_error(RtcpErrorKind::kBadValue, writer.size());
  // SSRC, type, length, value, then 1..4 null octets up to a 32-bit boundary.
  const size_t body_size = align4(4 + 2 + cname.size() + 1);
  const auto body = writer.append_packet(1, rtcp_type::kSourceDescription, body_size);
  if (!body) return rtcp_no_room(writer);
  uint8_t* p = body->data();
  write_u32(p, ssrc);
  p[4] = sdes_type::kCname;
  p[5] = static_cast<uint8_t>(cname.size());
  std::copy(cname.begin(), cname.end(), p + 6);
  std::fill(p + 6 + cname.size(), p + body_size, uint8_t{0});
  return {};
}

// ---- BYE ----

uint32_t ByeView::ssrc(size_t index) const { return read_u32(ssrc_bytes.data() + index * 4); }

ParseResult<ByeView, RtcpError> parse_bye(const RtcpPacketView& packet) {
  if (packet.packet_type != rtcp_type::kBye) {
    return rtcp_error(RtcpErrorKind::kWrongType, packet.offset);
  }
  const size_t ssrc_size = size_t{packet.count} * 4;
  if (packet.body.size() < ssrc_size) {
    return rtcp_error(RtcpErrorKind::kTruncatedBody, packet.offset);
  }
  ByeView view;
  view.ssrc_bytes = packet.body.first(ssrc_size);
  const auto rest = packet.body.subspan(ssrc_size);
  if (!rest.empty()) {
    const size_t length = rest[0];
    if (rest.size() - 1 < length) {
      return rtcp_error(RtcpErrorKind::kTruncatedBody,
                        packet.offset + kRtcpHeaderSize + ssrc_size);
    }
    view.reason = std::string_view(reinterpret_cast<const char*>(rest.data() + 1), length);
  }
  return view;
}

RtcpError write_bye(RtcpWriter& writer, std::span<const uint32_t> ssrcs, std::string_view reason) {
  if (ssrcs.size() > kRtcpMaxCount) return rtcp_error(RtcpErrorKind::kTooManyItems, writer.size());
  if (reason.size() > kMaxByeReason) return rtcp_error(RtcpErrorKind::kBadValue, writer.size());
  const size_t reason_size = reason.empty() ? 0 : align4(1 + reason.size());
  const auto body = writer.append_packet(static_cast<uint8_t>(ssrcs.size()), rtcp_type::kBye,
                                         ssrcs.size() * 4 + reason_size);
  if (!body) return rtcp_no_room(writer);
  uint8_t* p = body->data();
  for (const uint32_t ssrc : ssrcs) {
    write_u32(p, ssrc);
    p += 4;
  }
  if (reason_size) {
    p[0] = static_cast<uint8_t>(reason.size());
    std::copy(reason.begin(), reason.end(), p + 1);
    std::fill(p + 1 + reason.size(), p + reason_size, uint8_t{0});
  }
  return {};
}

// ---- Compound report ----

RtcpError write_report_compound(RtcpWriter& writer, uint32_t ssrc, const SenderInfo* sender_info,
                                std::span<const ReportBlock> blocks, std::string_view cname) {
  const size_t start = writer.size();
  RtcpError error = sender_info ? write_sender_report(writer, ssrc, *sender_info, blocks)
                                : write_receiver_report(writer, ssrc, blocks);
  if (error.ok()) error = write_sdes_cname(writer, ssrc, cname);
  if (!error.ok()) writer.truncate(start);
  return error;
}

}  // namespace partyline::rtp
