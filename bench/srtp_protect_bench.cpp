// SRTP protect cost per RTP packet, AES_CM_128_HMAC_SHA1_80:
// - libsrtp2 with its own crypto (NSS-backed in Debian),
// - libsrtp2 with the nettle-backed crypto of rtp/srtp/srtp_fast_crypto.hpp,
// - the floor: nettle AES-128-CTR + HMAC-SHA1-80 over the same bytes with no
//   libsrtp around it (keys set once, keyed HMAC state copied per packet).
// Packet sizes are whole RTP packets (12-byte header + payload), before the
// 10-byte tag. See bench/README.md for figures and how to run.
#include <benchmark/benchmark.h>
#include <nettle/aes.h>
#include <nettle/ctr.h>
#include <nettle/hmac.h>
#include <nettle/nettle-meta.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "bench/benchmark_errors.hpp"
#include "rtp/srtp/srtp_fast_crypto.hpp"
#include "rtp/srtp/srtp_session.hpp"

namespace {

using partyline::rtp::SrtpDirection;
using partyline::rtp::SrtpProfile;
using partyline::rtp::SrtpSession;

constexpr std::array<size_t, 2> kPacketSizes = {1200, 160};
constexpr size_t kRtpHeaderLength = 12;
constexpr size_t kTagLength = 10;
constexpr uint32_t kSsrc = 0x11223344;

std::array<uint8_t, partyline::rtp::kSrtpKeyingLength> bench_keying() {
  std::array<uint8_t, partyline::rtp::kSrtpKeyingLength> keying{};
  for (size_t i = 0; i < keying.size(); ++i) keying[i] = static_cast<uint8_t>(i * 13 + 7);
  return keying;
}

std::vector<uint8_t> rtp_packet_buffer(size_t packet_size) {
  std::vector<uint8_t> buffer(packet_size + partyline::rtp::kSrtpMaxTrailer, 0xA5);
  const uint8_t header[kRtpHeaderLength] = {0x80, 96, 0, 0, 0, 0, 0x10, 0,
                                            kSsrc >> 24, (kSsrc >> 16) & 0xFF,
                                            (kSsrc >> 8) & 0xFF, kSsrc & 0xFF};
  std::copy(std::begin(header), std::end(header), buffer.begin());
  return buffer;
}

void set_sequence(std::vector<uint8_t>& buffer, uint16_t sequence) {
  buffer[2] = static_cast<uint8_t>(sequence >> 8);
  buffer[3] = static_cast<uint8_t>(sequence);
}

void report_packets(benchmark::State& state, size_t packet_size) {
  state.SetItemsProcessed(state.iterations());  // items/s = packets/s
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(packet_size));
}

// A sender and the next sequence number it sends. The number carries on
// across benchmark runs: libsrtp refuses to protect an index that fell behind
// its replay window, as a restart at 0 would.
struct Sender {
  SrtpSession session;
  uint16_t next_sequence = 0;
};

// Protects consecutive sequence numbers in place; the payload is whatever
// the previous iteration left, which costs the cipher exactly the same.
void protect_with_session(benchmark::State& state, Sender& sender, size_t packet_size) {
  std::vector<uint8_t> buffer = rtp_packet_buffer(packet_size);
  for (auto _ : state) {
    set_sequence(buffer, sender.next_sequence++);
    auto result = sender.session.protect_rtp(buffer, packet_size);
    if (!result.ok()) {
      state.SkipWithError(std::string(partyline::rtp::to_string(result.error)).c_str());
      break;
    }
    benchmark::DoNotOptimize(buffer.data());
    benchmark::ClobberMemory();
  }
  report_packets(state, packet_size);
}

// The same transform done directly with nettle: the least any SRTP protect
// over these primitives can cost (session keys here are arbitrary).
void protect_with_raw_nettle(benchmark::State& state, size_t packet_size) {
  std::array<uint8_t, 16> session_key{};
  std::array<uint8_t, 14> session_salt{};
  std::array<uint8_t, 20> auth_key{};
  for (size_t i = 0; i < session_key.size(); ++i) session_key[i] = static_cast<uint8_t>(i + 1);
  for (size_t i = 0; i < session_salt.size(); ++i) session_salt[i] = static_cast<uint8_t>(i + 50);
  for (size_t i = 0; i < auth_key.size(); ++i) auth_key[i] = static_cast<uint8_t>(i + 100);
  aes128_ctx aes;
  aes128_set_encrypt_key(&aes, session_key.data());
  hmac_sha1_ctx hmac;
  hmac_sha1_set_key(&hmac, auth_key.size(), auth_key.data());

  std::vector<uint8_t> buffer = rtp_packet_buffer(packet_size);
  const std::array<uint8_t, 4> roc{};  // rollover counter, big-endian
  uint16_t sequence = 0;
  for (auto _ : state) {
    set_sequence(buffer, sequence);
    std::array<uint8_t, 16> counter{};
    std::copy(session_salt.begin(), session_salt.end(), counter.begin());
    for (size_t i = 0; i < 4; ++i) counter[4 + i] ^= buffer[8 + i];  // SSRC
    counter[12] ^= static_cast<uint8_t>(sequence >> 8);               // index (ROC 0)
    counter[13] ^= static_cast<uint8_t>(sequence);
    ++sequence;
    ctr_crypt(&aes, nettle_aes128.encrypt, AES_BLOCK_SIZE, counter.data(),
              packet_size - kRtpHeaderLength, buffer.data() + kRtpHeaderLength,
              buffer.data() + kRtpHeaderLength);
    hmac.state = hmac.inner;
    hmac_sha1_update(&hmac, packet_size, buffer.data());
    hmac_sha1_update(&hmac, roc.size(), roc.data());
    hmac_sha1_digest(&hmac, kTagLength, buffer.data() + packet_size);
    benchmark::DoNotOptimize(buffer.data());
    benchmark::ClobberMemory();
  }
  report_packets(state, packet_size);
}

std::optional<Sender> create_sender() {
  auto keying = bench_keying();
  auto session = SrtpSession::create(SrtpProfile::kAes128CmHmacSha1_80, SrtpDirection::kOutbound,
                                     keying);
  if (!session.ok()) {
    std::fprintf(stderr, "SrtpSession::create failed: %s\n", session.error().message.c_str());
    return std::nullopt;
  }
  return Sender{std::move(session).value()};
}

}  // namespace

int main(int argc, char** argv) {
  const std::string format = partyline::bench::requested_format(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  // libsrtp binds a session to the crypto installed when it is created, so
  // the default-crypto session must exist before the nettle types go in.
  std::optional<Sender> libsrtp_sender = create_sender();
  if (!libsrtp_sender || partyline::rtp::fast_srtp_crypto_installed()) return 1;
  if (auto status = partyline::rtp::install_fast_srtp_crypto(); !status.ok()) {
    std::fprintf(stderr, "install_fast_srtp_crypto failed: %s\n", status.error().message.c_str());
    return 1;
  }
  std::optional<Sender> nettle_sender = create_sender();
  if (!nettle_sender) return 1;

  for (size_t size : kPacketSizes) {
    std::string suffix = "/" + std::to_string(size);
    benchmark::RegisterBenchmark(("protect/libsrtp_default" + suffix).c_str(),
                                 [&, size](benchmark::State& state) {
                                   protect_with_session(state, *libsrtp_sender, size);
                                 });
    benchmark::RegisterBenchmark(("protect/libsrtp_nettle" + suffix).c_str(),
                                 [&, size](benchmark::State& state) {
                                   protect_with_session(state, *nettle_sender, size);
                                 });
    benchmark::RegisterBenchmark(("floor/raw_nettle_ctr_hmac" + suffix).c_str(),
                                 [size](benchmark::State& state) {
                                   protect_with_raw_nettle(state, size);
                                 });
  }
  // Non-zero when a case reported an error (SRTP protect failed): the ctest
  // smoke test fails on it.
  return partyline::bench::run_benchmarks(format, partyline::bench::console_options(false));
}
