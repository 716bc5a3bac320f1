// The `occupants` event of docs/protocol.md through the real CallHandler:
// a SignalingServer on a loopback port, one media worker, and WebSocket
// clients joining a line with a captured Chromium offer (its candidates
// removed, so no connectivity check is ever sent). Occupants stay
// "connecting"; what is checked is what the signaling promises: coalesced
// events carrying the latest list, `accepted` before any list that names
// the joiner, `get_line` equal to the last event, leaves reflected.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <set>
#include <thread>
#include <vector>

#include "core/media/media_plane.hpp"
#include "core/lines/memory_line_store.hpp"
#include "core/runtime/worker_pool.hpp"
#include "ice/certificate.hpp"
#include "signaling/call_handler.hpp"
#include "signaling/signaling_server.hpp"
#include "tests/signaling/test_clients.hpp"

namespace partyline::signaling {
namespace {

using namespace std::chrono_literals;
using testing::WebSocketClient;

std::string read_offer_without_candidates() {
  std::ifstream file(std::string(PARTYLINE_TEST_DATA) + "/sdp/chromium156_offer_av_dc.sdp");
  std::string line, sdp;
  while (std::getline(file, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("a=candidate:", 0) == 0 || line.rfind("a=end-of-candidates", 0) == 0) continue;
    sdp += line + "\r\n";
  }
  return sdp;
}

std::string string_of(const json_t* object, const char* field) {
  const char* value = json_string_value(json_object_get(object, field));
  return value != nullptr ? value : "";
}

std::vector<std::string> sessions_listed(const json_t* line) {
  std::vector<std::string> sessions;
  size_t index;
  json_t* occupant;
  json_array_foreach(json_object_get(line, "occupants"), index, occupant) {
    sessions.push_back(string_of(occupant, "session"));
  }
  return sessions;
}

// One client and everything it received, in order.
struct Participant {
  WebSocketClient socket;
  std::string session;
  std::vector<core::JsonPtr> received;

  bool is_occupants(const core::JsonPtr& message) const { return string_of(message.get(), "event") == "occupants"; }
  // Reads until `done` holds for the last message, or the deadline.
  bool read_until(const std::function<bool(const json_t*)>& done, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = testing::Clock::now() + timeout;
    while (testing::Clock::now() < deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - testing::Clock::now());
      core::JsonPtr message = socket.next_json(left);
      if (!message) return false;
      received.push_back(std::move(message));
      if (done(received.back().get())) return true;
    }
    return false;
  }
  // The index of the first received message matching `match`, or -1.
  int index_of(const std::function<bool(const json_t*)>& match) const {
    for (size_t i = 0; i < received.size(); ++i) {
      if (match(received[i].get())) return static_cast<int>(i);
    }
    return -1;
  }
  std::vector<const json_t*> occupants_events() const {
    std::vector<const json_t*> events;
    for (const auto& message : received) {
      if (is_occupants(message)) events.push_back(message.get());
    }
    return events;
  }
  const json_t* last_line() const {
    auto events = occupants_events();
    return events.empty() ? nullptr : json_object_get(events.back(), "line");
  }
};

class CallHandlerOccupantsTest : public ::testing::Test {
 protected:
  void start(std::chrono::milliseconds occupants_interval) {
    auto certificate = ice::Certificate::generate();
    ASSERT_TRUE(certificate.ok()) << certificate.error().message;
    workers_ = std::make_unique<core::WorkerPool>(1);
    media_plane_ = std::make_unique<core::MediaPlane>(*workers_);
    core::PeerConnectionSettings settings;
    settings.ice.local_addresses = {"127.0.0.1"};
    settings.ice.allow_loopback = true;
    settings.ice.allowed_remote_networks = {"127.0.0.0/8"};
    settings.certificate = certificate.value();
    settings.fabric = &media_plane_->fabric();
    workers_->start();
    loop_.start();
    int counter = 0;
    line_store_ = std::make_unique<core::MemoryLineStore>(core::MemoryLineStore::Options{
        100, random_uuid_v4, [counter]() mutable { return "token-" + std::to_string(++counter); }});
    CallHandler::Options options;
    options.occupants_interval = occupants_interval;
    options.max_occupants_per_line = 100;
    handler_ = std::make_unique<CallHandler>(loop_, *workers_, settings, *line_store_, options);
    SignalingOptions server_options;
    server_options.bind_address = "127.0.0.1";
    server_options.port = 0;
    server_options.keepalive_interval_ms = 60000;
    server_options.rate_limit.requests_per_second = 1000;
    server_options.rate_limit.burst = 1000;
    server_options.verto_path = "/verto";  // seed 004's logins, admitted by the real CallHandler
    server_ = std::make_unique<SignalingServer>(server_options, loop_, *handler_);
    server_->use_admission(handler_.get());
    Status started = server_->start();
    ASSERT_TRUE(started.ok()) << started.error().message;
  }

  void TearDown() override {
    if (server_) server_->stop();
    if (handler_) loop_.run_sync([this] { handler_->close_all(); });
    loop_.stop();
    if (workers_) workers_->stop();
  }

  std::unique_ptr<Participant> connect(const std::string& name) {
    auto participant = std::make_unique<Participant>();
    auto failure = participant->socket.connect(server_->port(), "/ws?name=" + name);
    EXPECT_FALSE(failure.has_value()) << *failure;
    core::JsonPtr state = participant->socket.next_json();
    EXPECT_TRUE(state);
    if (state) participant->session = string_of(state.get(), "session");
    return participant;
  }

  // Sends a request; the response is read later with the other messages.
  static void send_request(Participant& participant, const char* name, const std::string& transaction,
                           core::JsonPtr fields = nullptr) {
    core::JsonPtr request = fields ? std::move(fields) : core::adopt_json(json_object());
    json_object_set_new(request.get(), "request", json_string(name));
    json_object_set_new(request.get(), "transaction", json_string(transaction.c_str()));
    participant.socket.send_text(core::dump_json(request.get()));
  }

  static bool is_response(const json_t* message, const std::string& transaction) {
    return json_object_get(message, "response") != nullptr && string_of(message, "transaction") == transaction;
  }

  // create_line from `creator`: {line_id, token}.
  std::pair<std::string, std::string> create_line(Participant& creator) {
    send_request(creator, "create_line", "create");
    EXPECT_TRUE(creator.read_until([](const json_t* m) { return is_response(m, "create"); }));
    const json_t* response = creator.received.back().get();
    return {string_of(response, "line_id"), string_of(response, "token")};
  }

  void send_join(Participant& participant, const std::string& line_id, const std::string& token) {
    core::JsonPtr fields = core::adopt_json(json_object());
    json_object_set_new(fields.get(), "line_id", json_string(line_id.c_str()));
    json_object_set_new(fields.get(), "token", json_string(token.c_str()));
    json_object_set_new(fields.get(), "jsep", json_pack("{s:s, s:s}", "type", "offer", "sdp", offer_.c_str()));
    send_request(participant, "join", "join", std::move(fields));
  }

  // Reads until the participant's last occupants event lists exactly `sessions`.
  static bool wait_for_list(Participant& participant, const std::set<std::string>& sessions) {
    auto listed = [&](const json_t* line) {
      if (line == nullptr) return false;
      auto got = sessions_listed(line);
      return std::set<std::string>(got.begin(), got.end()) == sessions && got.size() == sessions.size();
    };
    if (listed(participant.last_line())) return true;
    return participant.read_until([&](const json_t* message) {
      return string_of(message, "event") == "occupants" && listed(json_object_get(message, "line"));
    });
  }

  // The `accepted` event (the join's answer) and any occupants event naming
  // the participant: the answer comes first.
  static void expect_accepted_before_listed(const Participant& participant) {
    const int accepted = participant.index_of(
        [](const json_t* m) { return string_of(m, "event") == "accepted" && json_object_get(m, "jsep") != nullptr; });
    const int listed = participant.index_of([&](const json_t* m) {
      if (string_of(m, "event") != "occupants") return false;
      auto sessions = sessions_listed(json_object_get(m, "line"));
      return std::find(sessions.begin(), sessions.end(), participant.session) != sessions.end();
    });
    ASSERT_GE(accepted, 0) << "no accepted event";
    ASSERT_GE(listed, 0) << "never listed";
    EXPECT_LT(accepted, listed) << "an occupants event named the joiner before its accepted";
  }

  const std::string offer_ = read_offer_without_candidates();
  std::unique_ptr<core::WorkerPool> workers_;
  std::unique_ptr<core::MediaPlane> media_plane_;
  core::EventLoop loop_{"call-handler-test"};
  std::unique_ptr<core::MemoryLineStore> line_store_;
  std::unique_ptr<CallHandler> handler_;
  std::unique_ptr<SignalingServer> server_;
};

TEST_F(CallHandlerOccupantsTest, AJoinStormReachesEveryoneAsAFewEventsWithTheLatestList) {
  // Far longer than the joins below take, so they fall into one or two
  // flushes; without coalescing the first joiner would get one event per join.
  start(1500ms);
  constexpr int kParticipants = 8;
  std::vector<std::unique_ptr<Participant>> participants;
  for (int i = 0; i < kParticipants; ++i) participants.push_back(connect("storm" + std::to_string(i)));
  auto [line_id, token] = create_line(*participants[0]);
  std::set<std::string> everyone;
  for (auto& participant : participants) {
    everyone.insert(participant->session);
    send_join(*participant, line_id, token);  // all at once: nobody waits for its answer
  }
  for (auto& participant : participants) {
    ASSERT_TRUE(wait_for_list(*participant, everyone)) << participant->session << " never saw everyone";
    expect_accepted_before_listed(*participant);
    EXPECT_LE(participant->occupants_events().size(), 3u) << "joins were not coalesced";
  }
  // get_line is what the last event carried.
  send_request(*participants[3], "get_line", "get",
               core::adopt_json(json_pack("{s:s}", "line_id", line_id.c_str())));
  ASSERT_TRUE(participants[3]->read_until([](const json_t* m) { return is_response(m, "get"); }));
  EXPECT_TRUE(json_equal(json_object_get(participants[3]->received.back().get(), "line"),
                         const_cast<json_t*>(participants[3]->last_line())));
}

TEST_F(CallHandlerOccupantsTest, GetLineSendsAChangeStillWaitingForItsIntervalFirst) {
  start(10s);  // a second change would wait 10 s: only get_line can bring it sooner
  auto ann = connect("ann");
  auto ben = connect("ben");
  auto [line_id, token] = create_line(*ann);
  send_join(*ann, line_id, token);
  ASSERT_TRUE(wait_for_list(*ann, {ann->session}));  // the line's first change: sent at once
  send_join(*ben, line_id, token);
  ASSERT_TRUE(ben->read_until([](const json_t* m) { return string_of(m, "event") == "accepted"; }));
  // ben's arrival waits for the interval (10 s). Sent at once, it would
  // follow `accepted` within milliseconds: reading on for 500 ms catches
  // that, and ends early (failing) on the first occupants event.
  EXPECT_FALSE(ben->read_until([](const json_t* m) { return string_of(m, "event") == "occupants"; }, 500ms));
  EXPECT_TRUE(ben->occupants_events().empty());

  send_request(*ann, "get_line", "get", core::adopt_json(json_pack("{s:s}", "line_id", line_id.c_str())));
  ASSERT_TRUE(ann->read_until([](const json_t* m) { return is_response(m, "get"); }));
  const json_t* response_line = json_object_get(ann->received.back().get(), "line");
  ASSERT_EQ(sessions_listed(response_line), (std::vector<std::string>{ann->session, ben->session}));
  // The event came before the response and says the same.
  ASSERT_EQ(ann->occupants_events().size(), 2u);
  EXPECT_TRUE(json_equal(const_cast<json_t*>(ann->last_line()), const_cast<json_t*>(response_line)));
  ASSERT_TRUE(wait_for_list(*ben, {ann->session, ben->session}));
  expect_accepted_before_listed(*ben);
}

TEST_F(CallHandlerOccupantsTest, ALeaveReachesTheOthersAndNotTheLeaver) {
  start(100ms);
  auto ann = connect("ann");
  auto ben = connect("ben");
  auto cat = connect("cat");
  auto [line_id, token] = create_line(*ann);
  for (auto* participant : {ann.get(), ben.get(), cat.get()}) send_join(*participant, line_id, token);
  const std::set<std::string> all{ann->session, ben->session, cat->session};
  for (auto* participant : {ann.get(), ben.get(), cat.get()}) ASSERT_TRUE(wait_for_list(*participant, all));

  send_request(*ben, "leave", "leave", core::adopt_json(json_pack("{s:s}", "line_id", line_id.c_str())));
  ASSERT_TRUE(ben->read_until([](const json_t* m) { return is_response(m, "leave"); }));
  const size_t ben_events = ben->occupants_events().size();
  for (auto* participant : {ann.get(), cat.get()}) {
    ASSERT_TRUE(wait_for_list(*participant, {ann->session, cat->session}));
  }
  // ann's get_line is answered after anything still due for the line.
  send_request(*ann, "get_line", "get", core::adopt_json(json_pack("{s:s}", "line_id", line_id.c_str())));
  ASSERT_TRUE(ann->read_until([](const json_t* m) { return is_response(m, "get"); }));
  EXPECT_TRUE(json_equal(json_object_get(ann->received.back().get(), "line"), const_cast<json_t*>(ann->last_line())));
  // The list without ben went out before this ping reached ben's session,
  // so anything sent to ben with it would come before the ping's answer.
  send_request(*ben, "ping", "ping");
  ASSERT_TRUE(ben->read_until([](const json_t* m) { return is_response(m, "ping"); }));
  EXPECT_EQ(ben->occupants_events().size(), ben_events);
}

// A plugin handle as an occupant (core::LineGuests): what the control plane
// tells it, recorded on the signaling loop and read through run_sync.
class RecordingGuest : public core::LineGuest {
 public:
  void receive_streams(std::vector<core::LegRequest> given) override { streams = std::move(given); ++deliveries; }
  void removed(const std::string& line_id, const std::string& reason) override { removals.push_back(line_id + " " + reason); }
  void set_listeners(std::vector<core::ListenerStream> given) override { listeners = std::move(given); }
  std::vector<core::LegRequest> streams;
  std::vector<core::ListenerStream> listeners;
  int deliveries = 0;
  std::vector<std::string> removals;
};

TEST_F(CallHandlerOccupantsTest, APluginGuestIsListedGetsThePublishersStreamsAndIsOfferedToThem) {
  start(20ms);
  auto ann = connect("ann");
  auto zed = connect("zed");  // not a member of ann's line
  auto [line_id, token] = create_line(*ann);
  send_join(*ann, line_id, token);
  ASSERT_TRUE(wait_for_list(*ann, {ann->session}));

  RecordingGuest guest;
  auto join = [&](const std::string& owner, const std::string& line) {
    core::GuestJoin request;
    request.guest_id = "guest-1";
    request.owner_session = owner;
    request.line_id = line;
    request.plugin = "tester";
    request.display_name = "Recorder";
    request.subscribe = true;
    request.publish_audio = true;
    request.guest = &guest;
    Result<std::vector<core::PublishedStream>> result = make_error(error_code::kInternal, "not run");
    loop_.run_sync([&] { result = handler_->join_guest(request); });
    return result;
  };
  auto refused = join(zed->session, line_id);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, error_code::kForbidden);  // the owner's identity decides
  refused = join(ann->session, "no-such-line");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, error_code::kNotFound);
  auto joined = join(ann->session, line_id);
  ASSERT_TRUE(joined) << joined.error().message;
  ASSERT_EQ(joined->size(), 1u);
  EXPECT_EQ(joined->front().format.codec_name, "opus");
  refused = join(ann->session, line_id);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, error_code::kConflict);

  ASSERT_TRUE(wait_for_list(*ann, {ann->session, "guest-1"}));
  const json_t* listed = json_array_get(json_object_get(ann->last_line(), "occupants"), 1);
  EXPECT_EQ(string_of(listed, "plugin"), "tester");
  EXPECT_EQ(string_of(listed, "name"), "Recorder");
  EXPECT_EQ(string_of(listed, "user"), "plugin:tester");
  EXPECT_EQ(string_of(listed, "state"), "connected");
  // ann is offered the guest's audio, as any occupant's.
  ASSERT_TRUE(ann->read_until([](const json_t* m) { return string_of(m, "event") == "update"; }));
  const std::string offer = string_of(json_object_get(ann->received.back().get(), "jsep"), "sdp");
  EXPECT_NE(offer.find("a=msid:guest-1 "), std::string::npos) << offer;
  // The guest receives ann's streams, named.
  std::vector<core::LegRequest> streams;
  loop_.run_sync([&] { streams = guest.streams; });
  ASSERT_FALSE(streams.empty());
  for (const core::LegRequest& stream : streams) {
    EXPECT_EQ(stream.stream_id, ann->session);
    EXPECT_EQ(stream.publisher_name, "ann");
  }

  loop_.run_sync([&] { handler_->leave_guest("guest-1"); });
  ASSERT_TRUE(wait_for_list(*ann, {ann->session}));

  // An operator closing the line removes a guest too, and tells it why.
  ASSERT_TRUE(join(ann->session, line_id));
  ASSERT_TRUE(wait_for_list(*ann, {ann->session, "guest-1"}));
  std::vector<std::string> removals;
  loop_.run_sync([&] {
    (void)handler_->admin_close_line(line_id);
    removals = guest.removals;
  });
  EXPECT_EQ(removals, std::vector<std::string>{line_id + " line_closed"});
}

// A mixer that joins at once, as the plugin host's does.
class JoiningMixers : public core::LineMixers {
 public:
  Status can_mix() const override { return {}; }
  Status start(const std::string& line_id) override {
    starts.push_back(line_id);
    core::GuestJoin join;
    join.guest_id = "mixer-1";
    join.line_id = line_id;
    join.plugin = "mixer";
    join.display_name = "mixer";
    join.mixer = true;
    join.guest = &guest;
    auto joined = handler->join_guest(join);
    return joined ? Status{} : Status(joined.error());
  }
  void stop(const std::string& line_id) override {
    stops.push_back(line_id);
    handler->leave_guest("mixer-1");
  }
  CallHandler* handler = nullptr;
  RecordingGuest guest;
  std::vector<std::string> starts, stops;
};

TEST_F(CallHandlerOccupantsTest, ALineOfMixedAudioHasAMixerWhileOccupiedThatAloneHearsTheOccupants) {
  start(20ms);
  auto ann = connect("ann");
  auto bob = connect("bob");
  auto mixed_fields = [] { return core::adopt_json(json_pack("{s:s}", "audio", "mixed")); };
  // Without a mixer, no line of mixed audio; a mode that does not exist is malformed.
  send_request(*ann, "create_line", "no-mixer", mixed_fields());
  ASSERT_TRUE(ann->read_until([](const json_t* m) { return is_response(m, "no-mixer"); }));
  EXPECT_EQ(json_integer_value(json_object_get(ann->received.back().get(), "code")), error_code::kNotImplemented);
  send_request(*ann, "create_line", "bad-mode", core::adopt_json(json_pack("{s:s}", "audio", "loud")));
  ASSERT_TRUE(ann->read_until([](const json_t* m) { return is_response(m, "bad-mode"); }));
  EXPECT_EQ(json_integer_value(json_object_get(ann->received.back().get(), "code")), error_code::kBadRequest);

  JoiningMixers mixers;
  mixers.handler = handler_.get();
  loop_.run_sync([&] { handler_->use_mixers(&mixers); });
  send_request(*ann, "create_line", "create", mixed_fields());
  ASSERT_TRUE(ann->read_until([](const json_t* m) { return is_response(m, "create"); }));
  const json_t* created = ann->received.back().get();
  EXPECT_EQ(string_of(created, "audio"), "mixed");
  const std::string line_id = string_of(created, "line_id"), token = string_of(created, "token");

  send_join(*ann, line_id, token);
  ASSERT_TRUE(wait_for_list(*ann, {ann->session}));  // the mixer is not listed
  EXPECT_EQ(string_of(ann->last_line(), "audio"), "mixed");
  send_join(*bob, line_id, token);
  ASSERT_TRUE(wait_for_list(*bob, {ann->session, bob->session}));
  // bob's first offer: ann's video and his own mix, not ann's audio.
  ASSERT_TRUE(bob->read_until([](const json_t* m) { return string_of(m, "event") == "update"; }));
  const std::string offer = string_of(json_object_get(bob->received.back().get(), "jsep"), "sdp");
  EXPECT_NE(offer.find("a=msid:" + ann->session + " video-"), std::string::npos) << offer;
  EXPECT_EQ(offer.find("a=msid:" + ann->session + " audio-"), std::string::npos) << offer;
  EXPECT_NE(offer.find("a=msid:mixer-1 audio-mixer-1"), std::string::npos) << offer;

  std::vector<core::ListenerStream> listeners;
  std::vector<core::LegRequest> heard;
  loop_.run_sync([&] {
    listeners = mixers.guest.listeners;
    heard = mixers.guest.streams;
  });
  EXPECT_EQ(mixers.starts, std::vector<std::string>{line_id});  // one mixer for the line
  ASSERT_EQ(listeners.size(), 2u);
  EXPECT_EQ(listeners[0].occupant, ann->session);
  EXPECT_EQ(listeners[1].occupant, bob->session);
  EXPECT_EQ(listeners[1].name, "bob");
  EXPECT_NE(listeners[0].key, listeners[1].key);
  ASSERT_EQ(heard.size(), 2u);  // both occupants' audio, no video
  for (const core::LegRequest& stream : heard) EXPECT_EQ(stream.source_format.kind, rtp::MediaKind::kAudio);

  // bob leaves: his listener goes; ann leaves: the mixer is stopped.
  ASSERT_TRUE(wait_for_list(*ann, {ann->session, bob->session}));
  send_request(*bob, "leave", "leave", core::adopt_json(json_pack("{s:s}", "line_id", line_id.c_str())));
  ASSERT_TRUE(wait_for_list(*ann, {ann->session}));
  loop_.run_sync([&] { listeners = mixers.guest.listeners; });
  ASSERT_EQ(listeners.size(), 1u);
  EXPECT_EQ(listeners[0].occupant, ann->session);
  send_request(*ann, "leave", "leave", core::adopt_json(json_pack("{s:s}", "line_id", line_id.c_str())));
  ASSERT_TRUE(ann->read_until([](const json_t* m) { return is_response(m, "leave"); }));
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  std::vector<std::string> stops;
  while (stops.empty() && std::chrono::steady_clock::now() < deadline) {
    loop_.run_sync([&] { stops = mixers.stops; });
    if (stops.empty()) std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(stops, std::vector<std::string>{line_id});
  loop_.run_sync([&] { handler_->use_mixers(nullptr); });
}

// The channel password is asked at every login: that a client id logged in
// before (and so became a member of the channel) admits nobody without it.
TEST_F(CallHandlerOccupantsTest, AVertoLoginNeedsTheChannelsPasswordEveryTime) {
  start(50ms);
  Status added;
  loop_.run_sync([&] { added = handler_->add_rooms({core::RoomSpec{"chan-1", {}, "pw", false}}); });
  ASSERT_TRUE(added.ok()) << added.error().message;
  auto login = [&](WebSocketClient& client, const std::string& password) {
    EXPECT_FALSE(client.connect(server_->port(), "/verto").has_value());
    client.send_text(R"({"jsonrpc":"2.0","id":1,"method":"login","params":{"login":"ann@chan-1","passwd":")" + password +
                     R"(","sessid":"s"}})");
    return client.next_json();
  };
  WebSocketClient first;
  core::JsonPtr logged_in = login(first, "pw");
  ASSERT_TRUE(logged_in);
  ASSERT_NE(json_object_get(logged_in.get(), "result"), nullptr);
  ASSERT_TRUE(first.next_json());  // verto.clientReady

  WebSocketClient impostor;
  core::JsonPtr refused = login(impostor, "wrong");
  ASSERT_TRUE(refused);
  EXPECT_EQ(json_integer_value(json_object_get(json_object_get(refused.get(), "error"), "code")), -32001);
  // The first ann was not punted: it still answers.
  first.send_text(R"({"jsonrpc":"2.0","id":2,"method":"echo","params":{"still":"here"}})");
  core::JsonPtr echoed = first.next_json();
  ASSERT_TRUE(echoed);
  EXPECT_EQ(string_of(json_object_get(echoed.get(), "result"), "still"), "here");
}

}  // namespace
}  // namespace partyline::signaling
