// End to end over loopback: WebSocket sessions of a SignalingServer on
// port 0 (signaling_server_fixture.hpp) and the test-only clients of
// test_clients.hpp.
#include "signaling/signaling_server.hpp"

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "tests/signaling/signaling_server_fixture.hpp"

namespace partyline::signaling {
namespace {

using namespace std::chrono_literals;
using testing::SignalingServerTest;
using testing::WebSocketClient;
using testing::kSecret;
using testing::string_field;

TEST_F(SignalingServerTest, HandshakeStateArrivesFirst) {
  options_.keepalive_interval_ms = 25000;
  start_server();
  WebSocketClient client;
  auto failure = client.connect(server_->port(), "/ws?name=alice&extra=a%20b%26c");
  ASSERT_FALSE(failure.has_value()) << *failure;
  auto state = client.next_json();
  ASSERT_TRUE(state);
  EXPECT_STREQ(string_field(state, "handshake"), "state");
  std::string session = string_field(state, "session");
  ASSERT_EQ(session.size(), 36u);
  EXPECT_EQ(session[14], '4');  // UUID version 4
  EXPECT_EQ(json_integer_value(json_object_get(state.get(), "keepalive_interval")), 25000);
  EXPECT_GT(json_integer_value(json_object_get(state.get(), "timestamp")), 1700000000000);
  json_t* server = json_object_get(state.get(), "server");
  EXPECT_STREQ(json_string_value(json_object_get(server, "name")), "partyline");
  EXPECT_STREQ(json_string_value(json_object_get(server, "version")), PARTYLINE_VERSION);
  json_t* user = json_object_get(state.get(), "user");
  EXPECT_STREQ(json_string_value(json_object_get(user, "user")), "alice");
  EXPECT_STREQ(json_string_value(json_object_get(user, "name")), "alice");
  EXPECT_TRUE(json_is_true(json_object_get(user, "guest")));  // anonymous

  ASSERT_TRUE(handler_.wait_opened(1));
  auto query = handler_.last_query();
  EXPECT_EQ(query["name"], "alice");
  EXPECT_EQ(query["extra"], "a b&c");
  EXPECT_TRUE(handler_.last_identity().anonymous);
  EXPECT_EQ(server_->session_count(), 1u);
}

TEST_F(SignalingServerTest, RequestSentWithTheUpgradeIsAnsweredAfterTheHandshakeState) {
  start_server();
  WebSocketClient client;
  std::string request = R"({"request":"echo","transaction":"early","data":"x"})";
  auto failure = client.connect(server_->port(), "/ws?name=early", WebSocketClient::masked_text_frame(request));
  ASSERT_FALSE(failure.has_value()) << *failure;
  auto state = client.next_json();
  ASSERT_TRUE(state);
  EXPECT_STREQ(string_field(state, "handshake"), "state");
  auto response = client.next_json();
  ASSERT_TRUE(response);
  EXPECT_STREQ(string_field(response, "transaction"), "early");
  EXPECT_STREQ(string_field(response, "response"), "success");
}

TEST_F(SignalingServerTest, KeepaliveIsAnsweredWithItsTransaction) {
  start_server();
  WebSocketClient client;
  connect(client);
  client.send_text(R"({"handshake":"keepalive","transaction":"k-7"})");
  auto ack = client.next_json();
  ASSERT_TRUE(ack);
  EXPECT_STREQ(string_field(ack, "handshake"), "keepalive");
  EXPECT_STREQ(string_field(ack, "transaction"), "k-7");
}

TEST_F(SignalingServerTest, EveryRequestGetsExactlyOneResponse) {
  start_server();
  WebSocketClient client;
  connect(client);
  client.send_text(R"({"request":"echo","transaction":"t-1","data":"hello"})");
  auto response = client.next_json();
  ASSERT_TRUE(response);
  EXPECT_STREQ(string_field(response, "response"), "success");
  EXPECT_STREQ(string_field(response, "transaction"), "t-1");
  EXPECT_STREQ(string_field(response, "request"), "echo");
  EXPECT_STREQ(string_field(response, "data"), "hello");

  // The handler answered t-1 three times; the next message must already be
  // the answer to what follows.
  client.send_text(R"({"request":"later","transaction":"t-2"})");
  auto later = client.next_json();
  ASSERT_TRUE(later);
  EXPECT_STREQ(string_field(later, "transaction"), "t-2");
  EXPECT_STREQ(string_field(later, "response"), "success");

  client.send_text(R"({"request":"nope","transaction":"t-3"})");
  auto unknown = client.next_json();
  ASSERT_TRUE(unknown);
  EXPECT_STREQ(string_field(unknown, "response"), "error");
  EXPECT_STREQ(string_field(unknown, "transaction"), "t-3");
  EXPECT_EQ(json_integer_value(json_object_get(unknown.get(), "code")), 404);

  client.send_text(R"({"request":"event","transaction":"t-4"})");
  auto event = client.next_json();
  ASSERT_TRUE(event);
  EXPECT_STREQ(string_field(event, "event"), "test_event");
  EXPECT_EQ(json_object_get(event.get(), "transaction"), nullptr);
  auto after_event = client.next_json();
  ASSERT_TRUE(after_event);
  EXPECT_STREQ(string_field(after_event, "transaction"), "t-4");
}

TEST_F(SignalingServerTest, MalformedJsonGets400AndTheConnectionStaysOpen) {
  start_server();
  WebSocketClient client;
  connect(client);
  client.send_text(R"({"request":"echo", oops})");
  auto error = client.next_json();
  ASSERT_TRUE(error);
  EXPECT_STREQ(string_field(error, "response"), "error");
  EXPECT_TRUE(json_is_null(json_object_get(error.get(), "transaction")));
  EXPECT_EQ(json_integer_value(json_object_get(error.get(), "code")), 400);
  EXPECT_NE(std::string(string_field(error, "reason")).find("line 1, column"), std::string::npos);

  client.send_text(R"({"request":"echo","transaction":")" + std::string(200, 'x') + R"("})");
  auto too_long = client.next_json();
  ASSERT_TRUE(too_long);
  EXPECT_EQ(json_integer_value(json_object_get(too_long.get(), "code")), 413);
  EXPECT_STREQ(string_field(too_long, "request"), "echo");

  client.send_text(R"({"handshake":"keepalive","transaction":"k-1"})");
  auto ack = client.next_json();
  ASSERT_TRUE(ack);
  EXPECT_STREQ(string_field(ack, "transaction"), "k-1");
}

TEST_F(SignalingServerTest, MessageOverTheLimitClosesWith1009) {
  options_.max_message_bytes = 1024;
  start_server();
  WebSocketClient client;
  connect(client);
  client.send_text(R"({"request":"echo","transaction":"t","data":")" + std::string(2000, 'x') + R"("})");
  auto close = client.next();
  ASSERT_TRUE(close);
  EXPECT_EQ(close->opcode, WSLAY_CONNECTION_CLOSE);
  EXPECT_EQ(close->close_code, 1009);
  EXPECT_TRUE(client.wait_for_eof());
  ASSERT_TRUE(handler_.wait_closed(1));
  EXPECT_EQ(server_->session_count(), 0u);
}

TEST_F(SignalingServerTest, BinaryMessageClosesWith1003) {
  start_server();
  WebSocketClient client;
  connect(client);
  client.send(WSLAY_BINARY_FRAME, "\x01\x02");
  auto close = client.next();
  ASSERT_TRUE(close);
  EXPECT_EQ(close->opcode, WSLAY_CONNECTION_CLOSE);
  EXPECT_EQ(close->close_code, 1003);
  ASSERT_TRUE(handler_.wait_closed(1));
}

// Without resume: session_resume_test.cpp has a 4002 that detaches instead.
TEST_F(SignalingServerTest, MissedKeepaliveClosesWith4002) {
  options_.keepalive_interval_ms = 100;
  options_.resume_grace_ms = 0;
  start_server();
  WebSocketClient client;
  connect(client);
  auto close = client.next(5s);
  ASSERT_TRUE(close);
  EXPECT_EQ(close->opcode, WSLAY_CONNECTION_CLOSE);
  EXPECT_EQ(close->close_code, 4002);
  EXPECT_TRUE(client.wait_for_eof());
  ASSERT_TRUE(handler_.wait_closed(1));
}

TEST_F(SignalingServerTest, SilentClientClosesWith1001) {
  options_.resume_grace_ms = 0;  // the session ends with its connection
  options_.ping_interval_ms = 50;
  options_.idle_timeout_ms = 200;
  options_.close_timeout_ms = 200;
  start_server();
  WebSocketClient client;
  connect(client);
  client.stop_writing();  // no pongs: the server hears nothing
  auto close = client.next(5s);
  ASSERT_TRUE(close);
  EXPECT_EQ(close->opcode, WSLAY_CONNECTION_CLOSE);
  EXPECT_EQ(close->close_code, 1001);
  // No close reply from us: the server gives up after close_timeout.
  EXPECT_TRUE(client.wait_for_eof());
  ASSERT_TRUE(handler_.wait_closed(1));
}

TEST_F(SignalingServerTest, PongsKeepAnIdleClientOpen) {
  // What this distinguishes: pongs counting as traffic, or the server closing
  // an idle client one idle timeout after its last message (the connect).
  // The timeout only has to be well inside the watch below: 1 s, with a ping
  // every 100 ms, leaves a gap of ten pings before a pong that runs late
  // (ASan on two shared cores) looks like silence; 150 ms did not.
  options_.ping_interval_ms = 100;
  options_.idle_timeout_ms = 1000;
  start_server();
  WebSocketClient client;
  connect(client);
  // Over two idle timeouts pass (a close is checked every 1/8 of one); the
  // automatic pongs count as traffic.
  EXPECT_FALSE(client.next(2500ms).has_value());
  client.send_text(R"({"handshake":"keepalive","transaction":"k-1"})");
  auto ack = client.next_json();
  ASSERT_TRUE(ack);
  EXPECT_STREQ(string_field(ack, "transaction"), "k-1");
}

TEST_F(SignalingServerTest, SessionsOverTheLimitCloseWith4003) {
  options_.max_sessions = 1;
  start_server();
  WebSocketClient first;
  connect(first);
  WebSocketClient second;
  auto failure = second.connect(server_->port(), "/ws?name=second");
  ASSERT_FALSE(failure.has_value()) << *failure;
  auto close = second.next();
  ASSERT_TRUE(close);
  EXPECT_EQ(close->opcode, WSLAY_CONNECTION_CLOSE);
  EXPECT_EQ(close->close_code, 4003);
  EXPECT_EQ(server_->session_count(), 1u);
}

TEST_F(SignalingServerTest, OneSessionPerUserReplacesTheOlderWith4005OrRefusesWith4006) {
  options_.one_session_per_user = true;
  start_server();
  WebSocketClient first, other_user;
  connect(first, "/ws?name=alice");
  connect(other_user, "/ws?name=bob");
  ASSERT_TRUE(handler_.wait_opened(2));
  // force=false while alice is connected: refused, no handshake state, alice untouched.
  WebSocketClient polite;
  auto failure = polite.connect(server_->port(), "/ws?name=alice&force=false");
  ASSERT_FALSE(failure.has_value()) << *failure;
  auto refused = polite.next();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->opcode, WSLAY_CONNECTION_CLOSE);
  EXPECT_EQ(refused->close_code, 4006);
  EXPECT_EQ(server_->session_count(), 2u);
  // A plain second connection takes over: the first is closed with 4005
  // before the second gets its handshake state; bob is untouched.
  WebSocketClient second;
  connect(second, "/ws?name=alice");
  ASSERT_TRUE(handler_.wait_closed(1));
  auto replaced = first.next();
  ASSERT_TRUE(replaced);
  EXPECT_EQ(replaced->opcode, WSLAY_CONNECTION_CLOSE);
  EXPECT_EQ(replaced->close_code, 4005);
  EXPECT_EQ(server_->session_count(), 2u);
  second.send_text(R"({"request":"ping","transaction":"t1"})");
  auto pong = second.next_json();
  ASSERT_TRUE(pong);
  EXPECT_STREQ(string_field(pong, "transaction"), "t1");
  other_user.send_text(R"({"request":"ping","transaction":"t2"})");
  auto other_pong = other_user.next_json();
  ASSERT_TRUE(other_pong);
  EXPECT_STREQ(string_field(other_pong, "transaction"), "t2");
}

// With a secret and anonymous access, `?name=alice` is the guest
// "guest:alice", never the token user "alice": neither replaces the other,
// and no token can claim the guest's id.
TEST_F(SignalingServerTest, OneSessionPerUserKeepsGuestsAndTokenUsersApart) {
  options_.one_session_per_user = true;
  options_.auth.jwt_secret = kSecret;
  start_server();
  WebSocketClient token_user, guest;
  connect(token_user, "/ws?token=" + testing::make_token(R"({"sub":"alice"})", JWT_ALG_HS256, kSecret));
  auto failure = guest.connect(server_->port(), "/ws?name=alice&force=false");
  ASSERT_FALSE(failure.has_value()) << *failure;
  auto state = guest.next_json();
  ASSERT_TRUE(state);
  ASSERT_STREQ(string_field(state, "handshake"), "state");
  json_t* user = json_object_get(state.get(), "user");
  EXPECT_STREQ(json_string_value(json_object_get(user, "user")), "guest:alice");
  EXPECT_STREQ(json_string_value(json_object_get(user, "name")), "alice");
  EXPECT_TRUE(json_is_true(json_object_get(user, "guest")));
  ASSERT_TRUE(handler_.wait_opened(2));
  EXPECT_EQ(server_->session_count(), 2u);

  WebSocketClient impostor;
  failure = impostor.connect(server_->port(),
                             "/ws?token=" + testing::make_token(R"({"sub":"guest:alice"})", JWT_ALG_HS256, kSecret));
  ASSERT_FALSE(failure.has_value()) << *failure;
  auto refused = impostor.next();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->opcode, WSLAY_CONNECTION_CLOSE);
  EXPECT_EQ(refused->close_code, close_code::kUnauthorized);
  EXPECT_EQ(server_->session_count(), 2u);
  for (WebSocketClient* client : {&token_user, &guest}) {
    client->send_text(R"({"request":"ping","transaction":"still-here"})");
    auto pong = client->next_json();
    ASSERT_TRUE(pong);
    EXPECT_STREQ(string_field(pong, "transaction"), "still-here");
  }
}

TEST_F(SignalingServerTest, ManySessionsPerUserByDefaultAndForceIsIgnored) {
  start_server();
  WebSocketClient first, second;
  connect(first, "/ws?name=alice");
  connect(second, "/ws?name=alice&force=false");
  ASSERT_TRUE(handler_.wait_opened(2));
  EXPECT_EQ(server_->session_count(), 2u);
}

TEST_F(SignalingServerTest, StopClosesEveryWebSocketWith1001) {
  start_server();
  WebSocketClient client;
  connect(client);
  ASSERT_TRUE(handler_.wait_opened(1));
  server_->stop();
  EXPECT_EQ(server_->session_count(), 0u);
  ASSERT_TRUE(handler_.wait_closed(1, 0ms));
  auto close = client.next();
  ASSERT_TRUE(close);
  EXPECT_EQ(close->close_code, 1001);
  EXPECT_TRUE(client.wait_for_eof());
}

TEST_F(SignalingServerTest, ClientCloseEndsTheSession) {
  start_server();
  WebSocketClient client;
  connect(client);
  ASSERT_TRUE(handler_.wait_opened(1));
  client.send(WSLAY_CONNECTION_CLOSE, std::string("\x03\xe8", 2));  // 1000
  ASSERT_TRUE(handler_.wait_closed(1));
  EXPECT_EQ(server_->session_count(), 0u);
}

// A close frame's payload is the code (2 bytes) and then the reason.
std::string close_reason(const WebSocketClient::Message& message) {
  return message.text.size() >= 2 ? message.text.substr(2) : "";
}

TEST_F(SignalingServerTest, BadTokenIsClosedWith4001WithoutHandshakeState) {
  options_.auth.jwt_secret = kSecret;
  start_server();
  struct Refusal {
    std::string target;
    std::string reason;
  };
  std::string wrong_key = testing::make_token(R"({"sub":"alice"})", JWT_ALG_HS256, "not the secret");
  std::string expired = testing::make_token(R"({"sub":"alice","exp":1000000000})", JWT_ALG_HS256, kSecret);
  ASSERT_FALSE(wrong_key.empty());
  ASSERT_FALSE(expired.empty());
  const std::vector<Refusal> refusals{
      {"/ws?token=" + wrong_key, "token signature does not verify"},
      {"/ws?token=" + expired, "token expired"},
      {"/ws?token=garbage&name=alice", "token is malformed"},
      {"/ws?name=al%20ice", "name may only contain letters, digits, '.', '_', '-' and '@'"},
      {"/ws", "a token or a name is required"},
  };
  for (const Refusal& refusal : refusals) {
    SCOPED_TRACE(refusal.target);
    WebSocketClient client;
    auto failure = client.connect(server_->port(), refusal.target);
    ASSERT_FALSE(failure.has_value()) << *failure;
    auto close = client.next();  // the very first message: no handshake state before it
    ASSERT_TRUE(close);
    EXPECT_EQ(close->opcode, WSLAY_CONNECTION_CLOSE) << close->text;
    EXPECT_EQ(close->close_code, close_code::kUnauthorized);
    EXPECT_EQ(close_reason(*close), refusal.reason);
    EXPECT_TRUE(client.wait_for_eof());
  }
  EXPECT_EQ(handler_.opened(), 0);
  EXPECT_EQ(server_->session_count(), 0u);
}

TEST_F(SignalingServerTest, RefusedConnectionsDoNotCountTowardsMaxSessions) {
  options_.max_sessions = 1;
  options_.auth.jwt_secret = kSecret;
  options_.auth.allow_anonymous = false;
  start_server();
  // Both stay connected (unread) while the third arrives.
  WebSocketClient anonymous;
  ASSERT_FALSE(anonymous.connect(server_->port(), "/ws?name=alice").has_value());
  WebSocketClient forged;
  ASSERT_FALSE(forged.connect(server_->port(), "/ws?token=x.y.z").has_value());
  WebSocketClient accepted;
  connect(accepted, "/ws?token=" + testing::make_token(R"({"sub":"bob"})", JWT_ALG_HS256, kSecret));
  EXPECT_EQ(server_->session_count(), 1u);

  auto close = anonymous.next();
  ASSERT_TRUE(close);
  EXPECT_EQ(close->close_code, close_code::kUnauthorized);
  EXPECT_EQ(close_reason(*close), "anonymous access is off");
  close = forged.next();
  ASSERT_TRUE(close);
  EXPECT_EQ(close->close_code, close_code::kUnauthorized);
  EXPECT_EQ(close_reason(*close), "token is malformed");
  EXPECT_EQ(handler_.opened(), 1);
}

TEST_F(SignalingServerTest, ValidTokenHandshakeStateCarriesTheUser) {
  options_.auth.jwt_secret = kSecret;
  options_.auth.jwt_issuer = "https://login.example.org";
  options_.auth.allow_anonymous = false;
  start_server();
  std::string token = testing::make_token(
      R"({"sub":"alice","name":"Alice Liddell","email":"alice@example.org","iss":"https://login.example.org"})",
      JWT_ALG_HS256, kSecret);
  WebSocketClient client;
  auto failure = client.connect(server_->port(), "/ws?token=" + token);
  ASSERT_FALSE(failure.has_value()) << *failure;
  auto state = client.next_json();
  ASSERT_TRUE(state);
  ASSERT_STREQ(string_field(state, "handshake"), "state");
  json_t* user = json_object_get(state.get(), "user");
  ASSERT_TRUE(json_is_object(user));
  EXPECT_STREQ(json_string_value(json_object_get(user, "user")), "alice");
  EXPECT_STREQ(json_string_value(json_object_get(user, "name")), "Alice Liddell");
  EXPECT_EQ(json_object_size(user), 2u);  // the email stays on the server

  ASSERT_TRUE(handler_.wait_opened(1));
  Identity identity = handler_.last_identity();
  EXPECT_EQ(identity.user, "alice");
  EXPECT_EQ(identity.email, "alice@example.org");
  EXPECT_FALSE(identity.anonymous);
  std::string context = handler_.last_log_context();
  EXPECT_EQ(context.rfind("session=", 0), 0u) << context;
  EXPECT_EQ(context.substr(context.size() - 11), " user=alice") << context;
}

TEST_F(SignalingServerTest, RequestFloodGets429BeyondTheBurstWithoutDelayingOthers) {
  // One request per second: the flood is over long before a second refill.
  options_.rate_limit = RateLimit{1, 100};
  start_server();
  WebSocketClient flooder;
  connect(flooder, "/ws?name=flooder");
  WebSocketClient other;
  connect(other, "/ws?name=other");

  constexpr int kFlood = 1000;
  const auto started = testing::Clock::now();
  for (int i = 0; i < kFlood; ++i) {
    flooder.send_text(R"({"request":"echo","transaction":"f-)" + std::to_string(i) + R"(","data":"x"})");
  }
  other.send_text(R"({"request":"echo","transaction":"o-1","data":"y"})");
  auto answer = other.next_json(500ms);
  ASSERT_TRUE(answer) << "the other client waited more than 500 ms";
  EXPECT_STREQ(string_field(answer, "transaction"), "o-1");
  EXPECT_STREQ(string_field(answer, "response"), "success");

  ASSERT_TRUE(flooder.flush());
  // The bucket is empty now, and a keepalive still gets through.
  flooder.send_text(R"({"handshake":"keepalive","transaction":"k-flood"})");
  std::set<std::string> answered;
  int successes = 0;
  int limited = 0;
  bool acknowledged = false;
  // Each read waits 5 s at most; the deadline also ends a server that keeps
  // sending without ever answering everything.
  const auto deadline = testing::Clock::now() + 60s;
  while (answered.size() < static_cast<size_t>(kFlood) || !acknowledged) {
    ASSERT_TRUE(testing::Clock::now() < deadline) << answered.size() << " answered in 60 s";
    auto message = flooder.next_json();
    ASSERT_TRUE(message) << answered.size() << " answered";
    if (const char* handshake = string_field(message, "handshake")) {
      EXPECT_STREQ(handshake, "keepalive");
      EXPECT_STREQ(string_field(message, "transaction"), "k-flood");
      acknowledged = true;
      continue;
    }
    const char* transaction = string_field(message, "transaction");
    ASSERT_NE(transaction, nullptr);
    ASSERT_TRUE(answered.insert(transaction).second) << "answered twice: " << transaction;
    if (std::string(string_field(message, "response")) == "success") {
      ++successes;
      continue;
    }
    ++limited;
    EXPECT_EQ(json_integer_value(json_object_get(message.get(), "code")), 429);
    EXPECT_STREQ(string_field(message, "reason"), "rate limited: more than 1 requests per second");
    EXPECT_STREQ(string_field(message, "request"), "echo");
  }
  const auto elapsed_seconds =
      std::chrono::duration_cast<std::chrono::seconds>(testing::Clock::now() - started).count();
  EXPECT_GE(successes, 100);
  EXPECT_LE(successes, 100 + elapsed_seconds);  // exactly 100 unless the run took over a second
  EXPECT_EQ(successes + limited, kFlood);
}

}  // namespace
}  // namespace partyline::signaling
