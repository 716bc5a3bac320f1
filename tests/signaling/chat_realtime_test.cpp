// Seed 001's chat-room endpoint as a translator, without a server
// (docs/compat.md, "Seed 001"): the welcome and the join and leave notices
// from `occupants` events, the three packet shapes a client may send, the
// relayed packets stamped with the sender the server knows, and errors.
#include "signaling/adapters/chat_realtime.hpp"

#include <gtest/gtest.h>

#include "tests/signaling/format_test_util.hpp"

namespace partyline::signaling {
namespace {

using testing::canonical;
using testing::json;
using testing::Sink;
using testing::str;

constexpr int64_t kNowMs = 1796637600123;  // 2026-12-07T10:00:00.123Z

class ChatRealtimeTest : public ::testing::Test {
 protected:
  ChatRealtimeTest() {
    HandshakeState state;
    state.session_id = "s-alice";
    format_.start(state, sink_);
  }

  Request request(const char* text) {
    DecodedText decoded = format_.decode(text, sink_);
    EXPECT_EQ(decoded.messages.size(), 1u) << text;
    auto* request = decoded.messages.empty() ? nullptr : std::get_if<Request>(&decoded.messages.front());
    EXPECT_NE(request, nullptr) << text;
    return request != nullptr ? std::move(*request) : Request{};
  }
  std::string refusal_text(const char* text) {
    DecodedText decoded = format_.decode(text, sink_);
    EXPECT_EQ(decoded.messages.size(), 1u) << text;
    auto* refused = decoded.messages.empty() ? nullptr : std::get_if<MessageError>(&decoded.messages.front());
    EXPECT_NE(refused, nullptr) << text;
    if (refused == nullptr) return {};
    format_.error(refused->transaction, refused->request, refused->error, sink_);
    auto sent = sink_.take();
    return sent.size() == 1 ? canonical(sent.front().get()) : std::string("<not one packet>");
  }
  void occupants(const char* list) {
    std::string text = std::string(R"({"event":"occupants","line":{"line_id":"chat-1","occupants":)") + list + "}}";
    format_.event(json(text.c_str()).get(), sink_);
  }

  Sink sink_;
  ChatRealtimeFormat format_{"chat-1", 300, [] { return kNowMs; }};
};

TEST_F(ChatRealtimeTest, StartJoinsTheChatsLineSignalingOnly) {
  EXPECT_TRUE(sink_.texts.empty());
  auto own = format_.take_own_requests();
  ASSERT_EQ(own.size(), 1u);
  EXPECT_EQ(own[0].name, "join");
  EXPECT_EQ(str(own[0].message.get(), "line_id"), "chat-1");
  EXPECT_EQ(json_object_get(own[0].message.get(), "jsep"), nullptr);
}

TEST_F(ChatRealtimeTest, TheWelcomeListsEachAccountOnceAndTheNoticesFollowChanges) {
  occupants(R"([{"session":"s-bob","user":"bob","name":"Bob"}])");
  EXPECT_TRUE(sink_.texts.empty()) << "an event from before the join";
  occupants(R"([{"session":"s-bob","user":"bob","name":"Bob"},{"session":"s-bob2","user":"bob","name":"Bob"},
      {"session":"rec","user":"plugin:recorder","name":"Recorder","plugin":"recorder"},
      {"session":"s-alice","user":"alice","name":"Alice"}])");
  auto sent = sink_.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(canonical(sent[0].get()), canonical(R"({"type":"webrtc","data":{"userId":"alice","roomId":"chat-1",
      "message":"Connected to call","timestamp":"2026-12-07T10:00:00.123Z","participants":[
      {"id":"bob","name":"bob","nick":"Bob","profile":{}},{"id":"alice","name":"alice","nick":"Alice","profile":{}}]}})"));

  // Bob's second connection leaves (he is still there), Carol comes in.
  occupants(R"([{"session":"s-bob","user":"bob","name":"Bob"},{"session":"s-alice","user":"alice","name":"Alice"},
      {"session":"s-carol","user":"carol","name":"Carol"}])");
  sent = sink_.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(str(json_object_get(sent[0].get(), "data"), "event"), "joined");
  EXPECT_EQ(str(json_object_get(sent[0].get(), "data"), "userId"), "carol");
  EXPECT_EQ(str(json_object_get(sent[0].get(), "data"), "message"), "Carol joined the call");
  EXPECT_EQ(json_array_size(json_object_get(json_object_get(sent[0].get(), "data"), "participants")), 3u);

  // Bob's last connection leaves.
  occupants(R"([{"session":"s-alice","user":"alice","name":"Alice"},{"session":"s-carol","user":"carol","name":"Carol"}])");
  sent = sink_.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(canonical(sent[0].get()), canonical(R"({"type":"webrtc","data":{"userId":"bob","roomId":"chat-1",
      "event":"left","message":"Bob left the call","timestamp":"2026-12-07T10:00:00.123Z","participants":[
      {"id":"alice","name":"alice","nick":"Alice","profile":{}},{"id":"carol","name":"carol","nick":"Carol","profile":{}}]}})"));
}

TEST_F(ChatRealtimeTest, TheThreeClientShapesBecomeOneNativeMessageWithoutSenderFields) {
  const char* expected = R"({"type":"offer","data":{"offer":{"type":"offer","sdp":"v=0"}},"to":"bob"})";
  for (const char* text : {
           R"({"type":"webrtc.signal","data":{"type":"offer","data":{"offer":{"type":"offer","sdp":"v=0"}},"to":"bob",
               "senderAccountId":"mallory"}})",
           R"({"type":"offer","offer":{"type":"offer","sdp":"v=0"},"to":"bob","senderAccountId":"mallory",
               "senderInfo":{"id":"mallory"}})",
           R"({"type":"offer","data":{"offer":{"type":"offer","sdp":"v=0"}},"to":"bob"})",
       }) {
    Request message = request(text);
    EXPECT_EQ(message.name, "message");
    EXPECT_EQ(str(message.message.get(), "line_id"), "chat-1");
    EXPECT_EQ(str(message.message.get(), "to"), "bob");
    EXPECT_EQ(canonical(json_object_get(message.message.get(), "data")), canonical(expected)) << text;
    format_.success(message.transaction, "message", nullptr, sink_);
    EXPECT_TRUE(sink_.texts.empty());
  }
  Request broadcast = request(R"({"type":"ice-candidate","candidate":{"candidate":"c"}})");
  EXPECT_EQ(json_object_get(broadcast.message.get(), "to"), nullptr);
  EXPECT_EQ(canonical(json_object_get(broadcast.message.get(), "data")),
            canonical(R"({"type":"ice-candidate","data":{"candidate":{"candidate":"c"}}})"));
}

TEST_F(ChatRealtimeTest, RelayedPacketsCarryTheSenderTheServerKnows) {
  format_.event(json(R"({"event":"message","line_id":"chat-1","from":{"user":"bob","name":"Bob","session":"s-bob"},
      "data":{"type":"answer","data":{"answer":{"sdp":"v=0"}},"to":"alice","senderAccountId":"mallory"}})").get(),
                sink_);
  // A native client's message of its own shape.
  format_.event(json(R"({"event":"message","line_id":"chat-1","from":{"user":"dave","name":"Dave","session":"s-d"},
      "data":{"text":"hi"}})").get(), sink_);
  auto sent = sink_.take();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(canonical(sent[0].get()), canonical(R"({"type":"webrtc.signal","data":{"type":"answer",
      "data":{"answer":{"sdp":"v=0"}},"to":"alice","senderAccountId":"bob",
      "senderInfo":{"id":"bob","name":"bob","nick":"Bob","profile":{}}}})"));
  EXPECT_EQ(canonical(sent[1].get()), canonical(R"({"type":"webrtc.signal","data":{"type":"message",
      "data":{"text":"hi"},"senderAccountId":"dave","senderInfo":{"id":"dave","name":"dave","nick":"Dave","profile":{}}}})"));
}

TEST_F(ChatRealtimeTest, PingIsAnsweredWithPong) {
  DecodedText decoded = format_.decode(R"({"type":"ping"})", sink_);
  EXPECT_TRUE(decoded.messages.empty());
  EXPECT_TRUE(decoded.alive);
  ASSERT_EQ(sink_.texts.size(), 1u);
  EXPECT_EQ(sink_.texts[0], R"({"type":"pong"})");
}

TEST_F(ChatRealtimeTest, BadPacketsGetTheErrorPacketAndAreNotRelayed) {
  EXPECT_EQ(refusal_text(R"({"data":{}})"),
            canonical(R"({"type":"error","data":{"code":400,"message":"field 'type' must be a string of 1 to 64 bytes"}})"));
  EXPECT_EQ(refusal_text(R"({"type":7})").find(R"("code":400)") != std::string::npos, true);
  EXPECT_NE(refusal_text("[]").find(R"("code":400)"), std::string::npos);
  EXPECT_NE(refusal_text("{oops").find(R"("code":400)"), std::string::npos);
  EXPECT_NE(refusal_text(R"({"type":"webrtc.signal","data":"x"})").find("must be an object"), std::string::npos);
  EXPECT_NE(refusal_text(R"({"type":"offer","to":12})").find("field 'to' must be a string"), std::string::npos);
  std::string big = R"({"type":"offer","offer":")" + std::string(400, 'x') + R"("})";
  EXPECT_NE(refusal_text(big.c_str()).find(R"("code":413)"), std::string::npos);
  // A native error (the `to` account is not in the chat) in the same shape.
  format_.error(std::string("m-9"), std::string("message"), make_error(404, "user 'zed' is not in line chat-1"), sink_);
  auto sent = sink_.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(canonical(sent[0].get()),
            canonical(R"({"type":"error","data":{"code":404,"message":"user 'zed' is not in line chat-1"}})"));
}

TEST_F(ChatRealtimeTest, ARefusedJoinEndsTheSession) {
  const Error refused = make_error(403, "not a member of line chat-1");
  format_.own_response("own-1", "join", nullptr, &refused, sink_);
  EXPECT_EQ(sink_.texts.size(), 1u);
  auto close = format_.take_close();
  ASSERT_TRUE(close.has_value());
  EXPECT_EQ(close->code, 4003);
}

}  // namespace
}  // namespace partyline::signaling
