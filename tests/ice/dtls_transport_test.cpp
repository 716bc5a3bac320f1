#include "ice/dtls_transport.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <optional>
#include <thread>
#include <vector>

#include "rtp/srtp/srtp_session.hpp"

namespace partyline::ice {
namespace {

using Datagram = std::vector<uint8_t>;

// One endpoint of an in-memory DTLS association: what it sends lands in
// `outbox`; the test decides what to deliver to the other side.
struct Endpoint {
  std::shared_ptr<const Certificate> certificate;
  std::unique_ptr<DtlsTransport> transport;
  std::deque<Datagram> outbox;
  size_t datagrams_sent = 0;
  std::optional<SrtpKeyMaterial> keys;
  std::optional<Error> failure;
  bool closed_by_peer = false;
};

std::shared_ptr<const Certificate> make_certificate() {
  auto certificate = Certificate::generate();
  EXPECT_TRUE(certificate.ok());
  return *certificate;
}

void create_transport(Endpoint& self, DtlsRole role, const std::string& remote_fingerprint,
                      DtlsTransport::Options options = {}) {
  DtlsTransport::Callbacks callbacks;
  callbacks.send = [&self](std::span<const uint8_t> datagram) {
    self.outbox.emplace_back(datagram.begin(), datagram.end());
    ++self.datagrams_sent;
  };
  callbacks.on_connected = [&self](const SrtpKeyMaterial& keys) { self.keys = keys; };
  callbacks.on_failed = [&self](const Error& error) { self.failure = error; };
  callbacks.on_closed = [&self] { self.closed_by_peer = true; };
  auto transport = DtlsTransport::create(role, self.certificate, "sha-256", remote_fingerprint,
                                         std::move(callbacks), std::move(options));
  ASSERT_TRUE(transport.ok()) << transport.error().message;
  self.transport = std::move(transport).value();
}

// Delivers queued datagrams both ways until neither side has anything to say.
void exchange(Endpoint& a, Endpoint& b) {
  for (int rounds = 0; rounds < 100 && (!a.outbox.empty() || !b.outbox.empty()); ++rounds) {
    while (!a.outbox.empty()) {
      Datagram datagram = std::move(a.outbox.front());
      a.outbox.pop_front();
      b.transport->receive(datagram);
    }
    while (!b.outbox.empty()) {
      Datagram datagram = std::move(b.outbox.front());
      b.outbox.pop_front();
      a.transport->receive(datagram);
    }
  }
}

class DtlsPairTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client.certificate = make_certificate();
    server.certificate = make_certificate();
  }
  void create(DtlsTransport::Options client_options = {},
              DtlsTransport::Options server_options = {}) {
    create_transport(client, DtlsRole::kClient, server.certificate->fingerprint(),
                     std::move(client_options));
    create_transport(server, DtlsRole::kServer, client.certificate->fingerprint(),
                     std::move(server_options));
  }
  Endpoint client;
  Endpoint server;
};

// Protects with `sender`'s outbound key and opens with `receiver`'s inbound key.
void expect_keys_match(const SrtpKeyMaterial& sender, const SrtpKeyMaterial& receiver) {
  ASSERT_EQ(sender.profile, receiver.profile);
  auto outbound = rtp::SrtpSession::create(sender.profile, rtp::SrtpDirection::kOutbound,
                                           sender.outbound);
  auto inbound = rtp::SrtpSession::create(receiver.profile, rtp::SrtpDirection::kInbound,
                                          receiver.inbound);
  ASSERT_TRUE(outbound.ok() && inbound.ok());
  std::vector<uint8_t> packet(12 + 100 + rtp::kSrtpMaxTrailer, 0x5A);
  const uint8_t header[12] = {0x80, 111, 0, 1, 0, 0, 0, 1, 1, 2, 3, 4};
  std::copy(std::begin(header), std::end(header), packet.begin());
  const std::vector<uint8_t> plain(packet.begin(), packet.begin() + 112);
  auto sealed = outbound->protect_rtp(packet, 112);
  ASSERT_TRUE(sealed.ok());
  auto opened = inbound->unprotect_rtp(std::span(packet.data(), sealed.length));
  ASSERT_TRUE(opened.ok()) << to_string(opened.error);
  EXPECT_EQ(plain, std::vector<uint8_t>(packet.begin(), packet.begin() + opened.length));
}

TEST_F(DtlsPairTest, HandshakeExportsCrosswiseSrtpKeys) {
  create();
  client.transport->start();
  server.transport->start();  // no-op for a server: it waits for the ClientHello
  exchange(client, server);

  ASSERT_FALSE(client.failure) << client.failure->message;
  ASSERT_FALSE(server.failure) << server.failure->message;
  ASSERT_TRUE(client.keys && server.keys);
  EXPECT_EQ(DtlsTransport::State::kConnected, client.transport->state());
  EXPECT_EQ(DtlsTransport::State::kConnected, server.transport->state());
  EXPECT_EQ(rtp::SrtpProfile::kAes128CmHmacSha1_80, client.keys->profile);
  EXPECT_NE(client.keys->outbound, client.keys->inbound);
  expect_keys_match(*client.keys, *server.keys);
  expect_keys_match(*server.keys, *client.keys);
  EXPECT_NE(client.transport->session_description().find("DTLS1.2"), std::string::npos);
  EXPECT_FALSE(client.transport->next_timeout().has_value());
}

TEST_F(DtlsPairTest, NegotiatesWithAGcmOnlyClientLikeWerift) {
  DtlsTransport::Options gcm_only;
  gcm_only.priorities = "NORMAL:-VERS-ALL:+VERS-DTLS1.2:-CIPHER-ALL:+AES-128-GCM";
  create(gcm_only);
  client.transport->start();
  exchange(client, server);
  ASSERT_TRUE(server.keys) << (server.failure ? server.failure->message : "no result");
  EXPECT_NE(server.transport->session_description().find("AES-128-GCM"), std::string::npos)
      << server.transport->session_description();
}

TEST_F(DtlsPairTest, NegotiatesWithAChachaOnlyClient) {
  DtlsTransport::Options chacha_only;
  chacha_only.priorities = "NORMAL:-VERS-ALL:+VERS-DTLS1.2:-CIPHER-ALL:+CHACHA20-POLY1305";
  create(chacha_only);
  client.transport->start();
  exchange(client, server);
  ASSERT_TRUE(server.keys) << (server.failure ? server.failure->message : "no result");
  EXPECT_NE(server.transport->session_description().find("CHACHA20"), std::string::npos);
}

TEST_F(DtlsPairTest, ServerRejectsClientCertificateNotMatchingFingerprint) {
  auto stranger = make_certificate();
  create_transport(client, DtlsRole::kClient, server.certificate->fingerprint());
  create_transport(server, DtlsRole::kServer, stranger->fingerprint());
  client.transport->start();
  exchange(client, server);
  ASSERT_TRUE(server.failure);
  EXPECT_EQ(kDtlsErrorCode, server.failure->code);
  EXPECT_EQ(kFingerprintMismatchReason, server.failure->message);
  EXPECT_EQ(DtlsTransport::State::kFailed, server.transport->state());
  EXPECT_FALSE(server.keys);
  EXPECT_FALSE(client.keys);
  ASSERT_TRUE(client.failure);  // told by the alert
  EXPECT_EQ(kDtlsErrorCode, client.failure->code);
}

TEST_F(DtlsPairTest, ClientRejectsServerCertificateNotMatchingFingerprint) {
  auto stranger = make_certificate();
  create_transport(client, DtlsRole::kClient, stranger->fingerprint());
  create_transport(server, DtlsRole::kServer, client.certificate->fingerprint());
  client.transport->start();
  exchange(client, server);
  ASSERT_TRUE(client.failure);
  EXPECT_EQ(kDtlsErrorCode, client.failure->code);
  EXPECT_EQ(kFingerprintMismatchReason, client.failure->message);
  EXPECT_FALSE(client.keys);
}

TEST_F(DtlsPairTest, FingerprintComparisonIgnoresCase) {
  std::string lowercase = server.certificate->fingerprint();
  for (char& c : lowercase) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  create_transport(client, DtlsRole::kClient, lowercase);
  create_transport(server, DtlsRole::kServer, client.certificate->fingerprint());
  client.transport->start();
  exchange(client, server);
  EXPECT_TRUE(client.keys && server.keys);
}

TEST_F(DtlsPairTest, FragmentedClientHelloIsReassembled) {
  DtlsTransport::Options tiny_mtu;
  tiny_mtu.mtu = 120;  // forces the ClientHello over several datagrams, like Chromium's
  create(tiny_mtu);
  client.transport->start();
  EXPECT_GE(client.outbox.size(), 2u) << "the ClientHello was not fragmented";
  exchange(client, server);
  ASSERT_FALSE(server.failure) << server.failure->message;
  EXPECT_TRUE(client.keys && server.keys);
}

TEST_F(DtlsPairTest, GarbageDatagramsDoNotDisturbTheHandshake) {
  create();
  const std::vector<Datagram> garbage = {
      {22},
      {22, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF},
      Datagram(300, 0x17),
      {20, 0xFE, 0xFF, 1, 2, 3},
      // Well framed records with nonsense inside.
      {22, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 5, 0, 3, 1, 2, 3},
      {22, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 9, 0, 12, 1, 0, 0, 200, 0, 0, 0, 0, 0, 0, 0, 200},
  };
  for (const Datagram& datagram : garbage) server.transport->receive(datagram);
  client.transport->start();
  // Forged handshake fragments could poison the client's reassembly until a
  // retransmission; only unframed junk goes to it mid-handshake.
  for (size_t i = 0; i < 4; ++i) client.transport->receive(garbage[i]);
  exchange(client, server);
  ASSERT_TRUE(client.keys && server.keys)
      << to_string(client.transport->state()) << " " << to_string(server.transport->state()) << " "
      << (client.failure ? client.failure->message : "") << " / "
      << (server.failure ? server.failure->message : "");
  for (const Datagram& datagram : garbage) {
    server.transport->receive(datagram);
    client.transport->receive(datagram);
  }
  EXPECT_EQ(DtlsTransport::State::kConnected, server.transport->state());
  EXPECT_EQ(DtlsTransport::State::kConnected, client.transport->state());
}

TEST_F(DtlsPairTest, LostClientHelloIsRetransmittedOnTimeout) {
  DtlsTransport::Options fast;
  fast.initial_retransmit = std::chrono::milliseconds(20);
  create(fast);
  client.transport->start();
  ASSERT_FALSE(client.outbox.empty());
  client.outbox.clear();  // lost on the way
  const size_t sent_before = client.datagrams_sent;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (client.datagrams_sent == sent_before && std::chrono::steady_clock::now() < deadline) {
    auto timeout = client.transport->next_timeout();
    ASSERT_TRUE(timeout.has_value());
    // Waiting for the retransmission timer is the event under test.
    std::this_thread::sleep_for(*timeout);
    client.transport->handle_timeout();
  }
  ASSERT_GT(client.datagrams_sent, sent_before);
  exchange(client, server);
  EXPECT_TRUE(client.keys && server.keys);
}

TEST_F(DtlsPairTest, CloseNotifyReachesThePeer) {
  create();
  client.transport->start();
  exchange(client, server);
  ASSERT_TRUE(client.keys && server.keys);
  client.transport->close();
  EXPECT_EQ(DtlsTransport::State::kClosed, client.transport->state());
  exchange(client, server);
  EXPECT_TRUE(server.closed_by_peer);
  EXPECT_EQ(DtlsTransport::State::kClosed, server.transport->state());
}

TEST(DtlsTransportTest, RejectsUnsupportedFingerprintAlgorithm) {
  auto certificate = make_certificate();
  auto transport = DtlsTransport::create(DtlsRole::kServer, certificate, "md5", "AA:BB", {});
  ASSERT_FALSE(transport.ok());
  EXPECT_EQ(415, transport.error().code);
}

}  // namespace
}  // namespace partyline::ice
