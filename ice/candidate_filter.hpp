// CandidateFilter: which remote ICE candidates partyline will pair with.
// UDP only, component 1 only (rtcp-mux), no IPv6 loopback, and inside the
// configured networks.
#pragma once

#include <gio/gio.h>
#include <nice/candidate.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rtp/result.hpp"
#include "rtp/stun/stun_message.hpp"


namespace partyline::ice {

class CandidateFilter {
 public:
  // `allowed_networks` in CIDR notation; an empty list allows every address.
  static Result<CandidateFilter> create(const std::vector<std::string>& allowed_networks);

  // Why `candidate` is ignored, or nullopt when it may be used.
  std::optional<std::string> rejection_reason(const NiceCandidate& candidate) const;
  // Whether checks from `address` may be answered (single-port mode, where
  // the participant's checks, not its candidates, show where it is): inside
  // the configured networks, and not IPv6 loopback.
  bool allows(const rtp::TransportAddress& address) const;

 private:
  std::vector<std::shared_ptr<GInetAddressMask>> networks_;
};

}  // namespace partyline::ice
