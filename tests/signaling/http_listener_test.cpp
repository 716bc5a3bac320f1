// End to end over loopback: the HTTP side of the signaling listener (static
// files, keep-alive, refused requests, the header deadline, the port).
#include "signaling/signaling_server.hpp"

#include <gtest/gtest.h>

#include <optional>

#include "signaling/header_deadline.hpp"
#include "tests/signaling/signaling_server_fixture.hpp"

namespace partyline::signaling {
namespace {

using namespace std::chrono_literals;
using testing::SignalingServerTest;
using testing::WebSocketClient;
using testing::kSecret;
using testing::string_field;

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

// Issue 14: idle connections filled the listener and locked every new
// WebSocket client out. limits.max_sessions of the connections are the
// sessions'; a plain connection beyond the rest closes the oldest squatter.
TEST_F(SignalingServerTest, SquattersCannotTakeTheWebSocketSessionsShare) {
  options_.max_connections = 40;
  options_.max_sessions = 10;  // plain connections: 30 at most
  options_.max_connections_per_address = 0;
  start_server();
  const uint64_t evicted_before = connections_evicted(HttpListener::kSignaling);
  // 40 idle connections would fill the listener; the newest 30 are kept.
  std::vector<std::unique_ptr<testing::Fd>> squatters;
  for (int i = 0; i < 40; ++i) {
    squatters.push_back(std::make_unique<testing::Fd>(testing::connect_loopback(server_->port())));
    ASSERT_GE(squatters.back()->get(), 0);
  }
  // Five WebSocket clients are served all the same: the first finds the 30
  // plain places taken and closes the oldest squatter; each upgrade then
  // leaves the plain share, so the next finds a place free.
  std::vector<std::unique_ptr<WebSocketClient>> clients;
  for (int i = 0; i < 5; ++i) {
    clients.push_back(std::make_unique<WebSocketClient>());
    connect(*clients.back(), "/ws?name=client" + std::to_string(i));
  }
  EXPECT_EQ(server_->session_count(), 5u);
  EXPECT_EQ(connections_evicted(HttpListener::kSignaling), evicted_before + 11);
  int closed = 0;
  for (auto& squatter : squatters) closed += testing::wait_for_close(squatter->get(), 200ms) ? 1 : 0;
  EXPECT_EQ(closed, 11);
  // A page still loads (in the place the last upgrade left), and the sessions are untouched.
  EXPECT_EQ(testing::http_get(server_->port(), "/app.js").status, 200);
  EXPECT_EQ(connections_evicted(HttpListener::kSignaling), evicted_before + 11);
  clients[0]->send_text(R"({"request":"echo","transaction":"still","data":1})");
  auto response = clients[0]->next_json();
  ASSERT_TRUE(response);
  EXPECT_STREQ(string_field(response, "response"), "success");
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

// Seed 000's negotiate (docs/compat.md): POST only, authenticated like the
// hub's WebSocket, the WebSocket transport offered.
TEST_F(SignalingServerTest, SignalrNegotiateIsAPostThatAuthenticatesAndOffersWebSockets) {
  options_.auth.jwt_secret = "negotiate-secret";
  options_.auth.allow_anonymous = false;
  start_server();
  const std::string token = testing::make_token(R"({"sub":"alice"})", JWT_ALG_HS256, "negotiate-secret");
  auto negotiate = [this](const std::string& headers) {
    return testing::http_exchange(server_->port(), "POST /hubs/webrtc/negotiate?negotiateVersion=1 HTTP/1.1\r\nHost: x\r\n" +
                                                       headers + "Content-Length: 0\r\nConnection: close\r\n\r\n");
  };
  for (const std::string& authorized : {"Authorization: Bearer " + token + "\r\n", std::string()}) {
    auto response = authorized.empty()
                        ? testing::http_exchange(server_->port(), "POST /hubs/webrtc/negotiate?negotiateVersion=1&access_token=" +
                                                                      token +
                                                                      " HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                                                                      "Connection: close\r\n\r\n")
                        : negotiate(authorized);
    ASSERT_EQ(response.status, 200) << response.body;
    auto body = core::parse_json_object(response.body);
    ASSERT_TRUE(body) << response.body;
    EXPECT_EQ(json_integer_value(json_object_get(body->get(), "negotiateVersion")), 1);
    EXPECT_TRUE(json_is_string(json_object_get(body->get(), "connectionToken")));
    const json_t* transport = json_array_get(json_object_get(body->get(), "availableTransports"), 0);
    EXPECT_STREQ(json_string_value(json_object_get(transport, "transport")), "WebSockets");
  }
  auto refused = negotiate("Authorization: Bearer not-a-token\r\n");
  EXPECT_EQ(refused.status, 401);
  EXPECT_NE(refused.body.find("token is malformed"), std::string::npos) << refused.body;
  EXPECT_EQ(negotiate("").status, 401);
  EXPECT_EQ(testing::http_get(server_->port(), "/hubs/webrtc/negotiate").status, 405);
}

}  // namespace
}  // namespace partyline::signaling
