// The SignalingServer tests' shared parts: a test RequestHandler that
// records what it sees, and a fixture that runs a server on port 0 over a
// temporary web root (signaling_server_test.cpp: WebSocket sessions;
// http_listener_test.cpp: the HTTP side; session_resume_test.cpp: resume).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>

#include "signaling/signaling_server.hpp"
#include "tests/signaling/test_clients.hpp"

namespace partyline::signaling::testing {

using namespace std::chrono_literals;

inline const std::string kSecret = "signaling test secret";

inline const char* string_field(const core::JsonPtr& json, const char* name) {
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
    } else if (request.name == "join") {  // a seed adapter joining its room
      session->respond_success(request.transaction, request.name, nullptr);
    } else if (request.name == "kick") {  // as the admin API's kick ends a session: for good
      session->close(close_code::kKicked, "kicked");
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

  void on_session_detached(const std::shared_ptr<ClientSession>& session) override {
    std::lock_guard lock(mutex_);
    ++detached_;
    last_detached_ = session->id();
    changed_.notify_all();
  }

  void on_session_resumed(const std::shared_ptr<ClientSession>& session) override {
    std::lock_guard lock(mutex_);
    ++resumed_;
    last_resumed_ = session->id();
    // What a handler sends on resume goes out after the handshake state.
    session->send_event(core::adopt_json(json_pack("{s:s}", "event", "resumed")));
    changed_.notify_all();
  }

  bool wait_detached(int count, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return detached_ >= count; });
  }
  bool wait_resumed(int count, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return resumed_ >= count; });
  }
  int closed() {
    std::lock_guard lock(mutex_);
    return closed_;
  }
  int detached() {
    std::lock_guard lock(mutex_);
    return detached_;
  }
  std::string last_resumed() {
    std::lock_guard lock(mutex_);
    return last_resumed_;
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
  int detached_ = 0;
  int resumed_ = 0;
  std::string last_detached_;
  std::string last_resumed_;
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

  // The close code the server ends a new connection to `target` with,
  // before any handshake state (0: it was not refused that way).
  uint16_t refusal_of(WebSocketClient& client, const std::string& target) {
    auto failure = client.connect(server_->port(), target);
    EXPECT_FALSE(failure.has_value()) << *failure;
    auto message = client.next();
    if (!message || message->opcode != WSLAY_CONNECTION_CLOSE) return 0;
    return message->close_code;
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

}  // namespace partyline::signaling::testing
