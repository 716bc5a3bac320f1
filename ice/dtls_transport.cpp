#include "ice/dtls_transport.hpp"

#include <gnutls/dtls.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

namespace partyline::ice {
namespace {

// A handful of datagrams is a whole flight; more means the peer floods us.
constexpr size_t kMaxQueuedDatagrams = 32;

// A DTLS datagram is a sequence of whole records, each a 13-byte header
// whose last two bytes give the fragment length. GnuTLS 3.7 keeps a datagram
// shorter than one header in its buffer and misparses the next one after it,
// so anything that is not whole records is dropped here.
bool is_whole_dtls_records(std::span<const uint8_t> datagram) {
  constexpr size_t kHeaderLength = 13;
  size_t offset = 0;
  while (offset < datagram.size()) {
    if (datagram.size() - offset < kHeaderLength) return false;
    const size_t length = (size_t{datagram[offset + 11]} << 8) | datagram[offset + 12];
    offset += kHeaderLength;
    if (datagram.size() - offset < length) return false;
    offset += length;
  }
  return !datagram.empty();
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string describe_gnutls_error(gnutls_session_t session, int rc) {
  std::string text = gnutls_strerror(rc);
  if (rc == GNUTLS_E_FATAL_ALERT_RECEIVED || rc == GNUTLS_E_WARNING_ALERT_RECEIVED) {
    const char* alert = gnutls_alert_get_name(gnutls_alert_get(session));
    text += std::string(" (") + (alert != nullptr ? alert : "unknown alert") + ")";
  }
  return text;
}

}  // namespace

std::string_view to_string(DtlsRole role) {
  return role == DtlsRole::kClient ? "client" : "server";
}

std::string_view to_string(DtlsTransport::State state) {
  switch (state) {
    case DtlsTransport::State::kNew: return "new";
    case DtlsTransport::State::kHandshaking: return "handshaking";
    case DtlsTransport::State::kConnected: return "connected";
    case DtlsTransport::State::kFailed: return "failed";
    case DtlsTransport::State::kClosed: return "closed";
  }
  return "unknown";
}

DtlsTransport::DtlsTransport(ConstructionTag, DtlsRole role,
                             std::shared_ptr<const Certificate> certificate,
                             std::string remote_fingerprint_algorithm,
                             std::string remote_fingerprint, Callbacks callbacks, Options options)
    : role_(role),
      certificate_(std::move(certificate)),
      remote_fingerprint_algorithm_(std::move(remote_fingerprint_algorithm)),
      remote_fingerprint_(std::move(remote_fingerprint)),
      callbacks_(std::move(callbacks)),
      options_(std::move(options)) {}

DtlsTransport::~DtlsTransport() = default;

Result<std::unique_ptr<DtlsTransport>> DtlsTransport::create(
    DtlsRole role, std::shared_ptr<const Certificate> certificate,
    std::string_view remote_fingerprint_algorithm, std::string_view remote_fingerprint,
    Callbacks callbacks, Options options) {
  if (!certificate) return make_error(error_code::kInternal, "DTLS needs a local certificate");
  // Rejects unknown algorithms up front instead of failing every handshake.
  if (auto probe = fingerprint_of_der({}, remote_fingerprint_algorithm); !probe.ok()) {
    return probe.error();
  }
  if (remote_fingerprint.empty()) {
    return make_error(error_code::kBadRequest, "a=fingerprint is empty");
  }
  auto transport = std::make_unique<DtlsTransport>(
      ConstructionTag{}, role, std::move(certificate), std::string(remote_fingerprint_algorithm),
      std::string(remote_fingerprint), std::move(callbacks), std::move(options));
  if (Status status = transport->initialize_session(); !status.ok()) return status.error();
  return transport;
}

Status DtlsTransport::initialize_session() {
  const unsigned flags = (role_ == DtlsRole::kClient ? GNUTLS_CLIENT : GNUTLS_SERVER) |
                         GNUTLS_DATAGRAM | GNUTLS_NONBLOCK;
  gnutls_session_t raw = nullptr;
  if (int rc = gnutls_init(&raw, flags); rc < 0) {
    return make_error(error_code::kInternal, std::string("gnutls_init: ") + gnutls_strerror(rc));
  }
  session_.reset(raw);
  gnutls_session_t session = session_.get();
  const char* error_position = nullptr;
  if (int rc = gnutls_priority_set_direct(session, options_.priorities.c_str(), &error_position);
      rc < 0) {
    return make_error(error_code::kInternal, "DTLS priorities '" + options_.priorities +
                                                 "' rejected at '" +
                                                 (error_position ? error_position : "") + "'");
  }
  if (int rc = gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, certificate_->credentials());
      rc < 0) {
    return make_error(error_code::kInternal,
                      std::string("gnutls_credentials_set: ") + gnutls_strerror(rc));
  }
  const std::string profiles(kSrtpProfiles);
  if (int rc = gnutls_srtp_set_profile_direct(session, profiles.c_str(), &error_position); rc < 0) {
    return make_error(error_code::kInternal,
                      std::string("gnutls_srtp_set_profile_direct: ") + gnutls_strerror(rc));
  }
  if (role_ == DtlsRole::kServer) {
    // The client's certificate is what a=fingerprint vouches for.
    gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUIRE);
  }
  gnutls_dtls_set_mtu(session, options_.mtu);
  gnutls_dtls_set_timeouts(session, static_cast<unsigned>(options_.initial_retransmit.count()),
                           static_cast<unsigned>(options_.handshake_timeout.count()));
  gnutls_session_set_ptr(session, this);
  gnutls_session_set_verify_function(session, &DtlsTransport::verify_peer);
  gnutls_transport_set_ptr(session, this);
  gnutls_transport_set_push_function(session, &DtlsTransport::push);
  gnutls_transport_set_pull_function(session, &DtlsTransport::pull);
  gnutls_transport_set_pull_timeout_function(session, &DtlsTransport::pull_timeout);
  return {};
}

ssize_t DtlsTransport::push(gnutls_transport_ptr_t self, const void* data, size_t size) {
  auto* transport = static_cast<DtlsTransport*>(self);
  if (transport->callbacks_.send) {
    transport->callbacks_.send(std::span(static_cast<const uint8_t*>(data), size));
  }
  // A datagram lost on the way is DTLS's business (retransmission), not an error.
  return static_cast<ssize_t>(size);
}

ssize_t DtlsTransport::pull(gnutls_transport_ptr_t self, void* data, size_t size) {
  auto* transport = static_cast<DtlsTransport*>(self);
  if (transport->incoming_.empty()) {
    gnutls_transport_set_errno(transport->session_.get(), EAGAIN);
    return -1;
  }
  const std::vector<uint8_t>& datagram = transport->incoming_.front();
  const size_t copied = std::min(size, datagram.size());
  std::memcpy(data, datagram.data(), copied);
  transport->incoming_.pop_front();
  return static_cast<ssize_t>(copied);
}

int DtlsTransport::pull_timeout(gnutls_transport_ptr_t self, unsigned int /*milliseconds*/) {
  // Never blocks: the owner calls back when a datagram arrives or a timer fires.
  return static_cast<DtlsTransport*>(self)->incoming_.empty() ? 0 : 1;
}

int DtlsTransport::verify_peer(gnutls_session_t session) {
  auto* transport = static_cast<DtlsTransport*>(gnutls_session_get_ptr(session));
  unsigned int count = 0;
  const gnutls_datum_t* chain = gnutls_certificate_get_peers(session, &count);
  if (chain == nullptr || count == 0) {
    transport->verify_failure_ = "remote sent no certificate";
    return -1;
  }
  auto fingerprint = fingerprint_of_der(std::span(chain[0].data, chain[0].size),
                                        transport->remote_fingerprint_algorithm_);
  if (!fingerprint.ok()) {
    transport->verify_failure_ = fingerprint.error().message;
    return -1;
  }
  if (!equals_ignoring_case(*fingerprint, transport->remote_fingerprint_)) {
    transport->verify_failure_ = std::string(kFingerprintMismatchReason);
    return -1;
  }
  transport->peer_verified_ = true;
  return 0;
}

void DtlsTransport::start() {
  if (state_ != State::kNew) return;
  state_ = State::kHandshaking;
  continue_handshake();
}

void DtlsTransport::receive(std::span<const uint8_t> datagram) {
  if (state_ == State::kFailed || state_ == State::kClosed) return;
  if (!is_whole_dtls_records(datagram)) return;
  if (incoming_.size() >= kMaxQueuedDatagrams) incoming_.pop_front();
  incoming_.emplace_back(datagram.begin(), datagram.end());
  if (state_ == State::kNew) {
    // A client waits for start(); a server's handshake begins with the ClientHello.
    if (role_ == DtlsRole::kClient) return;
    state_ = State::kHandshaking;
  }
  if (state_ == State::kHandshaking) {
    continue_handshake();
  } else {
    read_records();
  }
}

std::optional<std::chrono::milliseconds> DtlsTransport::next_timeout() const {
  if (state_ != State::kHandshaking) return std::nullopt;
  return std::chrono::milliseconds(gnutls_dtls_get_timeout(session_.get()));
}

void DtlsTransport::handle_timeout() {
  if (state_ == State::kHandshaking) continue_handshake();
}

void DtlsTransport::continue_handshake() {
  // Each call consumes at most the datagrams queued; the bound keeps a
  // misbehaving library state from spinning.
  for (size_t attempts = incoming_.size() + 2; attempts > 0; --attempts) {
    const size_t queued = incoming_.size();
    const int rc = gnutls_handshake(session_.get());
    if (rc == GNUTLS_E_SUCCESS) {
      finish_handshake();
      if (state_ == State::kConnected && !incoming_.empty()) read_records();
      return;
    }
    if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
      if (incoming_.empty() || incoming_.size() == queued) return;
      continue;
    }
    if (gnutls_error_is_fatal(rc) == 0) continue;  // e.g. a warning alert
    // Tell the peer at once (bad_certificate, handshake_failure...) instead
    // of leaving it to retransmit until its own timeout.
    gnutls_alert_send_appropriate(session_.get(), rc);
    if (!verify_failure_.empty()) {
      fail(verify_failure_);
    } else {
      fail("handshake failed: " + describe_gnutls_error(session_.get(), rc));
    }
    return;
  }
}

void DtlsTransport::finish_handshake() {
  if (!peer_verified_) {
    fail("handshake completed without a verified remote certificate");
    return;
  }
  gnutls_srtp_profile_t selected{};
  if (gnutls_srtp_get_selected_profile(session_.get(), &selected) < 0) {
    fail("the peer negotiated no SRTP protection profile (use_srtp)");
    return;
  }
  SrtpKeyMaterial keys;
  if (selected == GNUTLS_SRTP_AES128_CM_HMAC_SHA1_80) {
    keys.profile = rtp::SrtpProfile::kAes128CmHmacSha1_80;
  } else if (selected == GNUTLS_SRTP_AES128_CM_HMAC_SHA1_32) {
    keys.profile = rtp::SrtpProfile::kAes128CmHmacSha1_32;
  } else {
    fail(std::string("unsupported SRTP profile ") + gnutls_srtp_get_profile_name(selected));
    return;
  }
  std::array<uint8_t, 2 * rtp::kSrtpKeyingLength> material{};
  gnutls_datum_t client_key{}, client_salt{}, server_key{}, server_salt{};
  const int rc = gnutls_srtp_get_keys(session_.get(), material.data(), material.size(),
                                      &client_key, &client_salt, &server_key, &server_salt);
  if (rc < 0 || client_key.size != rtp::kSrtpMasterKeyLength ||
      server_key.size != rtp::kSrtpMasterKeyLength ||
      client_salt.size != rtp::kSrtpMasterSaltLength ||
      server_salt.size != rtp::kSrtpMasterSaltLength) {
    fail(std::string("SRTP key export failed: ") + (rc < 0 ? gnutls_strerror(rc) : "bad sizes"));
    return;
  }
  // The client writes with the client key: it is our outbound key when we
  // are the client, and our inbound key when we are the server.
  auto assemble = [](const gnutls_datum_t& key, const gnutls_datum_t& salt,
                     std::array<uint8_t, rtp::kSrtpKeyingLength>& out) {
    std::memcpy(out.data(), key.data, key.size);
    std::memcpy(out.data() + key.size, salt.data, salt.size);
  };
  const bool client = role_ == DtlsRole::kClient;
  assemble(client_key, client_salt, client ? keys.outbound : keys.inbound);
  assemble(server_key, server_salt, client ? keys.inbound : keys.outbound);
  gnutls_memset(material.data(), 0, material.size());
  state_ = State::kConnected;
  if (callbacks_.on_connected) callbacks_.on_connected(keys);
  gnutls_memset(&keys, 0, sizeof(keys));
}

void DtlsTransport::read_records() {
  std::array<uint8_t, 2048> discard{};
  for (size_t attempts = incoming_.size() + 2; attempts > 0 && state_ == State::kConnected;
       --attempts) {
    const size_t queued = incoming_.size();
    const ssize_t rc = gnutls_record_recv(session_.get(), discard.data(), discard.size());
    if (rc > 0) continue;  // application data: unused (no data channels)
    if (rc == 0) {
      state_ = State::kClosed;
      if (callbacks_.on_closed) callbacks_.on_closed();
      return;
    }
    if (rc == GNUTLS_E_AGAIN || rc == GNUTLS_E_INTERRUPTED) {
      if (incoming_.empty() || incoming_.size() == queued) return;
      continue;
    }
    if (gnutls_error_is_fatal(static_cast<int>(rc)) != 0) {
      fail("connection failed: " + describe_gnutls_error(session_.get(), static_cast<int>(rc)));
      return;
    }
  }
}

void DtlsTransport::fail(std::string reason) {
  state_ = State::kFailed;
  incoming_.clear();
  if (callbacks_.on_failed) callbacks_.on_failed(make_error(kDtlsErrorCode, std::move(reason)));
}

void DtlsTransport::close() {
  if (state_ == State::kConnected) {
    // Non-blocking: one attempt sends the alert; nothing waits for the reply.
    gnutls_bye(session_.get(), GNUTLS_SHUT_WR);
  }
  if (state_ != State::kFailed) state_ = State::kClosed;
  incoming_.clear();
}

std::string DtlsTransport::session_description() const {
  if (state_ != State::kConnected) return {};
  char* description = gnutls_session_get_desc(session_.get());
  if (description == nullptr) return {};
  std::string text(description);
  gnutls_free(description);
  return text;
}

}  // namespace partyline::ice
