// Who the seed adapters' clients are, against a real SignalingServer on
// loopback (docs/compat.md): seed 001's chat rooms at the HTTP upgrade
// (401 without a valid JWT, 403 for a user the line does not admit, 400
// for a request that is no upgrade, the JWT from a bearer header, the
// AuthToken cookie or ?tk=); seed 002's peers, who bring no credentials;
// seed 004's verto clients, nobody until their `login` names a channel
// whose password admits them.
#include <gtest/gtest.h>

#include <set>

#include "tests/signaling/signaling_server_fixture.hpp"

namespace partyline::signaling::testing {
namespace {

// Chat "chat-1" admits alice; channel "chan-1" whoever has its token "pw";
// every other line id is unknown.
class FakeAdmission : public LineAdmission {
 public:
  Status may_join(const std::string& line_id, const std::string& user) const override {
    if (line_id == "chat-1" && user == "alice") return {};
    return make_error(403, "not a member of line " + line_id);
  }
  Status token_admits(const std::string& line_id, const std::string& token) const override {
    if (line_id == "chan-1" && token == "pw") return {};
    return make_error(403, "the token does not admit to line " + line_id);
  }
};

class ChatAdmissionTest : public SignalingServerTest {
 protected:
  void SetUp() override {
    SignalingServerTest::SetUp();
    options_.auth.jwt_secret = kSecret;
    options_.chat_realtime_paths = {"/api/chat/realtime/", "/sphere/chat/realtime/"};
    options_.peers_path = "/peers";
    options_.verto_path = "/verto";
    start_server();
    server_->use_admission(&admission_);
  }

  static std::string token_of(const std::string& user) {
    return make_token(R"({"sub":")" + user + R"(","name":"User )" + user + R"("})", JWT_ALG_HS256, kSecret);
  }
  HttpResponse upgrade(const std::string& target, const std::string& extra_headers = "") {
    return http_exchange(server_->port(),
                         "GET " + target +
                             " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
                             extra_headers + "\r\n");
  }

  FakeAdmission admission_;
};

TEST_F(ChatAdmissionTest, WithoutAValidTokenTheUpgradeGets401) {
  EXPECT_EQ(upgrade("/api/chat/realtime/chat-1").status, 401);
  EXPECT_EQ(upgrade("/api/chat/realtime/chat-1?tk=not.a.token").status, 401);
  EXPECT_EQ(upgrade("/api/chat/realtime/chat-1?tk=" + make_token(R"({"sub":"alice"})", JWT_ALG_HS256, "other key")).status,
            401);
  // A name is never an identity here (the seed has no guests).
  EXPECT_EQ(upgrade("/api/chat/realtime/chat-1?name=alice").status, 401);
  HttpResponse expired = upgrade("/api/chat/realtime/chat-1?tk=" +
                                 make_token(R"({"sub":"alice","exp":1000})", JWT_ALG_HS256, kSecret));
  EXPECT_EQ(expired.status, 401);
  EXPECT_NE(expired.body.find("token expired"), std::string::npos) << expired.body;
}

TEST_F(ChatAdmissionTest, ANonMemberOrAnUnknownChatGets403AndAnEmptyChatId404) {
  EXPECT_EQ(upgrade("/api/chat/realtime/chat-1?tk=" + token_of("mallory")).status, 403);
  EXPECT_EQ(upgrade("/api/chat/realtime/no-such-chat?tk=" + token_of("alice")).status, 403);
  EXPECT_EQ(upgrade("/api/chat/realtime/?tk=" + token_of("alice")).status, 404);
}

TEST_F(ChatAdmissionTest, AnAdmittedRequestThatIsNoUpgradeGets400) {
  HttpResponse plain = http_exchange(server_->port(), "GET /api/chat/realtime/chat-1?tk=" + token_of("alice") +
                                                          " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(plain.status, 400);
}

TEST_F(ChatAdmissionTest, TheTokenComesFromTheBearerHeaderTheCookieOrTk) {
  EXPECT_EQ(upgrade("/api/chat/realtime/chat-1", "Authorization: Bearer " + token_of("alice") + "\r\n").status, 101);
  EXPECT_EQ(upgrade("/sphere/chat/realtime/chat-1", "Cookie: theme=dark; AuthToken=" + token_of("alice") + "\r\n").status,
            101);
  WebSocketClient client;
  auto failure = client.connect(server_->port(), "/api/chat/realtime/chat-1?tk=" + token_of("alice"));
  ASSERT_FALSE(failure.has_value()) << *failure;
  ASSERT_TRUE(handler_.wait_opened(1));
  EXPECT_EQ(handler_.last_identity().user, "alice");
  EXPECT_EQ(handler_.last_identity().name, "User alice");
  // The bearer header wins over the cookie: a non-member's header is refused.
  EXPECT_EQ(upgrade("/api/chat/realtime/chat-1", "Authorization: Bearer " + token_of("mallory") +
                                                     "\r\nCookie: AuthToken=" + token_of("alice") + "\r\n")
                .status,
            403);
}

TEST_F(ChatAdmissionTest, PeersWithoutCredentialsAreGuestsOfNamesOfTheirOwn) {
  std::set<std::string> users;
  for (int i = 0; i < 2; ++i) {
    WebSocketClient client;
    auto failure = client.connect(server_->port(), "/peers");
    ASSERT_FALSE(failure.has_value()) << *failure;
    ASSERT_TRUE(handler_.wait_opened(i + 1));
    Identity identity = handler_.last_identity();
    EXPECT_TRUE(identity.anonymous);
    EXPECT_EQ(identity.user.rfind("guest:peer-", 0), 0u) << identity.user;
    users.insert(identity.user);
  }
  EXPECT_EQ(users.size(), 2u) << "each peer is a user of its own";
}

std::string verto_login(int id, const std::string& login, const std::string& password) {
  return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) + R"(,"method":"login","params":{"login":")" + login +
         R"(","passwd":")" + password + R"(","sessid":"s"}})";
}

TEST_F(ChatAdmissionTest, AVertoClientIsNobodyUntilItsLoginIsAdmittedByTheChannelsPassword) {
  WebSocketClient client;
  auto failure = client.connect(server_->port(), "/verto");
  ASSERT_FALSE(failure.has_value()) << *failure;
  client.send_text(verto_login(1, "ann@chan-1", "wrong"));
  core::JsonPtr refused = client.next_json();
  ASSERT_TRUE(refused);
  EXPECT_EQ(json_integer_value(json_object_get(json_object_get(refused.get(), "error"), "code")), -32001);
  client.send_text(R"({"jsonrpc":"2.0","id":2,"method":"echo","params":{"n":2}})");
  core::JsonPtr echoed = client.next_json();
  ASSERT_TRUE(echoed);
  EXPECT_EQ(json_integer_value(json_object_get(json_object_get(echoed.get(), "result"), "n")), 2);
  EXPECT_EQ(handler_.opened(), 0) << "the handlers know nobody before a login";

  client.send_text(verto_login(3, "ann@chan-1", "pw"));
  core::JsonPtr logged_in = client.next_json();
  ASSERT_TRUE(logged_in);
  EXPECT_STREQ(string_field(core::adopt_json(json_incref(json_object_get(logged_in.get(), "result"))), "message"),
               "logged in");
  ASSERT_TRUE(handler_.wait_opened(1));
  EXPECT_EQ(handler_.last_identity().user, "verto:ann@chan-1");
  EXPECT_EQ(handler_.last_identity().name, "ann");
  core::JsonPtr ready = client.next_json();
  ASSERT_TRUE(ready);
  EXPECT_STREQ(string_field(ready, "method"), "verto.clientReady");

  // The same credentials again: the older connection is punted (4005).
  WebSocketClient newer;
  ASSERT_FALSE(newer.connect(server_->port(), "/verto").has_value());
  newer.send_text(verto_login(1, "ann@chan-1", "pw"));
  core::JsonPtr punt = client.next_json();
  ASSERT_TRUE(punt);
  EXPECT_STREQ(string_field(punt, "method"), "verto.punt");
  auto closed = client.next();
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->opcode, WSLAY_CONNECTION_CLOSE);
  EXPECT_EQ(closed->close_code, close_code::kReplaced);
  core::JsonPtr newer_logged_in = newer.next_json();
  ASSERT_TRUE(newer_logged_in);
  EXPECT_NE(json_object_get(newer_logged_in.get(), "result"), nullptr);
}

// A server of its own: short intervals, so the login deadline comes soon.
TEST(VertoLoginDeadline, AConnectionThatNeverLogsInIsClosedWith4001) {
  core::EventLoop loop{"verto-deadline"};
  loop.start();
  TestHandler handler{loop};
  SignalingOptions options;
  options.bind_address = "127.0.0.1";
  options.port = 0;
  options.verto_path = "/verto";
  options.keepalive_interval_ms = 400;  // the session's checks run every 100 ms
  options.ping_interval_ms = 500;
  options.idle_timeout_ms = 1500;  // the login deadline
  {
    SignalingServer server(options, loop, handler);
    ASSERT_TRUE(server.start().ok());
    WebSocketClient client;
    ASSERT_FALSE(client.connect(server.port(), "/verto").has_value());
    const auto started = std::chrono::steady_clock::now();
    std::optional<WebSocketClient::Message> closed;
    while (auto message = client.next(std::chrono::seconds(5))) {
      if (message->opcode == WSLAY_CONNECTION_CLOSE) {
        closed = std::move(message);
        break;
      }
    }
    ASSERT_TRUE(closed.has_value());
    EXPECT_EQ(closed->close_code, close_code::kUnauthorized);
    EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(1400));
    EXPECT_EQ(handler.opened(), 0);
  }
  loop.stop();
}

}  // namespace
}  // namespace partyline::signaling::testing
