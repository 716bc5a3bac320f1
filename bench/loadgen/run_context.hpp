// What every participant of one run shares: settings, the ICE config and
// DTLS certificate, the room (line) they all join, the publishers' session
// ids, the measurement window and the delay histograms. Owned by LoadRun and
// touched only on the loop thread, so nothing here is locked.
#pragma once

#include <glib.h>

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/loadgen/delay_histogram.hpp"
#include "bench/loadgen/options.hpp"
#include "bench/loadgen/payload.hpp"
#include "bench/loadgen/stream_reception.hpp"
#include "bench/loadgen/websocket_client.hpp"
#include "ice/certificate.hpp"
#include "ice/ice_config.hpp"

namespace partyline::loadgen {

class Participant;

// How far a participant got; a failure is reported with the step it failed at.
enum class Step : uint8_t {
  kConnect,     // TCP + WebSocket upgrade
  kHandshake,   // the server's greeting (session id)
  kCreateRoom,  // the first publisher creates the room (a partyline line)
  kJoin,        // waiting for the room, then the join request's response
  kAnswer,      // the server's SDP answer
  kSecure,      // ICE + DTLS-SRTP
  kStreams,     // the server's offers answered: every publisher's streams announced
  kMedia,       // was up, then dropped during the run
};
inline constexpr size_t kStepCount = 8;
std::string_view to_string(Step step);

// The room every participant joins, created by the first publisher.
class SharedRoom {
 public:
  // Runs `then(true)` once the room exists, `then(false)` if it never will.
  void when_ready(std::function<void(bool ok)> then);
  void publish(std::string id, std::string token);
  void fail();
  const std::string& id() const { return id_; }
  const std::string& token() const { return token_; }

 private:
  enum class State { kPending, kReady, kFailed } state_ = State::kPending;
  std::string id_;
  std::string token_;
  std::vector<std::function<void(bool)>> waiters_;
};

// Which publishers the server has accepted media from, for a dialect that
// must wait before subscribing (Janus's VideoRoom refuses a subscription to
// a publisher whose PeerConnection is not up yet).
class PublisherBoard {
 public:
  explicit PublisherBoard(size_t publishers = 0) : states_(publishers, State::kPending) {}
  void published(size_t index) { settle(index, State::kPublished); }
  void failed(size_t index) { settle(index, State::kFailed); }
  bool is_published(size_t index) const { return index < states_.size() && states_[index] == State::kPublished; }
  // Runs `then` once every publisher is published or failed (at once if so).
  void when_settled(std::function<void()> then);

 private:
  enum class State : uint8_t { kPending, kPublished, kFailed };
  void settle(size_t index, State state);
  bool settled() const;

  std::vector<State> states_;
  std::vector<std::function<void()>> waiters_;
};

// LoadRun hears about participants through this.
class ParticipantObserver {
 public:
  virtual ~ParticipantObserver() = default;
  virtual void on_ready(Participant& participant) = 0;
  virtual void on_failed(Participant& participant) = 0;
};

struct RunContext {
  GMainContext* context = nullptr;
  Options options;
  WebSocketUrl url;
  ice::IceConfig ice_config;
  std::shared_ptr<const ice::Certificate> certificate;
  ParticipantObserver* observer = nullptr;
  SharedRoom room;
  std::vector<std::string> publisher_sessions;  // by publisher index, once known
  std::vector<bool> publisher_failed;           // by publisher index: receivers stop waiting for it
  PublisherBoard publications;                  // by publisher index
  MeasurementWindow window;
  std::array<DelayHistogram, kStreamKinds> delays;  // in-window packets, by kind

  size_t publisher_count() const { return static_cast<size_t>(options.publishers); }
  // The publisher index whose session id this is, if any.
  std::optional<uint16_t> publisher_of(const std::string& session_id) const;
};

}  // namespace partyline::loadgen
