// ReceiveStatistics: what an RTCP receiver report says about one received
// stream (RFC 3550 section 6.4.1 and appendices A.3 and A.8): extended
// highest sequence number, cumulative and fractional loss, interarrival
// jitter, and the LSR/DLSR echo of the sender's last SR.
//
// Loss counts as RFC 3550 A.3 does: expected = highest - first + 1, and every
// packet received counts, duplicates included, so cumulative loss can go
// down (and below zero). Jitter follows A.8 in its integer form (scaled by
// 16), over every packet except retransmissions, whose send time says
// nothing about the network path of the original.
#pragma once

#include <cstdint>
#include <optional>

#include "rtp/rtcp/rtcp_reports.hpp"
#include "rtp/packet/sequence_unwrapper.hpp"

namespace partyline::rtp {

class ReceiveStatistics {
 public:
  ReceiveStatistics(uint32_t ssrc, uint32_t clock_rate);

  void on_packet(uint16_t sequence_number, uint32_t rtp_timestamp, int64_t arrival_us,
                 bool retransmission = false);
  // `ntp_timestamp` from the SR's sender info (64-bit NTP format).
  void on_sender_report(uint64_t ntp_timestamp, int64_t arrival_us);

  // The block for the next RR/SR; starts a new fraction-lost interval.
  ReportBlock report_block(int64_t now_us);

  uint32_t ssrc() const { return ssrc_; }
  uint64_t packets_received() const { return received_; }
  int64_t cumulative_lost() const;
  std::optional<int64_t> extended_highest_sequence() const { return unwrapper_.highest(); }
  uint32_t jitter() const { return static_cast<uint32_t>(jitter_q4_ >> 4); }  // clock units

 private:
  void update_jitter(uint32_t rtp_timestamp, int64_t arrival_us);

  uint32_t ssrc_;
  uint32_t clock_rate_;

  SequenceUnwrapper unwrapper_;
  int64_t first_sequence_ = 0;
  uint64_t received_ = 0;
  int64_t expected_prior_ = 0;
  uint64_t received_prior_ = 0;

  std::optional<int64_t> first_arrival_us_;  // origin of the arrival clock
  std::optional<uint32_t> last_transit_;
  int64_t jitter_q4_ = 0;  // jitter x 16, RFC 3550 A.8

  uint32_t last_sender_report_ = 0;  // middle 32 bits of its NTP time
  std::optional<int64_t> last_sender_report_arrival_us_;
};

}  // namespace partyline::rtp
