#include "rtp/forward/forwarding_leg.hpp"

#include <algorithm>
#include <cstring>
#include <strings.h>

#include "rtp/packet/rtp_header_extensions.hpp"

namespace partyline::rtp {

namespace {

constexpr uint8_t kPaddingBit = 0x20;
constexpr size_t kOriginalSequenceBytes = 2;  // RFC 4588: the OSN before the payload

bool same_codec(const StreamFormat& a, const StreamFormat& b) {
  return a.kind == b.kind && a.clock_rate == b.clock_rate &&
         strcasecmp(a.codec_name.c_str(), b.codec_name.c_str()) == 0;
}

// These never reach a leg: the first three name the publisher's m-line or
// encoding, and the subscriber would demultiplex by them (mid before SSRC);
// the transport-wide sequence number counts the publisher's hop, and a
// subscriber's feedback on it would describe no packet the server sent.
bool belongs_to_publishers_hop(std::string_view uri) {
  return uri == "urn:ietf:params:rtp-hdrext:sdes:mid" || uri == "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id" ||
         uri == "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id" || uri == kTransportCcExtensionUri;
}

}  // namespace

std::string_view to_string(LegDrop drop) {
  switch (drop) {
    case LegDrop::kNone: return "none";
    case LegDrop::kUnknownPayloadType: return "payload type not negotiated on the leg";
    case LegDrop::kBadExtensions: return "malformed header extensions";
    case LegDrop::kTooOld: return "too old for the sequence window";
    case LegDrop::kTooLarge: return "too large for the output buffer";
    case LegDrop::kNotCached: return "not in the retransmission window";
    case LegDrop::kPaddingOnly: return "padding only";
    case LegDrop::kCount: break;
  }
  return "unknown leg drop";
}

std::optional<StreamFormat> stream_format(const NegotiatedMedia& media) {
  if (!media.accepted || !media.codec) return std::nullopt;
  StreamFormat format;
  format.kind = media.kind;
  format.codec_name = media.codec->name;
  format.clock_rate = media.codec->clock_rate;
  format.payload_type = media.codec->payload_type;
  format.rtx_payload_type = media.rtx_payload_type;
  format.extmaps = media.extmaps;
  format.fmtp = media.codec->fmtp;
  return format;
}

Result<LegConfig> make_leg_config(const StreamFormat& source, const StreamFormat& leg, uint32_t ssrc,
                                  std::optional<uint32_t> rtx_ssrc, uint32_t seed) {
  if (!same_codec(source, leg)) {
    return make_error(error_code::kUnsupported, "the publisher sends " + source.codec_name + "/" +
                                                    std::to_string(source.clock_rate) + ", the subscriber takes " +
                                                    leg.codec_name + "/" + std::to_string(leg.clock_rate));
  }
  LegConfig config;
  config.ssrc = ssrc;
  config.clock_rate = leg.clock_rate;
  config.payload_types.fill(LegConfig::kNoPayloadType);
  config.payload_types[source.payload_type & 0x7f] = leg.payload_type;
  if (leg.rtx_payload_type && rtx_ssrc) {
    config.rtx_payload_type = leg.rtx_payload_type;
    config.rtx_ssrc = rtx_ssrc;
  }
  for (const Extmap& theirs : source.extmaps) {
    if (theirs.id >= config.extension_ids.size() || belongs_to_publishers_hop(theirs.uri)) continue;
    for (const Extmap& ours : leg.extmaps) {
      if (ours.uri == theirs.uri && ours.id < config.extension_ids.size()) {
        config.extension_ids[theirs.id] = static_cast<uint8_t>(ours.id);
      }
    }
  }
  // Arbitrary but distinct starting points, derived from one random seed.
  config.first_sequence_number = static_cast<uint16_t>(seed);
  config.first_rtx_sequence_number = static_cast<uint16_t>(seed >> 16);
  config.first_timestamp = seed * 2654435761u;
  return config;
}

ForwardingLeg::ForwardingLeg(const LegConfig& config)
    : config_(config),
      rewriter_(config.ssrc, config.clock_rate, config.first_sequence_number, config.first_timestamp),
      next_rtx_sequence_number_(config.first_rtx_sequence_number) {}

LegPacket ForwardingLeg::write(const RtpPacketView& source, const RewrittenHeader& header,
                               std::span<uint8_t> out) {
  const size_t length = source.packet.size();
  if (length > out.size()) return {0, LegDrop::kTooLarge};
  std::memcpy(out.data(), source.packet.data(), length);
  std::span<uint8_t> packet = out.first(length);
  if (source.has_extension &&
      rewrite_packet_extension_ids(packet, config_.extension_ids) != HeaderExtensionError::kNone) {
    return {0, LegDrop::kBadExtensions};
  }
  (void)set_rtp_payload_type(packet, config_.payload_types[source.payload_type]);
  (void)apply_rewrite(packet, header);
  return {length, LegDrop::kNone};
}

LegPacket ForwardingLeg::forward(const RtpPacketView& source, std::span<uint8_t> out, int64_t now_us) {
  const SourcePacket source_packet{source.ssrc, source.sequence_number, source.timestamp};
  // A packet the leg will never carry must not take a sequence number: the
  // subscriber would see a hole and NACK it forever.
  if (config_.payload_types[source.payload_type & 0x7f] == LegConfig::kNoPayloadType) {
    (void)rewriter_.drop(source_packet, now_us);
    return {0, LegDrop::kUnknownPayloadType};
  }
  if (source.packet.size() > out.size()) {
    (void)rewriter_.drop(source_packet, now_us);
    return {0, LegDrop::kTooLarge};
  }
  // Padding-only packets probe the publisher's uplink; the subscriber's link
  // is not ours to probe this way.
  if (source.payload.empty()) {
    (void)rewriter_.drop(source_packet, now_us);
    return {0, LegDrop::kPaddingOnly};
  }
  const RewriteResult rewritten = rewriter_.rewrite(source_packet, now_us);
  if (!rewritten.should_send()) return {0, LegDrop::kTooOld};
  LegPacket written = write(source, rewritten.header, out);
  if (written.length > 0) {
    ++packets_sent_;
    octets_sent_ += source.payload.size();
  }
  return written;
}

std::optional<uint16_t> ForwardingLeg::source_sequence_number(uint16_t leg_sequence_number) const {
  return rewriter_.input_for_output(leg_sequence_number);
}

LegPacket ForwardingLeg::retransmit(const RtpPacketView& source, std::span<uint8_t> out, int64_t now_us) {
  if (config_.payload_types[source.payload_type & 0x7f] == LegConfig::kNoPayloadType) {
    return {0, LegDrop::kUnknownPayloadType};
  }
  // Another source's packet (a stale cache hit after the publisher changed
  // SSRC) would make the rewriter switch sources and renumber the leg.
  if (rewriter_.source_ssrc() != source.ssrc) return {0, LegDrop::kNotCached};
  const RewriteResult rewritten =
      rewriter_.rewrite(SourcePacket{source.ssrc, source.sequence_number, source.timestamp}, now_us);
  if (!rewritten.should_send()) return {0, LegDrop::kNotCached};
  if (!config_.rtx_payload_type) {
    LegPacket written = write(source, rewritten.header, out);
    if (written.length > 0) ++retransmissions_sent_;
    return written;
  }
  // RTX: same header (rewritten), RTX SSRC/PT/sequence, the original
  // sequence number in front of the payload, no padding.
  const size_t length = source.header_size + kOriginalSequenceBytes + source.payload.size();
  if (length > out.size()) return {0, LegDrop::kTooLarge};
  std::memcpy(out.data(), source.packet.data(), source.header_size);
  std::span<uint8_t> packet = out.first(length);
  // Cleared first: the header alone, with P set, would not parse as a packet.
  packet[0] &= static_cast<uint8_t>(~kPaddingBit);
  if (source.has_extension &&
      rewrite_packet_extension_ids(packet.first(source.header_size), config_.extension_ids) !=
          HeaderExtensionError::kNone) {
    return {0, LegDrop::kBadExtensions};
  }
  packet[source.header_size] = static_cast<uint8_t>(rewritten.header.sequence_number >> 8);
  packet[source.header_size + 1] = static_cast<uint8_t>(rewritten.header.sequence_number);
  std::memcpy(packet.data() + source.header_size + kOriginalSequenceBytes, source.payload.data(),
              source.payload.size());
  (void)set_rtp_payload_type(packet, *config_.rtx_payload_type);
  (void)apply_rewrite(packet, RewrittenHeader{*config_.rtx_ssrc, next_rtx_sequence_number_++,
                                              rewritten.header.timestamp});
  ++retransmissions_sent_;
  return {length, LegDrop::kNone};
}

SenderInfo ForwardingLeg::sender_info(uint64_t ntp_now, int64_t now_us) const {
  SenderInfo info;
  info.ntp_timestamp = ntp_now;
  if (auto newest = rewriter_.newest_output_timestamp()) {
    const int64_t elapsed_us = std::max<int64_t>(0, now_us - rewriter_.newest_output_time_us());
    info.rtp_timestamp = static_cast<uint32_t>(*newest + elapsed_us * config_.clock_rate / 1'000'000);
  } else {
    info.rtp_timestamp = config_.first_timestamp;
  }
  info.packet_count = static_cast<uint32_t>(packets_sent_ + retransmissions_sent_);
  info.octet_count = static_cast<uint32_t>(octets_sent_);
  return info;
}

}  // namespace partyline::rtp
