// DtlsTransport: DTLS 1.2 (GnuTLS) over datagrams the owner carries, used
// only to authenticate the peer against the SDP fingerprint and to export
// DTLS-SRTP keys (RFC 5764). No sockets: the owner feeds received datagrams
// to receive(), sends what the `send` callback hands out, and arms a timer
// for next_timeout() that calls handle_timeout().
//
// Single-threaded: every call and callback happens on the owner's thread.
// Callbacks run synchronously inside start/receive/handle_timeout/close and
// must not destroy the DtlsTransport.
#pragma once

#include <gnutls/gnutls.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ice/certificate.hpp"
#include "rtp/result.hpp"
#include "rtp/srtp/srtp_session.hpp"

namespace partyline::ice {

// Protocol error code for every DTLS failure (docs/protocol.md).
inline constexpr int kDtlsErrorCode = 495;
inline constexpr std::string_view kFingerprintMismatchReason =
    "remote certificate does not match a=fingerprint";

enum class DtlsRole { kClient, kServer };
std::string_view to_string(DtlsRole role);

// SRTP master keys exported after the handshake, already assigned to
// directions: `outbound` protects what we send, `inbound` what we receive.
struct SrtpKeyMaterial {
  rtp::SrtpProfile profile = rtp::SrtpProfile::kAes128CmHmacSha1_80;
  std::array<uint8_t, rtp::kSrtpKeyingLength> inbound{};
  std::array<uint8_t, rtp::kSrtpKeyingLength> outbound{};
};

class DtlsTransport {
 public:
  enum class State { kNew, kHandshaking, kConnected, kFailed, kClosed };

  // DTLS 1.2 only; NORMAL keeps ECDHE-ECDSA with AES-128-GCM (the only
  // suites werift offers), AES-256-GCM and CHACHA20-POLY1305.
  static constexpr std::string_view kDefaultPriorities =
      "NORMAL:-VERS-ALL:+VERS-DTLS1.2:%SERVER_PRECEDENCE";
  static constexpr std::string_view kSrtpProfiles =
      "SRTP_AES128_CM_HMAC_SHA1_80:SRTP_AES128_CM_HMAC_SHA1_32";

  struct Options {
    // Path MTU for handshake records; 1200 leaves room for IPv6, UDP and TURN.
    unsigned mtu = 1200;
    std::chrono::milliseconds initial_retransmit{400};
    std::chrono::milliseconds handshake_timeout{30000};
    std::string priorities{kDefaultPriorities};
  };

  struct Callbacks {
    std::function<void(std::span<const uint8_t> datagram)> send;
    std::function<void(const SrtpKeyMaterial& keys)> on_connected;
    std::function<void(const Error& error)> on_failed;  // code kDtlsErrorCode
    std::function<void()> on_closed;                    // the peer sent close_notify
  };

  // `remote_fingerprint` is the SDP a=fingerprint value (hex with colons,
  // any case) hashed with `remote_fingerprint_algorithm` (e.g. "sha-256").
  static Result<std::unique_ptr<DtlsTransport>> create(DtlsRole role,
                                                       std::shared_ptr<const Certificate> certificate,
                                                       std::string_view remote_fingerprint_algorithm,
                                                       std::string_view remote_fingerprint,
                                                       Callbacks callbacks, Options options);
  static Result<std::unique_ptr<DtlsTransport>> create(DtlsRole role,
                                                       std::shared_ptr<const Certificate> certificate,
                                                       std::string_view remote_fingerprint_algorithm,
                                                       std::string_view remote_fingerprint,
                                                       Callbacks callbacks) {
    return create(role, std::move(certificate), remote_fingerprint_algorithm, remote_fingerprint,
                  std::move(callbacks), Options{});
  }

  ~DtlsTransport();
  DtlsTransport(const DtlsTransport&) = delete;
  DtlsTransport& operator=(const DtlsTransport&) = delete;

  // Client: sends the ClientHello. Server: waits for one (a ClientHello
  // given to receive() starts the handshake even without start()).
  void start();
  // One received DTLS datagram (classify_packet said kDtls).
  void receive(std::span<const uint8_t> datagram);
  // While handshaking: when handle_timeout() must be called next.
  std::optional<std::chrono::milliseconds> next_timeout() const;
  void handle_timeout();
  // Sends close_notify once connected; then state() is kClosed.
  void close();

  State state() const { return state_; }
  DtlsRole role() const { return role_; }
  // e.g. "(DTLS1.2)-(ECDHE-X25519)-(ECDSA-SECP256R1-SHA256)-(AES-128-GCM)"; empty before.
  std::string session_description() const;

  struct Deleter {
    void operator()(gnutls_session_t session) const { gnutls_deinit(session); }
  };

 private:
  struct ConstructionTag {};

 public:
  DtlsTransport(ConstructionTag, DtlsRole role, std::shared_ptr<const Certificate> certificate,
                std::string remote_fingerprint_algorithm, std::string remote_fingerprint,
                Callbacks callbacks, Options options);

 private:
  static ssize_t push(gnutls_transport_ptr_t self, const void* data, size_t size);
  static ssize_t pull(gnutls_transport_ptr_t self, void* data, size_t size);
  static int pull_timeout(gnutls_transport_ptr_t self, unsigned int milliseconds);
  static int verify_peer(gnutls_session_t session);

  Status initialize_session();
  void continue_handshake();
  void read_records();
  void finish_handshake();
  void fail(std::string reason);

  DtlsRole role_;
  std::shared_ptr<const Certificate> certificate_;
  std::string remote_fingerprint_algorithm_;
  std::string remote_fingerprint_;
  Callbacks callbacks_;
  Options options_;
  std::unique_ptr<std::remove_pointer_t<gnutls_session_t>, Deleter> session_;
  State state_ = State::kNew;
  std::deque<std::vector<uint8_t>> incoming_;
  std::string verify_failure_;  // why verify_peer refused the certificate
  bool peer_verified_ = false;
};

std::string_view to_string(DtlsTransport::State state);

}  // namespace partyline::ice
