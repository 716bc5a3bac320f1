// End to end over loopback: SignalingServer on port 0, a test RequestHandler,
// and the test-only clients of test_clients.hpp.
#include "signaling/signaling_server.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

#include "signaling/header_deadline.hpp"
#include "tests/signaling/test_clients.hpp"

namespace partyline::signaling {
namespace {

using namespace std::chrono_literals;
using testing::WebSocketClient;

const std::string kSecret = "signaling test secret";

const char* string_field(const core::JsonPtr& json, const char* name) {
  return json ? json_string_value(json_object_get(json.get(), name)) : nullptr;
}

class TestHandler : public RequestHandler {
 public:
  explicit TestHandler(core::EventLoop& loop) : loop_(loop) {}

  void on_session_open(const std::shared_ptr<ClientSession>& session) override {
    std::lock_guard lock(mutex_);
    ++opened_;
    last_query_ = session->query();
    last_identity_ = session->identity();
    last_log_context_ = session->log_context();
    changed_.notify_all();
  }

  void on_request(const std::shared_ptr<ClientSession>& session, Request request) override {
    if (request.name == "echo") {
      core::JsonPtr extra = core::adopt_json(json_object());
      json_object_set(extra.get(), "data", json_object_get(request.message.get(), "data"));
      session->respond_success(request.transaction, request.name, std::move(extra));
      // A second answer to the same transaction must never reach the client.
      session->respond_success(request.transaction, request.name, nullptr);
      session->respond_error(request.transaction, request.name, make_error(500, "duplicate"));
    } else if (request.name == "later") {
      std::weak_ptr<ClientSession> weak = session;
      loop_.post([weak, request = std::make_shared<Request>(std::move(request))] {
        if (auto alive = weak.lock()) alive->respond_success(request->transaction, request->name, nullptr);
      });
    } else if (request.name == "event") {
      session->send_event(core::adopt_json(json_pack("{s:s}", "event", "test_event")));
      session->respond_success(request.transaction, request.name, nullptr);
    } else {
      session->respond_error(request.transaction, request.name,
                             make_error(404, "unknown request '" + request.name + "'"));
    }
  }

  void on_session_closed(const std::shared_ptr<ClientSession>&) override {
    std::lock_guard lock(mutex_);
    ++closed_;
    changed_.notify_all();
  }

  bool wait_closed(int count, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return closed_ >= count; });
  }
  bool wait_opened(int count, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return opened_ >= count; });
  }
  QueryParameters last_query() {
    std::lock_guard lock(mutex_);
    return last_query_;
  }
  Identity last_identity() {
    std::lock_guard lock(mutex_);
    return last_identity_;
  }
  std::string last_log_context() {
    std::lock_guard lock(mutex_);
    return last_log_context_;
  }
  int opened() {
    std::lock_guard lock(mutex_);
    return opened_;
  }

 private:
  core::EventLoop& loop_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int opened_ = 0;
  int closed_ = 0;
  QueryParameters last_query_;
  Identity last_identity_;
  std::string last_log_context_;
};

class SignalingServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    namespace fs = std::filesystem;
    std::string pattern = (fs::temp_directory_path() / "partyline-web-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    base_ = pattern;
    fs::create_directories(base_ / "web" / "sub");
    std::ofstream(base_ / "web" / "index.html") << "<!doctype html><title>partyline</title>";
    std::ofstream(base_ / "web" / "app.js") << "console.log(1);";
    std::ofstream(base_ / "web" / "a b.txt") << "spaced";
    std::ofstream(base_ / "secret.txt") << "secret";
    fs::create_symlink("../secret.txt", base_ / "web" / "leak.txt");
    options_.bind_address = "127.0.0.1";
    options_.port = 0;
    options_.web_root = base_ / "web";
    options_.keepalive_interval_ms = 60000;
    loop_.start();
  }

  void TearDown() override {
    server_.reset();
    loop_.stop();
    std::filesystem::remove_all(base_);
  }

  void start_server() {
    server_ = std::make_unique<SignalingServer>(options_, loop_, handler_);
    Status started = server_->start();
    ASSERT_TRUE(started.ok()) << started.error().message;
    ASSERT_NE(server_->port(), 0);
  }

  // Connects and consumes the handshake state.
  void connect(WebSocketClient& client, const std::string& target = "/ws?name=tester") {
    auto failure = client.connect(server_->port(), target);
    ASSERT_FALSE(failure.has_value()) << *failure;
    auto state = client.next_json();
    ASSERT_TRUE(state);
    ASSERT_STREQ(string_field(state, "handshake"), "state");
  }

  std::filesystem::path base_;
  SignalingOptions options_;
  core::EventLoop loop_{"signaling-test"};
  TestHandler handler_{loop_};
  std::unique_ptr<SignalingServer> server_;
};

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

TEST_F(SignalingServerTest, MissedKeepaliveClosesWith4002) {
  options_.keepalive_interval_ms = 100;
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

TEST_F(SignalingServerTest, ServesStaticFiles) {
  start_server();
  auto index = testing::http_get(server_->port(), "/");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_EQ(index.headers["cache-control"], "no-cache");
  EXPECT_EQ(index.body, "<!doctype html><title>partyline</title>");

  auto script = testing::http_get(server_->port(), "/app.js");
  EXPECT_EQ(script.status, 200);
  EXPECT_EQ(script.headers["content-type"], "text/javascript; charset=utf-8");
  EXPECT_EQ(script.body, "console.log(1);");

  // Percent-decoding happens exactly once.
  auto spaced = testing::http_get(server_->port(), "/a%20b.txt");
  EXPECT_EQ(spaced.status, 200);
  EXPECT_EQ(spaced.body, "spaced");

  auto head = testing::http_get(server_->port(), "/app.js", "HEAD");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
}

TEST_F(SignalingServerTest, TraversalAttemptsAre404) {
  start_server();
  for (const char* target : {"/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "/%2e%2E%2Fsecret.txt",
                             "/sub/../../secret.txt", "/..%5csecret.txt", "/%5c..%5csecret.txt",
                             "/index.html%00.png", "/%252e%252e/secret.txt", "/leak.txt", "/missing.js",
                             "/sub", "/%2fetc%2fpasswd"}) {
    auto response = testing::http_get(server_->port(), target);
    EXPECT_EQ(response.status, 404) << target;
    EXPECT_EQ(response.body.find("secret"), std::string::npos) << target;
  }
}

// Issue 14: every response said `Connection: close` (libmicrohttpd 0.9.75
// closes after a response queued in the access handler's first call).
TEST_F(SignalingServerTest, HttpOneOneConnectionIsKeptAliveAcrossRequests) {
  start_server();
  testing::Fd fd(testing::connect_loopback(server_->port()));
  ASSERT_GE(fd.get(), 0);
  std::string pending;
  struct Exchange {
    const char* method;
    const char* target;
    int status;
    const char* body;
  };
  for (const Exchange& exchange : {Exchange{"GET", "/app.js", 200, "console.log(1);"},
                                   Exchange{"GET", "/missing.js", 404, "not found\n"},
                                   Exchange{"HEAD", "/index.html", 200, ""},
                                   Exchange{"GET", "/", 200, "<!doctype html><title>partyline</title>"}}) {
    ASSERT_TRUE(testing::send_all(fd.get(), std::string(exchange.method) + " " + exchange.target +
                                                " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
    auto response = testing::read_http_response(fd.get(), pending, std::string_view(exchange.method) == "HEAD");
    EXPECT_EQ(response.status, exchange.status) << exchange.target;
    EXPECT_EQ(response.body, exchange.body) << exchange.target;
    EXPECT_EQ(response.headers.count("connection"), 0u) << exchange.target << ": " << response.headers["connection"];
  }
  // Two requests in one send (pipelined) are both answered, in order.
  ASSERT_TRUE(testing::send_all(fd.get(), "GET /app.js HTTP/1.1\r\nHost: x\r\n\r\nGET /a%20b.txt HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(testing::read_http_response(fd.get(), pending).body, "console.log(1);");
  EXPECT_EQ(testing::read_http_response(fd.get(), pending).body, "spaced");
  // A client that asks to close is told so and the connection ends.
  ASSERT_TRUE(testing::send_all(fd.get(), "GET /app.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  auto last = testing::read_http_response(fd.get(), pending);
  EXPECT_EQ(last.status, 200);
  EXPECT_EQ(last.headers["connection"], "close");
  EXPECT_TRUE(testing::wait_for_close(fd.get()));
}

TEST_F(SignalingServerTest, RefusedMethodAndBadUpgradeEndTheConnection) {
  start_server();
  for (const char* request : {"POST /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi",
                              "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n"}) {
    testing::Fd fd(testing::connect_loopback(server_->port()));
    ASSERT_GE(fd.get(), 0);
    ASSERT_TRUE(testing::send_all(fd.get(), request));
    std::string pending;
    auto response = testing::read_http_response(fd.get(), pending);
    EXPECT_TRUE(response.status == 405 || response.status == 400) << request;
    EXPECT_EQ(response.headers["connection"], "close") << request;
    EXPECT_TRUE(testing::wait_for_close(fd.get())) << request;
  }
}

// Sends `request` one byte per `pace` until the server ends the connection
// (waiting for that between bytes, not sleeping); the time from `since` to
// the end, or nullopt when the whole request went out or 5 s passed first.
std::optional<std::chrono::milliseconds> trickle_until_closed(int fd, const std::string& request,
                                                              testing::Clock::time_point since,
                                                              std::chrono::milliseconds pace = 200ms) {
  for (char byte : request) {
    if (testing::Clock::now() - since > 5s) return std::nullopt;
    if (!testing::send_all(fd, std::string(1, byte)) || testing::wait_for_close(fd, pace)) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(testing::Clock::now() - since);
    }
  }
  return std::nullopt;
}

// Issue 14: a client trickling its headers was never timed out.
TEST_F(SignalingServerTest, TricklingHeadersAreCutAtTheHeaderDeadlineWhileOthersAreServed) {
  options_.header_timeout_ms = 500;
  start_server();
  const uint64_t cut_before = header_timeouts(HttpListener::kSignaling);
  const std::string slow_request = "GET /app.js HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + std::string(40, 'a') + "\r\n\r\n";
  auto served = [](int fd, std::string& pending) {
    if (!testing::send_all(fd, "GET /app.js HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")) return false;
    return testing::read_http_response(fd, pending).body == "console.log(1);";
  };

  // A kept-alive client, served before and after the trickler is cut: it
  // sits idle longer than the deadline, which governs headers only.
  testing::Fd normal(testing::connect_loopback(server_->port()));
  std::string pending;
  ASSERT_TRUE(served(normal.get(), pending));

  auto connected = testing::Clock::now();
  testing::Fd trickler(testing::connect_loopback(server_->port()));
  ASSERT_GE(trickler.get(), 0);
  auto cut_after = trickle_until_closed(trickler.get(), slow_request, connected);
  ASSERT_TRUE(cut_after.has_value()) << "the trickling client was never disconnected";
  EXPECT_GE(*cut_after, 500ms);
  EXPECT_LT(*cut_after, 1500ms);  // deadline + a tick (50 ms) + room for a loaded machine
  EXPECT_EQ(header_timeouts(HttpListener::kSignaling), cut_before + 1);
  EXPECT_TRUE(served(normal.get(), pending));

  // On a kept-alive connection the deadline runs from the next request's
  // first byte: that one trickled is cut too.
  auto first_byte = testing::Clock::now();
  auto second_cut_after = trickle_until_closed(normal.get(), slow_request, first_byte);
  ASSERT_TRUE(second_cut_after.has_value()) << "a trickled second request was never cut";
  EXPECT_GE(*second_cut_after, 450ms);
  EXPECT_LT(*second_cut_after, 1500ms);
  EXPECT_EQ(header_timeouts(HttpListener::kSignaling), cut_before + 2);

  // And a new client is still served.
  testing::Fd late(testing::connect_loopback(server_->port()));
  std::string late_pending;
  EXPECT_TRUE(served(late.get(), late_pending));
}

TEST_F(SignalingServerTest, OtherMethodsAre405) {
  start_server();
  auto post = testing::http_exchange(
      server_->port(), "POST /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.headers["allow"], "GET, HEAD");
  EXPECT_EQ(testing::http_get(server_->port(), "/index.html", "DELETE").status, 405);
  EXPECT_EQ(testing::http_get(server_->port(), "/ws", "POST").status, 405);
}

TEST_F(SignalingServerTest, BadUpgradeRequestsAre400) {
  start_server();
  EXPECT_EQ(testing::http_get(server_->port(), "/ws").status, 400);
  auto old_version = testing::http_exchange(
      server_->port(),
      "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n");
  EXPECT_EQ(old_version.status, 400);
  auto bad_key = testing::http_exchange(
      server_->port(),
      "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
      "Sec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n\r\n");
  EXPECT_EQ(bad_key.status, 400);
  EXPECT_EQ(server_->session_count(), 0u);
}

TEST_F(SignalingServerTest, PortInUseIsAClearError) {
  start_server();
  SignalingOptions clash = options_;
  clash.port = server_->port();
  SignalingServer second(clash, loop_, handler_);
  Status started = second.start();
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.error().message.find("cannot listen on 127.0.0.1:" + std::to_string(clash.port)),
            std::string::npos)
      << started.error().message;
  EXPECT_NE(started.error().message.find("in use"), std::string::npos) << started.error().message;
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
