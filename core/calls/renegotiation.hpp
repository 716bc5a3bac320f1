// Renegotiation: who may offer next on one session's PeerConnection with the
// server (docs/protocol.md, `update`). One offer is outstanding at a time:
// the server's (an `update` event awaiting the client's answer) or the
// client's (an `update` request being answered). A change of what the
// session should receive while either is out is remembered and offered once
// it completes. The server is the impolite peer: a client offer while a
// server offer is out is refused (409, glare), never the other way round.
//
// Sans-I/O: the owner reports what happened and is told what to do next.
#pragma once

#include <string_view>

namespace partyline::core {

class Renegotiation {
 public:
  enum class Outstanding { kNone, kServerOffer, kClientOffer };

  // What the session receives changed. True: make a server offer now (and
  // then call server_offer_sent()); false: it follows the outstanding offer.
  bool streams_changed() {
    if (outstanding_ != Outstanding::kNone) {
      changed_meanwhile_ = true;
      return false;
    }
    return true;
  }
  void server_offer_sent() {
    outstanding_ = Outstanding::kServerOffer;
    changed_meanwhile_ = false;
  }
  // The server could not build its offer: nothing is out.
  void server_offer_failed() { outstanding_ = Outstanding::kNone; }
  // The client's answer was applied. True: offer again now (a change came
  // meanwhile; call server_offer_sent() when it goes out).
  bool server_offer_answered() { return finish(); }

  // A client offer arrives: empty when it may proceed (then
  // client_offer_answered() when it is done), else why it is refused (409).
  std::string_view client_offer() {
    if (outstanding_ == Outstanding::kServerOffer) {
      return "the server's offer awaits an answer; roll back, answer it, then offer again (glare)";
    }
    if (outstanding_ == Outstanding::kClientOffer) return "an offer of this session is still being answered";
    outstanding_ = Outstanding::kClientOffer;
    return {};
  }
  // The client's offer was answered or refused. True: make a server offer
  // now (a change of what the session receives came meanwhile).
  bool client_offer_answered() { return finish(); }

  // A new PeerConnection (or none): nothing is outstanding any more.
  void reset() {
    outstanding_ = Outstanding::kNone;
    changed_meanwhile_ = false;
  }

  Outstanding outstanding() const { return outstanding_; }
  bool server_offer_out() const { return outstanding_ == Outstanding::kServerOffer; }
  bool changed_meanwhile() const { return changed_meanwhile_; }

 private:
  bool finish() {
    outstanding_ = Outstanding::kNone;
    const bool again = changed_meanwhile_;
    changed_meanwhile_ = false;
    return again;
  }

  Outstanding outstanding_ = Outstanding::kNone;
  bool changed_meanwhile_ = false;
};

}  // namespace partyline::core
