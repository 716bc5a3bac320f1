// The SignalR JSON hub protocol's framing and messages
// (signaling/adapters/signalr_messages.hpp) and the seed 000 DTOs built
// from them: what a client may send, how each malformed input is refused,
// and what the server writes.
#include "signaling/adapters/signalr_messages.hpp"

#include <gtest/gtest.h>

#include "signaling/adapters/signalr_dtos.hpp"

namespace partyline::signaling::signalr {
namespace {

constexpr std::string_view kRs = "\x1e";

std::string record(std::string_view json) { return std::string(json) + std::string(kRs); }

TEST(SignalrMessagesTest, SplitsSeveralRecordsOfOneText) {
  const std::string text = record(R"({"type":6})") + record(R"({"type":1,"target":"a","arguments":[]})");
  auto records = split_records(text);
  ASSERT_TRUE(records) << records.error().message;
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[0], R"({"type":6})");
  EXPECT_EQ((*records)[1], R"({"type":1,"target":"a","arguments":[]})");
}

TEST(SignalrMessagesTest, RefusesATextWithoutItsFinalSeparatorOrWithAnEmptyRecord) {
  for (std::string text : {std::string(R"({"type":6})"), std::string(), record(""), record("{}") + "\x1e"}) {
    auto records = split_records(text);
    ASSERT_FALSE(records) << "accepted: " << text;
    EXPECT_EQ(records.error().code, 400);
  }
}

TEST(SignalrMessagesTest, AcceptsOnlyTheJsonProtocolVersionOne) {
  EXPECT_TRUE(check_handshake_request(R"({"protocol":"json","version":1})"));
  struct Case {
    const char* request;
    const char* mentions;
  } cases[] = {
      {R"({"protocol":"messagepack","version":1})", "not supported"},
      {R"({"protocol":"json","version":2})", "version '2'"},
      {R"({"protocol":"json"})", "integer 'version'"},
      {R"(["json",1])", "not a JSON object"},
      {"{", "not a JSON object"},
  };
  for (const Case& c : cases) {
    Status status = check_handshake_request(c.request);
    ASSERT_FALSE(status) << c.request;
    EXPECT_NE(status.error().message.find(c.mentions), std::string::npos) << status.error().message;
  }
}

TEST(SignalrMessagesTest, ReadsInvocationsWithAndWithoutAnId) {
  auto blocking = parse_client_message(R"({"type":1,"invocationId":"7","target":"sendSDP","arguments":["g","{}"]})");
  ASSERT_TRUE(blocking) << blocking.error().message;
  EXPECT_EQ(blocking->type, MessageType::kInvocation);
  EXPECT_EQ(blocking->invocation_id, "7");
  EXPECT_EQ(blocking->target, "sendSDP");
  EXPECT_EQ(json_array_size(blocking->arguments.get()), 2u);

  auto non_blocking = parse_client_message(R"({"type":1,"target":"sendICE","arguments":[]})");
  ASSERT_TRUE(non_blocking);
  EXPECT_FALSE(non_blocking->invocation_id);

  auto ping = parse_client_message(R"({"type":6})");
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->type, MessageType::kPing);
  auto unknown_type = parse_client_message(R"({"type":42})");
  ASSERT_TRUE(unknown_type);  // ignored by the hub, not an error
}

TEST(SignalrMessagesTest, RefusesMalformedInvocationsNamingWhatIsWrong) {
  const std::string long_id(kMaxInvocationIdBytes + 1, '1');
  const std::string long_target(kMaxTargetBytes + 1, 'a');
  struct Case {
    std::string message;
    const char* mentions;
  } cases[] = {
      {"[1]", "JSON object"},
      {R"({"type":"1"})", "integer 'type'"},
      {R"({"type":1,"arguments":[]})", "'target'"},
      {R"({"type":1,"target":"","arguments":[]})", "'target'"},
      {R"({"type":1,"target":"a"})", "'arguments'"},
      {R"({"type":1,"target":"a","arguments":{}})", "'arguments'"},
      {R"({"type":1,"invocationId":7,"target":"a","arguments":[]})", "'invocationId' must be a string"},
      {R"({"type":1,"invocationId":")" + long_id + R"(","target":"a","arguments":[]})", "longer than 128"},
      {R"({"type":1,"target":")" + long_target + R"(","arguments":[]})", "longer than 64"},
  };
  for (const Case& c : cases) {
    auto parsed = parse_client_message(c.message);
    ASSERT_FALSE(parsed) << c.message;
    EXPECT_EQ(parsed.error().code, 400);
    EXPECT_NE(parsed.error().message.find(c.mentions), std::string::npos) << parsed.error().message;
  }
}

TEST(SignalrMessagesTest, WritesRecordsTheClientReads) {
  EXPECT_EQ(handshake_response(std::nullopt), record("{}"));
  EXPECT_EQ(handshake_response("no"), record(R"({"error":"no"})"));
  EXPECT_EQ(ping(), record(R"({"type":6})"));
  core::JsonPtr arguments = core::adopt_json(json_pack("[s]", "guid"));
  EXPECT_EQ(invocation("receivePing", arguments.get()), record(R"({"type":1,"target":"receivePing","arguments":["guid"]})"));
  core::JsonPtr result = core::adopt_json(json_string("dto"));
  EXPECT_EQ(completion_result("3", result.get()), record(R"({"type":3,"invocationId":"3","result":"dto"})"));
  EXPECT_EQ(completion_error("3", "bad"), record(R"({"type":3,"invocationId":"3","error":"bad"})"));
  EXPECT_EQ(close_message(std::nullopt), record(R"({"type":7,"allowReconnect":false})"));
  auto negotiate = core::parse_json_object(negotiate_response("id", "token"));
  ASSERT_TRUE(negotiate);
  EXPECT_EQ(core::dump_json(negotiate->get()),
            R"({"negotiateVersion":1,"connectionId":"id","connectionToken":"token","availableTransports":)"
            R"([{"transport":"WebSockets","transferFormats":["Text","Binary"]}]})");
}

TEST(SignalrDtosTest, NumericIdsAreTheUuidsFirst52BitsAndStable) {
  EXPECT_EQ(numeric_id("0b9c6f0e-3f41-4c8e-9a59-0f6f4a3f1b2d"), 0x0b9c6f0e3f414);
  EXPECT_EQ(numeric_id("ffffffff-ffff-ffff-bfff-ffffffffffff"), (int64_t{1} << 52) - 1);  // never more
  EXPECT_EQ(numeric_id(""), 0);
}

TEST(SignalrDtosTest, APhoneLineListsItsClientOccupantsAsConnections) {
  auto line = core::parse_json_object(
      R"({"line_id":"0b9c6f0e-3f41-4c8e-9a59-0f6f4a3f1b2d","occupants":[)"
      R"({"session":"11111111-0000-4000-8000-000000000000","user":"alice","name":"Alice"},)"
      R"({"session":"h1","user":"plugin:recorder","name":"Recorder","plugin":"recorder"}]})");
  ASSERT_TRUE(line);
  core::JsonPtr phone_line_json = phone_line(line->get());
  EXPECT_STREQ(json_string_value(json_object_get(phone_line_json.get(), "PhoneLineGuid")),
               "0b9c6f0e-3f41-4c8e-9a59-0f6f4a3f1b2d");
  const json_t* connections = json_object_get(phone_line_json.get(), "PhoneLineConnections");
  ASSERT_EQ(json_array_size(connections), 1u);  // the plugin has no hub connection
  const json_t* hub = json_object_get(json_array_get(connections, 0), "HubConnection");
  EXPECT_STREQ(json_string_value(json_object_get(hub, "ConnectionGuid")), "11111111-0000-4000-8000-000000000000");
  EXPECT_STREQ(json_string_value(json_object_get(hub, "Name")), "Alice");
}

TEST(SignalrDtosTest, AnErrorsContentIsAJsonListOfMessages) {
  auto dto = core::parse_json_object(http_error(404, "no \"call\""));
  ASSERT_TRUE(dto);
  EXPECT_EQ(json_integer_value(json_object_get(dto->get(), "StatusCode")), 404);
  EXPECT_EQ(json_integer_value(json_object_get(dto->get(), "ActionCode")), 0);
  EXPECT_STREQ(json_string_value(json_object_get(dto->get(), "Content")), R"(["no \"call\""])");
}

}  // namespace
}  // namespace partyline::signaling::signalr
