// LineMedia's subscriber side: the legs of other occupants' streams that
// the participant receives, what its RTCP says about them (receiver reports,
// PLI/FIR, NACKs) and what it asked of them (layer limits). The publisher
// side and the timers are in line_media.cpp.
#include <algorithm>

#include "core/media/line_media.hpp"
#include "core/media/media_totals.hpp"

namespace partyline::core {

std::vector<UnreceivedStream> LineMedia::set_legs(const rtp::NegotiatedSession& session,
                                                  const std::vector<LegRequest>& requests) {
  std::vector<Leg> next;
  std::vector<UnreceivedStream> failed;
  for (size_t i = 0; i < session.slots.size() && i < session.media.size(); ++i) {
    const rtp::MediaSlot& slot = session.slots[i];
    const rtp::NegotiatedMedia& media = session.media[i];
    if (!slot.stream || !media.accepted) continue;
    auto request = std::find_if(requests.begin(), requests.end(), [&](const LegRequest& candidate) {
      return candidate.stream_id == slot.stream->stream_id && candidate.track_id == slot.stream->track_id;
    });
    if (request == requests.end()) continue;
    // An unchanged leg keeps its numbering: the subscriber sees one stream.
    auto existing = std::find_if(legs_.begin(), legs_.end(), [&](const Leg& leg) {
      return leg.leg && leg.leg->key == request->key && leg.leg->leg.ssrc() == slot.stream->ssrc;
    });
    if (existing != legs_.end()) {
      next.push_back(std::move(*existing));
      continue;
    }
    auto leg_format = rtp::stream_format(media);
    if (!leg_format) {
      failed.push_back(UnreceivedStream{request->stream_id, request->track_id, media.kind,
                                        request->source_format.codec_name, "its m-line has no codec"});
      continue;
    }
    auto config = rtp::make_leg_config(request->source_format, *leg_format, slot.stream->ssrc,
                                       slot.stream->rtx_ssrc, slot.stream->ssrc * 2654435761u);
    if (!config) {
      failed.push_back(UnreceivedStream{request->stream_id, request->track_id, media.kind,
                                        request->source_format.codec_name, config.error().message});
      continue;
    }
    auto leg = std::make_unique<SubscriberLeg>(request->key, request->source_worker, *config, this, request->layers,
                                               rtp::video_codec(request->source_format.codec_name));
    leg->selector.set_max_height(height_limit(request->stream_id, request->track_id));
    const bool paused = media.kind == rtp::MediaKind::kVideo && !receives_video_from(request->stream_id);
    if (!paused) router_.add_leg(leg.get(), media.kind == rtp::MediaKind::kVideo);
    next.push_back(Leg{std::move(leg), request->stream_id, request->track_id,
                       LegReport{.ssrc = slot.stream->ssrc, .round_trip_us = std::nullopt}});
    next.back().kind = media.kind;
    next.back().paused = paused;
  }
  for (Leg& leg : legs_) {
    if (leg.leg && !leg.paused) router_.remove_leg(leg.leg.get());
  }
  legs_ = std::move(next);
  return failed;
}

ice::SendResult LineMedia::send_leg_rtp(std::span<uint8_t> buffer, size_t length) {
  return transport_.send_rtp(buffer, length);
}

LineMedia::Leg* LineMedia::leg_by_ssrc(uint32_t ssrc) {
  for (Leg& leg : legs_) {
    if (leg.leg->leg.ssrc() == ssrc) return &leg;
  }
  return nullptr;
}

std::vector<LegStats> LineMedia::leg_stats() const {
  std::vector<LegStats> all;
  for (const Leg& leg : legs_) {
    const rtp::ForwardingLeg& forwarding = leg.leg->leg;
    all.push_back(LegStats{leg.leg->key, leg.stream_id, leg.track_id, forwarding.packets_sent(),
                           forwarding.octets_sent(), forwarding.retransmissions_sent(), leg.nacked_packets,
                           leg.keyframe_requests, leg.bitrate_bps, leg.report, leg.paused});
  }
  return all;
}

void LineMedia::set_max_height(const std::string& stream_id, const std::string& track_id,
                               std::optional<uint32_t> max_height) {
  // The latest word on a track counts: a stream-wide one replaces the
  // stream's per-track ones, a track's own (a limit, or none) outranks the
  // stream-wide one.
  std::erase_if(height_limits_, [&](const HeightLimit& limit) {
    return limit.stream_id == stream_id && (track_id.empty() || limit.track_id == track_id);
  });
  if (max_height || !track_id.empty()) height_limits_.push_back(HeightLimit{stream_id, track_id, max_height});
  for (Leg& leg : legs_) {
    if (leg.stream_id == stream_id && (track_id.empty() || leg.track_id == track_id)) {
      leg.leg->selector.set_max_height(height_limit(leg.stream_id, leg.track_id));
    }
  }
}

// The latest limit that names the leg's track, or its whole stream.
std::optional<uint32_t> LineMedia::height_limit(const std::string& stream_id, const std::string& track_id) const {
  for (auto limit = height_limits_.rbegin(); limit != height_limits_.rend(); ++limit) {
    if (limit->stream_id == stream_id && (limit->track_id.empty() || limit->track_id == track_id)) {
      return limit->max_height;
    }
  }
  return std::nullopt;
}

bool LineMedia::receives_video_from(const std::string& stream_id) const {
  return !video_from_ || std::find(video_from_->begin(), video_from_->end(), stream_id) != video_from_->end();
}

void LineMedia::set_video_from(std::optional<std::vector<std::string>> publishers) {
  video_from_ = std::move(publishers);
  for (Leg& leg : legs_) {
    if (leg.kind != rtp::MediaKind::kVideo) continue;
    const bool paused = !receives_video_from(leg.stream_id);
    if (paused == leg.paused) continue;
    leg.paused = paused;
    SubscriberLeg& subscriber = *leg.leg;
    if (paused) {
      router_.remove_leg(&subscriber);
      continue;
    }
    // As a new leg: it starts on a keyframe of the layer its selector picks.
    subscriber.leg.restart();
    subscriber.selector = rtp::LayerSelector(subscriber.layer_count);
    subscriber.selector.set_max_height(height_limit(leg.stream_id, leg.track_id));
    subscriber.current = subscriber.key;
    router_.add_leg(&subscriber, true);
  }
}

// The estimate is shared among the simulcast legs, after what the legs
// that cannot adapt (audio, single-layer video) take.
void LineMedia::update_downlink(int64_t now_us) {
  std::optional<double> loss;
  uint64_t sent_bps = 0, fixed_bps = 0;
  size_t layered = 0;
  for (Leg& leg : legs_) {
    if (leg.paused) continue;
    sent_bps += leg.bitrate_bps;
    if (leg.leg->layer_count > 0) {
      ++layered;
    } else {
      fixed_bps += leg.bitrate_bps;
    }
    if (leg.kind == rtp::MediaKind::kVideo && leg.fresh_report) {
      loss = std::max(loss.value_or(0.0), leg.report.fraction_lost / 256.0);
    }
    leg.fresh_report = false;
  }
  if (loss) downlink_.on_interval(*loss, sent_bps, now_us);
  stats_.downlink_estimate_bps = downlink_.estimate_bps();
  for (Leg& leg : legs_) {
    if (leg.leg->layer_count == 0) continue;
    std::optional<uint64_t> share;
    if (const auto estimate = downlink_.estimate_bps()) {
      share = (*estimate > fixed_bps ? *estimate - fixed_bps : 0) / std::max<size_t>(layered, 1);
    }
    leg.leg->selector.set_max_bitrate(share);
  }
}

std::vector<LegReport> LineMedia::leg_reports() const {
  std::vector<LegReport> reports;
  for (const Leg& leg : legs_) reports.push_back(leg.report);
  return reports;
}

// RFC 3550 6.4.1: round trip = arrival - LSR - DLSR, in 1/65536 s.
void LineMedia::on_report_blocks(const rtp::ReportBlockList& blocks) {
  const uint32_t arrival = static_cast<uint32_t>(ntp_.ntp(now_us_) >> 16);
  for (size_t i = 0; i < blocks.size(); ++i) {
    const rtp::ReportBlock block = blocks[i];
    for (Leg& leg : legs_) {
      if (leg.report.ssrc != block.ssrc) continue;
      leg.report.fraction_lost = block.fraction_lost;
      leg.fresh_report = true;
      leg.report.cumulative_lost = block.cumulative_lost;
      leg.report.jitter = block.jitter;
      if (block.last_sender_report != 0) {
        const uint32_t round_trip = arrival - block.last_sender_report - block.delay_since_last_sender_report;
        if (round_trip < (1u << 31)) leg.report.round_trip_us = int64_t{round_trip} * 1'000'000 / 65536;
      }
    }
  }
}

void LineMedia::on_receiver_report(const rtp::ReceiverReportView& report) { on_report_blocks(report.blocks); }

void LineMedia::on_fir(const rtp::FirView& fir) {
  for (size_t i = 0; i < fir.entry_count(); ++i) {
    if (Leg* leg = leg_by_ssrc(fir.entry(i).ssrc)) {
      ++leg->keyframe_requests;
      ++thread_media_totals().keyframe_requests_received;
      router_.request_keyframe(*leg->leg);
    }
  }
}

void LineMedia::on_pli(const rtp::PliView& pli) {
  if (Leg* leg = leg_by_ssrc(pli.media_ssrc)) {
    ++leg->keyframe_requests;
    ++thread_media_totals().keyframe_requests_received;
    router_.request_keyframe(*leg->leg);
  }
}

void LineMedia::on_nack(const rtp::NackView& nack, std::span<const uint16_t> lost) {
  if (Leg* leg = leg_by_ssrc(nack.media_ssrc)) {
    leg->nacked_packets += lost.size();
    thread_media_totals().nacked_packets_received += lost.size();
    router_.on_leg_nack(*leg->leg, lost, now_us_);
  }
}

}  // namespace partyline::core
