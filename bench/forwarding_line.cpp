#include "bench/forwarding_line.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <random>
#include <stdexcept>

#include "rtp/packet/rtp_header_extensions.hpp"

namespace partyline::bench {

namespace {

constexpr const char* kMidUri = "urn:ietf:params:rtp-hdrext:sdes:mid";
constexpr const char* kAbsSendTimeUri = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
constexpr const char* kTransportCcUri =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
constexpr uint8_t kMidId = 1;
constexpr uint8_t kAbsSendTimeId = 3;

// Video: 5 packets per frame at 30 fps (about 1.4 Mbit/s of 1200-byte packets).
constexpr uint64_t kVideoPacketsPerFrame = 5;
constexpr uint32_t kVideoTicksPerFrame = 90'000 / 30;
constexpr int64_t kVideoFrameUs = 1'000'000 / 30;
// Audio: one 20 ms Opus frame per packet.
constexpr uint32_t kAudioTicksPerPacket = 48'000 / 50;
constexpr int64_t kAudioPacketUs = 20'000;

// UdpReceiver::drain reads this many datagrams per recvmmsg.
constexpr size_t kDrainBatch = 64;
constexpr size_t kDatagramBytes = 1536;

std::mt19937_64& random_engine() {
  static std::mt19937_64 engine{std::random_device{}()};
  return engine;
}

rtp::Extmap extmap(uint16_t id, const char* uri) {
  rtp::Extmap map;
  map.id = id;
  map.uri = uri;
  return map;
}

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

[[noreturn]] void fail_errno(const std::string& what) { fail(what + ": " + std::strerror(errno)); }

sockaddr_in loopback_address(uint16_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

UniqueFd bound_udp_socket() {
  UniqueFd socket_fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (socket_fd.get() < 0) fail_errno("socket");
  const sockaddr_in address = loopback_address(0);
  if (::bind(socket_fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    fail_errno("bind 127.0.0.1");
  }
  return socket_fd;
}

uint16_t bound_port(const UniqueFd& socket_fd) {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  if (::getsockname(socket_fd.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) fail_errno("getsockname");
  return ntohs(address.sin_port);
}

}  // namespace

// ---- the stream ----

size_t packet_size(MediaProfile profile) { return profile == MediaProfile::kVideo ? 1200 : 160; }

const char* profile_name(MediaProfile profile) { return profile == MediaProfile::kVideo ? "video" : "audio"; }

rtp::StreamFormat publisher_format(MediaProfile profile) {
  rtp::StreamFormat format;
  if (profile == MediaProfile::kVideo) {
    format = {rtp::MediaKind::kVideo, "VP8", 90'000, 96, 97, {}};
  } else {
    format = {rtp::MediaKind::kAudio, "opus", 48'000, 111, std::nullopt, {}};
  }
  format.extmaps = {extmap(kMidId, kMidUri), extmap(kAbsSendTimeId, kAbsSendTimeUri), extmap(5, kTransportCcUri)};
  return format;
}

rtp::StreamFormat subscriber_format(MediaProfile profile) {
  rtp::StreamFormat format;
  if (profile == MediaProfile::kVideo) {
    format = {rtp::MediaKind::kVideo, "VP8", 90'000, 100, 101, {}};
  } else {
    format = {rtp::MediaKind::kAudio, "opus", 48'000, 109, std::nullopt, {}};
  }
  // Other ids than the publisher's: abs-send-time 3 becomes 2; mid is never
  // forwarded (it names the publisher's m-line).
  format.extmaps = {extmap(4, kMidUri), extmap(2, kAbsSendTimeUri), extmap(7, kTransportCcUri)};
  return format;
}

PublisherStream::PublisherStream(MediaProfile profile) : profile_(profile), bytes_(packet_size(profile)) {
  std::array<uint8_t, 16> extension_bytes{};
  rtp::HeaderExtensionBuilder extensions(rtp::ExtensionForm::kOneByte, extension_bytes);
  const std::array<uint8_t, 1> mid = {'0'};
  const std::array<uint8_t, 3> abs_send_time{};
  if (extensions.add(kMidId, mid) != rtp::HeaderExtensionError::kNone ||
      extensions.add(kAbsSendTimeId, abs_send_time) != rtp::HeaderExtensionError::kNone) {
    fail("header extension builder refused mid/abs-send-time");
  }
  rtp::RtpHeaderSpec header;
  header.payload_type = publisher_format(profile).payload_type;
  header.ssrc = kSsrc;
  header.has_extension = true;
  header.extension_profile = extensions.profile();
  header.extension_data = extensions.data();
  const size_t header_size = 12 + 4 + extensions.data().size();
  std::vector<uint8_t> payload(bytes_.size() - header_size);
  std::generate(payload.begin(), payload.end(), [] { return static_cast<uint8_t>(random_engine()()); });
  auto written = rtp::serialize_rtp_packet(header, payload, bytes_);
  if (!written || *written != bytes_.size()) fail("serialize_rtp_packet did not write the whole packet");

  auto parsed = rtp::parse_rtp_packet(bytes_);
  if (!parsed) fail("the publisher's packet does not parse");
  auto value = rtp::find_header_extension(parsed->extension_profile, parsed->extension_data, kAbsSendTimeId);
  if (!value || value->size() != 3) fail("abs-send-time not found in the publisher's packet");
  abs_send_time_offset_ = static_cast<size_t>(value->data() - bytes_.data());
  payload_offset_ = parsed->header_size;
  sequence_number_ = static_cast<uint16_t>(random_engine()());
  timestamp_ = static_cast<uint32_t>(random_engine()());
}

std::span<const uint8_t> PublisherStream::next() {
  std::span<uint8_t> packet(bytes_);
  bool last_of_frame = true;
  if (profile_ == MediaProfile::kVideo) {
    last_of_frame = packets_ % kVideoPacketsPerFrame == kVideoPacketsPerFrame - 1;
    now_us_ += kVideoFrameUs / static_cast<int64_t>(kVideoPacketsPerFrame);
  } else {
    now_us_ += kAudioPacketUs;
  }
  (void)rtp::set_rtp_sequence_number(packet, sequence_number_++);
  (void)rtp::set_rtp_timestamp(packet, timestamp_);
  (void)rtp::set_rtp_marker(packet, last_of_frame);
  if (profile_ == MediaProfile::kVideo) {
    // VP8: S=1, partition 0, P=0 (a keyframe) on a frame's first packet,
    // else a continuation; what a simulcast leg needs to start forwarding.
    const bool first_of_frame = packets_ % kVideoPacketsPerFrame == 0;
    bytes_[payload_offset_] = first_of_frame ? 0x10 : 0x00;
    bytes_[payload_offset_ + 1] = 0x00;
  }
  if (last_of_frame) timestamp_ += profile_ == MediaProfile::kVideo ? kVideoTicksPerFrame : kAudioTicksPerPacket;
  // abs-send-time: seconds in 6.18 fixed point, 24 bits.
  const uint32_t abs_send_time = static_cast<uint32_t>((static_cast<uint64_t>(now_us_) << 18) / 1'000'000);
  bytes_[abs_send_time_offset_] = static_cast<uint8_t>(abs_send_time >> 16);
  bytes_[abs_send_time_offset_ + 1] = static_cast<uint8_t>(abs_send_time >> 8);
  bytes_[abs_send_time_offset_ + 2] = static_cast<uint8_t>(abs_send_time);
  ++packets_;
  return bytes_;
}

rtp::SrtpSession random_outbound_srtp_session() {
  std::array<uint8_t, rtp::kSrtpKeyingLength> keying{};
  for (uint8_t& byte : keying) byte = static_cast<uint8_t>(random_engine()());
  auto session = rtp::SrtpSession::create(rtp::SrtpProfile::kAes128CmHmacSha1_80, rtp::SrtpDirection::kOutbound,
                                          keying);
  if (!session.ok()) fail("SrtpSession::create: " + session.error().message);
  return std::move(session).value();
}

// ---- sinks ----

ice::SendResult SrtpLegSink::send_leg_rtp(std::span<uint8_t> buffer, size_t length) {
  if (!session_.protect_rtp(buffer, length).ok()) {
    ++protect_failures_;
    return ice::SendResult::kProtectFailed;
  }
  return ice::SendResult::kSent;
}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

int UniqueFd::release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

UdpReceiver::UdpReceiver()
    : socket_(bound_udp_socket()), port_(bound_port(socket_)), drain_buffer_(kDrainBatch * kDatagramBytes) {
  // As root SO_RCVBUFFORCE passes net.core.rmem_max; otherwise take what
  // SO_RCVBUF grants. The kernel doubles the figure for its bookkeeping.
  const int wanted = 256 << 20;
  if (::setsockopt(socket_.get(), SOL_SOCKET, SO_RCVBUFFORCE, &wanted, sizeof wanted) != 0) {
    (void)::setsockopt(socket_.get(), SOL_SOCKET, SO_RCVBUF, &wanted, sizeof wanted);
  }
  int granted = 0;
  socklen_t length = sizeof granted;
  if (::getsockopt(socket_.get(), SOL_SOCKET, SO_RCVBUF, &granted, &length) == 0) {
    receive_buffer_bytes_ = static_cast<size_t>(granted);
  }
}

uint64_t UdpReceiver::drain() {
  constexpr size_t kBatch = kDrainBatch;
  std::array<iovec, kBatch> vectors{};
  std::array<mmsghdr, kBatch> messages{};
  for (size_t i = 0; i < kBatch; ++i) {
    vectors[i] = {drain_buffer_.data() + i * kDatagramBytes, kDatagramBytes};
    messages[i].msg_hdr.msg_iov = &vectors[i];
    messages[i].msg_hdr.msg_iovlen = 1;
  }
  uint64_t received = 0;
  for (;;) {
    const int count = ::recvmmsg(socket_.get(), messages.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (count <= 0) break;
    received += static_cast<uint64_t>(count);
  }
  return received;
}

bool loopback_usable() {
  try {
    UdpReceiver receiver;
    UniqueFd sender = bound_udp_socket();
    const sockaddr_in destination = loopback_address(receiver.port());
    const uint8_t probe = 1;
    if (::sendto(sender.get(), &probe, 1, 0, reinterpret_cast<const sockaddr*>(&destination), sizeof destination) !=
        1) {
      return false;
    }
    for (int attempt = 0; attempt < 10; ++attempt) {
      if (receiver.drain() > 0) return true;
      ::usleep(10'000);  // loopback delivers inside sendto; this is only a guard
    }
    return false;
  } catch (const std::runtime_error&) {
    return false;
  }
}

UdpLegSink::UdpLegSink(rtp::SrtpSession session, uint16_t destination_port)
    : SrtpLegSink(std::move(session)), socket_(bound_udp_socket()), destination_port_(destination_port) {}

ice::SendResult UdpLegSink::send_leg_rtp(std::span<uint8_t> buffer, size_t length) {
  const rtp::SrtpResult protected_packet = session_.protect_rtp(buffer, length);
  if (!protected_packet.ok()) {
    ++protect_failures_;
    return ice::SendResult::kProtectFailed;
  }
  // sendto with an address every time, as the transport does (libnice).
  const sockaddr_in destination = loopback_address(destination_port_);
  const ssize_t sent = ::sendto(socket_.get(), buffer.data(), protected_packet.length, MSG_DONTWAIT,
                                reinterpret_cast<const sockaddr*>(&destination), sizeof destination);
  if (sent == static_cast<ssize_t>(protected_packet.length)) return ice::SendResult::kSent;
  ++(sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? would_block_ : send_errors_);
  return ice::SendResult::kSocketRefused;
}

// ---- the line ----

ForwardingLine::ForwardingLine(const LineSpec& spec)
    : fabric_(spec.workers, core::RouterOptions{}, nullptr, spec.waker), stream_(spec.profile) {
  const rtp::StreamFormat source = publisher_format(spec.profile);
  const rtp::StreamFormat leg = subscriber_format(spec.profile);
  const bool cacheable = spec.profile == MediaProfile::kVideo;  // video is kept for NACKs
  layers_ = std::clamp<size_t>(spec.layers, 1, rtp::LayerSelector::kMaxLayers);
  std::vector<core::StreamKey> layer_keys;
  for (size_t layer = 0; layer < layers_; ++layer) {
    fabric_.router(0).add_source(kKey + static_cast<core::StreamKey>(layer), &owner_);
    if (layers_ > 1) layer_keys.push_back(kKey + static_cast<core::StreamKey>(layer));
  }
  for (size_t i = 0; i < spec.subscribers; ++i) {
    const uint32_t ssrc = 0x10000000u + static_cast<uint32_t>(i) * 2;
    auto config = rtp::make_leg_config(source, leg, ssrc, ssrc + 1, static_cast<uint32_t>(random_engine()()));
    if (!config.ok()) fail("make_leg_config: " + config.error().message);
    if (spec.sink == SinkKind::kSrtpUdp) {
      auto sink = std::make_unique<UdpLegSink>(random_outbound_srtp_session(), spec.udp_port);
      udp_sinks_.push_back(sink.get());
      sinks_.push_back(std::move(sink));
    } else {
      sinks_.push_back(std::make_unique<SrtpLegSink>(random_outbound_srtp_session()));
    }
    // Contiguous blocks: with 2 workers, the first half stays with the publisher.
    const size_t worker = i * spec.workers / spec.subscribers;
    legs_.push_back(std::make_unique<core::SubscriberLeg>(kKey, 0, config.value(), sinks_.back().get(), layer_keys,
                                                          rtp::VideoCodec::kVp8));
    leg_workers_.push_back(worker);
    fabric_.router(worker).add_leg(legs_.back().get(), cacheable);
  }
}

ForwardingLine::~ForwardingLine() {
  for (size_t i = 0; i < legs_.size(); ++i) fabric_.router(leg_workers_[i]).remove_leg(legs_[i].get());
  for (size_t layer = 0; layer < layers_; ++layer) fabric_.router(0).remove_source(kKey + static_cast<core::StreamKey>(layer));
}

void ForwardingLine::publish_next() {
  const std::span<const uint8_t> bytes = stream_.next();
  const auto packet = rtp::parse_rtp_packet(bytes);
  if (!packet) return;
  for (size_t layer = 0; layer < layers_; ++layer) {
    fabric_.router(0).on_source_rtp(kKey + static_cast<core::StreamKey>(layer), *packet, stream_.now_us());
  }
}

uint64_t ForwardingLine::forwarded() {
  uint64_t total = 0;
  for (size_t w = 0; w < fabric_.size(); ++w) total += fabric_.router(w).forwarded();
  return total;
}

uint64_t ForwardingLine::drops(core::RouterDrop reason) {
  uint64_t total = 0;
  for (size_t w = 0; w < fabric_.size(); ++w) total += fabric_.router(w).drops(reason);
  return total;
}

uint64_t ForwardingLine::drops() {
  uint64_t total = 0;
  for (size_t r = 0; r < static_cast<size_t>(core::RouterDrop::kCount); ++r) {
    total += drops(static_cast<core::RouterDrop>(r));
  }
  return total;
}

uint64_t ForwardingLine::udp_would_block() const {
  uint64_t total = 0;
  for (const UdpLegSink* sink : udp_sinks_) total += sink->would_block();
  return total;
}

uint64_t ForwardingLine::udp_send_errors() const {
  uint64_t total = 0;
  for (const UdpLegSink* sink : udp_sinks_) total += sink->send_errors();
  return total;
}

std::string ForwardingLine::drop_summary() {
  std::string summary;
  for (size_t r = 0; r < static_cast<size_t>(core::RouterDrop::kCount); ++r) {
    const auto reason = static_cast<core::RouterDrop>(r);
    if (const uint64_t count = drops(reason); count > 0) {
      summary += std::string(summary.empty() ? "" : ", ") + std::string(core::to_string(reason)) + " " +
                 std::to_string(count);
    }
  }
  uint64_t protect_failures = 0;
  for (const auto& sink : sinks_) protect_failures += sink->protect_failures();
  if (protect_failures > 0) summary += " (SRTP protect failed " + std::to_string(protect_failures) + ")";
  return summary;
}

}  // namespace partyline::bench
