// Seed 003's lines protocol as a translator, without a server: what each
// client text becomes, and what each native response and event becomes
// for the client (docs/compat.md, "Seed 003").
#include "signaling/adapters/lines_protocol.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/signaling/format_test_util.hpp"

namespace partyline::signaling {
namespace {

using testing::json;
using testing::num;
using testing::Sink;
using testing::str;

class LinesProtocolTest : public ::testing::Test {
 protected:
  explicit LinesProtocolTest(std::string user = "1001") : format_(Identity{user, "Alice", "", false}) {
    HandshakeState state;
    state.session_id = "self-session";
    state.keepalive_interval_ms = 30000;
    state.timestamp_ms = 1754313722205;
    format_.start(state, sink_);
  }

  ClientMessage decode(const char* text) {
    DecodedText decoded = format_.decode(text, sink_);
    EXPECT_EQ(decoded.messages.size(), 1u) << text;
    return decoded.messages.empty() ? ClientMessage(MessageError{}) : std::move(decoded.messages.front());
  }
  Request request(const char* text) {
    ClientMessage message = decode(text);
    auto* request = std::get_if<Request>(&message);
    EXPECT_NE(request, nullptr) << text;
    return request != nullptr ? std::move(*request) : Request{};
  }
  MessageError refusal(const char* text) {
    ClientMessage message = decode(text);
    auto* refused = std::get_if<MessageError>(&message);
    EXPECT_NE(refused, nullptr) << text;
    return refused != nullptr ? *refused : MessageError{};
  }
  void event(const char* text) { format_.event(json(text).get(), sink_); }
  std::vector<std::string> own_requests() {
    std::vector<std::string> names;
    for (const Request& request : format_.take_own_requests()) names.push_back(request.name);
    return names;
  }
  // An outgoing call placed, answered by the server with a call id.
  void place_call() {
    Request call = request(R"({"request":"outgoing_call","transaction":"t-1","line":0,"call_id":"qwerty",
                               "number":"1002","jsep":{"type":"offer","sdp":"v=0"}})");
    format_.success("t-1", "outgoing_call",
                    json(R"({"line_id":"L1","token":"k","call_id":"C1","delivered":true})").get(), sink_);
    sink_.take();
  }

  LinesProtocolFormat format_;
  Sink sink_;
};

class UnregisteredTest : public LinesProtocolTest {
 protected:
  UnregisteredTest() : LinesProtocolTest("alice") {}
};

TEST_F(LinesProtocolTest, HandshakeStateAsTheSeedShowsIt) {
  auto texts = sink_.take();
  ASSERT_EQ(texts.size(), 1u);
  const json_t* state = texts[0].get();
  EXPECT_EQ(str(state, "handshake"), "state");
  EXPECT_EQ(num(state, "timestamp"), 1754313722205);
  EXPECT_EQ(num(state, "keepalive_interval"), 30000);
  EXPECT_EQ(core::dump_json(json_object_get(state, "lines")), "[null,null]");
  EXPECT_EQ(str(json_object_get(state, "registration"), "status"), "registered");
}

TEST_F(UnregisteredTest, AUserIdThatIsNotANumberDoesNotRegister) {
  auto texts = sink_.take();
  ASSERT_EQ(texts.size(), 3u);
  EXPECT_EQ(str(json_object_get(texts[0].get(), "registration"), "status"), "unregistered");
  EXPECT_EQ(str(texts[1].get(), "event"), "registering");
  EXPECT_EQ(str(texts[2].get(), "event"), "registration_failed");
  EXPECT_EQ(num(texts[2].get(), "code"), 403);
  EXPECT_EQ(refusal(R"({"request":"register","transaction":"t"})").error.code, 403);
}

TEST_F(LinesProtocolTest, KeepaliveAndAcks) {
  sink_.take();
  ClientMessage keepalive = decode(R"({"handshake":"keepalive","transaction":"transaction-0"})");
  ASSERT_TRUE(std::holds_alternative<KeepaliveMessage>(keepalive));
  format_.keepalive_ack("transaction-0", sink_);
  auto texts = sink_.take();
  ASSERT_EQ(texts.size(), 1u);
  EXPECT_EQ(core::dump_json(texts[0].get()), R"({"handshake":"keepalive","transaction":"transaction-0"})");

  Request trickle = request(R"({"request":"ice_trickle","transaction":"t-6","line":0,
                                "candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMid":"0"}})");
  EXPECT_EQ(trickle.name, "ice_trickle");
  EXPECT_EQ(trickle.transaction, "t-6");
  format_.success("t-6", "ice_trickle", nullptr, sink_);
  texts = sink_.take();
  ASSERT_EQ(texts.size(), 1u);
  EXPECT_EQ(core::dump_json(texts[0].get()), R"({"line":0,"response":"ack","transaction":"t-6"})");
}

TEST_F(LinesProtocolTest, RefusalsHaveTheAckShapeWithACode) {
  sink_.take();
  EXPECT_EQ(refusal(R"({"request":"outgoing_call","transaction":"t","line":1,"call_id":"c","number":"1"})").error.code, 501);
  EXPECT_EQ(refusal(R"({"request":"outgoing_call","transaction":"t2","line":0,"call_id":"c","number":"abc",
                        "jsep":{"type":"offer","sdp":"v=0"}})").error.code, 400);
  EXPECT_EQ(refusal(R"({"request":"transfer","transaction":"t3","line":0})").error.code, 501);
  EXPECT_EQ(refusal(R"({"request":"hangup","transaction":"t4","line":0,"call_id":"none"})").error.code, 404);
  EXPECT_EQ(refusal(R"({"request":"ice_trickle","line":0})").error.code, 400);  // no transaction
  EXPECT_EQ(refusal(R"({"request":"x","transaction":"t5","line":7})").error.code, 400);
  EXPECT_EQ(refusal("not json").error.code, 400);

  MessageError refused = refusal(R"({"request":"transfer","transaction":"t9","line":0})");
  format_.error(refused.transaction, refused.request, refused.error, sink_);
  auto texts = sink_.take();
  ASSERT_EQ(texts.size(), 1u);
  EXPECT_EQ(str(texts[0].get(), "response"), "error");
  EXPECT_EQ(str(texts[0].get(), "transaction"), "t9");
  EXPECT_EQ(num(texts[0].get(), "line"), 0);
  EXPECT_EQ(num(texts[0].get(), "code"), 501);
}

TEST_F(LinesProtocolTest, AnOutgoingCallIsAPairedNativeOutgoingCall) {
  sink_.take();
  Request call = request(R"({"request":"outgoing_call","transaction":"transaction-1","line":0,"call_id":"qwerty",
                             "number":"1234567890","jsep":{"type":"offer","sdp":"v=0"}})");
  EXPECT_EQ(call.name, "outgoing_call");
  EXPECT_EQ(str(call.message.get(), "number"), "1234567890");
  EXPECT_TRUE(json_is_true(json_object_get(call.message.get(), "paired")));
  EXPECT_EQ(str(json_object_get(call.message.get(), "jsep"), "type"), "offer");
  // The native events in the order they come: ringing before the response,
  // then the caller's answer, then the callee's accept.
  event(R"({"event":"ringing","call_id":"C1","line_id":"L1","user":"1234567890"})");
  EXPECT_TRUE(sink_.texts.empty());
  format_.success("transaction-1", "outgoing_call",
                  json(R"({"line_id":"L1","token":"k","call_id":"C1","delivered":true})").get(), sink_);
  event(R"({"event":"accepted","line_id":"L1","jsep":{"type":"answer","sdp":"v=0 answer"}})");
  event(R"({"event":"accepted","call_id":"C1","line_id":"L1","user":{"user":"1234567890"}})");
  auto texts = sink_.take();
  ASSERT_EQ(texts.size(), 4u);
  EXPECT_EQ(str(texts[0].get(), "response"), "ack");
  EXPECT_EQ(str(texts[1].get(), "event"), "calling");
  EXPECT_EQ(str(texts[1].get(), "call_id"), "qwerty");
  EXPECT_EQ(str(texts[2].get(), "event"), "ringing");
  EXPECT_EQ(str(texts[3].get(), "event"), "accepted");
  EXPECT_EQ(str(texts[3].get(), "call_id"), "qwerty");
  EXPECT_EQ(num(texts[3].get(), "line"), 0);
  EXPECT_EQ(str(json_object_get(texts[3].get(), "jsep"), "sdp"), "v=0 answer");

  // A second call while this one is up: refused.
  EXPECT_EQ(refusal(R"({"request":"outgoing_call","transaction":"t-2","line":0,"call_id":"two","number":"5",
                        "jsep":{"type":"offer","sdp":"v=0"}})").error.code, 409);
  // The callee leaves: BYE, and this session leaves the line too.
  event(R"({"event":"occupants","line":{"line_id":"L1","occupants":[{"session":"self-session"},{"session":"other"}]}})");
  EXPECT_TRUE(sink_.texts.empty());
  event(R"({"event":"occupants","line":{"line_id":"L1","occupants":[{"session":"self-session"}]}})");
  texts = sink_.take();
  ASSERT_EQ(texts.size(), 1u);
  EXPECT_EQ(str(texts[0].get(), "event"), "hangup");
  EXPECT_EQ(num(texts[0].get(), "code"), 200);
  EXPECT_EQ(str(texts[0].get(), "reason"), "BYE");
  EXPECT_EQ(own_requests(), std::vector<std::string>{"hangup"});
}

TEST_F(LinesProtocolTest, WhatEndsAnOutgoingCallBeforeItIsAnswered) {
  struct Case {
    const char* event;
    long long code;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {R"({"event":"busy","call_id":"C1","line_id":"L1"})", 486, "Busy Here"},
      {R"({"event":"declined","call_id":"C1","line_id":"L1","reason":"declined"})", 603, "Decline"},
      {R"({"event":"declined","call_id":"C1","line_id":"L1","reason":"offline"})", 480, "Temporarily Unavailable"},
      {R"({"event":"timeout","call_id":"C1","line_id":"L1"})", 408, "Request Timeout"},
  };
  for (const Case& c : cases) {
    place_call();
    event(R"({"event":"busy","call_id":"other-call"})");  // not ours: nothing
    EXPECT_TRUE(sink_.texts.empty());
    event(c.event);
    auto texts = sink_.take();
    ASSERT_EQ(texts.size(), 1u) << c.event;
    EXPECT_EQ(str(texts[0].get(), "event"), "hangup");
    EXPECT_EQ(num(texts[0].get(), "code"), c.code) << c.event;
    EXPECT_EQ(str(texts[0].get(), "reason"), c.reason);
    EXPECT_EQ(str(texts[0].get(), "call_id"), "qwerty");
    EXPECT_EQ(own_requests(), std::vector<std::string>{"hangup"});
  }
  // Nobody to ring: calling, then 480.
  request(R"({"request":"outgoing_call","transaction":"t-9","line":0,"call_id":"q2","number":"1009",
              "jsep":{"type":"offer","sdp":"v=0"}})");
  format_.success("t-9", "outgoing_call", json(R"({"line_id":"L2","token":"k","delivered":false})").get(), sink_);
  auto texts = sink_.take();
  ASSERT_EQ(texts.size(), 3u);
  EXPECT_EQ(str(texts[1].get(), "event"), "calling");
  EXPECT_EQ(num(texts[2].get(), "code"), 480);
}

TEST_F(LinesProtocolTest, HangupEventsCarryTheCodeOfWhatWasHungUp) {
  place_call();
  Request cancel = request(R"({"request":"hangup","transaction":"t-3","line":0,"call_id":"qwerty"})");
  EXPECT_EQ(cancel.name, "hangup");
  format_.success("t-3", "hangup", nullptr, sink_);
  auto texts = sink_.take();
  ASSERT_EQ(texts.size(), 3u);
  EXPECT_EQ(str(texts[1].get(), "event"), "hangingup");
  EXPECT_EQ(num(texts[1].get(), "code"), 487);
  EXPECT_EQ(str(texts[2].get(), "event"), "hangup");
  EXPECT_EQ(str(texts[2].get(), "reason"), "to CANCEL");

  place_call();
  event(R"({"event":"accepted","line_id":"L1","jsep":{"type":"answer","sdp":"v=0"}})");
  event(R"({"event":"accepted","call_id":"C1","line_id":"L1"})");
  sink_.take();
  request(R"({"request":"hangup","transaction":"t-4","line":0,"call_id":"qwerty"})");
  // Even when the server has nothing left to hang up, the client's call ends.
  format_.error(std::string("t-4"), std::string("hangup"), make_error(404, "nothing"), sink_);
  texts = sink_.take();
  ASSERT_EQ(texts.size(), 3u);
  EXPECT_EQ(num(texts[1].get(), "code"), 200);
  EXPECT_EQ(str(texts[2].get(), "reason"), "to BYE");
}

TEST_F(LinesProtocolTest, AnIncomingCallShowsTheServersOfferAndIsAcceptedWithTheAnswer) {
  sink_.take();
  event(R"({"event":"incoming_call","call_id":"K1","line_id":"L9",
            "caller":{"user":"1002","name":"Bob","session":"s2"}})");
  EXPECT_TRUE(sink_.texts.empty());  // not before its offer is ready
  std::vector<Request> own = format_.take_own_requests();
  ASSERT_EQ(own.size(), 1u);
  EXPECT_EQ(own[0].name, "media_offer");
  format_.own_response(own[0].transaction, "media_offer", json(R"({"jsep":{"type":"offer","sdp":"v=0 offer"}})").get(),
                       nullptr, sink_);
  auto texts = sink_.take();
  ASSERT_EQ(texts.size(), 1u);
  EXPECT_EQ(str(texts[0].get(), "event"), "incoming_call");
  EXPECT_EQ(str(texts[0].get(), "call_id"), "K1");
  EXPECT_EQ(str(texts[0].get(), "number"), "1002");
  EXPECT_EQ(str(texts[0].get(), "display_name"), "Bob");
  EXPECT_EQ(str(json_object_get(texts[0].get(), "jsep"), "type"), "offer");

  // A second call meanwhile: declined busy, the client sees nothing.
  event(R"({"event":"incoming_call","call_id":"K2","line_id":"L8","caller":{"user":"1003"}})");
  EXPECT_TRUE(sink_.texts.empty());
  own = format_.take_own_requests();
  ASSERT_EQ(own.size(), 1u);
  EXPECT_EQ(own[0].name, "decline");
  EXPECT_EQ(str(own[0].message.get(), "reason"), "busy");
  EXPECT_EQ(str(own[0].message.get(), "call_id"), "K2");

  Request accept = request(R"({"request":"accept","transaction":"t-7","line":0,"call_id":"K1",
                               "jsep":{"type":"answer","sdp":"v=0 answer"}})");
  EXPECT_EQ(accept.name, "accept");
  EXPECT_EQ(str(accept.message.get(), "call_id"), "K1");
  EXPECT_EQ(str(json_object_get(accept.message.get(), "jsep"), "type"), "answer");
  format_.success("t-7", "accept", nullptr, sink_);
  event(R"({"event":"accepted","line_id":"L9"})");  // the callee's own join: nothing for the client
  texts = sink_.take();
  ASSERT_EQ(texts.size(), 1u);
  EXPECT_EQ(str(texts[0].get(), "response"), "ack");
}

TEST_F(LinesProtocolTest, DecliningAndCancelledIncomingCalls) {
  sink_.take();
  event(R"({"event":"incoming_call","call_id":"K1","line_id":"L9","caller":{"user":"1002"}})");
  std::vector<Request> own = format_.take_own_requests();
  format_.own_response(own[0].transaction, "media_offer", json(R"({"jsep":{"type":"offer","sdp":"v=0"}})").get(),
                       nullptr, sink_);
  sink_.take();
  Request decline = request(R"({"request":"hangup","transaction":"t-8","line":0,"call_id":"K1"})");
  EXPECT_EQ(decline.name, "decline");
  format_.success("t-8", "decline", nullptr, sink_);
  auto texts = sink_.take();
  ASSERT_EQ(texts.size(), 3u);
  EXPECT_EQ(num(texts[1].get(), "code"), 603);
  EXPECT_EQ(str(texts[2].get(), "reason"), "to Decline");
  EXPECT_EQ(own_requests(), std::vector<std::string>{"hangup"});  // the offer's PeerConnection

  event(R"({"event":"incoming_call","call_id":"K3","line_id":"L7","caller":{"user":"1002"}})");
  own = format_.take_own_requests();
  format_.own_response(own[0].transaction, "media_offer", json(R"({"jsep":{"type":"offer","sdp":"v=0"}})").get(),
                       nullptr, sink_);
  sink_.take();
  event(R"({"event":"cancelled","call_id":"K3","reason":"cancelled"})");
  texts = sink_.take();
  ASSERT_EQ(texts.size(), 1u);
  EXPECT_EQ(num(texts[0].get(), "code"), 487);
  EXPECT_EQ(str(texts[0].get(), "reason"), "Request Terminated");
}

}  // namespace
}  // namespace partyline::signaling
