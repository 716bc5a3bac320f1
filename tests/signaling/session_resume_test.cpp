// End to end over loopback: a session outliving its lost WebSocket, and its
// resume with ?resume=<token> (docs/protocol.md, "Resuming a session").
#include "signaling/signaling_server.hpp"

#include <gtest/gtest.h>

#include <string>

#include "tests/signaling/signaling_server_fixture.hpp"

namespace partyline::signaling {
namespace {

using namespace std::chrono_literals;
using testing::SignalingServerTest;
using testing::WebSocketClient;
using testing::string_field;

class SessionResumeTest : public SignalingServerTest {
 protected:
  // Connects, returns the handshake state; on a resume, checks that the
  // handler's event (TestHandler::on_session_resumed) comes right after it.
  core::JsonPtr open(WebSocketClient& client, const std::string& target = "/ws?name=tester") {
    auto failure = client.connect(server_->port(), target);
    EXPECT_FALSE(failure.has_value()) << *failure;
    if (failure) return nullptr;
    auto state = client.next_json();
    EXPECT_TRUE(state);
    EXPECT_STREQ(string_field(state, "handshake"), "state");
    if (state && json_is_true(json_object_get(state.get(), "resumed"))) {
      auto event = client.next_json();
      EXPECT_TRUE(event);
      EXPECT_STREQ(string_field(event, "event"), "resumed");
    }
    return state;
  }

  // An `echo` request round trip on `client`.
  void expect_served(WebSocketClient& client, const std::string& transaction) {
    client.send_text(R"({"request":"echo","transaction":")" + transaction + R"(","data":1})");
    auto response = client.next_json();
    ASSERT_TRUE(response);
    EXPECT_STREQ(string_field(response, "response"), "success");
    EXPECT_STREQ(string_field(response, "transaction"), transaction.c_str());
  }
};

TEST_F(SessionResumeTest, TheHandshakeCarriesASecretTokenAndTheGrace) {
  options_.resume_grace_ms = 7000;
  start_server();
  WebSocketClient first, second;
  auto one = open(first);
  auto two = open(second);
  ASSERT_TRUE(one && two);
  const std::string token = string_field(one, "resume_token");
  EXPECT_EQ(token.size(), 24u);  // 144 bits, base64url
  EXPECT_EQ(token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
  EXPECT_STRNE(string_field(two, "resume_token"), token.c_str());
  EXPECT_EQ(json_integer_value(json_object_get(one.get(), "resume_grace")), 7000);
  EXPECT_EQ(json_object_get(one.get(), "resumed"), nullptr);
}

TEST_F(SessionResumeTest, ALostConnectionsSessionWaitsAndComesBackWithItsToken) {
  start_server();
  WebSocketClient lost;
  auto state = open(lost);
  ASSERT_TRUE(state);
  const std::string session = string_field(state, "session");
  const std::string token = string_field(state, "resume_token");
  expect_served(lost, "before");

  lost.drop();
  ASSERT_TRUE(handler_.wait_detached(1));
  EXPECT_EQ(handler_.closed(), 0);
  EXPECT_EQ(server_->session_count(), 1u);  // still a session, holding its place

  WebSocketClient back;
  auto resumed = open(back, "/ws?name=tester&resume=" + token);
  ASSERT_TRUE(resumed);
  EXPECT_STREQ(string_field(resumed, "session"), session.c_str());
  EXPECT_TRUE(json_is_true(json_object_get(resumed.get(), "resumed")));
  EXPECT_STREQ(string_field(resumed, "resume_token"), token.c_str());
  ASSERT_TRUE(handler_.wait_resumed(1));
  EXPECT_EQ(handler_.last_resumed(), session);
  EXPECT_EQ(handler_.opened(), 1);  // the same session, not a new one
  expect_served(back, "after");
  EXPECT_EQ(server_->session_count(), 1u);

  // Lost again: resumable again, with the same token.
  back.drop();
  ASSERT_TRUE(handler_.wait_detached(2));
  WebSocketClient again;
  auto twice = open(again, "/ws?name=tester&resume=" + token);
  ASSERT_TRUE(twice);
  EXPECT_STREQ(string_field(twice, "session"), session.c_str());
  expect_served(again, "again");
  EXPECT_EQ(handler_.closed(), 0);
}

TEST_F(SessionResumeTest, NotResumedWithinTheGraceTheSessionEndsAndItsTokenIsRefused) {
  options_.resume_grace_ms = 300;
  start_server();
  WebSocketClient lost;
  auto state = open(lost);
  ASSERT_TRUE(state);
  const std::string token = string_field(state, "resume_token");
  const auto dropped_at = testing::Clock::now();
  lost.drop();
  ASSERT_TRUE(handler_.wait_detached(1));
  ASSERT_TRUE(handler_.wait_closed(1));
  EXPECT_GE(testing::Clock::now() - dropped_at, 250ms);  // the grace, not the drop, ended it
  EXPECT_EQ(server_->session_count(), 0u);
  const uint64_t expired = resume_totals().expired;
  EXPECT_GE(expired, 1u);

  const uint64_t refused_before = resume_totals().refused;
  WebSocketClient late;
  EXPECT_EQ(refusal_of(late, "/ws?name=tester&resume=" + token), close_code::kResumeRefused);
  EXPECT_EQ(resume_totals().refused, refused_before + 1);
  EXPECT_EQ(handler_.opened(), 1);  // no session for a refused resume
}

TEST_F(SessionResumeTest, AWrongTokenOrAnotherUsersIsRefusedWith4008AndTheSessionStillWaits) {
  start_server();
  WebSocketClient lost;
  auto state = open(lost);
  ASSERT_TRUE(state);
  const std::string token = string_field(state, "resume_token");
  lost.drop();
  ASSERT_TRUE(handler_.wait_detached(1));

  WebSocketClient wrong, thief, empty;
  EXPECT_EQ(refusal_of(wrong, "/ws?name=tester&resume=AAAAAAAAAAAAAAAAAAAAAAAA"), close_code::kResumeRefused);
  // The right token in another user's hands resumes nothing.
  EXPECT_EQ(refusal_of(thief, "/ws?name=mallory&resume=" + token), close_code::kResumeRefused);
  EXPECT_EQ(refusal_of(empty, "/ws?name=tester&resume="), close_code::kResumeRefused);
  EXPECT_EQ(handler_.closed(), 0);
  EXPECT_EQ(handler_.opened(), 1);

  WebSocketClient back;
  auto resumed = open(back, "/ws?name=tester&resume=" + token);
  ASSERT_TRUE(resumed);
  EXPECT_TRUE(json_is_true(json_object_get(resumed.get(), "resumed")));
}

TEST_F(SessionResumeTest, AClientThatSaysGoodbyeIsNotKept) {
  start_server();
  WebSocketClient client;
  auto state = open(client);
  ASSERT_TRUE(state);
  const std::string token = string_field(state, "resume_token");
  client.send(WSLAY_CONNECTION_CLOSE, std::string("\x03\xe8", 2));  // 1000
  ASSERT_TRUE(client.flush());
  ASSERT_TRUE(handler_.wait_closed(1));
  EXPECT_EQ(handler_.detached(), 0);
  WebSocketClient late;
  EXPECT_EQ(refusal_of(late, "/ws?name=tester&resume=" + token), close_code::kResumeRefused);
}

TEST_F(SessionResumeTest, AMissedKeepaliveDetachesTheSessionForAResume) {
  options_.keepalive_interval_ms = 100;
  start_server();
  WebSocketClient silent;
  auto state = open(silent);
  ASSERT_TRUE(state);
  const std::string token = string_field(state, "resume_token");
  auto close = silent.next(5s);
  ASSERT_TRUE(close);
  EXPECT_EQ(close->close_code, close_code::kKeepaliveMissed);
  ASSERT_TRUE(handler_.wait_detached(1));
  EXPECT_EQ(handler_.closed(), 0);

  WebSocketClient back;
  auto resumed = open(back, "/ws?name=tester&resume=" + token);
  ASSERT_TRUE(resumed);
  EXPECT_TRUE(json_is_true(json_object_get(resumed.get(), "resumed")));
  // The keepalive watch runs again for the new connection.
  back.send_text(R"({"handshake":"keepalive","transaction":"k1"})");
  bool acknowledged = false;
  for (int i = 0; i < 3 && !acknowledged; ++i) {
    auto message = back.next_json();
    acknowledged = message && string_field(message, "handshake") != nullptr &&
                   std::string(string_field(message, "handshake")) == "keepalive";
  }
  EXPECT_TRUE(acknowledged);
}

TEST_F(SessionResumeTest, AResumeWhileTheOldConnectionLooksOpenClosesItWith4005) {
  start_server();
  WebSocketClient old_connection;
  auto state = open(old_connection);
  ASSERT_TRUE(state);
  const std::string token = string_field(state, "resume_token");
  // The client moved on before the server noticed anything wrong.
  WebSocketClient fresh;
  auto resumed = open(fresh, "/ws?name=tester&resume=" + token);
  ASSERT_TRUE(resumed);
  EXPECT_STREQ(string_field(resumed, "session"), string_field(state, "session"));
  auto close = old_connection.next();
  ASSERT_TRUE(close);
  EXPECT_EQ(close->opcode, WSLAY_CONNECTION_CLOSE);
  EXPECT_EQ(close->close_code, close_code::kReplaced);
  expect_served(fresh, "moved");
  EXPECT_EQ(handler_.closed(), 0);
  EXPECT_EQ(server_->session_count(), 1u);
}

TEST_F(SessionResumeTest, ASessionClosedForGoodCannotBeResumedDuringItsClosingHandshake) {
  start_server();
  WebSocketClient kicked;
  auto state = open(kicked);
  ASSERT_TRUE(state);
  const std::string token = string_field(state, "resume_token");
  kicked.send_text(R"({"request":"kick","transaction":"k"})");
  ASSERT_TRUE(kicked.flush());
  kicked.stop_writing();  // the close frame is read but not answered: the handshake stays open
  auto close = kicked.next();
  ASSERT_TRUE(close);
  EXPECT_EQ(close->close_code, close_code::kKicked);
  WebSocketClient back;
  EXPECT_EQ(refusal_of(back, "/ws?name=tester&resume=" + token), close_code::kResumeRefused);
  ASSERT_TRUE(handler_.wait_closed(1));  // after the server's close timeout
  EXPECT_EQ(handler_.detached(), 0);
}

TEST_F(SessionResumeTest, WithoutAGraceTheSessionEndsWithItsConnection) {
  options_.resume_grace_ms = 0;
  start_server();
  WebSocketClient client;
  auto state = open(client);
  ASSERT_TRUE(state);
  EXPECT_EQ(json_object_get(state.get(), "resume_token"), nullptr);
  client.drop();
  ASSERT_TRUE(handler_.wait_closed(1));
  EXPECT_EQ(handler_.detached(), 0);
}

TEST_F(SessionResumeTest, StoppingTheServerEndsDetachedSessions) {
  start_server();
  WebSocketClient client;
  ASSERT_TRUE(open(client));
  client.drop();
  ASSERT_TRUE(handler_.wait_detached(1));
  server_->stop();
  EXPECT_TRUE(handler_.wait_closed(1, 0ms));  // before stop() returned
}

}  // namespace
}  // namespace partyline::signaling
