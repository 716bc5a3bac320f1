// Two PeerTransports in one process on one GMainContext, talking over
// 127.0.0.1 (run under `unshare -n` with lo up).
#include "ice/ice_lite_link.hpp"
#include "ice/peer_transport.hpp"
#include "ice/shared_udp_port.hpp"
#include "ice/transport_totals.hpp"
#include "tests/ice/test_main_context.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace partyline::ice {
namespace {

using Clock = std::chrono::steady_clock;

// Whether a UDP socket can bind 127.0.0.1:port (nobody holds it).
bool udp_port_is_free(int port) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return bound;
}

// The port of a "candidate:... 1 UDP prio 127.0.0.1 PORT typ host" line.
int candidate_port(const std::string& candidate) {
  std::istringstream fields(candidate);
  std::string field;
  for (int i = 0; i < 6 && fields >> field; ++i) {
  }
  return std::stoi(field);
}

IceConfig loopback_config(bool controlling) {
  IceConfig config;
  config.local_addresses = {"127.0.0.1"};
  config.allowed_remote_networks = {"127.0.0.0/8"};
  config.controlling = controlling;
  return config;
}

struct Peer {
  std::unique_ptr<PeerTransport> transport;
  std::vector<std::string> local_candidates;
  bool gathering_done = false;
  std::vector<TransportState> states;
  std::optional<Error> error;
  std::vector<std::vector<uint8_t>> rtp;
  std::vector<std::vector<uint8_t>> rtcp;

  bool reached(TransportState state) const {
    return std::find(states.begin(), states.end(), state) != states.end();
  }
};

class PeerTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto first = Certificate::generate();
    auto second = Certificate::generate();
    ASSERT_TRUE(first.ok() && second.ok());
    server_certificate_ = *first;
    client_certificate_ = *second;
  }

  void TearDown() override {
    server_.transport.reset();
    client_.transport.reset();
    shared_port_.reset();
  }

  void create(Peer& peer, bool controlling, std::shared_ptr<const Certificate> certificate,
              IceConfig config) {
    config.controlling = controlling;
    auto transport = PeerTransport::create(context_, config, std::move(certificate), callbacks_of(peer));
    ASSERT_TRUE(transport.ok()) << transport.error().message;
    peer.transport = std::move(transport).value();
  }

  // partyline's side in single-port mode: ICE-lite on a port others could share.
  void create_lite_server() {
    auto port = SharedUdpPort::open(context_, "127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.error().message;
    shared_port_ = std::move(port).value();
    auto make_link = [this](IceLink::Callbacks callbacks) -> Result<std::unique_ptr<IceLink>> {
      IceLiteLink::Options options;
      options.advertised_addresses = {"127.0.0.1"};
      auto link = IceLiteLink::create(context_, *shared_port_, options, std::move(callbacks));
      if (!link.ok()) return link.error();
      return std::unique_ptr<IceLink>(std::move(link).value());
    };
    auto transport = PeerTransport::create_with_link(context_, 30000, make_link, server_certificate_,
                                                     callbacks_of(server_));
    ASSERT_TRUE(transport.ok()) << transport.error().message;
    server_.transport = std::move(transport).value();
  }

  PeerTransport::Callbacks callbacks_of(Peer& peer) {
    PeerTransport::Callbacks callbacks;
    callbacks.on_local_candidate = [&peer](std::string candidate) {
      peer.local_candidates.push_back(std::move(candidate));
    };
    callbacks.on_gathering_done = [&peer] { peer.gathering_done = true; };
    callbacks.on_state = [&peer](TransportState state, const Error* error) {
      peer.states.push_back(state);
      if (error != nullptr) peer.error = *error;
    };
    callbacks.on_rtp = [&peer](std::span<uint8_t> packet) {
      peer.rtp.emplace_back(packet.begin(), packet.end());
    };
    callbacks.on_rtcp = [&peer](std::span<uint8_t> packet) {
      peer.rtcp.emplace_back(packet.begin(), packet.end());
    };
    return callbacks;
  }

  // The browser-like side (controlling) and partyline's side (controlled).
  void create_pair() {
    create(server_, false, server_certificate_, loopback_config(false));
    create(client_, true, client_certificate_, loopback_config(true));
  }

  RemoteParameters remote_of(const Peer& peer, const Certificate& certificate, DtlsRole role) {
    return RemoteParameters{peer.transport->local_ufrag(), peer.transport->local_pwd(), "sha-256",
                            certificate.fingerprint(), role};
  }

  // Iterates the context until `done` or the deadline; false on timeout.
  bool run_until(const std::function<bool()>& done, std::chrono::seconds limit = std::chrono::seconds(10)) {
    return loop_.run_until(done, limit);
  }

  // Trickles what each side gathered so far to the other side.
  void trickle(Peer& from, size_t& delivered, Peer& to) {
    for (; delivered < from.local_candidates.size(); ++delivered) {
      auto outcome = to.transport->add_remote_candidate(from.local_candidates[delivered]);
      ASSERT_TRUE(outcome.ok()) << outcome.error().message;
      EXPECT_TRUE(outcome->accepted) << outcome->reason;
    }
  }

  // Runs until both sides are secure (or one fails), trickling candidates.
  bool connect(bool apply_remote_first) {
    if (apply_remote_first) apply_remote();
    EXPECT_TRUE(server_.transport->start_gathering().ok());
    EXPECT_TRUE(client_.transport->start_gathering().ok());
    size_t to_client = 0;
    size_t to_server = 0;
    bool remote_applied = apply_remote_first;
    return run_until([&] {
      trickle(server_, to_client, client_);
      trickle(client_, to_server, server_);
      // Early-candidate mode: every candidate goes over before the offer.
      if (!remote_applied && server_.gathering_done && client_.gathering_done) {
        apply_remote();
        remote_applied = true;
      }
      return (server_.reached(TransportState::kSecure) && client_.reached(TransportState::kSecure)) ||
             server_.error || client_.error;
    });
  }

  void apply_remote() {
    ASSERT_TRUE(server_.transport
                    ->set_remote(remote_of(client_, *client_certificate_, server_role_))
                    .ok());
    const DtlsRole client_role = server_role_ == DtlsRole::kServer ? DtlsRole::kClient : DtlsRole::kServer;
    ASSERT_TRUE(client_.transport
                    ->set_remote(remote_of(server_, *expected_server_certificate(), client_role))
                    .ok());
  }

  std::shared_ptr<const Certificate> expected_server_certificate() {
    return client_expects_ ? client_expects_ : server_certificate_;
  }

  void exchange_media(Peer& sender, Peer& receiver, uint16_t sequence) {
    std::vector<uint8_t> rtp(12 + 160 + rtp::kSrtpMaxTrailer, 0);
    const uint8_t header[12] = {0x80, 111, static_cast<uint8_t>(sequence >> 8),
                                static_cast<uint8_t>(sequence), 0, 0, 1, 0, 0xCA, 0xFE, 0xBA, 0xBE};
    std::copy(std::begin(header), std::end(header), rtp.begin());
    for (size_t i = 12; i < 172; ++i) rtp[i] = static_cast<uint8_t>(i ^ sequence);
    const std::vector<uint8_t> rtp_plain(rtp.begin(), rtp.begin() + 172);
    SendResult sent = sender.transport->send_rtp(rtp, 172);
    ASSERT_EQ(SendResult::kSent, sent) << to_string(sent);

    std::vector<uint8_t> rtcp(28 + rtp::kSrtpMaxTrailer, 0);
    const uint8_t rtcp_header[8] = {0x80, 200, 0, 6, 0xCA, 0xFE, 0xBA, 0xBE};  // sender report
    std::copy(std::begin(rtcp_header), std::end(rtcp_header), rtcp.begin());
    for (size_t i = 8; i < 28; ++i) rtcp[i] = static_cast<uint8_t>(i * 5);
    const std::vector<uint8_t> rtcp_plain(rtcp.begin(), rtcp.begin() + 28);
    sent = sender.transport->send_rtcp(rtcp, 28);
    ASSERT_EQ(SendResult::kSent, sent) << to_string(sent);

    const size_t rtp_before = receiver.rtp.size();
    const size_t rtcp_before = receiver.rtcp.size();
    ASSERT_TRUE(run_until([&] {
      return receiver.rtp.size() > rtp_before && receiver.rtcp.size() > rtcp_before;
    }));
    EXPECT_EQ(rtp_plain, receiver.rtp.back());
    EXPECT_EQ(rtcp_plain, receiver.rtcp.back());
  }

  test_support::TestMainContext loop_;  // first: outlives what runs on it
  GMainContext* context_ = loop_.get();
  std::shared_ptr<const Certificate> server_certificate_;
  std::shared_ptr<const Certificate> client_certificate_;
  std::shared_ptr<const Certificate> client_expects_;  // a wrong one for mismatch tests
  DtlsRole server_role_ = DtlsRole::kServer;
  std::unique_ptr<SharedUdpPort> shared_port_;  // create_lite_server's
  Peer server_;
  Peer client_;
};

TEST_F(PeerTransportTest, ReachesSecureAndExchangesMediaBothWays) {
  create_pair();
  ASSERT_TRUE(connect(/*apply_remote_first=*/true))
      << "timed out; server states " << server_.states.size() << ", client " << client_.states.size();
  ASSERT_FALSE(server_.error) << server_.error->message;
  ASSERT_FALSE(client_.error) << client_.error->message;
  EXPECT_EQ((std::vector<TransportState>{TransportState::kChecking, TransportState::kConnected,
                                         TransportState::kSecure}),
            server_.states);
  ASSERT_FALSE(server_.local_candidates.empty());
  EXPECT_EQ(0u, server_.local_candidates[0].rfind("candidate:", 0));
  EXPECT_NE(server_.local_candidates[0].find("127.0.0.1"), std::string::npos);

  exchange_media(server_, client_, 1);
  exchange_media(client_, server_, 500);
  exchange_media(server_, client_, 2);
  EXPECT_EQ(0u, server_.transport->dropped_packets());
  EXPECT_EQ(0u, client_.transport->dropped_packets());

  server_.transport->close();
  EXPECT_EQ(TransportState::kClosed, server_.transport->state());
  EXPECT_EQ(TransportState::kClosed, server_.states.back());
  // close_notify reaches the other side.
  EXPECT_TRUE(run_until([&] { return client_.reached(TransportState::kClosed); }));
}

TEST_F(PeerTransportTest, ReachesSecureOverAnIceLiteLinkOnASharedPort) {
  create_lite_server();
  create(client_, true, client_certificate_, loopback_config(true));
  apply_remote();
  ASSERT_TRUE(server_.transport->start_gathering().ok());
  ASSERT_TRUE(client_.transport->start_gathering().ok());
  size_t to_client = 0;
  // The lite side needs none of the client's candidates: its checks show them.
  ASSERT_TRUE(run_until([&] {
    trickle(server_, to_client, client_);
    return (server_.reached(TransportState::kSecure) && client_.reached(TransportState::kSecure)) ||
           server_.error || client_.error;
  }));
  ASSERT_FALSE(server_.error) << server_.error->message;
  ASSERT_FALSE(client_.error) << client_.error->message;
  EXPECT_NE(server_.local_candidates.at(0).find(" " + std::to_string(shared_port_->port()) + " typ host"),
            std::string::npos);
  EXPECT_NE(server_.transport->snapshot().selected_remote.find("typ prflx"), std::string::npos);

  exchange_media(server_, client_, 1);
  exchange_media(client_, server_, 500);
  EXPECT_EQ(0u, server_.transport->dropped_packets());
  EXPECT_EQ(0u, client_.transport->dropped_packets());
  server_.transport->close();
  EXPECT_TRUE(run_until([&] { return client_.reached(TransportState::kClosed); }));
}

TEST_F(PeerTransportTest, TwoControlledAgentsResolveTheRoleConflict) {
  create(server_, false, server_certificate_, loopback_config(false));
  create(client_, false, client_certificate_, loopback_config(false));
  ASSERT_TRUE(connect(true));
  ASSERT_FALSE(server_.error || client_.error);
  exchange_media(client_, server_, 3);
}

TEST_F(PeerTransportTest, ServerSideCanBeTheDtlsClient) {
  server_role_ = DtlsRole::kClient;
  create_pair();
  ASSERT_TRUE(connect(true));
  ASSERT_FALSE(server_.error || client_.error);
  exchange_media(server_, client_, 10);
  exchange_media(client_, server_, 20);
}

TEST_F(PeerTransportTest, CandidatesArrivingBeforeTheOfferAreApplied) {
  create_pair();
  ASSERT_TRUE(connect(/*apply_remote_first=*/false));
  ASSERT_FALSE(server_.error || client_.error);
  EXPECT_TRUE(server_.reached(TransportState::kSecure));
  exchange_media(client_, server_, 7);
}

TEST_F(PeerTransportTest, FingerprintMismatchFailsWith495OnTheCheckingSide) {
  auto stranger = Certificate::generate();
  ASSERT_TRUE(stranger.ok());
  client_expects_ = *stranger;  // the client (DTLS client) checks the server's certificate
  create_pair();
  ASSERT_TRUE(connect(true));
  ASSERT_TRUE(client_.error);
  EXPECT_EQ(kDtlsErrorCode, client_.error->code);
  EXPECT_EQ("DTLS: remote certificate does not match a=fingerprint", client_.error->message);
  EXPECT_EQ(TransportState::kFailed, client_.transport->state());
  EXPECT_FALSE(client_.reached(TransportState::kSecure));
  // The server hears the alert and fails too, never reaching secure.
  EXPECT_TRUE(run_until([&] { return server_.error.has_value(); }));
  EXPECT_EQ(kDtlsErrorCode, server_.error->code);
  EXPECT_FALSE(server_.reached(TransportState::kSecure));

  std::vector<uint8_t> buffer(64, 0x80);
  EXPECT_EQ(SendResult::kNotSecure, client_.transport->send_rtp(buffer, 20));
  EXPECT_EQ(1u, client_.transport->send_counts()[SendResult::kNotSecure]);
}

// A peer whose candidates lead nowhere: without a deadline the transport
// stayed "checking" for ever (its occupant listed as connecting).
TEST_F(PeerTransportTest, SetUpThatNeverConnectsTimesOutInIce) {
  IceConfig config = loopback_config(false);
  config.setup_timeout_ms = 300;
  create(server_, false, server_certificate_, config);
  create(client_, true, client_certificate_, loopback_config(true));
  const uint64_t timeouts_before = thread_transport_totals().setup_timeouts;
  ASSERT_TRUE(server_.transport->start_gathering().ok());
  ASSERT_TRUE(server_.transport->set_remote(remote_of(client_, *client_certificate_, DtlsRole::kServer)).ok());
  // No candidate of the client ever arrives.
  ASSERT_TRUE(run_until([&] { return server_.error.has_value(); }, std::chrono::seconds(5)));
  EXPECT_EQ(kIceErrorCode, server_.error->code);
  EXPECT_EQ("connection set-up timed out: not secure 300 ms after the offer (ICE checks unfinished)",
            server_.error->message);
  EXPECT_EQ(TransportState::kFailed, server_.transport->state());
  EXPECT_EQ(timeouts_before + 1, thread_transport_totals().setup_timeouts);
}

// Both sides DTLS servers: ICE connects, nobody sends a ClientHello.
TEST_F(PeerTransportTest, SetUpWhoseDtlsHandshakeNeverEndsTimesOutWith495) {
  IceConfig config = loopback_config(false);
  config.setup_timeout_ms = 1500;
  create(server_, false, server_certificate_, config);
  create(client_, true, client_certificate_, loopback_config(true));
  ASSERT_TRUE(server_.transport->set_remote(remote_of(client_, *client_certificate_, DtlsRole::kServer)).ok());
  ASSERT_TRUE(client_.transport->set_remote(remote_of(server_, *server_certificate_, DtlsRole::kServer)).ok());
  ASSERT_TRUE(server_.transport->start_gathering().ok());
  ASSERT_TRUE(client_.transport->start_gathering().ok());
  size_t to_client = 0;
  size_t to_server = 0;
  ASSERT_TRUE(run_until([&] {
    trickle(server_, to_client, client_);
    trickle(client_, to_server, server_);
    return server_.error.has_value();
  }));
  EXPECT_TRUE(server_.reached(TransportState::kConnected));
  EXPECT_EQ(kDtlsErrorCode, server_.error->code);
  EXPECT_EQ("connection set-up timed out: not secure 1500 ms after the offer (DTLS handshake unfinished)",
            server_.error->message);
  // The failed transport lets its socket go at once, though its owner has
  // not closed it (a session whose PeerConnection failed may stay on).
  ASSERT_FALSE(server_.local_candidates.empty());
  const int port = candidate_port(server_.local_candidates.front());
  EXPECT_TRUE(run_until([&] { return udp_port_is_free(port); }, std::chrono::seconds(2)))
      << "port " << port << " of " << server_.local_candidates.front();
  // The client's transport, not failed, still holds its own.
  ASSERT_FALSE(client_.local_candidates.empty());
  EXPECT_FALSE(udp_port_is_free(candidate_port(client_.local_candidates.front())));
  EXPECT_EQ(TransportState::kFailed, server_.transport->state());
}

// Secure in time: the deadline never fires afterwards.
TEST_F(PeerTransportTest, SetUpInTimeIsNotFailedByTheDeadline) {
  IceConfig config = loopback_config(false);
  config.setup_timeout_ms = 2000;
  create(server_, false, server_certificate_, config);
  create(client_, true, client_certificate_, loopback_config(true));
  ASSERT_TRUE(connect(true));
  ASSERT_TRUE(server_.reached(TransportState::kSecure));
  // A fixed window: it asserts that something does not happen.
  EXPECT_FALSE(run_until([&] { return server_.error.has_value(); }, std::chrono::seconds(3)));
  EXPECT_EQ(TransportState::kSecure, server_.transport->state());
}

TEST_F(PeerTransportTest, ServerRejectsClientCertificateNotMatchingFingerprint) {
  create_pair();
  auto stranger = Certificate::generate();
  ASSERT_TRUE(stranger.ok());
  client_certificate_ = *stranger;  // the server now expects another client certificate
  ASSERT_TRUE(connect(true));
  ASSERT_TRUE(server_.error);
  EXPECT_EQ(kDtlsErrorCode, server_.error->code);
  EXPECT_EQ("DTLS: remote certificate does not match a=fingerprint", server_.error->message);
}

TEST_F(PeerTransportTest, FiltersCandidatesOutsideAllowedNetworks) {
  create(server_, false, server_certificate_, loopback_config(false));
  PeerTransport& transport = *server_.transport;

  auto outside = transport.add_remote_candidate("candidate:1 1 udp 2122260223 10.0.0.1 5000 typ host");
  ASSERT_TRUE(outside.ok());
  EXPECT_FALSE(outside->accepted);
  EXPECT_NE(outside->reason.find("outside ice.allowed_remote_networks"), std::string::npos)
      << outside->reason;

  auto tcp = transport.add_remote_candidate(
      "a=candidate:2 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active generation 0");
  ASSERT_TRUE(tcp.ok());
  EXPECT_FALSE(tcp->accepted);
  EXPECT_NE(tcp->reason.find("TCP"), std::string::npos);

  auto ipv6_loopback = transport.add_remote_candidate("candidate:3 1 udp 2122260223 ::1 5000 typ host");
  ASSERT_TRUE(ipv6_loopback.ok());
  EXPECT_FALSE(ipv6_loopback->accepted);
  EXPECT_NE(ipv6_loopback->reason.find("IPv6 loopback"), std::string::npos);

  auto rtcp_component = transport.add_remote_candidate("candidate:4 2 udp 2122260222 127.0.0.1 5001 typ host");
  ASSERT_TRUE(rtcp_component.ok());
  EXPECT_FALSE(rtcp_component->accepted);

  auto mdns = transport.add_remote_candidate("candidate:5 1 udp 2122260223 3f1c0f2e-1111.local 5000 typ host");
  ASSERT_TRUE(mdns.ok());
  EXPECT_FALSE(mdns->accepted);

  auto inside = transport.add_remote_candidate("candidate:6 1 udp 2122260223 127.0.0.1 5000 typ host");
  ASSERT_TRUE(inside.ok());
  EXPECT_TRUE(inside->accepted);
  EXPECT_TRUE(inside->queued);  // no remote credentials yet

  auto malformed = transport.add_remote_candidate("candidate:garbage");
  ASSERT_FALSE(malformed.ok());
  EXPECT_EQ(400, malformed.error().code);
}

TEST_F(PeerTransportTest, AdvertisesPublicIpForHostCandidates) {
  IceConfig config = loopback_config(false);
  config.public_ip = "198.51.100.7";
  create(server_, false, server_certificate_, config);
  ASSERT_TRUE(server_.transport->start_gathering().ok());
  ASSERT_TRUE(run_until([&] { return server_.gathering_done; }));
  ASSERT_FALSE(server_.local_candidates.empty());
  for (const std::string& candidate : server_.local_candidates) {
    EXPECT_NE(candidate.find(" 198.51.100.7 "), std::string::npos) << candidate;
    EXPECT_EQ(candidate.find("127.0.0.1"), std::string::npos) << candidate;
  }
}

TEST_F(PeerTransportTest, RejectsBadConfiguration) {
  PeerTransport::Callbacks callbacks;
  IceConfig bad_network = loopback_config(false);
  bad_network.allowed_remote_networks = {"127.0.0.0/33"};
  auto first = PeerTransport::create(context_, bad_network, server_certificate_, callbacks);
  ASSERT_FALSE(first.ok());
  EXPECT_NE(first.error().message.find("127.0.0.0/33"), std::string::npos);

  IceConfig bad_stun = loopback_config(false);
  bad_stun.stun_server = "stun.example.org:3478";
  auto second = PeerTransport::create(context_, bad_stun, server_certificate_, callbacks);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("must be an IP address"), std::string::npos);

  IceConfig bad_address = loopback_config(false);
  bad_address.local_addresses = {"not-an-ip"};
  EXPECT_FALSE(PeerTransport::create(context_, bad_address, server_certificate_, callbacks).ok());
}

TEST_F(PeerTransportTest, SetRemoteRejectsUnsupportedFingerprintAlgorithmAndRepeats) {
  create(server_, false, server_certificate_, loopback_config(false));
  RemoteParameters remote{"abcd", "0123456789abcdef01234567", "md5", "AA:BB", DtlsRole::kServer};
  Status status = server_.transport->set_remote(remote);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(415, status.error().code);
  remote.fingerprint_algorithm = "sha-256";
  ASSERT_TRUE(server_.transport->set_remote(remote).ok());
  Status again = server_.transport->set_remote(remote);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(409, again.error().code);
}

}  // namespace
}  // namespace partyline::ice
