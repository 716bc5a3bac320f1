#include "bench/loadgen/janus_dialect.hpp"

#include <charconv>
#include <vector>

namespace partyline::loadgen {

namespace {

// Janus closes a session after 60 s without a request (session_timeout).
constexpr std::chrono::seconds kKeepaliveInterval{25};

uint64_t room_number(const std::string& text) {
  uint64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

std::string describe(const janus::Message& message) {
  return std::to_string(message.error_code) + ": " + message.error;
}

}  // namespace

// Janus tells every handle about its media ("media", "slowlink"): nothing
// the loadgen acts on.
bool JanusDialect::ignorable(std::string_view text) const {
  return text.empty() || text.find("\"janus\":\"media\"") != std::string_view::npos ||
         text.find("\"janus\":\"slowlink\"") != std::string_view::npos;
}

void JanusDialect::on_open() { send(Request::kCreateSession, janus::create_session(next_transaction())); }

void JanusDialect::on_message(const json_t* raw) {
  const janus::Message message = janus::read_message(raw);
  if (auto pending = pending_.find(message.transaction); pending != pending_.end()) {
    if (message.kind == janus::Kind::kAck) {
      // An asynchronous request: its answer comes later as an event, except
      // a trickle, which is done once acknowledged.
      if (pending->second == Request::kTrickle) pending_.erase(pending);
      return;
    }
    const Request request = pending->second;
    pending_.erase(pending);
    return on_reply(request, message);
  }
  switch (message.kind) {
    case janus::Kind::kEvent: return on_handle_event(message);
    case janus::Kind::kTrickle: return on_trickle(message);
    case janus::Kind::kWebrtcUp:
      // Janus reports it after the plugin set the publisher's media up: a
      // subscription to it is accepted from now on.
      if (message.sender == publisher_handle_ && message.sender != 0) {
        participant_.run().publications.published(participant_.index());
      }
      return;
    case janus::Kind::kHangup:
      return participant_.fail(Step::kSecure, std::string("Janus hung up the ") +
                                                  (leg_of(message.sender) == Leg::kMain ? "publishing" : "receiving") +
                                                  " PeerConnection: " + message.reason);
    case janus::Kind::kDetached: return participant_.fail(Step::kSecure, "Janus detached a handle");
    case janus::Kind::kTimeout: return participant_.fail(Step::kSecure, "Janus timed the session out");
    default: return;
  }
}

void JanusDialect::on_reply(Request request, const janus::Message& message) {
  if (message.error_code != 0) {
    return participant_.fail(step_of(request), std::string("'") + name_of(request) + "' refused with " +
                                                   describe(message));
  }
  if (message.kind == janus::Kind::kSuccess) return on_success(request, message);
  if (message.kind == janus::Kind::kEvent) return on_handle_event(message);
}

void JanusDialect::on_success(Request request, const janus::Message& message) {
  switch (request) {
    case Request::kCreateSession:
      if (!message.data_id) return participant_.fail(Step::kHandshake, "'create' answered without a session id");
      session_ = *message.data_id;
      keepalive_timer_.start(participant_.run().context, kKeepaliveInterval, [this] {
        const std::string transaction = next_transaction();
        participant_.send_message(janus::keepalive(session_, transaction).get());
        return true;
      });
      if (!participant_.is_publisher()) {
        participant_.set_session(std::to_string(session_));
        return subscribe_when_published();
      }
      send(Request::kAttachPublisher, janus::attach(session_, next_transaction()));
      return;
    case Request::kAttachPublisher:
      if (!message.data_id) return participant_.fail(Step::kHandshake, "'attach' answered without a handle id");
      publisher_handle_ = *message.data_id;
      if (participant_.creates_room()) {
        participant_.reached(Step::kCreateRoom);
        const int publishers = participant_.run().options.publishers;
        return send_to_plugin(Request::kCreateRoom, publisher_handle_, janus::create_room_body(publishers));
      }
      participant_.reached(Step::kJoin);
      participant_.run().room.when_ready([this](bool exists) {
        if (!exists) return participant_.fail(Step::kJoin, "no room to join: its creator (participant 0) failed");
        join_as_publisher();
      });
      return;
    case Request::kCreateRoom: {
      const auto room = janus::plugin_integer(message.plugin_data, "room");
      if (!room) return participant_.fail(Step::kCreateRoom, "'create' answered without a room number");
      participant_.run().room.publish(std::to_string(*room), {});
      return join_as_publisher();
    }
    case Request::kAttachSubscriber:
      if (!message.data_id) return participant_.fail(Step::kJoin, "'attach' answered without a handle id");
      subscriber_handle_ = *message.data_id;
      return subscribe();
    default: return;
  }
}

void JanusDialect::join_as_publisher() {
  participant_.reached(Step::kJoin);
  const uint64_t room = room_number(participant_.run().room.id());
  send_to_plugin(Request::kJoinPublisher, publisher_handle_,
                 janus::join_publisher_body(room, "loadgen-" + std::to_string(participant_.index())));
}

// Events on our handles: answers to our requests, and the plugin's own news.
void JanusDialect::on_handle_event(const janus::Message& message) {
  if (message.error_code != 0) {
    return participant_.fail(Step::kStreams, "VideoRoom error " + describe(message));
  }
  const std::string event = janus::videoroom_event(message.plugin_data);
  if (message.sender == publisher_handle_ && event == "joined") {
    const auto feed = janus::plugin_integer(message.plugin_data, "id");
    if (!feed) return participant_.fail(Step::kJoin, "'joined' without a publisher id");
    participant_.set_session(std::to_string(*feed));  // the subscriptions name the feed
    participant_.reached(Step::kAnswer);
    participant_.prepare(Leg::kMain, [this] { publish(); });
    return;
  }
  if (message.sender == publisher_handle_ && message.jsep_type == "answer") {
    if (Status status = participant_.apply_answer(message.sdp); !status) {
      participant_.fail(Step::kAnswer, "applying Janus's answer: " + status.error().message);
    }
    // Subscribing waits for every publisher, this one included (webrtcup).
    subscribe_when_published();
    return;
  }
  if (message.sender == subscriber_handle_ && message.jsep_type == "offer") {
    participant_.reached(Step::kAnswer);
    return answer_subscription(message.sdp, janus::stream_feeds(message.plugin_data));
  }
  if (message.sender == subscriber_handle_ && janus::plugin_ok(message.plugin_data, "started")) {
    participant_.offer_answered(Leg::kReceive);
  }
}

void JanusDialect::publish() {
  auto offer = participant_.create_offer();
  if (!offer) return participant_.fail(Step::kAnswer, "creating the offer: " + offer.error().message);
  send_to_plugin(Request::kPublish, publisher_handle_, janus::publish_body(), "offer", *offer);
  participant_.start_gathering(Leg::kMain);
}

void JanusDialect::subscribe_when_published() {
  if (subscribing_) return;
  subscribing_ = true;
  participant_.reached(Step::kJoin);
  participant_.run().room.when_ready([this](bool exists) {
    if (!exists) return participant_.fail(Step::kJoin, "no room to join: its creator (participant 0) failed");
    participant_.run().publications.when_settled([this] { on_publishers_settled(); });
  });
}

void JanusDialect::on_publishers_settled() {
  const RunContext& run = participant_.run();
  for (size_t publisher = 0; publisher < run.publisher_count(); ++publisher) {
    if (publisher == participant_.index() && participant_.is_publisher()) continue;
    if (run.publications.is_published(publisher)) feeds_.push_back(room_number(run.publisher_sessions[publisher]));
  }
  if (feeds_.empty()) {
    // A lone publisher has nothing to receive; a subscriber must have something.
    if (!participant_.is_publisher()) participant_.fail(Step::kJoin, "no publisher came up to subscribe to");
    return;
  }
  send(Request::kAttachSubscriber, janus::attach(session_, next_transaction()));
}

void JanusDialect::subscribe() {
  const uint64_t room = room_number(participant_.run().room.id());
  send_to_plugin(Request::kSubscribe, subscriber_handle_, janus::subscribe_body(room, feeds_));
}

void JanusDialect::answer_subscription(std::string sdp, StreamOwners owners) {
  auto answer_and_start = [this, sdp = std::move(sdp), owners = std::move(owners)] {
    auto answer = participant_.answer_offer(Leg::kReceive, sdp, owners);
    if (!answer) return participant_.fail(Step::kStreams, "answering Janus's offer: " + answer.error().message);
    send_to_plugin(Request::kStart, subscriber_handle_, janus::start_body(), "answer", *answer);
    participant_.start_gathering(Leg::kReceive);
  };
  // The first offer creates the receiving PeerConnection; a later one
  // (an "updated" subscription) renegotiates it.
  if (receiving_prepared_) return answer_and_start();
  receiving_prepared_ = true;
  participant_.prepare(Leg::kReceive, std::move(answer_and_start));
}

void JanusDialect::on_trickle(const janus::Message& message) {
  const Leg leg = leg_of(message.sender);
  if (message.candidates_completed) return participant_.end_of_remote_candidates(leg);
  if (!message.candidate.empty()) participant_.add_remote_candidate(leg, message.candidate);
}

void JanusDialect::on_local_candidate(Leg leg, const std::string& candidate) {
  send(Request::kTrickle, janus::trickle(session_, handle_of(leg), next_transaction(), candidate));
}

void JanusDialect::on_end_of_local_candidates(Leg leg) { on_local_candidate(leg, {}); }

// Janus destroys the session when its WebSocket closes, which follows.
void JanusDialect::leave() { keepalive_timer_.cancel(); }

void JanusDialect::send(Request request, core::JsonPtr message) {
  pending_[json_string_value(json_object_get(message.get(), "transaction"))] = request;
  participant_.send_message(message.get());
}

void JanusDialect::send_to_plugin(Request request, uint64_t handle, core::JsonPtr body, const char* jsep_type,
                                  const std::string& sdp) {
  send(request, janus::plugin_message(session_, handle, next_transaction(), std::move(body), jsep_type, sdp));
}

std::string JanusDialect::next_transaction() { return "j-" + std::to_string(next_transaction_++); }

Leg JanusDialect::leg_of(uint64_t handle) const {
  return handle == subscriber_handle_ && handle != 0 ? Leg::kReceive : Leg::kMain;
}

uint64_t JanusDialect::handle_of(Leg leg) const { return leg == Leg::kMain ? publisher_handle_ : subscriber_handle_; }

Step JanusDialect::step_of(Request request) {
  switch (request) {
    case Request::kCreateSession:
    case Request::kAttachPublisher: return Step::kHandshake;
    case Request::kCreateRoom: return Step::kCreateRoom;
    case Request::kJoinPublisher:
    case Request::kAttachSubscriber:
    case Request::kSubscribe: return Step::kJoin;
    case Request::kPublish: return Step::kAnswer;
    case Request::kStart: return Step::kStreams;
    case Request::kTrickle: return Step::kSecure;
  }
  return Step::kSecure;
}

const char* JanusDialect::name_of(Request request) {
  switch (request) {
    case Request::kCreateSession: return "create";
    case Request::kAttachPublisher:
    case Request::kAttachSubscriber: return "attach";
    case Request::kCreateRoom: return "create room";
    case Request::kJoinPublisher: return "join as publisher";
    case Request::kPublish: return "publish";
    case Request::kSubscribe: return "join as subscriber";
    case Request::kStart: return "start";
    case Request::kTrickle: return "trickle";
  }
  return "request";
}

}  // namespace partyline::loadgen
