// The fixture of the forwarding benchmarks: one publisher's stream fanned out
// to N subscribers through core::MediaFabric, each subscriber's leg ending in
// a sink that does what the server's transport does with it: SRTP protect in
// place (its own outbound session, random keys), and optionally a real UDP
// send on loopback.
//
// The publisher and subscribers number the stream differently (payload types
// and header extension ids), so every leg maps PT and ids and blanks the
// publisher's mid, as it would in a real call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/media/media_router.hpp"
#include "rtp/forward/forwarding_leg.hpp"
#include "rtp/packet/rtp_packet.hpp"
#include "rtp/srtp/srtp_session.hpp"

namespace partyline::bench {

// What the publisher sends: 1200-byte VP8 video (5 packets per 30 fps frame)
// or 160-byte Opus audio (one 20 ms frame per packet).
enum class MediaProfile { kVideo, kAudio };
size_t packet_size(MediaProfile profile);
const char* profile_name(MediaProfile profile);

// How each side numbers the stream (make_leg_config's inputs).
rtp::StreamFormat publisher_format(MediaProfile profile);
rtp::StreamFormat subscriber_format(MediaProfile profile);

// The publisher's live stream: a valid RTP packet with a one-byte header
// extension block (sdes:mid id 1, abs-send-time id 3), whose sequence number,
// timestamp, marker and abs-send-time advance with every next().
class PublisherStream {
 public:
  static constexpr uint32_t kSsrc = 0x5EED0001;

  explicit PublisherStream(MediaProfile profile);

  // Advances to the next packet of the stream and returns its bytes, which
  // stay valid (and change) until the next call. The virtual clock advances
  // by the packet's share of its frame's duration.
  std::span<const uint8_t> next();
  int64_t now_us() const { return now_us_; }
  size_t size() const { return bytes_.size(); }

 private:
  MediaProfile profile_;
  std::vector<uint8_t> bytes_;
  size_t abs_send_time_offset_ = 0;
  size_t payload_offset_ = 0;
  uint16_t sequence_number_ = 0;
  uint32_t timestamp_ = 0;
  uint64_t packets_ = 0;
  int64_t now_us_ = 0;
};

// A fresh outbound AES_CM_128_HMAC_SHA1_80 session with random master keys;
// throws std::runtime_error when libsrtp refuses.
rtp::SrtpSession random_outbound_srtp_session();

// What the server's transport does with a leg's packet, minus the network:
// protect in place. Protect failures are refused sends.
class SrtpLegSink : public core::LegSink {
 public:
  explicit SrtpLegSink(rtp::SrtpSession session) : session_(std::move(session)) {}
  ice::SendResult send_leg_rtp(std::span<uint8_t> buffer, size_t length) override;
  uint64_t protect_failures() const { return protect_failures_; }

 protected:
  rtp::SrtpSession session_;
  uint64_t protect_failures_ = 0;
};

// Owns a file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  ~UniqueFd();
  int get() const { return fd_; }
  int release();

 private:
  int fd_ = -1;
};

// The subscriber's end of the wire: a UDP socket bound on 127.0.0.1 that
// nobody reads except drain(), which the benchmarks call outside the timed
// region. Its receive buffer is made as large as the kernel allows.
class UdpReceiver {
 public:
  UdpReceiver();  // throws std::runtime_error
  uint16_t port() const { return port_; }
  size_t receive_buffer_bytes() const { return receive_buffer_bytes_; }
  // Reads and discards everything queued; returns how many datagrams.
  uint64_t drain();

 private:
  UniqueFd socket_;
  uint16_t port_ = 0;
  size_t receive_buffer_bytes_ = 0;
  std::vector<uint8_t> drain_buffer_;  // drain()'s batch of datagrams
};

// True when a datagram sent to 127.0.0.1 arrives (loopback is up).
bool loopback_usable();

// Protect, then sendto(MSG_DONTWAIT) on the leg's own UDP socket (as each
// subscriber has its own transport). EAGAIN is a drop, counted.
class UdpLegSink : public SrtpLegSink {
 public:
  UdpLegSink(rtp::SrtpSession session, uint16_t destination_port);  // throws std::runtime_error
  ice::SendResult send_leg_rtp(std::span<uint8_t> buffer, size_t length) override;
  uint64_t would_block() const { return would_block_; }
  uint64_t send_errors() const { return send_errors_; }

 private:
  UniqueFd socket_;
  uint16_t destination_port_;
  uint64_t would_block_ = 0;
  uint64_t send_errors_ = 0;
};

enum class SinkKind { kSrtp, kSrtpUdp };

struct LineSpec {
  MediaProfile profile = MediaProfile::kVideo;
  size_t subscribers = 1;
  // Legs are spread evenly over the workers; the publisher is on worker 0.
  size_t workers = 1;
  SinkKind sink = SinkKind::kSrtp;
  uint16_t udp_port = 0;  // the receiver, for kSrtpUdp
  core::MediaFabric::Waker waker;
  // A simulcast publisher (video): every packet enters the router once per
  // layer, under the layer's key, and each leg takes all of them and
  // forwards one (rtp::LayerSelector: the last layer, the tallest by
  // order). 1: no simulcast.
  size_t layers = 1;
};

// One publisher, N subscriber legs, their sinks, and the fabric they live in.
// Built and destroyed on one thread, while no worker thread runs.
class ForwardingLine {
 public:
  static constexpr core::StreamKey kKey = 7;

  explicit ForwardingLine(const LineSpec& spec);  // throws std::runtime_error
  ~ForwardingLine();
  ForwardingLine(const ForwardingLine&) = delete;
  ForwardingLine& operator=(const ForwardingLine&) = delete;

  core::MediaFabric& fabric() { return fabric_; }
  PublisherStream& stream() { return stream_; }

  // Publishes the stream's next packet on worker 0: parse, then
  // on_source_rtp, as the server does after SRTP unprotect.
  void publish_next();

  // Sums over every router (call while no worker thread runs).
  uint64_t forwarded();
  uint64_t drops();
  uint64_t drops(core::RouterDrop reason);
  // Sums over the UDP sinks.
  uint64_t udp_would_block() const;
  uint64_t udp_send_errors() const;
  // Why some packet was not forwarded, or empty: for SkipWithError.
  std::string drop_summary();

 private:
  class NullSourceOwner : public core::SourceOwner {
   public:
    void on_keyframe_request(core::StreamKey, rtp::KeyframeRequestReason) override {}
    void on_retransmission_request(core::StreamKey, std::span<const uint16_t>) override {}
  };

  core::MediaFabric fabric_;
  PublisherStream stream_;
  NullSourceOwner owner_;
  std::vector<std::unique_ptr<SrtpLegSink>> sinks_;
  std::vector<UdpLegSink*> udp_sinks_;  // the sinks_ that are UdpLegSink
  std::vector<std::unique_ptr<core::SubscriberLeg>> legs_;
  std::vector<size_t> leg_workers_;  // legs_[i] is on worker leg_workers_[i]
  size_t layers_ = 1;
};

}  // namespace partyline::bench
