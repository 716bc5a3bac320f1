#include "rtp/sdp/ice_candidate.hpp"

#include <gtest/gtest.h>

namespace partyline::rtp {
namespace {

TEST(IceCandidateTest, ParsesChromiumHostCandidate) {
  auto candidate = parse_ice_candidate(
      "candidate:1153797681 1 udp 2122260223 127.0.0.1 48868 typ host generation 0 network-id 1 network-cost 50");
  ASSERT_TRUE(candidate.ok()) << candidate.error().message;
  EXPECT_EQ(candidate->foundation, "1153797681");
  EXPECT_EQ(candidate->component, 1);
  EXPECT_TRUE(candidate->is_udp());
  EXPECT_EQ(candidate->priority, 2122260223u);
  EXPECT_EQ(candidate->address, "127.0.0.1");
  EXPECT_EQ(candidate->port, 48868);
  EXPECT_EQ(candidate->type, IceCandidateType::kHost);
  EXPECT_EQ(candidate->generation, 0u);
  ASSERT_EQ(candidate->extensions.size(), 2u);
  EXPECT_EQ(candidate->extensions[0], (std::pair<std::string, std::string>{"network-id", "1"}));
  EXPECT_EQ(candidate->extensions[1], (std::pair<std::string, std::string>{"network-cost", "50"}));
}

TEST(IceCandidateTest, ParsesTcpAndRelayedFields) {
  auto tcp = parse_ice_candidate("candidate:3127859877 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active");
  ASSERT_TRUE(tcp.ok()) << tcp.error().message;
  EXPECT_TRUE(tcp->is_tcp());
  EXPECT_EQ(tcp->tcp_type, "active");

  auto relay = parse_ice_candidate(
      "candidate:9 1 UDP 41885439 203.0.113.7 3478 typ relay raddr 198.51.100.2 rport 50000 ufrag abcd");
  ASSERT_TRUE(relay.ok()) << relay.error().message;
  EXPECT_TRUE(relay->is_udp());
  EXPECT_EQ(relay->type, IceCandidateType::kRelay);
  EXPECT_EQ(relay->related_address, "198.51.100.2");
  EXPECT_EQ(relay->related_port, 50000);
}

TEST(IceCandidateTest, AcceptsValueWithoutPrefixAndWithAEquals) {
  auto bare = parse_ice_candidate("1 1 udp 2130706431 ::1 5000 typ host");
  ASSERT_TRUE(bare.ok()) << bare.error().message;
  EXPECT_EQ(bare->address, "::1");
  auto line = parse_ice_candidate("a=candidate:1 1 udp 2130706431 ::1 5000 typ srflx raddr 0.0.0.0 rport 0");
  ASSERT_TRUE(line.ok()) << line.error().message;
  EXPECT_EQ(line->type, IceCandidateType::kServerReflexive);
}

TEST(IceCandidateTest, RoundTrips) {
  for (const char* text : {
           "candidate:1153797681 1 udp 2122260223 127.0.0.1 48868 typ host generation 0 network-id 1 network-cost 50",
           "candidate:16572de626da4e5384a0ce2d0d93678a 1 udp 2130706431 127.0.0.1 38077 typ host",
           "candidate:344579997 1 tcp 1518214911 127.0.0.1 53705 typ host tcptype passive generation 0 network-id 1",
           "candidate:9 2 UDP 41885439 203.0.113.7 3478 typ relay raddr 198.51.100.2 rport 50000",
           "candidate:626da4e5384a0ce2d0d93678a 1 udp 2116026367 127.0.0.1 38487 typ host generation 0 ufrag 2f5e",
       }) {
    auto candidate = parse_ice_candidate(text);
    ASSERT_TRUE(candidate.ok()) << candidate.error().message;
    EXPECT_EQ(to_string(*candidate), text);
  }
}

struct BadCandidate {
  const char* text;
  const char* reason;
};

TEST(IceCandidateTest, RejectsMalformedCandidatesNamingTheField) {
  const BadCandidate cases[] = {
      {"candidate:1 1 udp 2130706431 127.0.0.1 5000", "at least 8 fields"},
      {"candidate:1 0 udp 2130706431 127.0.0.1 5000 typ host", "component must be an integer 1-256"},
      {"candidate:1 1 udp 99999999999 127.0.0.1 5000 typ host", "priority must be"},
      {"candidate:1 1 udp 0 127.0.0.1 5000 typ host", "priority must be"},
      {"candidate:1 1 udp 2130706431 127.0.0.1 70000 typ host", "port must be an integer 0-65535"},
      {"candidate:1 1 udp 2130706431 127.0.0.1 65536 typ host", "port must be an integer 0-65535"},
      {"candidate:1 1 udp 2130706431 127.0.0.1 -1 typ host", "port must be an integer 0-65535"},
      {"candidate:1 1 udp 2130706431 127.0.0.1 5000 type host", "expected \"typ\""},
      {"candidate:1 1 udp 2130706431 127.0.0.1 5000 typ local", "type must be host, srflx, prflx or relay"},
      {"candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host raddr", "has no value"},
      {"candidate:1 1 udp 2130706431 127.0.0.1 5000 typ srflx raddr 1.2.3.4 rport x", "rport must be"},
      {"candidate:1 1 tcp 2130706431 127.0.0.1 5000 typ host tcptype sideways", "tcptype must be"},
      {"candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host generation -1", "generation must be"},
      {"candidate:f*o 1 udp 2130706431 127.0.0.1 5000 typ host", "foundation must be"},
      {"candidate:1 1 udp 2130706431 127.0.0.1\t5000 typ host", "control character"},
  };
  for (const BadCandidate& bad : cases) {
    auto candidate = parse_ice_candidate(bad.text);
    ASSERT_FALSE(candidate.ok()) << bad.text;
    EXPECT_EQ(candidate.error().code, error_code::kBadRequest);
    EXPECT_NE(candidate.error().message.find(bad.reason), std::string::npos)
        << bad.text << " -> " << candidate.error().message;
  }
}

TEST(IceCandidateTest, RejectsOversizedCandidate) {
  std::string huge = "candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host";
  while (huge.size() <= 1024) huge += " network-id 1";
  auto candidate = parse_ice_candidate(huge);
  ASSERT_FALSE(candidate.ok());
  EXPECT_EQ(candidate.error().code, error_code::kTooLarge);
}

}  // namespace
}  // namespace partyline::rtp
