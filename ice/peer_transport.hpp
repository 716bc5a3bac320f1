// PeerTransport: everything between one participant's UDP packets and clear
// RTP/RTCP: ICE (libnice), DTLS (fingerprint check, key export) and SRTP.
//
// All callbacks run on the GMainContext given to create(); call every method
// and destroy the transport on that context's thread. Callbacks must not
// destroy the PeerTransport (post the destruction, e.g. with an idle source).
#pragma once

#include <glib.h>

#include <array>
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
#include "ice/dtls_transport.hpp"
#include "ice/ice_config.hpp"
#include "ice/ice_link.hpp"
#include "ice/send_result.hpp"
#include "rtp/result.hpp"
#include "ice/transport_totals.hpp"
#include "rtp/srtp/srtp_session.hpp"

namespace partyline::ice {

enum class TransportState {
  kNew,
  kChecking,   // remote parameters known, ICE checks running
  kConnected,  // ICE has a selected pair, DTLS handshaking
  kSecure,     // DTLS-SRTP keys installed: media flows
  kFailed,
  kClosed,
};
std::string_view to_string(TransportState state);

// ICE failures (checks failed, consent lost) carry this code; DTLS ones
// carry kDtlsErrorCode (495).
inline constexpr int kIceErrorCode = error_code::kUnavailable;

// From the remote SDP (a=ice-ufrag, a=ice-pwd, a=fingerprint) and the DTLS
// role this side takes (from a=setup: the answer's choice).
struct RemoteParameters {
  std::string ice_ufrag;
  std::string ice_pwd;
  std::string fingerprint_algorithm;  // e.g. "sha-256"
  std::string fingerprint;            // "AB:CD:..." (any case)
  DtlsRole local_role = DtlsRole::kServer;
};

// What an operator asks of a transport (docs/admin-api.md, a session's
// `transport`): a copy, taken on the transport's thread.
struct TransportSnapshot {
  TransportState state = TransportState::kNew;
  std::string selected_local, selected_remote;  // candidate lines; empty before a pair
  std::string dtls_state;                       // DtlsTransport::State
  std::string dtls_role;                        // "client" or "server"; empty before set_remote
  std::string dtls_cipher;                      // GnuTLS's session description; empty before
  std::string srtp_profile;                     // e.g. "AES_CM_128_HMAC_SHA1_80"; empty before keys
  uint64_t media_packets_received = 0, media_bytes_received = 0;  // SRTP/SRTCP unprotected
  uint64_t media_packets_sent = 0, media_bytes_sent = 0;          // SRTP/SRTCP sent
};

class PeerTransport {
 public:
  struct Callbacks {
    std::function<void(std::string candidate)> on_local_candidate;  // "candidate:..." (no "a=")
    std::function<void()> on_gathering_done;
    // `error` is set for kFailed: code kDtlsErrorCode or kIceErrorCode,
    // message starting with "DTLS: " or "ICE: ".
    std::function<void(TransportState state, const Error* error)> on_state;
    std::function<void(std::span<uint8_t> rtp)> on_rtp;    // decrypted; may be modified in place
    std::function<void(std::span<uint8_t> rtcp)> on_rtcp;  // decrypted compound packet
  };

  // With a libnice IceAgent configured by `config`.
  static Result<std::unique_ptr<PeerTransport>> create(
      GMainContext* context, const IceConfig& config,
      std::shared_ptr<const Certificate> certificate, Callbacks callbacks,
      DtlsTransport::Options dtls_options = {});
  // With the IceLink `make_link` returns, given the callbacks it must call.
  // `setup_timeout_ms` as IceConfig's.
  using LinkFactory = std::function<Result<std::unique_ptr<IceLink>>(IceLink::Callbacks callbacks)>;
  static Result<std::unique_ptr<PeerTransport>> create_with_link(
      GMainContext* context, uint32_t setup_timeout_ms, const LinkFactory& make_link,
      std::shared_ptr<const Certificate> certificate, Callbacks callbacks,
      DtlsTransport::Options dtls_options = {});
  ~PeerTransport();
  PeerTransport(const PeerTransport&) = delete;
  PeerTransport& operator=(const PeerTransport&) = delete;

  const std::string& local_ufrag() const { return ice_->local_ufrag(); }
  const std::string& local_pwd() const { return ice_->local_pwd(); }
  const std::string& local_fingerprint() const { return certificate_->fingerprint(); }
  static constexpr std::string_view local_fingerprint_algorithm() {
    return Certificate::fingerprint_algorithm();
  }

  // Once per transport: sets the ICE credentials (applying candidates that
  // arrived before) and prepares DTLS in `remote.local_role`.
  Status set_remote(const RemoteParameters& remote);
  // Candidates may arrive before set_remote; they are held until then.
  // Filtered candidates give accepted == false and the reason.
  Result<CandidateOutcome> add_remote_candidate(std::string_view candidate);
  void end_of_remote_candidates();
  Status start_gathering();

  // Protects in place and sends; `buffer` holds `length` bytes of RTP/RTCP
  // and must have room for the SRTP trailer (rtp::kSrtpMaxTrailer) after it.
  // Never allocates or logs: the outcome is counted (send_counts()) and
  // returned for the caller's own counters.
  SendResult send_rtp(std::span<uint8_t> buffer, size_t length) { return send_protected(buffer, length, false); }
  SendResult send_rtcp(std::span<uint8_t> buffer, size_t length) { return send_protected(buffer, length, true); }

  // Sends close_notify, stops the agent, then reports kClosed. Idempotent.
  // A peer's close_notify also leads to kClosed (the agent stops on close()
  // or destruction).
  void close();
  TransportState state() const { return state_; }

  // Received datagrams dropped since creation, by reason. Counted, never
  // logged here (core logs them when the PeerConnection closes).
  enum class ReceiveDrop : uint8_t {
    kDtlsBeforeOffer,   // a DTLS record before the remote parameters (the peer retransmits)
    kUnknownKind,       // neither DTLS, RTP nor RTCP (STUN stays inside libnice)
    kMediaBeforeKeys,   // SRTP before the DTLS handshake installed keys
    kUnprotectFailed,   // SRTP authentication or replay check failed
    kCount,
  };
  uint64_t receive_drops(ReceiveDrop reason) const { return receive_drops_[static_cast<size_t>(reason)]; }
  uint64_t dropped_packets() const;  // all reasons
  // Outgoing datagrams (media, RTCP and DTLS) by outcome.
  const SendCounters& send_counts() const { return send_counts_; }
  TransportSnapshot snapshot() const;

 private:
  struct ConstructionTag {};

 public:
  PeerTransport(ConstructionTag, GMainContext* context,
                std::shared_ptr<const Certificate> certificate, Callbacks callbacks,
                DtlsTransport::Options dtls_options);

 private:
  struct SourceDeleter {
    void operator()(GSource* source) const;
  };

  void on_ice_state(IceState state);
  void on_ice_path_ready();
  void on_datagram(std::span<uint8_t> datagram);
  void on_media(std::span<uint8_t> packet, bool rtcp);
  void send_dtls(std::span<const uint8_t> datagram);
  void on_dtls_connected(const SrtpKeyMaterial& keys);
  void on_remote_closed();
  void arm_dtls_timer();
  static gboolean on_dtls_timer(gpointer self);
  static gboolean on_setup_timeout(gpointer self);
  static gboolean on_release_agent(gpointer self);
  void fail(int code, std::string message);
  void set_state(TransportState state, const Error* error = nullptr);
  SendResult send_protected(std::span<uint8_t> buffer, size_t length, bool rtcp);
  void count(ReceiveDrop reason) { ++receive_drops_[static_cast<size_t>(reason)]; }

  GMainContext* context_;
  std::shared_ptr<const Certificate> certificate_;
  Callbacks callbacks_;
  DtlsTransport::Options dtls_options_;
  std::unique_ptr<IceLink> ice_;
  std::unique_ptr<DtlsTransport> dtls_;
  std::optional<rtp::SrtpSession> srtp_inbound_;
  std::optional<rtp::SrtpSession> srtp_outbound_;
  // DTLS flights produced before ICE has a pair to send them on.
  std::deque<std::vector<uint8_t>> pending_dtls_;
  std::unique_ptr<GSource, SourceDeleter> dtls_timer_;
  uint32_t setup_timeout_ms_ = 0;
  std::unique_ptr<GSource, SourceDeleter> setup_timer_;  // from set_remote until secure
  // After a failure: closes the agent (its sockets) on the next iteration.
  std::unique_ptr<GSource, SourceDeleter> release_agent_;
  TransportState state_ = TransportState::kNew;
  bool remote_set_ = false;
  std::array<uint64_t, static_cast<size_t>(ReceiveDrop::kCount)> receive_drops_{};
  SendCounters send_counts_;
  std::string selected_local_, selected_remote_;
  std::optional<rtp::SrtpProfile> srtp_profile_;
  uint64_t media_packets_received_ = 0, media_bytes_received_ = 0;
  uint64_t media_packets_sent_ = 0, media_bytes_sent_ = 0;
  // The owning thread's totals (/metrics), taken at construction: a
  // transport lives and dies on one thread.
  TransportTotals& totals_ = thread_transport_totals();
};

}  // namespace partyline::ice
