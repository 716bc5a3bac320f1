#include "rtp/rtcp/receive_statistics.hpp"

#include <algorithm>
#include <cstdlib>

namespace partyline::rtp {
namespace {
constexpr int64_t kMaxCumulativeLost = 0x7FFFFF;  // 24-bit signed field
constexpr int64_t kMinCumulativeLost = -0x800000;
}  // namespace

ReceiveStatistics::ReceiveStatistics(uint32_t ssrc, uint32_t clock_rate)
    : ssrc_(ssrc), clock_rate_(clock_rate) {}

void ReceiveStatistics::on_packet(uint16_t sequence_number, uint32_t rtp_timestamp,
                                  int64_t arrival_us, bool retransmission) {
  const int64_t sequence = unwrapper_.unwrap(sequence_number);
  // A packet older than the first one was expected too.
  if (received_ == 0 || sequence < first_sequence_) first_sequence_ = sequence;
  ++received_;
  if (!retransmission) update_jitter(rtp_timestamp, arrival_us);
}

void ReceiveStatistics::update_jitter(uint32_t rtp_timestamp, int64_t arrival_us) {
  if (!first_arrival_us_) first_arrival_us_ = arrival_us;
  // Arrival in RTP clock units, relative to the first so it cannot overflow.
  const int64_t arrival_ticks = (arrival_us - *first_arrival_us_) * clock_rate_ / 1'000'000;
  const auto transit = static_cast<uint32_t>(arrival_ticks - int64_t{rtp_timestamp});
  if (last_transit_) {
    const int64_t d = std::abs(int64_t{static_cast<int32_t>(transit - *last_transit_)});
    jitter_q4_ += d - ((jitter_q4_ + 8) >> 4);
  }
  last_transit_ = transit;
}

void ReceiveStatistics::on_sender_report(uint64_t ntp_timestamp, int64_t arrival_us) {
  last_sender_report_ = static_cast<uint32_t>(ntp_timestamp >> 16);
  last_sender_report_arrival_us_ = arrival_us;
}

int64_t ReceiveStatistics::cumulative_lost() const {
  if (received_ == 0) return 0;
  const int64_t expected = *unwrapper_.highest() - first_sequence_ + 1;
  return expected - static_cast<int64_t>(received_);
}

ReportBlock ReceiveStatistics::report_block(int64_t now_us) {
  ReportBlock block;
  block.ssrc = ssrc_;
  if (last_sender_report_arrival_us_) {
    block.last_sender_report = last_sender_report_;
    const int64_t delay_us = std::max<int64_t>(0, now_us - *last_sender_report_arrival_us_);
    block.delay_since_last_sender_report = static_cast<uint32_t>(delay_us * 65536 / 1'000'000);
  }
  if (received_ == 0) return block;

  const int64_t expected = *unwrapper_.highest() - first_sequence_ + 1;
  const int64_t expected_interval = expected - expected_prior_;
  const int64_t received_interval = static_cast<int64_t>(received_ - received_prior_);
  const int64_t lost_interval = expected_interval - received_interval;
  expected_prior_ = expected;
  received_prior_ = received_;
  if (expected_interval > 0 && lost_interval > 0) {
    block.fraction_lost =
        static_cast<uint8_t>(std::min<int64_t>(255, (lost_interval << 8) / expected_interval));
  }
  block.cumulative_lost =
      static_cast<int32_t>(std::clamp(cumulative_lost(), kMinCumulativeLost, kMaxCumulativeLost));
  block.extended_highest_sequence = static_cast<uint32_t>(*unwrapper_.highest());
  block.jitter = jitter();
  return block;
}

}  // namespace partyline::rtp
