#include "rtp/rtcp/transport_cc_recorder.hpp"

#include <algorithm>
#include <limits>

namespace partyline::rtp {
namespace {

constexpr int64_t kReferenceModulus = int64_t{1} << 24;

int64_t floor_div(int64_t value, int64_t divisor) {
  const int64_t quotient = value / divisor;
  return (value % divisor != 0 && (value < 0) != (divisor < 0)) ? quotient - 1 : quotient;
}

// The 24-bit field wraps (every 12 days of 64 ms units); receivers unwrap it
// against the previous feedback, so only its low 24 bits matter.
int32_t wrap_reference(int64_t reference) {
  int64_t wrapped = reference % kReferenceModulus;
  if (wrapped < 0) wrapped += kReferenceModulus;
  if (wrapped >= kReferenceModulus / 2) wrapped -= kReferenceModulus;
  return static_cast<int32_t>(wrapped);
}

}  // namespace

TransportCcRecorder::TransportCcRecorder() { arrivals_.fill(kNotReceived); }

void TransportCcRecorder::on_packet(uint16_t sequence, int64_t arrival_us) {
  const int64_t extended = unwrapper_.unwrap(sequence);
  if (!started_) {
    started_ = true;
    next_to_report_ = extended;
    highest_ = extended;
  } else if (extended < next_to_report_) {
    // Before the first feedback an earlier packet only extends the range
    // back; after it, the sender has been told this one was lost.
    if (reported_any_ || highest_ - extended >= static_cast<int64_t>(kWindow)) {
      ++stats_.late;
      return;
    }
    next_to_report_ = extended;
  } else if (extended - next_to_report_ >= static_cast<int64_t>(kWindow)) {
    const int64_t new_start = extended - static_cast<int64_t>(kWindow) + 1;
    for (int64_t old = next_to_report_; old < std::min(new_start, highest_ + 1); ++old) {
      if (slot(old) == kNotReceived) continue;
      slot(old) = kNotReceived;
      ++stats_.pushed_out;
    }
    next_to_report_ = new_start;
  }
  if (slot(extended) != kNotReceived) {
    ++stats_.duplicates;
    return;
  }
  slot(extended) = arrival_us;
  highest_ = std::max(highest_, extended);
  ++stats_.recorded;
}

std::optional<int64_t> TransportCcRecorder::next_wakeup() const {
  if (!has_unreported()) return std::nullopt;
  return next_feedback_us_;
}

bool TransportCcRecorder::write_feedback(RtcpWriter& writer, uint32_t sender_ssrc, uint32_t media_ssrc,
                                         int64_t now_us) {
  if (!has_unreported()) return false;
  const int64_t first = next_to_report_;
  int64_t first_received = first;
  while (slot(first_received) == kNotReceived) ++first_received;  // ends at highest_ at the latest
  const int64_t reference = floor_div(slot(first_received), kTransportCcReferenceUs);
  int64_t previous_ticks = 0;  // the reference itself
  size_t count = 0;
  int64_t sequence = first;
  for (; sequence <= highest_ && count < entries_.size(); ++sequence) {
    const int64_t arrival = slot(sequence);
    if (arrival == kNotReceived) {
      entries_[count++] = TransportCcEntry{false, 0};
      continue;
    }
    // Ticks since the reference, rounded; deltas between them, so rounding
    // never accumulates.
    const int64_t ticks = floor_div(arrival - reference * kTransportCcReferenceUs + kTransportCcDeltaUs / 2,
                                    kTransportCcDeltaUs);
    const int64_t delta = ticks - previous_ticks;
    if (delta < std::numeric_limits<int16_t>::min() || delta > std::numeric_limits<int16_t>::max()) break;
    entries_[count++] = TransportCcEntry{true, static_cast<int32_t>(delta)};
    previous_ticks = ticks;
  }
  const TransportCcFeedback feedback{sender_ssrc, media_ssrc, static_cast<uint16_t>(first),
                                     wrap_reference(reference), feedback_count_};
  if (!write_transport_cc(writer, feedback, std::span(entries_.data(), count)).ok()) return false;
  for (int64_t reported = first; reported < sequence; ++reported) slot(reported) = kNotReceived;
  next_to_report_ = sequence;
  reported_any_ = true;
  ++feedback_count_;
  ++stats_.feedbacks;
  next_feedback_us_ = now_us + kFeedbackIntervalUs;
  return true;
}

}  // namespace partyline::rtp
