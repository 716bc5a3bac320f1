// dispatch_rtcp: one reading of a decrypted RTCP compound for every media
// handler. The packets a media server acts on (sender and receiver reports,
// PLI, FIR, generic NACK) reach the handler's virtual functions already
// parsed; everything else is skipped. Echo and SFU media used to walk the
// compound each on their own, with the same switch over packet types.
//
// Pure: no allocation (NACKs expand into a fixed array), no clock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "rtp/rtcp/rtcp_feedback.hpp"
#include "rtp/rtcp/rtcp_packet.hpp"
#include "rtp/rtcp/rtcp_reports.hpp"

namespace partyline::rtp {

class RtcpHandler {
 public:
  virtual ~RtcpHandler() = default;
  virtual void on_sender_report(const SenderReportView& /*report*/) {}
  virtual void on_receiver_report(const ReceiverReportView& /*report*/) {}
  virtual void on_pli(const PliView& /*pli*/) {}
  virtual void on_fir(const FirView& /*fir*/) {}
  // `lost`: the sequence numbers the NACK names, at most kMaxNackedPerMessage
  // (a longer list is truncated: the receiver asks again).
  virtual void on_nack(const NackView& /*nack*/, std::span<const uint16_t> /*lost*/) {}
};

inline constexpr size_t kMaxNackedPerMessage = 256;

// Walks `compound`; returns false when it is malformed (the packets before
// the fault were dispatched). A packet of a known type that does not parse is
// skipped, as RFC 3550 asks of what a receiver cannot use.
bool dispatch_rtcp(std::span<const uint8_t> compound, RtcpHandler& handler);

}  // namespace partyline::rtp
