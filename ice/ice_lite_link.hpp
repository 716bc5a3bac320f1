// IceLiteLink: the IceLink of single-port mode (issue 18). The participant
// reaches the server on the one UDP port every participant shares
// (SharedUdpPort); this side is an ICE-lite agent (RFC 8445 section 2.5,
// rtp::IceLiteResponder): it advertises one host candidate per configured
// address on that port, answers the participant's checks, follows its
// nomination and loses the path when consent lapses (no answered check from
// the selected address for the consent timeout: the participant's browser
// sends one every 5 s or so, RFC 7675).
//
// The description the server sends must say `a=ice-lite`, so the
// participant's agent takes the controlling role and nominates. Remote
// candidates are not needed to connect (the participant's checks show its
// addresses): they are kept only to name the selected pair's remote end
// (host, srflx, relay) when a check comes from one of them, else it is
// reported as peer-reflexive (and named again when a trickled candidate
// naming it arrives later).
//
// Runs on the GMainContext given to create(), which must be the port's:
// every callback there; callbacks must not destroy the link.
#pragma once

#include <glib.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ice/candidate_filter.hpp"
#include "ice/ice_link.hpp"
#include "ice/shared_udp_port.hpp"
#include "rtp/sdp/ice_candidate.hpp"
#include "rtp/stun/ice_lite_responder.hpp"

namespace partyline::ice {

class IceLiteLink final : public IceLink, private SharedUdpPort::Receiver {
 public:
  struct Options {
    // The host candidates' addresses (IP literals); their port is the port's.
    std::vector<std::string> advertised_addresses;
    int64_t consent_timeout_us = rtp::IceLiteResponder::kDefaultConsentTimeoutUs;
    // Checks from outside these networks (CIDR) go unanswered; empty: any.
    std::vector<std::string> allowed_remote_networks;
  };
  struct Counters {
    uint64_t stun_malformed = 0;       // STUN that did not parse
    uint64_t from_unchecked = 0;       // non-STUN from an address no check was answered from
    uint64_t outside_networks = 0;     // checks from outside allowed_remote_networks
  };
  // Remote candidates kept to name the selected pair's remote end.
  static constexpr size_t kMaxRemoteCandidates = 32;

  static Result<std::unique_ptr<IceLiteLink>> create(GMainContext* context, SharedUdpPort& port, Options options,
                                                     Callbacks callbacks);
  ~IceLiteLink() override;
  IceLiteLink(const IceLiteLink&) = delete;
  IceLiteLink& operator=(const IceLiteLink&) = delete;

  const std::string& local_ufrag() const override { return local_ufrag_; }
  const std::string& local_pwd() const override { return local_pwd_; }
  Status start_gathering() override;
  Status set_remote_credentials(const std::string& ufrag, const std::string& pwd) override;
  Result<CandidateOutcome> add_remote_candidate(std::string_view candidate) override;
  void end_of_remote_candidates() override {}
  bool has_selected_pair() const override { return has_path_; }
  IceState state() const override { return state_; }
  SendResult send(std::span<const uint8_t> datagram) override;
  void close() override;

  const rtp::IceLiteResponder& responder() const { return responder_; }
  const Counters& counters() const { return counters_; }

 private:
  struct ConstructionTag {};

 public:
  IceLiteLink(ConstructionTag, GMainContext* context, SharedUdpPort& port, Options options, Callbacks callbacks,
              CandidateFilter filter, std::string local_ufrag, std::string local_pwd);

 private:
  struct SourceDeleter {
    void operator()(GSource* source) const;
  };

  void on_port_datagram(std::span<uint8_t> datagram, const rtp::TransportAddress& from) override;
  void on_check(std::span<const uint8_t> datagram, const rtp::TransportAddress& from);
  void on_selected(const rtp::TransportAddress& address);
  void set_state(IceState state);
  void arm_consent_timer();
  static gboolean on_consent_timer(gpointer self);
  static gboolean on_gather(gpointer self);
  std::string local_candidate(size_t index) const;
  std::string remote_candidate(const rtp::TransportAddress& address) const;

  GMainContext* context_;
  SharedUdpPort& port_;
  Options options_;
  Callbacks callbacks_;
  CandidateFilter filter_;
  std::vector<rtp::IceCandidate> remote_candidates_;
  std::string local_ufrag_;
  std::string local_pwd_;
  rtp::IceLiteResponder responder_;
  IceState state_ = IceState::kNew;
  bool gathering_started_ = false;
  bool has_path_ = false;
  bool closed_ = false;
  std::optional<rtp::TransportAddress> path_;
  std::string selected_remote_;  // as last reported to on_selected_pair
  std::unique_ptr<GSource, SourceDeleter> gather_source_;
  std::unique_ptr<GSource, SourceDeleter> consent_timer_;
  std::array<uint8_t, rtp::IceLiteResponder::kMaxResponseSize> response_{};
  Counters counters_;
};

}  // namespace partyline::ice
