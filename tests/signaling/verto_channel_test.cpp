// Seed 004's verto channel client as a translator, without a server
// (docs/compat.md, "Seed 004"): the login handshake, what needs a login,
// subscriptions, broadcasts delivered as verto.event with the server's
// sender, verto.info between clients, JSON-RPC errors, and the punt.
#include "signaling/adapters/verto_channel.hpp"

#include <gtest/gtest.h>

#include "signaling/websocket_connection.hpp"
#include "tests/signaling/format_test_util.hpp"

namespace partyline::signaling {
namespace {

using testing::canonical;
using testing::json;
using testing::Sink;
using testing::str;

class VertoChannelTest : public ::testing::Test {
 protected:
  VertoChannelTest() { format_.start(HandshakeState{}, sink_); }

  DecodedText decode(const std::string& text) { return format_.decode(text, sink_); }
  // Answers what the session would: refusals with error(), native requests
  // with success() (or `native_error`).
  void settle(DecodedText& decoded, const Error* native_error = nullptr) {
    for (ClientMessage& message : decoded.messages) {
      if (auto* refused = std::get_if<MessageError>(&message)) {
        format_.error(refused->transaction, refused->request, refused->error, sink_);
      } else if (auto* request = std::get_if<Request>(&message)) {
        requests_.push_back(core::adopt_json(json_deep_copy(request->message.get())));
        if (native_error != nullptr) {
          format_.error(request->transaction, request->name, *native_error, sink_);
        } else {
          format_.success(request->transaction, request->name, nullptr, sink_);
        }
      }
    }
  }
  std::vector<std::string> exchange(const std::string& text, const Error* native_error = nullptr) {
    DecodedText decoded = decode(text);
    settle(decoded, native_error);
    std::vector<std::string> sent;
    for (const core::JsonPtr& object : sink_.take()) sent.push_back(canonical(object.get()));
    return sent;
  }
  void log_in() {
    DecodedText decoded = decode(R"({"jsonrpc":"2.0","id":2,"method":"login","params":{"login":"ann@chan-1",
        "passwd":"pw","sessid":"s-ann"}})");
    ASSERT_TRUE(decoded.login.has_value());
    format_.login_result({}, sink_);
    settle(decoded);
    auto own = format_.take_own_requests();
    ASSERT_EQ(own.size(), 1u);
    const Error* none = nullptr;
    format_.own_response(own[0].transaction, "join", nullptr, none, sink_);
    sink_.take();
    format_.event(json(R"({"event":"occupants","line":{"line_id":"chan-1","occupants":[
        {"session":"a","user":"verto:ann@chan-1","name":"ann"},{"session":"b","user":"verto:ben@chan-1","name":"ben"}]}})")
                      .get(),
                  sink_);
  }

  Sink sink_;
  VertoChannelFormat format_;
  std::vector<core::JsonPtr> requests_;
};

TEST_F(VertoChannelTest, TheLoginHandshakeAsTheSeedsClientRunsIt) {
  EXPECT_TRUE(format_.identifies_in_band());
  EXPECT_FALSE(format_.client_keepalives());
  EXPECT_TRUE(sink_.texts.empty()) << "verto says nothing first";
  EXPECT_EQ(exchange(R"({"jsonrpc":"2.0","id":1,"method":"login","params":{"sessid":"s-ann"}})"),
            std::vector<std::string>{canonical(
                R"({"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"Authentication Required"}})")});
  DecodedText decoded = decode(R"({"jsonrpc":"2.0","id":2,"method":"login","params":{"login":"ann@chan-1",
      "passwd":"pw","sessid":"s-ann"}})");
  ASSERT_TRUE(decoded.login.has_value());
  EXPECT_EQ(decoded.login->login, "ann@chan-1");
  EXPECT_EQ(decoded.login->display_name, "ann");
  EXPECT_EQ(decoded.login->line_id, "chan-1");
  EXPECT_EQ(decoded.login->token, "pw");
  format_.login_result({}, sink_);
  settle(decoded);
  EXPECT_TRUE(sink_.texts.empty()) << "logged in only once the channel took the session";
  auto own = format_.take_own_requests();
  ASSERT_EQ(own.size(), 1u);
  EXPECT_EQ(own[0].name, "join");
  EXPECT_EQ(str(own[0].message.get(), "line_id"), "chan-1");
  EXPECT_EQ(str(own[0].message.get(), "token"), "pw");
  format_.own_response(own[0].transaction, "join", nullptr, nullptr, sink_);
  auto sent = sink_.take();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(canonical(sent[0].get()),
            canonical(R"({"jsonrpc":"2.0","id":2,"result":{"message":"logged in","sessid":"s-ann"}})"));
  EXPECT_EQ(canonical(sent[1].get()), canonical(R"({"jsonrpc":"2.0","id":1,"method":"verto.clientReady",
      "params":{"reattached_sessions":[]}})"));
}

TEST_F(VertoChannelTest, ARefusedOrMalformedLoginIsAnAuthenticationFailure) {
  DecodedText decoded = decode(R"({"jsonrpc":"2.0","id":3,"method":"login","params":{"login":"ann@chan-1","passwd":"x"}})");
  ASSERT_TRUE(decoded.login.has_value());
  format_.login_result(make_error(403, "not a member of line chan-1"), sink_);
  settle(decoded);
  EXPECT_EQ(sink_.texts, std::vector<std::string>{R"({"jsonrpc":"2.0","id":3,"error":{"code":-32001,"message":"Authentication Failure"}})"});
  sink_.take();
  for (const char* login : {"ann", "ann@", "@chan-1", "an n@chan-1", "ann@chan/1", "a-client-id-longer-than-27-b@c"}) {
    std::string text = std::string(R"({"jsonrpc":"2.0","id":4,"method":"login","params":{"login":")") + login +
                       R"(","passwd":"pw"}})";
    DecodedText refused = decode(text);
    EXPECT_FALSE(refused.login.has_value()) << login;
    settle(refused);
    auto sent = sink_.take();
    ASSERT_EQ(sent.size(), 1u) << login;
    EXPECT_EQ(testing::num(json_object_get(sent[0].get(), "error"), "code"), -32001) << login;
  }
}

TEST_F(VertoChannelTest, EverythingButLoginAndEchoNeedsALogin) {
  for (const char* method : {"verto.subscribe", "verto.broadcast", "verto.info", "verto.nothing"}) {
    auto sent = exchange(std::string(R"({"jsonrpc":"2.0","id":5,"method":")") + method + R"(","params":{}})");
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0], canonical(R"({"jsonrpc":"2.0","id":5,"error":{"code":-32000,"message":"Authentication Required"}})"));
  }
  EXPECT_EQ(exchange(R"({"jsonrpc":"2.0","id":6,"method":"echo","params":{"n":1}})"),
            std::vector<std::string>{canonical(R"({"jsonrpc":"2.0","id":6,"result":{"n":1}})")});
  EXPECT_TRUE(requests_.size() == 1 && str(requests_[0].get(), "request") == "ping") << "echo costs a request";
}

TEST_F(VertoChannelTest, JsonRpcErrors) {
  EXPECT_EQ(testing::num(json_object_get(json(exchange("{oops").at(0).c_str()).get(), "error"), "code"), -32700);
  EXPECT_EQ(json_is_null(json_object_get(json(exchange("{oops").at(0).c_str()).get(), "id")), true);
  EXPECT_EQ(testing::num(json_object_get(json(exchange("[1]").at(0).c_str()).get(), "error"), "code"), -32600);
  EXPECT_EQ(testing::num(json_object_get(json(exchange(R"({"id":1,"method":7})").at(0).c_str()).get(), "error"), "code"),
            -32600);
  EXPECT_EQ(testing::num(json_object_get(json(exchange(R"({"id":1,"method":"echo","params":[1]})").at(0).c_str()).get(),
                                         "error"),
                         "code"),
            -32602);
  EXPECT_TRUE(exchange(R"({"jsonrpc":"2.0","id":1,"result":{}})").empty()) << "an answer to a server request";
  log_in();
  EXPECT_EQ(exchange(R"({"jsonrpc":"2.0","id":9,"method":"verto.invite","params":{}})"),
            std::vector<std::string>{canonical(R"({"jsonrpc":"2.0","id":9,"error":{"code":-32601,"message":"Method not found"}})")});
}

TEST_F(VertoChannelTest, SubscribingToTheLoginsChannelOnly) {
  log_in();
  EXPECT_EQ(exchange(R"({"jsonrpc":"2.0","id":7,"method":"verto.subscribe","params":{"eventChannel":["chan-1","other"],"sessid":"s-ann"}})"),
            std::vector<std::string>{canonical(R"({"jsonrpc":"2.0","id":7,"result":{"subscribedChannels":["chan-1"],
                "unauthorizedChannels":["other"],"sessid":"s-ann"}})")});
}

TEST_F(VertoChannelTest, BroadcastsReachTheChannelWithTheServersSender) {
  log_in();
  // Before subscribing: sent to the others, not shown to itself.
  auto sent = exchange(R"({"jsonrpc":"2.0","id":8,"method":"verto.broadcast","params":{"localBroadcast":true,
      "eventChannel":"chan-1","eventData":"eyJzIjoxfQ==","userid":"ben@chan-1","sessid":"spoofed"}})");
  ASSERT_EQ(requests_.size(), 2u);  // the login's ping, the message
  EXPECT_EQ(canonical(requests_[1].get()), canonical((std::string(R"({"request":"message","transaction":")") +
                                                      str(requests_[1].get(), "transaction") + R"(","line_id":"chan-1",
      "data":{"verto":"event","eventData":"eyJzIjoxfQ==","sessid":"s-ann"}})").c_str()));
  EXPECT_EQ(sent, std::vector<std::string>{canonical(R"({"jsonrpc":"2.0","id":8,"result":{"message":"broadcast sent"}})")});
  exchange(R"({"jsonrpc":"2.0","id":9,"method":"verto.subscribe","params":{"eventChannel":"chan-1"}})");
  sent = exchange(R"({"jsonrpc":"2.0","id":10,"method":"verto.broadcast","params":{"eventChannel":"chan-1","eventData":"x"}})");
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0], canonical(R"({"jsonrpc":"2.0","id":2,"method":"verto.event","params":{"eventChannel":"chan-1",
      "eventData":"x","userid":"ann@chan-1","sessid":"s-ann"}})"));
  // Another client's, as the native message event carries it.
  format_.event(json(R"({"event":"message","line_id":"chan-1","from":{"user":"verto:ben@chan-1","name":"ben","session":"b"},
      "data":{"verto":"event","eventData":"eA==","sessid":"s-ben"}})").get(), sink_);
  ASSERT_EQ(sink_.texts.size(), 1u);
  EXPECT_EQ(canonical(sink_.take()[0].get()), canonical(R"({"jsonrpc":"2.0","id":3,"method":"verto.event","params":{
      "eventChannel":"chan-1","eventData":"eA==","userid":"ben@chan-1","sessid":"s-ben"}})"));
  EXPECT_EQ(testing::num(json_object_get(json(exchange(R"({"id":11,"method":"verto.broadcast","params":{"eventChannel":"other"}})")
                                                  .at(0).c_str()).get(), "error"), "code"),
            -32602);
}

TEST_F(VertoChannelTest, InfoGoesToTheClientsUserAndArrivesFromTheServersSender) {
  log_in();
  auto sent = exchange(R"({"jsonrpc":"2.0","id":12,"method":"verto.info","params":{"msg":{"to":"ben","from":"cal","body":"Ym9keQ=="}}})");
  EXPECT_EQ(sent, std::vector<std::string>{canonical(R"({"jsonrpc":"2.0","id":12,"result":{"message":"MESSAGE SENT","sessid":"s-ann"}})")});
  EXPECT_EQ(str(requests_.back().get(), "to"), "verto:ben@chan-1");
  EXPECT_EQ(canonical(json_object_get(requests_.back().get(), "data")),
            canonical(R"({"verto":"info","to":"ben","body":"Ym9keQ=="})"));
  EXPECT_EQ(exchange(R"({"jsonrpc":"2.0","id":13,"method":"verto.info","params":{"msg":{"to":"zed","body":"x"}}})"),
            std::vector<std::string>{canonical(R"({"jsonrpc":"2.0","id":13,"error":{"code":-32602,
                "message":"client zed is not in channel chan-1"}})")});
  const Error gone = make_error(404, "user 'verto:ben@chan-1' is not in line chan-1");
  EXPECT_EQ(exchange(R"({"jsonrpc":"2.0","id":14,"method":"verto.info","params":{"msg":{"to":"ben","body":"x"}}})", &gone),
            std::vector<std::string>{canonical(R"({"jsonrpc":"2.0","id":14,"error":{"code":-32602,
                "message":"client ben is not in channel chan-1"}})")});
  format_.event(json(R"({"event":"message","line_id":"chan-1","from":{"user":"verto:ben@chan-1","name":"ben","session":"b"},
      "data":{"verto":"info","to":"ann","body":"aGk=","from":"cal"}})").get(), sink_);
  ASSERT_EQ(sink_.texts.size(), 1u);
  EXPECT_EQ(canonical(sink_.take()[0].get()), canonical(R"({"jsonrpc":"2.0","id":2,"method":"verto.info",
      "params":{"msg":{"from":"ben","to":"ann","body":"aGk="}}})"));
}

TEST_F(VertoChannelTest, ANewerLoginOrAKickPuntsTheClient) {
  log_in();
  format_.closing(close_code::kReplaced, "replaced", sink_);
  format_.closing(close_code::kKicked, "kicked", sink_);
  format_.closing(close_code::kGoingAway, "shutdown", sink_);
  auto sent = sink_.take();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(str(sent[0].get(), "method"), "verto.punt");
  EXPECT_EQ(str(sent[1].get(), "method"), "verto.punt");
}

}  // namespace
}  // namespace partyline::signaling
