// Seed 002's connected-peers relay as a translator, without a server
// (docs/compat.md, "Seed 002"): the room join it makes, connected-peers
// from the first occupants event, forwards as native signals, and the
// error messages, exactly as the contract states them.
#include "signaling/adapters/peers_relay.hpp"

#include <gtest/gtest.h>

#include "tests/signaling/format_test_util.hpp"

namespace partyline::signaling {
namespace {

using testing::canonical;
using testing::json;
using testing::Sink;
using testing::str;

class PeersRelayTest : public ::testing::Test {
 protected:
  PeersRelayTest() {
    HandshakeState state;
    state.session_id = "self";
    format_.start(state, sink_);
  }

  ClientMessage decode(const char* text) {
    DecodedText decoded = format_.decode(text, sink_);
    EXPECT_TRUE(decoded.alive);
    EXPECT_EQ(decoded.messages.size(), 1u) << text;
    return decoded.messages.empty() ? ClientMessage(MessageError{}) : std::move(decoded.messages.front());
  }
  // The error message the client gets for a refused text.
  std::string refusal_text(const char* text) {
    ClientMessage message = decode(text);
    auto* refused = std::get_if<MessageError>(&message);
    EXPECT_NE(refused, nullptr) << text;
    if (refused == nullptr) return {};
    format_.error(refused->transaction, refused->request, refused->error, sink_);
    auto sent = sink_.take();
    EXPECT_EQ(sent.size(), 1u);
    return sent.empty() ? std::string() : canonical(sent.front().get());
  }

  Sink sink_;
  PeersRelayFormat format_{"peers"};
};

TEST_F(PeersRelayTest, StartJoinsTheRoomSignalingOnlyAndSaysNothing) {
  EXPECT_TRUE(sink_.texts.empty());
  auto own = format_.take_own_requests();
  ASSERT_EQ(own.size(), 1u);
  EXPECT_EQ(own[0].name, "join");
  EXPECT_EQ(str(own[0].message.get(), "line_id"), "peers");
  EXPECT_EQ(json_object_get(own[0].message.get(), "jsep"), nullptr);
  EXPECT_FALSE(format_.client_keepalives());
}

TEST_F(PeersRelayTest, ConnectedPeersComesFromTheFirstOccupantsEventThatListsThisSession) {
  format_.event(json(R"({"event":"occupants","line":{"line_id":"peers","occupants":[
      {"session":"a","user":"guest:peer-1"}]}})").get(), sink_);
  EXPECT_TRUE(sink_.texts.empty()) << "an event from before the join";
  format_.event(json(R"({"event":"occupants","line":{"line_id":"peers","occupants":[
      {"session":"a","user":"guest:peer-1"},{"session":"rec","user":"plugin:recorder","plugin":"recorder"},
      {"session":"self","user":"guest:peer-2"},{"session":"b","user":"guest:peer-3"}]}})").get(), sink_);
  auto sent = sink_.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(canonical(sent[0].get()), canonical(R"({"type":"connected-peers","peerIds":["a","b"]})"));
  format_.event(json(R"({"event":"occupants","line":{"line_id":"peers","occupants":[
      {"session":"self","user":"guest:peer-2"},{"session":"c","user":"guest:peer-4"}]}})").get(), sink_);
  EXPECT_TRUE(sink_.texts.empty()) << "the seed tells a peer of the others once, at connect";
}

TEST_F(PeersRelayTest, EachForwardIsANativeSignalWithoutTheClientsSenderFields) {
  struct Case {
    const char* text;
    const char* data;
  } cases[] = {
      {R"({"action":"forward-offer","offer":{"type":"offer","sdp":"v=0"},"toPeerId":"a","fromPeerId":"spoofed"})",
       R"({"type":"offer","offer":{"type":"offer","sdp":"v=0"}})"},
      {R"({"action":"forward-answer","answer":{"type":"answer","sdp":"v=0"},"toPeerId":"a"})",
       R"({"type":"answer","answer":{"type":"answer","sdp":"v=0"}})"},
      {R"({"action":"forward-icecandidate","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host"},"toPeerId":"a"})",
       R"({"type":"icecandidate","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host"}})"},
  };
  for (const Case& c : cases) {
    ClientMessage message = decode(c.text);
    auto* request = std::get_if<Request>(&message);
    ASSERT_NE(request, nullptr) << c.text;
    EXPECT_EQ(request->name, "signal");
    EXPECT_EQ(str(request->message.get(), "to_session"), "a");
    EXPECT_EQ(str(request->message.get(), "line_id"), "peers");
    EXPECT_EQ(canonical(json_object_get(request->message.get(), "data")), canonical(c.data)) << c.text;
    format_.success(request->transaction, "signal", nullptr, sink_);
    EXPECT_TRUE(sink_.texts.empty()) << "a forward is answered with nothing";
  }
}

TEST_F(PeersRelayTest, SignalsBecomeThePeersMessagesWithTheServersSender) {
  format_.event(json(R"({"event":"signal","line_id":"peers","from":{"user":"guest:peer-1","session":"a"},
      "data":{"type":"offer","offer":{"type":"offer","sdp":"v=0"},"fromPeerId":"spoofed"}})").get(), sink_);
  format_.event(json(R"({"event":"signal","line_id":"peers","from":{"user":"guest:peer-1","session":"a"},
      "data":{"type":"icecandidate","candidate":{"candidate":""}}})").get(), sink_);
  // A native occupant's signal of no forward kind: nothing the client knows.
  format_.event(json(R"({"event":"signal","line_id":"peers","from":{"user":"bob","session":"b"},
      "data":{"hello":1}})").get(), sink_);
  auto sent = sink_.take();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(canonical(sent[0].get()),
            canonical(R"({"type":"offer","offer":{"type":"offer","sdp":"v=0"},"fromPeerId":"a"})"));
  EXPECT_EQ(canonical(sent[1].get()), canonical(R"({"type":"icecandidate","candidate":{"candidate":""},"fromPeerId":"a"})"));
}

TEST_F(PeersRelayTest, APeerThatIsNotConnectedIsNamedInTheError) {
  ClientMessage message = decode(R"({"action":"forward-answer","answer":{},"toPeerId":"gone"})");
  auto* request = std::get_if<Request>(&message);
  ASSERT_NE(request, nullptr);
  format_.error(request->transaction, std::string("signal"), make_error(404, "session gone is not in line peers"),
                sink_);
  auto sent = sink_.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(canonical(sent[0].get()), canonical(R"({"type":"error","action":"forward-answer","toPeerId":"gone",
      "message":"peer gone is not connected"})"));
}

TEST_F(PeersRelayTest, MalformedMessagesGetTheErrorMessageAndNothingIsForwarded) {
  const std::string not_json = refusal_text("{not json");
  EXPECT_EQ(not_json.rfind(R"x({"message":")x", 0), 0u) << not_json;
  EXPECT_NE(not_json.find(R"("type":"error")"), std::string::npos);
  EXPECT_EQ(not_json.find("action"), std::string::npos);
  const std::string malformed = refusal_text("[1,2]");
  EXPECT_NE(malformed.find(R"("type":"error")"), std::string::npos);
  EXPECT_EQ(malformed.find("action"), std::string::npos);
  EXPECT_EQ(refusal_text(R"({"toPeerId":"a"})"), canonical(R"({"type":"error","message":"field 'action' must be a string"})"));
  EXPECT_EQ(refusal_text(R"({"action":"forward-bye","toPeerId":"a"})"),
            canonical(R"x({"type":"error","action":"forward-bye",
                "message":"unknown action (forward-offer, forward-answer, forward-icecandidate)"})x"));
  EXPECT_EQ(refusal_text(R"({"action":"forward-offer","offer":{}})"),
            canonical(R"({"type":"error","action":"forward-offer","message":"field 'toPeerId' must be a peer id"})"));
  EXPECT_EQ(refusal_text(R"({"action":"forward-offer","toPeerId":"a"})"),
            canonical(R"({"type":"error","action":"forward-offer","message":"field 'offer' is missing"})"));
  EXPECT_EQ(refusal_text(R"({"action":"forward-offer","toPeerId":"a","offer":null})"),
            canonical(R"({"type":"error","action":"forward-offer","message":"field 'offer' is missing"})"));
}

TEST_F(PeersRelayTest, ARefusedJoinEndsTheSessionWithItsReason) {
  format_.take_own_requests();
  const Error full = make_error(503, "line peers is full");
  format_.own_response("own-1", "join", nullptr, &full, sink_);
  auto sent = sink_.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(canonical(sent[0].get()), canonical(R"({"type":"error","message":"line peers is full"})"));
  auto close = format_.take_close();
  ASSERT_TRUE(close.has_value());
  EXPECT_EQ(close->code, 4003);
}

}  // namespace
}  // namespace partyline::signaling
