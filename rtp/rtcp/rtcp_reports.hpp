// RTCP reports and session packets (RFC 3550 sections 6.4-6.6): sender and
// receiver reports with their report blocks, SDES and BYE. Parsers return
// views into the packet; writers append to an RtcpWriter.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "rtp/rtcp/rtcp_packet.hpp"

namespace partyline::rtp {

inline constexpr size_t kReportBlockSize = 24;

struct ReportBlock {
  uint32_t ssrc = 0;
  uint8_t fraction_lost = 0;
  int32_t cumulative_lost = 0;  // 24-bit signed on the wire
  uint32_t extended_highest_sequence = 0;
  uint32_t jitter = 0;
  uint32_t last_sender_report = 0;          // middle 32 bits of the SR NTP time
  uint32_t delay_since_last_sender_report = 0;  // units of 1/65536 s
  friend bool operator==(const ReportBlock&, const ReportBlock&) = default;
};

// The report blocks of an SR or RR, decoded on access.
class ReportBlockList {
 public:
  ReportBlockList() = default;
  explicit ReportBlockList(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  size_t size() const { return bytes_.size() / kReportBlockSize; }
  ReportBlock operator[](size_t index) const;  // index < size()
  std::span<const uint8_t> bytes() const { return bytes_; }

 private:
  std::span<const uint8_t> bytes_;
};

struct SenderInfo {
  uint64_t ntp_timestamp = 0;
  uint32_t rtp_timestamp = 0;
  uint32_t packet_count = 0;
  uint32_t octet_count = 0;
  friend bool operator==(const SenderInfo&, const SenderInfo&) = default;
};

struct SenderReportView {
  uint32_t sender_ssrc = 0;
  SenderInfo info;
  ReportBlockList blocks;
  std::span<const uint8_t> profile_extension;  // bytes after the blocks
};

struct ReceiverReportView {
  uint32_t sender_ssrc = 0;
  ReportBlockList blocks;
  std::span<const uint8_t> profile_extension;
};

ParseResult<SenderReportView, RtcpError> parse_sender_report(const RtcpPacketView& packet);
ParseResult<ReceiverReportView, RtcpError> parse_receiver_report(const RtcpPacketView& packet);

// At most 31 blocks each.
RtcpError write_sender_report(RtcpWriter& writer, uint32_t sender_ssrc, const SenderInfo& info,
                              std::span<const ReportBlock> blocks);
RtcpError write_receiver_report(RtcpWriter& writer, uint32_t sender_ssrc,
                                std::span<const ReportBlock> blocks);

// ---- SDES ----
namespace sdes_type {
inline constexpr uint8_t kEnd = 0;
inline constexpr uint8_t kCname = 1;
}  // namespace sdes_type

struct SdesItemView {
  uint32_t ssrc = 0;  // of the chunk holding the item
  uint8_t type = 0;
  std::span<const uint8_t> value;
};

// Iterates the items of all chunks of an SDES packet, validating chunk
// terminators and that the packet holds as many chunks as its SC says.
class SdesReader {
 public:
  explicit SdesReader(const RtcpPacketView& packet);
  bool next(SdesItemView& item);
  const RtcpError& error() const { return error_; }

 private:
  bool start_chunk();
  bool fail(RtcpErrorKind kind);

  std::span<const uint8_t> body_;
  size_t base_offset_;  // of body_ within the compound, for errors
  size_t chunks_left_;
  size_t offset_ = 0;
  bool in_chunk_ = false;
  uint32_t ssrc_ = 0;
  RtcpError error_;
};

// First CNAME in the packet, if any (and if the packet is well-formed up to it).
std::optional<SdesItemView> find_sdes_cname(const RtcpPacketView& packet);

// One chunk with one CNAME item (max 255 bytes).
RtcpError write_sdes_cname(RtcpWriter& writer, uint32_t ssrc, std::string_view cname);

// ---- BYE ----
struct ByeView {
  std::span<const uint8_t> ssrc_bytes;
  std::string_view reason;  // empty when absent
  size_t ssrc_count() const { return ssrc_bytes.size() / 4; }
  uint32_t ssrc(size_t index) const;
};

ParseResult<ByeView, RtcpError> parse_bye(const RtcpPacketView& packet);
// At most 31 SSRCs, reason at most 255 bytes.
RtcpError write_bye(RtcpWriter& writer, std::span<const uint32_t> ssrcs,
                    std::string_view reason = {});

// ---- Compound report ----
// The compound a sender emits periodically (RFC 3550 section 6.1): an SR when
// `sender_info` is set, else an RR, then SDES with the CNAME. Nothing is
// written unless both fit.
RtcpError write_report_compound(RtcpWriter& writer, uint32_t ssrc, const SenderInfo* sender_info,
                                std::span<const ReportBlock> blocks, std::string_view cname);

}  // namespace partyline::rtp
