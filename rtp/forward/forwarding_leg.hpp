// ForwardingLeg: what the SFU does to one publisher's stream on its way to
// one subscriber, sans-I/O. Each leg has its own SSRC, sequence numbers and
// timestamps (SequenceRewriter), and speaks the subscriber's negotiated
// numbering: the publisher's payload types and header extension ids are
// mapped onto the subscriber's, and extensions the subscriber did not
// negotiate are blanked (rtp/packet/rtp_header_extensions.hpp keeps the packet size).
//
// forward() writes the leg's copy of a source packet into a caller's buffer;
// retransmit() answers the subscriber's NACK from a source packet the caller
// found in its cache, as RTX (RFC 4588) when the subscriber negotiated it.
// No allocation after construction.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rtp/result.hpp"
#include "rtp/rtcp/rtcp_reports.hpp"
#include "rtp/packet/rtp_header_extensions.hpp"
#include "rtp/packet/rtp_packet.hpp"
#include "rtp/sdp/sdp.hpp"
#include "rtp/sdp/sdp_answer.hpp"
#include "rtp/forward/sequence_rewriter.hpp"

namespace partyline::rtp {

// How one side of a connection numbers one stream: the negotiated codec's
// payload type, its RTX payload type, and the header extension ids.
struct StreamFormat {
  MediaKind kind = MediaKind::kAudio;
  std::string codec_name;  // "opus", "VP8", "H264"
  uint32_t clock_rate = 0;
  uint8_t payload_type = 0;
  std::optional<uint8_t> rtx_payload_type;
  std::vector<Extmap> extmaps;
  // The codec's parameters as negotiated (H.264: profile and packetization
  // mode), for offering the stream to subscribers in the same codec.
  std::optional<std::string> fmtp = std::nullopt;
};

// The format of a negotiated m-line; nullopt if it has no codec.
std::optional<StreamFormat> stream_format(const NegotiatedMedia& media);

struct LegConfig {
  static constexpr uint8_t kNoPayloadType = 0xff;

  uint32_t ssrc = 0;
  std::optional<uint32_t> rtx_ssrc;       // with rtx_payload_type: NACKs are answered as RTX
  std::optional<uint8_t> rtx_payload_type;
  uint32_t clock_rate = 0;
  // Source payload type -> the leg's; kNoPayloadType: not forwarded.
  std::array<uint8_t, 128> payload_types{};
  ExtensionIdMap extension_ids{};  // source id -> the leg's id; 0 blanks it
  // Where the leg's numbering starts (random, RFC 3550 5.1).
  uint16_t first_sequence_number = 0;
  uint32_t first_timestamp = 0;
  uint16_t first_rtx_sequence_number = 0;
};

// The leg from a publisher's stream (`source`) to a subscriber's m-line
// (`leg`): 415 when the codecs differ (name or clock rate), naming both.
// `ssrc`/`rtx_ssrc` are what the leg was declared with in the subscriber's
// SDP; `seed` picks the first sequence numbers and timestamp.
Result<LegConfig> make_leg_config(const StreamFormat& source, const StreamFormat& leg, uint32_t ssrc,
                                  std::optional<uint32_t> rtx_ssrc, uint32_t seed);

// Why a packet was not written for a leg; counted by the caller.
enum class LegDrop : uint8_t {
  kNone,
  kUnknownPayloadType,  // a payload type the leg has no mapping for
  kBadExtensions,       // the header extension block did not validate
  kTooOld,              // older than the rewriter's window (or a dropped input)
  kTooLarge,            // does not fit the output buffer
  kNotCached,           // retransmit: no such packet in the leg's numbering
  kPaddingOnly,         // no payload (bandwidth probing): not forwarded, takes no number
  kCount,
};
std::string_view to_string(LegDrop drop);

struct LegPacket {
  size_t length = 0;  // bytes written to `out`; 0 with a drop reason
  LegDrop drop = LegDrop::kNone;
};

class ForwardingLeg {
 public:
  explicit ForwardingLeg(const LegConfig& config);

  // `source` is a parsed clear RTP packet of the publisher's stream. Writes
  // the leg's packet into `out` (which needs source.packet.size() bytes).
  // A packet refused for its payload type or size takes no sequence number.
  LegPacket forward(const RtpPacketView& source, std::span<uint8_t> out, int64_t now_us);

  // After a pause (nothing forwarded for a while): the next packet continues
  // the leg's numbering and timing as a new source would (SequenceRewriter::restart).
  void restart() { rewriter_.restart(); }

  // The source sequence number behind one of the leg's sequence numbers
  // (for a NACK), while it is within the rewriter's window.
  std::optional<uint16_t> source_sequence_number(uint16_t leg_sequence_number) const;
  // Writes the retransmission of `source` (found by source_sequence_number):
  // RTX when negotiated (needs 2 more bytes in `out`), else the packet again.
  LegPacket retransmit(const RtpPacketView& source, std::span<uint8_t> out, int64_t now_us);

  // The sender info of this leg's next SR: RTP time extrapolated from the
  // newest forwarded packet to `now_us`, with the leg's own counts.
  SenderInfo sender_info(uint64_t ntp_now, int64_t now_us) const;

  uint32_t ssrc() const { return config_.ssrc; }
  std::optional<uint32_t> rtx_ssrc() const { return config_.rtx_ssrc; }
  uint64_t packets_sent() const { return packets_sent_; }
  uint64_t retransmissions_sent() const { return retransmissions_sent_; }
  uint64_t octets_sent() const { return octets_sent_; }  // payload bytes

 private:
  LegPacket write(const RtpPacketView& source, const RewrittenHeader& header, std::span<uint8_t> out);

  LegConfig config_;
  SequenceRewriter rewriter_;
  uint16_t next_rtx_sequence_number_;
  uint64_t packets_sent_ = 0;
  uint64_t octets_sent_ = 0;  // payload bytes, as SR octet counts go
  uint64_t retransmissions_sent_ = 0;
};

}  // namespace partyline::rtp
