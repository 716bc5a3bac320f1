// An ICE candidate as it appears in SDP (RFC 8839 section 5.1) and in
// trickled candidates: "candidate:foundation component transport priority
// address port typ host|srflx|prflx|relay [raddr X rport Y] [tcptype T]
// [generation N] [name value]...".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rtp/result.hpp"

namespace partyline::rtp {

enum class IceCandidateType { kHost, kServerReflexive, kPeerReflexive, kRelay };

// "host", "srflx", "prflx", "relay".
std::string_view to_string(IceCandidateType type);

struct IceCandidate {
  std::string foundation;
  uint16_t component = 1;  // 1 = RTP (the only one with rtcp-mux)
  std::string transport;   // as written ("udp", "UDP", "tcp")
  uint32_t priority = 0;
  std::string address;     // IPv4, IPv6 or a hostname (mDNS ".local")
  uint16_t port = 0;
  IceCandidateType type = IceCandidateType::kHost;
  std::optional<std::string> related_address;  // raddr
  std::optional<uint16_t> related_port;        // rport
  std::optional<std::string> tcp_type;         // active|passive|so
  std::optional<uint32_t> generation;
  // Other "name value" pairs (ufrag, network-id, network-cost...), in order.
  std::vector<std::pair<std::string, std::string>> extensions;

  bool is_udp() const;
  bool is_tcp() const;

  bool operator==(const IceCandidate&) const = default;
};

// Parses a candidate attribute value. The "candidate:" prefix (and an "a="
// before it) are optional, so both SDP attribute values and trickled
// candidate strings are accepted. Errors (code 400) name the field.
Result<IceCandidate> parse_ice_candidate(std::string_view text);

// "candidate:..." (no "a=" prefix, no line ending).
std::string to_string(const IceCandidate& candidate);

}  // namespace partyline::rtp
