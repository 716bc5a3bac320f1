#include "signaling/protocol.hpp"

#include <gtest/gtest.h>

#include <string>

#include "signaling/websocket_connection.hpp"

namespace partyline::signaling {
namespace {

core::JsonPtr parse(const std::string& text) {
  auto parsed = core::parse_json_object(text);
  EXPECT_TRUE(parsed.ok()) << text;
  return parsed.ok() ? std::move(*parsed) : core::JsonPtr();
}

TEST(ParseClientMessage, Keepalive) {
  auto message = parse_client_message(R"({"handshake":"keepalive","transaction":"k-7"})");
  auto* keepalive = std::get_if<KeepaliveMessage>(&message);
  ASSERT_NE(keepalive, nullptr);
  EXPECT_EQ(keepalive->transaction, "k-7");
}

TEST(ParseClientMessage, RequestKeepsTheWholeObject) {
  auto message = parse_client_message(R"({"request":"echo","transaction":"t-1","jsep":{"type":"offer"}})");
  auto* request = std::get_if<Request>(&message);
  ASSERT_NE(request, nullptr);
  EXPECT_EQ(request->name, "echo");
  EXPECT_EQ(request->transaction, "t-1");
  json_t* jsep = json_object_get(request->message.get(), "jsep");
  ASSERT_NE(jsep, nullptr);
  EXPECT_STREQ(json_string_value(json_object_get(jsep, "type")), "offer");
}

TEST(ParseClientMessage, TransactionOfExactly128BytesIsAccepted) {
  std::string transaction(128, 'x');
  auto message = parse_client_message(R"({"request":"echo","transaction":")" + transaction + R"("})");
  ASSERT_TRUE(std::holds_alternative<Request>(message));
}

struct RefusedCase {
  const char* name;
  std::string text;
  int code;
  std::string reason_contains;
  std::optional<std::string> transaction;
  std::optional<std::string> request;
};

class RefusedMessage : public ::testing::TestWithParam<RefusedCase> {};

TEST_P(RefusedMessage, GivesAPreciseError) {
  const RefusedCase& c = GetParam();
  auto message = parse_client_message(c.text);
  auto* refused = std::get_if<MessageError>(&message);
  ASSERT_NE(refused, nullptr) << c.text;
  EXPECT_EQ(refused->error.code, c.code);
  EXPECT_NE(refused->error.message.find(c.reason_contains), std::string::npos)
      << "reason: " << refused->error.message;
  EXPECT_EQ(refused->transaction, c.transaction);
  EXPECT_EQ(refused->request, c.request);
}

INSTANTIATE_TEST_SUITE_P(
    Table, RefusedMessage,
    ::testing::Values(
        RefusedCase{"truncated", R"({"request":"echo",)", 400, "line 1, column", std::nullopt, std::nullopt},
        RefusedCase{"second_line", "{\"request\":\"echo\",\n \"transaction\": tx}", 400, "line 2, column",
                    std::nullopt, std::nullopt},
        RefusedCase{"empty", "", 400, "malformed JSON", std::nullopt, std::nullopt},
        RefusedCase{"array", R"(["request"])", 400, "JSON object", std::nullopt, std::nullopt},
        RefusedCase{"string", R"("hello")", 400, "malformed JSON", std::nullopt, std::nullopt},
        RefusedCase{"no_request", R"({"transaction":"t-1"})", 400, "field 'request' is missing", "t-1",
                    std::nullopt},
        RefusedCase{"request_number", R"({"request":7,"transaction":"t-1"})", 400,
                    "field 'request' must be a string", "t-1", std::nullopt},
        RefusedCase{"request_empty", R"({"request":"","transaction":"t-1"})", 400, "field 'request'", "t-1",
                    std::nullopt},
        RefusedCase{"no_transaction", R"({"request":"echo"})", 400, "field 'transaction' is missing",
                    std::nullopt, "echo"},
        RefusedCase{"transaction_number", R"({"request":"echo","transaction":12})", 400,
                    "field 'transaction' must be a string", std::nullopt, "echo"},
        RefusedCase{"transaction_null", R"({"request":"echo","transaction":null})", 400,
                    "field 'transaction' must be a string", std::nullopt, "echo"},
        RefusedCase{"transaction_too_long",
                    R"({"request":"echo","transaction":")" + std::string(129, 'x') + R"("})", 413,
                    "field 'transaction' is longer than 128 bytes", std::nullopt, "echo"},
        RefusedCase{"request_name_too_long",
                    R"({"request":")" + std::string(65, 'r') + R"(","transaction":"t-1"})", 413,
                    "field 'request' is longer than 64 bytes", "t-1", std::nullopt},
        RefusedCase{"request_name_too_long_without_transaction",
                    R"({"request":")" + std::string(60000, 'r') + R"("})", 400, "field 'transaction' is missing",
                    std::nullopt, std::nullopt},
        RefusedCase{"handshake_unknown", R"({"handshake":"hello","transaction":"k-1"})", 400,
                    "field 'handshake'", "k-1", std::nullopt},
        RefusedCase{"handshake_number", R"({"handshake":1,"transaction":"k-1"})", 400,
                    "field 'handshake' must be a string", "k-1", std::nullopt},
        RefusedCase{"keepalive_no_transaction", R"({"handshake":"keepalive"})", 400,
                    "field 'transaction' is missing", std::nullopt, std::nullopt},
        RefusedCase{"duplicate_key", R"({"request":"a","request":"b","transaction":"t"})", 400,
                    "duplicate", std::nullopt, std::nullopt}),
    [](const ::testing::TestParamInfo<RefusedCase>& info) { return std::string(info.param.name); });

TEST(FormatMessages, HandshakeState) {
  auto json = parse(format_handshake_state({"abc", 30000, 1763780000000, "partyline", "0.1.0"}));
  EXPECT_STREQ(json_string_value(json_object_get(json.get(), "handshake")), "state");
  EXPECT_STREQ(json_string_value(json_object_get(json.get(), "session")), "abc");
  EXPECT_EQ(json_integer_value(json_object_get(json.get(), "keepalive_interval")), 30000);
  EXPECT_EQ(json_integer_value(json_object_get(json.get(), "timestamp")), 1763780000000);
  json_t* server = json_object_get(json.get(), "server");
  EXPECT_STREQ(json_string_value(json_object_get(server, "name")), "partyline");
  EXPECT_STREQ(json_string_value(json_object_get(server, "version")), "0.1.0");
}

TEST(FormatMessages, KeepaliveAck) {
  EXPECT_EQ(format_keepalive_ack("k-7"), R"({"handshake":"keepalive","transaction":"k-7"})");
}

TEST(FormatMessages, SuccessMergesExtraFieldsButKeepsItsOwn) {
  core::JsonPtr extra = parse(R"({"jsep":{"type":"answer"},"transaction":"forged","response":"forged"})");
  auto json = parse(format_success("t-1", "echo", extra.get()));
  EXPECT_STREQ(json_string_value(json_object_get(json.get(), "response")), "success");
  EXPECT_STREQ(json_string_value(json_object_get(json.get(), "transaction")), "t-1");
  EXPECT_STREQ(json_string_value(json_object_get(json.get(), "request")), "echo");
  EXPECT_STREQ(json_string_value(json_object_get(json_object_get(json.get(), "jsep"), "type")), "answer");
  // The caller's object is untouched.
  EXPECT_STREQ(json_string_value(json_object_get(extra.get(), "transaction")), "forged");

  EXPECT_EQ(format_success("t-2", "hangup", nullptr), R"({"response":"success","transaction":"t-2","request":"hangup"})");
}

TEST(FormatMessages, ErrorEchoesOrNulls) {
  EXPECT_EQ(format_error(std::string("t-1"), std::string("echo"), make_error(400, "field 'jsep' is missing")),
            R"({"response":"error","transaction":"t-1","request":"echo","code":400,"reason":"field 'jsep' is missing"})");
  EXPECT_EQ(format_error(std::nullopt, std::nullopt, make_error(400, "bad")),
            R"({"response":"error","transaction":null,"request":null,"code":400,"reason":"bad"})");
}

TEST(FormatMessages, EventsMustBeNamedAndHaveNoTransaction) {
  auto ok = format_event(parse(R"({"event":"webrtc_state","state":"connected"})").get());
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, R"({"event":"webrtc_state","state":"connected"})");
  EXPECT_FALSE(format_event(parse(R"({"state":"connected"})").get()).ok());
  EXPECT_FALSE(format_event(parse(R"({"event":"x","transaction":"t"})").get()).ok());
  EXPECT_FALSE(format_event(nullptr).ok());
}

TEST(WebSocketAccept, Rfc6455Example) {
  auto accept = websocket_accept_for_key("dGhlIHNhbXBsZSBub25jZQ==");
  ASSERT_TRUE(accept.ok()) << accept.error().message;
  EXPECT_EQ(*accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WebSocketAccept, RefusesKeysThatAreNot16Bytes) {
  EXPECT_FALSE(websocket_accept_for_key("").ok());
  EXPECT_FALSE(websocket_accept_for_key("not base64!").ok());
  EXPECT_FALSE(websocket_accept_for_key("c2hvcnQ=").ok());  // "short"
}

}  // namespace
}  // namespace partyline::signaling
