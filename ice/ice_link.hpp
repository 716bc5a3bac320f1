// IceLink: the ICE side of one participant's transport, as PeerTransport
// drives it: local credentials and candidates, the remote ones, the state,
// and datagrams in both directions on the selected path. One seam, two
// implementations:
//   - IceAgent (ice/ice_agent.hpp): a full libnice agent with its own
//     sockets, for the default per-participant-socket mode, server-reflexive
//     and TURN candidates;
//   - the ICE-lite side of the single-port mode (issue 18), answering the
//     participant's checks on a port every participant shares.
//
// All callbacks run on the thread the link was created for; callbacks must
// not destroy the link.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "ice/send_result.hpp"
#include "rtp/result.hpp"

namespace partyline::ice {

enum class IceState { kNew, kGathering, kConnecting, kConnected, kReady, kFailed };
std::string_view to_string(IceState state);

// What add_remote_candidate did with a candidate line.
struct CandidateOutcome {
  bool accepted = false;  // false: ignored, see `reason`
  bool queued = false;    // accepted but held until set_remote_credentials
  std::string reason;
};

class IceLink {
 public:
  struct Callbacks {
    std::function<void(std::string candidate)> on_local_candidate;  // "candidate:..." (no "a=")
    std::function<void()> on_gathering_done;
    std::function<void(IceState state)> on_state;
    // The pair media now flows on, as candidate lines (local, remote).
    std::function<void(const std::string& local, const std::string& remote)> on_selected_pair;
    // A received datagram (STUN is consumed by the link). The bytes live in a
    // buffer owned by the link, valid during the call, writable in place.
    std::function<void(std::span<uint8_t> datagram)> on_receive;
  };

  virtual ~IceLink() = default;

  virtual const std::string& local_ufrag() const = 0;
  virtual const std::string& local_pwd() const = 0;

  virtual Status start_gathering() = 0;
  // Starts checks (or answers them) with the remote credentials; candidates
  // queued before are applied.
  virtual Status set_remote_credentials(const std::string& ufrag, const std::string& pwd) = 0;
  // `candidate` with or without the leading "a=" / "candidate:" is accepted.
  // Malformed lines are errors (400); filtered ones are accepted == false.
  virtual Result<CandidateOutcome> add_remote_candidate(std::string_view candidate) = 0;
  virtual void end_of_remote_candidates() = 0;

  virtual bool has_selected_pair() const = 0;
  virtual IceState state() const = 0;
  // Sends one datagram on the selected pair, never blocking: kNoPath without
  // one (or once closed), kSocketRefused when the socket refused it.
  virtual SendResult send(std::span<const uint8_t> datagram) = 0;
  // Stops ICE; no more callbacks.
  virtual void close() = 0;
};

}  // namespace partyline::ice
