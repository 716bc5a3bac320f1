// TransportCcRecorder: the receiving end of transport-wide congestion control
// (draft-holmer-rmcat-transport-wide-cc-extensions-01). It notes when each
// transport-wide sequence number arrived and writes the feedback
// (transport_cc.hpp) that lets the sender's delay-based estimate (Chromium's
// GCC) ramp up, instead of probing for loss alone.
//
// Sans-I/O: arrival times come in with each packet, and the owner decides
// when to send (every kFeedbackIntervalUs, as libwebrtc's receivers do by
// default). Each range of sequence numbers is reported once; a packet that
// arrives after its range was reported (the sender counted it lost) is
// counted and forgotten. Nothing here allocates: the window of arrivals and
// the entries of one feedback are fixed arrays.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "rtp/packet/sequence_unwrapper.hpp"
#include "rtp/rtcp/transport_cc.hpp"

namespace partyline::rtp {

class TransportCcRecorder {
 public:
  static constexpr int64_t kFeedbackIntervalUs = 100'000;
  // Sequence numbers held between two feedbacks: at 100 ms intervals, room
  // for 10,000 packets per second. An arrival this far ahead of the oldest
  // unreported one pushes the oldest out unreported.
  static constexpr size_t kWindow = 1024;
  // Statuses per feedback packet: at most 2 bytes of delta and 2/7 of a
  // chunk each, so one feedback stays under 1,000 bytes.
  static constexpr size_t kMaxPacketsPerFeedback = 400;

  struct Stats {
    uint64_t recorded = 0;
    uint64_t duplicates = 0;   // a sequence number already recorded
    uint64_t late = 0;         // arrived after its range was reported
    uint64_t pushed_out = 0;   // left the window before a feedback reported it
    uint64_t feedbacks = 0;    // feedback packets written
  };

  TransportCcRecorder();

  // A packet with transport-wide sequence number `sequence` arrived at `arrival_us`.
  void on_packet(uint16_t sequence, int64_t arrival_us);

  // Whether arrivals wait to be reported.
  bool has_unreported() const { return started_ && highest_ >= next_to_report_; }
  // When the next feedback is due (with unreported arrivals), else nullopt.
  std::optional<int64_t> next_wakeup() const;

  // Writes one feedback packet for the oldest unreported arrivals into
  // `writer` (up to kMaxPacketsPerFeedback, fewer where a receive delta
  // would not fit 16 bits); false when nothing is unreported or it does not
  // fit. Call until false, sending each in turn; `now_us` starts the next
  // interval.
  bool write_feedback(RtcpWriter& writer, uint32_t sender_ssrc, uint32_t media_ssrc, int64_t now_us);

  const Stats& stats() const { return stats_; }

 private:
  static constexpr int64_t kNotReceived = -1;
  int64_t& slot(int64_t sequence) { return arrivals_[static_cast<size_t>(sequence) % kWindow]; }
  int64_t slot(int64_t sequence) const { return arrivals_[static_cast<size_t>(sequence) % kWindow]; }

  Unwrapper<uint16_t> unwrapper_;
  std::array<int64_t, kWindow> arrivals_;  // by unwrapped sequence number modulo kWindow
  // The unreported range is [next_to_report_, highest_] (empty when
  // highest_ is below it); slots outside it hold kNotReceived, and highest_
  // is always a received packet's.
  bool started_ = false;
  int64_t next_to_report_ = 0;
  int64_t highest_ = 0;
  bool reported_any_ = false;
  int64_t next_feedback_us_ = 0;
  uint8_t feedback_count_ = 0;
  std::array<TransportCcEntry, kMaxPacketsPerFeedback> entries_{};
  Stats stats_;
};

}  // namespace partyline::rtp
