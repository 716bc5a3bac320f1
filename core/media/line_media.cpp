#include "core/media/line_media.hpp"

#include <algorithm>
#include <cstring>

#include "core/media/media_totals.hpp"
#include "rtp/rtcp/rtcp_feedback.hpp"
#include "rtp/rtcp/rtcp_packet.hpp"
#include "rtp/rtcp/rtcp_reports.hpp"
#include "rtp/packet/rtp_header_extensions.hpp"
#include "rtp/packet/rtp_packet.hpp"

namespace partyline::core {

MediaTotals& thread_media_totals() {
  thread_local MediaTotals totals;
  return totals;
}

namespace {

constexpr size_t kRtxHeaderBytes = 2;  // the original sequence number
constexpr uint8_t kPaddingBit = 0x20;
constexpr std::string_view kCname = "partyline";

bool participant_sends(const rtp::NegotiatedMedia& media) {
  return media.accepted &&
         (media.direction == rtp::MediaDirection::kRecvOnly || media.direction == rtp::MediaDirection::kSendRecv);
}

// The format of an audio or video m-line the participant publishes on.
std::optional<rtp::StreamFormat> published_format(const rtp::NegotiatedMedia& media) {
  if (!participant_sends(media)) return std::nullopt;
  if (media.kind != rtp::MediaKind::kAudio && media.kind != rtp::MediaKind::kVideo) return std::nullopt;
  return rtp::stream_format(media);
}

// What subscribers' legs were built for: the same format needs no new leg.
bool same_format(const rtp::StreamFormat& a, const rtp::StreamFormat& b) {
  return a.kind == b.kind && a.codec_name == b.codec_name && a.clock_rate == b.clock_rate &&
         a.payload_type == b.payload_type && a.rtx_payload_type == b.rtx_payload_type && a.extmaps == b.extmaps;
}

constexpr std::string_view kRidUri = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
constexpr std::string_view kRepairedRidUri = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";

// The id of an extension on the participant's m-lines (one id per URI in a
// BUNDLE, RFC 8843).
std::optional<uint8_t> extension_id(const rtp::NegotiatedSession& session, std::string_view uri) {
  for (const rtp::NegotiatedMedia& media : session.media) {
    if (!participant_sends(media)) continue;
    for (const rtp::Extmap& extmap : media.extmaps) {
      if (extmap.uri == uri && extmap.id > 0 && extmap.id <= 255) return static_cast<uint8_t>(extmap.id);
    }
  }
  return std::nullopt;
}

// The layers an m-line publishes: its simulcast rids, or one unnamed.
std::vector<std::string> layers_of(const rtp::NegotiatedMedia& media) {
  if (media.remote_rids.empty()) return {std::string()};
  return media.remote_rids;
}

// The SSRCs the SDP announces (else learned from the first packets).
rtp::SsrcDirectory::Entry ssrc_entry(const rtp::NegotiatedMedia& media, const rtp::StreamFormat& format,
                                     const std::string& rid) {
  rtp::SsrcDirectory::Entry entry{{format.payload_type}, format.rtx_payload_type, std::nullopt, std::nullopt, rid};
  if (rid.empty() && !media.remote_ssrcs.empty()) {
    entry.ssrc = media.remote_ssrcs.front().ssrc;
    entry.rtx_ssrc = media.remote_ssrcs.front().rtx_ssrc;
  }
  return entry;
}

}  // namespace

LineMedia::LineMedia(WorkerRouter& router, MediaTransport& transport, uint32_t seed, NtpClock ntp)
    : router_(router), transport_(transport), rtcp_ssrc_(seed | 1u), ntp_(ntp) {}

LineMedia::~LineMedia() {
  for (Leg& leg : legs_) {
    if (!leg.paused) router_.remove_leg(leg.leg.get());
  }
  for (const Published& stream : published_) router_.remove_source(stream.key);
}

LineMedia::Published LineMedia::make_published(StreamKey key, const std::string& mid, const std::string& rid,
                                               const rtp::StreamFormat& format, std::optional<uint32_t> ssrc) {
  Published stream{key, mid, rid, format, rtp::video_codec(format.codec_name), std::nullopt, rtp::KeyframeRequester()};
  if (ssrc) stream.statistics.emplace(*ssrc, format.clock_rate);
  return stream;
}

// One stream per m-line: a simulcast m-line's layers (consecutive in
// published_) are one stream with their keys as its layers.
std::vector<PublishedStream> LineMedia::published_streams() const {
  std::vector<PublishedStream> all;
  for (size_t i = 0; i < published_.size(); ++i) {
    const Published& stream = published_[i];
    if (i > 0 && !stream.rid.empty() && published_[i - 1].mid == stream.mid) {
      if (all.back().layers.empty()) all.back().layers.push_back(all.back().key);
      all.back().layers.push_back(stream.key);
      continue;
    }
    all.push_back(PublishedStream{stream.key, stream.format, stream.mid, {}, {}});
  }
  return all;
}

std::vector<PublishedStream> LineMedia::publish(const rtp::NegotiatedSession& session,
                                                const std::function<StreamKey()>& next_key) {
  for (const rtp::NegotiatedMedia& media : session.media) {
    auto format = published_format(media);
    if (!format) continue;
    for (const std::string& rid : layers_of(media)) {
      rtp::SsrcDirectory::Entry ssrcs = ssrc_entry(media, *format, rid);
      published_.push_back(make_published(next_key(), media.mid, rid, *format, ssrcs.ssrc));
      incoming_.add(std::move(ssrcs));
    }
  }
  for (Published& stream : published_) router_.add_source(stream.key, this);
  transport_cc_id_ = extension_id(session, rtp::kTransportCcExtensionUri);
  rid_id_ = extension_id(session, kRidUri);
  repaired_rid_id_ = extension_id(session, kRepairedRidUri);
  audio_level_id_ = extension_id(session, rtp::kAudioLevelExtensionUri);
  return published_streams();
}

std::vector<PublishedStream> LineMedia::republish(const rtp::NegotiatedSession& next,
                                                  const std::function<StreamKey()>& next_key) {
  std::vector<Published> published;
  rtp::SsrcDirectory incoming;
  std::vector<bool> kept(published_.size(), false);
  std::vector<StreamKey> added;
  for (const rtp::NegotiatedMedia& media : next.media) {
    auto format = published_format(media);
    if (!format) continue;
    for (const std::string& rid : layers_of(media)) {
      rtp::SsrcDirectory::Entry offered = ssrc_entry(media, *format, rid);
      size_t old = 0;
      while (old < published_.size() && (kept[old] || published_[old].mid != media.mid ||
                                         published_[old].rid != rid || !same_format(published_[old].format, *format))) {
        ++old;
      }
      if (old == published_.size()) {
        published.push_back(make_published(next_key(), media.mid, rid, *format, offered.ssrc));
        // An operator's force-mute of the kind holds for streams added later.
        published.back().forwarding = format->kind == rtp::MediaKind::kAudio ? forward_audio_ : forward_video_;
        incoming.add(std::move(offered));
        added.push_back(published.back().key);
        continue;
      }
      kept[old] = true;
      rtp::SsrcDirectory::Entry known = incoming_[old];  // announced or learned
      if (offered.ssrc && offered.ssrc != known.ssrc) {
        // Another RTP stream on the same m-line (RFC 3550: its own sequence
        // numbers), so its receive statistics start over.
        known.ssrc = offered.ssrc;
        known.rtx_ssrc = offered.rtx_ssrc;
        published_[old].statistics.emplace(*offered.ssrc, format->clock_rate);
      } else if (offered.rtx_ssrc) {
        known.rtx_ssrc = offered.rtx_ssrc;
      }
      published.push_back(std::move(published_[old]));
      incoming.add(std::move(known));
    }
  }
  for (size_t i = 0; i < published_.size(); ++i) {
    if (!kept[i]) router_.remove_source(published_[i].key);
  }
  published_ = std::move(published);
  incoming_ = std::move(incoming);
  for (StreamKey key : added) router_.add_source(key, this);
  // A re-offer keeps the BUNDLE's extension ids (rtp::answer_reoffer); it may
  // add an extension with its first m-line that negotiates it.
  if (!transport_cc_id_) transport_cc_id_ = extension_id(next, rtp::kTransportCcExtensionUri);
  if (!rid_id_) rid_id_ = extension_id(next, kRidUri);
  if (!repaired_rid_id_) repaired_rid_id_ = extension_id(next, kRepairedRidUri);
  if (!audio_level_id_) audio_level_id_ = extension_id(next, rtp::kAudioLevelExtensionUri);
  return published_streams();
}

// ---- publisher side ----

LineMedia::Published* LineMedia::published_by_key(StreamKey key) {
  for (Published& stream : published_) {
    if (stream.key == key) return &stream;
  }
  return nullptr;
}

size_t LineMedia::unwrap_rtx(std::span<uint8_t> packet, const rtp::RtpPacketView& view, const Published& stream) {
  const std::optional<uint32_t> ssrc = ssrc_of(stream);
  if (view.payload.size() < kRtxHeaderBytes || !ssrc) return 0;  // padding-only probes
  const size_t header = view.header_size;
  const uint16_t original = static_cast<uint16_t>((view.payload[0] << 8) | view.payload[1]);
  const size_t payload = view.payload.size() - kRtxHeaderBytes;
  std::memmove(packet.data() + header, packet.data() + header + kRtxHeaderBytes, payload);
  packet[0] &= static_cast<uint8_t>(~kPaddingBit);
  std::span<uint8_t> unwrapped = packet.first(header + payload);
  (void)rtp::set_rtp_sequence_number(unwrapped, original);
  (void)rtp::set_rtp_ssrc(unwrapped, *ssrc);
  (void)rtp::set_rtp_payload_type(unwrapped, stream.format.payload_type);
  return unwrapped.size();
}

void LineMedia::on_rtp(std::span<uint8_t> packet, int64_t now_us) {
  now_us_ = now_us;
  auto parsed = rtp::parse_rtp_packet(packet);
  if (!parsed) {
    ++stats_.malformed_drops;
    return;
  }
  // Every packet that crossed the transport counts for the sender's
  // estimate, also padding-only probes and packets of no known stream.
  record_transport_sequence(*parsed, now_us);
  auto match = incoming_.find(parsed->ssrc);
  if (!match) {
    match = incoming_.match(parsed->ssrc, parsed->payload_type, header_rid(*parsed, rid_id_),
                            header_rid(*parsed, repaired_rid_id_));
  }
  if (!match) {
    ++stats_.unknown_ssrc_drops;
    return;
  }
  Published& stream = published_[match->index];
  if (match->learned && !match->rtx) stream.statistics.emplace(parsed->ssrc, stream.format.clock_rate);
  if (match->rtx) {
    const size_t length = unwrap_rtx(packet, *parsed, stream);
    if (length == 0) return;
    parsed = rtp::parse_rtp_packet(packet.first(length));
    if (!parsed) {
      ++stats_.malformed_drops;
      return;
    }
  }
  ++stats_.received_packets;
  if (stream.statistics) stream.statistics->on_packet(parsed->sequence_number, parsed->timestamp, now_us, match->rtx);
  stream.bytes += parsed->payload.size();
  if (stream.codec != rtp::VideoCodec::kOther && rtp::is_keyframe_start(stream.codec, parsed->payload)) {
    stream.keyframes.on_keyframe(now_us);
  }
  if (!stream.forwarding) {
    ++stats_.muted_drops;
    ++thread_media_totals().muted_drops;
    return;
  }
  if (audio_level_id_ && stream.format.kind == rtp::MediaKind::kAudio) {
    if (auto level = rtp::read_audio_level(*parsed, *audio_level_id_)) stream.level.add(level->level);
  }
  router_.on_source_rtp(stream.key, *parsed, now_us);
}

std::string_view LineMedia::header_rid(const rtp::RtpPacketView& packet, std::optional<uint8_t> id) const {
  if (!id || !packet.has_extension) return {};
  auto value = rtp::find_header_extension(packet.extension_profile, packet.extension_data, *id);
  if (!value || value->empty()) return {};
  return std::string_view(reinterpret_cast<const char*>(value->data()), value->size());
}

void LineMedia::record_transport_sequence(const rtp::RtpPacketView& packet, int64_t now_us) {
  if (!transport_cc_id_ || !packet.has_extension) return;
  auto value = rtp::find_header_extension(packet.extension_profile, packet.extension_data, *transport_cc_id_);
  if (!value || value->size() != 2) return;
  transport_cc_.on_packet(static_cast<uint16_t>(((*value)[0] << 8) | (*value)[1]), now_us);
  transport_cc_media_ssrc_ = packet.ssrc;
}

void LineMedia::on_keyframe_request(StreamKey key, rtp::KeyframeRequestReason reason) {
  Published* stream = published_by_key(key);
  if (stream == nullptr || stream->codec == rtp::VideoCodec::kOther) return;
  stream->keyframes.request(reason, now_us_);
  if (stream->keyframes.poll(now_us_)) send_keyframe_request(*stream);
}

void LineMedia::on_retransmission_request(StreamKey key, std::span<const uint16_t> sequence_numbers) {
  Published* stream = published_by_key(key);
  if (stream == nullptr || !ssrc_of(*stream) || sequence_numbers.empty()) return;
  rtp::RtcpWriter writer(std::span(rtcp_out_.data(), 1500));
  if (rtp::write_nack(writer, rtcp_ssrc_, *ssrc_of(*stream), sequence_numbers).ok() && send_rtcp(writer.size())) {
    ++stats_.nacks_sent;
    ++thread_media_totals().nacks_sent;
  }
}

void LineMedia::send_keyframe_request(Published& stream) {
  const std::optional<uint32_t> ssrc = ssrc_of(stream);
  if (!ssrc) return;
  rtp::RtcpWriter writer(std::span(rtcp_out_.data(), 1500));
  // A request that cannot go out yet (transport not secure) is made again
  // by on_transport_secure().
  if (rtp::write_pli(writer, rtcp_ssrc_, *ssrc).ok() && send_rtcp(writer.size())) {
    ++stats_.keyframe_requests_sent;
    ++stream.keyframe_requests_sent;
    ++thread_media_totals().keyframe_requests_sent;
  }
}

void LineMedia::on_transport_secure(int64_t now_us) {
  now_us_ = now_us;
  for (const Leg& leg : legs_) {
    if (!leg.paused) router_.request_keyframe(*leg.leg, rtp::KeyframeRequestReason::kNewSubscriber);
  }
  for (Published& stream : published_) {
    if (stream.codec == rtp::VideoCodec::kOther) continue;
    stream.keyframes.request(rtp::KeyframeRequestReason::kNewSubscriber, now_us);
    if (stream.keyframes.poll(now_us)) send_keyframe_request(stream);
  }
}

// ---- what an operator sees and does ----

std::vector<PublishedStreamStats> LineMedia::published_stats() const {
  std::vector<PublishedStreamStats> all;
  for (const Published& stream : published_) {
    PublishedStreamStats stats;
    stats.key = stream.key;
    stats.rid = stream.rid;
    stats.format = stream.format;
    stats.ssrc = ssrc_of(stream);
    if (stream.statistics) {
      stats.packets = stream.statistics->packets_received();
      stats.cumulative_lost = stream.statistics->cumulative_lost();
      stats.jitter = stream.statistics->jitter();
    }
    stats.bytes = stream.bytes;
    stats.keyframe_requests_sent = stream.keyframe_requests_sent;
    stats.bitrate_bps = stream.bitrate_bps;
    stats.forwarding = stream.forwarding;
    all.push_back(std::move(stats));
  }
  return all;
}

void LineMedia::set_forwarding(rtp::MediaKind kind, bool forwarding) {
  if (kind == rtp::MediaKind::kAudio) forward_audio_ = forwarding;
  if (kind == rtp::MediaKind::kVideo) forward_video_ = forwarding;
  for (Published& stream : published_) {
    if (stream.format.kind != kind || stream.forwarding == forwarding) continue;
    stream.forwarding = forwarding;
    // Unmuted video starts on a keyframe for everyone who receives it.
    if (forwarding && stream.codec != rtp::VideoCodec::kOther) {
      stream.keyframes.request(rtp::KeyframeRequestReason::kNewSubscriber, now_us_);
      if (stream.keyframes.poll(now_us_)) send_keyframe_request(stream);
    }
  }
}

void LineMedia::on_rtcp(std::span<const uint8_t> compound, int64_t now_us) {
  now_us_ = now_us;
  if (!rtp::dispatch_rtcp(compound, *this)) ++stats_.malformed_drops;
}

void LineMedia::on_sender_report(const rtp::SenderReportView& report) {
  on_report_blocks(report.blocks);
  if (auto match = incoming_.find(report.sender_ssrc); match && !match->rtx) {
    Published& stream = published_[match->index];
    if (stream.statistics) stream.statistics->on_sender_report(report.info.ntp_timestamp, now_us_);
  }
}

// ---- timers ----

int64_t LineMedia::on_timer(int64_t now_us) {
  now_us_ = now_us;
  int64_t next = MediaHandler::kNoDeadline;
  for (Published& stream : published_) {
    if (stream.keyframes.poll(now_us)) send_keyframe_request(stream);
    if (auto wakeup = stream.keyframes.next_wakeup()) next = std::min(next, *wakeup);
  }
  if (auto due = transport_cc_.next_wakeup(); due && now_us >= *due) send_transport_feedback(now_us);
  if (auto due = transport_cc_.next_wakeup()) next = std::min(next, *due);
  if (now_us >= next_report_us_) {
    if (next_report_us_ != 0) update_bitrates(now_us - (next_report_us_ - kReportIntervalUs));
    next_report_us_ = now_us + kReportIntervalUs;
    send_reports(now_us);
    update_downlink(now_us);
  }
  next = std::min(next, next_report_us_);
  if (!audio_level_listener_ || !audio_level_id_) return next;
  if (now_us >= next_level_us_) {
    next_level_us_ = now_us + kLevelIntervalUs;
    report_audio_level();
  }
  return std::min(next, next_level_us_);
}

// Intervals of silence after the first are not reported: a line of a
// hundred muted occupants costs the control plane nothing.
void LineMedia::report_audio_level() {
  uint8_t loudest = rtp::kSilentAudioLevel;
  for (Published& stream : published_) {
    if (stream.format.kind == rtp::MediaKind::kAudio) loudest = std::min(loudest, stream.level.take());
  }
  if (loudest == rtp::kSilentAudioLevel && last_reported_level_ == rtp::kSilentAudioLevel) return;
  last_reported_level_ = loudest;
  audio_level_listener_(loudest);
}

void LineMedia::update_bitrates(int64_t elapsed_us) {
  if (elapsed_us <= 0) return;
  auto rate = [elapsed_us](uint64_t bytes, uint64_t& at_last_report) {
    const uint64_t bits = (bytes - at_last_report) * 8;
    at_last_report = bytes;
    return static_cast<uint64_t>(static_cast<double>(bits) * 1e6 / static_cast<double>(elapsed_us));
  };
  for (Published& stream : published_) stream.bitrate_bps = rate(stream.bytes, stream.bytes_at_last_report);
  for (Leg& leg : legs_) leg.bitrate_bps = rate(leg.leg->leg.octets_sent(), leg.bytes_at_last_report);
}

// One RTCP packet per feedback (reduced size, RFC 5506, as the PLI and
// NACKs go): each stays far below a datagram.
void LineMedia::send_transport_feedback(int64_t now_us) {
  for (;;) {
    rtp::RtcpWriter writer(std::span(rtcp_out_.data(), 1500));
    if (!transport_cc_.write_feedback(writer, rtcp_ssrc_, transport_cc_media_ssrc_, now_us)) return;
    if (send_rtcp(writer.size())) ++stats_.transport_feedbacks_sent;
  }
}

bool LineMedia::send_rtcp(size_t length) {
  return length > 0 && transport_.send_rtcp(rtcp_out_, length) == ice::SendResult::kSent;
}

// A receiver report about what the participant publishes, then one sender
// report per leg (so the subscriber can map each leg's RTP clock and count
// loss), in compounds that fit one datagram.
void LineMedia::send_reports(int64_t now_us) {
  std::vector<rtp::ReportBlock> blocks;
  for (Published& stream : published_) {
    if (stream.statistics && stream.statistics->packets_received() > 0) {
      blocks.push_back(stream.statistics->report_block(now_us));
    }
  }
  rtp::RtcpWriter writer(std::span(rtcp_out_.data(), 1500));
  if (!blocks.empty() &&
      rtp::write_report_compound(writer, rtcp_ssrc_, nullptr, blocks, kCname).ok()) {
    ++stats_.reports_sent;
  }
  const uint64_t ntp = ntp_.ntp(now_us);
  for (const Leg& leg : legs_) {
    const rtp::ForwardingLeg& forwarding = leg.leg->leg;
    if (forwarding.packets_sent() == 0) continue;
    const rtp::SenderInfo info = forwarding.sender_info(ntp, now_us);
    const size_t before = writer.size();
    if (!rtp::write_report_compound(writer, forwarding.ssrc(), &info, {}, kCname).ok()) {
      writer.truncate(before);
      send_rtcp(writer.size());
      writer = rtp::RtcpWriter(std::span(rtcp_out_.data(), 1500));
      if (!rtp::write_report_compound(writer, forwarding.ssrc(), &info, {}, kCname).ok()) continue;
    }
    ++stats_.reports_sent;
  }
  send_rtcp(writer.size());
}

}  // namespace partyline::core
