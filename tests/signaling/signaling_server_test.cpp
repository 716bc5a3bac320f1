// End to end over loopback: SignalingServer on port 0, a test RequestHandler,
// and the test-only clients of test_clients.hpp.
#include "signaling/signaling_server.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "tests/signaling/test_clients.hpp"

namespace partyline::signaling {
namespace {

using namespace std::chrono_literals;
using testing::WebSocketClient;

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

 private:
  core::EventLoop& loop_;
  std::mutex mutex_;
  std::condition_variable changed_;
  int opened_ = 0;
  int closed_ = 0;
  QueryParameters last_query_;
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
  void connect(WebSocketClient& client, const std::string& target = "/ws") {
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
  auto failure = client.connect(server_->port(), "/ws?name=alice&token=a%20b%26c");
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

  ASSERT_TRUE(handler_.wait_opened(1));
  auto query = handler_.last_query();
  EXPECT_EQ(query["name"], "alice");
  EXPECT_EQ(query["token"], "a b&c");
  EXPECT_EQ(server_->session_count(), 1u);
}

TEST_F(SignalingServerTest, RequestSentWithTheUpgradeIsAnsweredAfterTheHandshakeState) {
  start_server();
  WebSocketClient client;
  std::string request = R"({"request":"echo","transaction":"early","data":"x"})";
  auto failure = client.connect(server_->port(), "/ws", WebSocketClient::masked_text_frame(request));
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
  options_.ping_interval_ms = 30;
  options_.idle_timeout_ms = 150;
  start_server();
  WebSocketClient client;
  connect(client);
  // Several idle timeouts pass; the automatic pongs count as traffic.
  EXPECT_FALSE(client.next(600ms).has_value());
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
  auto failure = second.connect(server_->port());
  ASSERT_FALSE(failure.has_value()) << *failure;
  auto close = second.next();
  ASSERT_TRUE(close);
  EXPECT_EQ(close->opcode, WSLAY_CONNECTION_CLOSE);
  EXPECT_EQ(close->close_code, 4003);
  EXPECT_EQ(server_->session_count(), 1u);
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

}  // namespace
}  // namespace partyline::signaling
