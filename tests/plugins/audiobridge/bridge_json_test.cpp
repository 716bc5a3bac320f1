// The bridge's JSON: every 400 reason of parse_request names the field at
// fault; valid requests fill their fields, `create` over the defaults given;
// parse_config reads max_rooms, line_max_listeners, defaults and the rooms
// made at start. The reply and event builders are parsed back with jansson
// and compared field by field, so a missing, extra or mistyped key fails.
#include <gtest/gtest.h>
#include <jansson.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bridge_json.hpp"

namespace audiobridge {
namespace {

struct JsonDeleter {
  void operator()(json_t* value) const { json_decref(value); }
};
using Json = std::unique_ptr<json_t, JsonDeleter>;

Json parse(const std::string& text) {
  json_error_t error;
  Json root(json_loads(text.c_str(), 0, &error));
  EXPECT_TRUE(root != nullptr) << text << ": " << error.text;
  return root;
}

std::string string_at(json_t* object, const char* key) {
  json_t* value = json_object_get(object, key);
  return json_is_string(value) ? json_string_value(value) : "<not a string>";
}

json_int_t integer_at(json_t* object, const char* key) {
  json_t* value = json_object_get(object, key);
  EXPECT_TRUE(json_is_integer(value)) << key;
  return json_integer_value(value);
}

std::string repeat(const char* text, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += text;
  return out;
}

// The reason parse_request gives for `body` (with the default settings).
std::string reason_for(const std::string& body) {
  BridgeRequest request;
  return parse_request(body, RoomSettings{}, request);
}

TEST(BridgeJsonTest, RequestsThatAreNotObjectsWithAKnownRequestAreRefused) {
  struct Case {
    const char* body;
    const char* reason;
  };
  const Case cases[] = {
      {"not json", "the body must be a JSON object"},
      {"", "the body must be a JSON object"},
      {"[1, 2]", "the body must be a JSON object"},
      {"\"join\"", "the body must be a JSON object"},
      {"{}", "missing 'request'"},
      {R"({"request": 5})", "'request' must be a string"},
      {R"({"request": null})", "'request' must be a string"},
      {R"({"request": "explode"})", "unknown request 'explode'"},
      {R"({"request": "JOIN", "room": "r"})", "unknown request 'JOIN'"},
  };
  for (const Case& c : cases) EXPECT_EQ(reason_for(c.body), c.reason) << c.body;
}

TEST(BridgeJsonTest, AnUnknownRequestsNameIsCutIn400Reasons) {
  const std::string reason = reason_for(R"({"request": ")" + std::string(500, 'x') + "\"}");
  EXPECT_EQ(reason, "unknown request '" + std::string(64, 'x') + "'");
}

TEST(BridgeJsonTest, DestroyJoinAndListparticipantsNeedARoom) {
  for (const char* name : {"destroy", "join", "listparticipants"}) {
    EXPECT_EQ(reason_for(std::string(R"({"request": ")") + name + "\"}"), "missing 'room'") << name;
  }
  // The others do without one (create picks an id, configure and leave act on the handle's room).
  for (const char* name : {"create", "configure", "leave", "list"}) {
    EXPECT_EQ(reason_for(std::string(R"({"request": ")") + name + "\"}"), "") << name;
  }
}

TEST(BridgeJsonTest, BadRoomIdsAreRefusedNamingRoom) {
  const std::string longest(64, 'r');
  struct Case {
    std::string room;  // as JSON
    std::string reason;
  };
  const Case cases[] = {
      {"5", "'room' must be a string"},
      {"\"\"", "'room' must be 1 to 64 bytes"},
      {"\"" + longest + "r\"", "'room' must be 1 to 64 bytes"},
      {"\"a b\"", "'room' may hold only letters, digits, '_', '.' and '-'"},
      {"\"a/b\"", "'room' may hold only letters, digits, '_', '.' and '-'"},
      {"\"caf\\u00e9\"", "'room' may hold only letters, digits, '_', '.' and '-'"},
      {"\"" + longest + "\"", ""},
      {"\"Room_1.a-b\"", ""},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(reason_for(R"({"request": "join", "room": )" + c.room + "}"), c.reason) << c.room;
  }
}

TEST(BridgeJsonTest, BadParticipantFieldsAreRefusedNamingTheField) {
  struct Case {
    std::string fields;  // added to a valid join
    std::string reason;
  };
  const std::string display = "'display' must be 1 to 64 bytes";
  const std::string gain = "'gain' must be a number from 0 to 4";
  const Case cases[] = {
      {R"("display": "")", display},
      {R"("display": ")" + std::string(65, 'd') + "\"", display},
      // 33 two-byte characters (é): 66 bytes, though 33 characters.
      {R"("display": ")" + repeat("\xC3\xA9", 33) + "\"", display},
      {R"("display": 7)", "'display' must be a string"},
      {R"("muted": "yes")", "'muted' must be true or false"},
      {R"("muted": 1)", "'muted' must be true or false"},
      {R"("gain": -0.01)", gain},
      {R"("gain": 4.01)", gain},
      {R"("gain": "1")", gain},
      {R"("gain": null)", gain},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(reason_for(R"({"request": "join", "room": "r", )" + c.fields + "}"), c.reason) << c.fields;
  }
}

TEST(BridgeJsonTest, CreateSettingsOutOfRangeAreRefusedNamingTheSetting) {
  struct Case {
    std::string fields;
    std::string reason;
  };
  const Case cases[] = {
      {R"("max_participants": 0)", "'max_participants' must be an integer from 1 to 1000"},
      {R"("max_participants": 1001)", "'max_participants' must be an integer from 1 to 1000"},
      {R"("max_participants": 2.5)", "'max_participants' must be an integer from 1 to 1000"},
      {R"("talk_threshold": 128)", "'talk_threshold' must be an integer from 0 to 127"},
      {R"("talk_threshold": -1)", "'talk_threshold' must be an integer from 0 to 127"},
      {R"("talk_hold_ms": 19)", "'talk_hold_ms' must be an integer from 20 to 10000"},
      {R"("talk_hold_ms": 10001)", "'talk_hold_ms' must be an integer from 20 to 10000"},
      {R"("description": ")" + std::string(257, 'd') + "\"", "'description' must be 0 to 256 bytes"},
      {R"("description": 1)", "'description' must be a string"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(reason_for(R"({"request": "create", "room": "r", )" + c.fields + "}"), c.reason) << c.fields;
  }
}

TEST(BridgeJsonTest, AValidJoinFillsItsFields) {
  BridgeRequest request;
  request.display = "stale";  // a previous request's value must not survive
  ASSERT_EQ(parse_request(R"({"request": "join", "room": "r1", "muted": true, "gain": 2})", RoomSettings{}, request),
            "");
  EXPECT_EQ(request.request, "join");
  EXPECT_EQ(request.room, "r1");
  EXPECT_EQ(request.display, std::nullopt);
  EXPECT_EQ(request.muted, true);
  EXPECT_EQ(request.gain, 2.0);
}

TEST(BridgeJsonTest, TheLimitsThemselvesAreAccepted) {
  BridgeRequest request;
  const std::string sixty_four_bytes = repeat("\xC3\xA9", 32);  // é: two bytes each
  const std::string body = R"({"request": "configure", "display": ")" + sixty_four_bytes + R"(", "gain": 0})";
  ASSERT_EQ(parse_request(body, RoomSettings{}, request), "");
  EXPECT_EQ(request.display, sixty_four_bytes);
  EXPECT_EQ(request.gain, 0.0);
  EXPECT_EQ(request.muted, std::nullopt);
  ASSERT_EQ(parse_request(R"({"request": "configure", "gain": 4, "muted": false})", RoomSettings{}, request), "");
  EXPECT_EQ(request.gain, 4.0);
  EXPECT_EQ(request.muted, false);
}

TEST(BridgeJsonTest, CreateAppliesItsSettingsOverTheDefaultsGiven) {
  const RoomSettings defaults{"the default", 50, 30, 700};
  BridgeRequest request;
  ASSERT_EQ(parse_request(R"({"request": "create", "room": "r", "talk_threshold": 20, "description": "mine"})",
                          defaults, request),
            "");
  EXPECT_EQ(request.settings.description, "mine");
  EXPECT_EQ(request.settings.talk_threshold, 20);
  EXPECT_EQ(request.settings.max_participants, 50u);  // from the defaults
  EXPECT_EQ(request.settings.talk_hold_ms, 700);
  ASSERT_EQ(parse_request(R"({"request": "create", "max_participants": 1000, "talk_hold_ms": 20})", defaults, request),
            "");
  EXPECT_EQ(request.room, std::nullopt);
  EXPECT_EQ(request.settings.max_participants, 1000u);
  EXPECT_EQ(request.settings.talk_hold_ms, 20);
  EXPECT_EQ(request.settings.description, "the default");
}

TEST(BridgeJsonTest, OtherRequestsIgnoreRoomSettings) {
  const RoomSettings defaults{"d", 50, 30, 700};
  BridgeRequest request;
  // Out of range for create, but a join carries no settings, so it is not read.
  ASSERT_EQ(parse_request(R"({"request": "join", "room": "r", "max_participants": 0})", defaults, request), "");
  EXPECT_EQ(request.settings.max_participants, 50u);
}

TEST(BridgeJsonTest, ConfigDefaultsWhenEmpty) {
  BridgeConfig config;
  ASSERT_EQ(parse_config("{}", config), "");
  EXPECT_EQ(config.max_rooms, 100u);
  EXPECT_EQ(config.line_max_listeners, 256u);
  EXPECT_EQ(config.defaults.max_participants, 100u);
  EXPECT_EQ(config.defaults.talk_threshold, 40);
  EXPECT_EQ(config.defaults.talk_hold_ms, 500);
  EXPECT_TRUE(config.rooms.empty());
}

TEST(BridgeJsonTest, ConfigRoomsGetTheDefaultsUnderTheirOwnSettings) {
  // "rooms" comes first in the text: the defaults still apply to them.
  const char* json = R"({"rooms": [{"room": "a"}, {"room": "b", "description": "B", "max_participants": 10}],
                         "max_rooms": 5, "line_max_listeners": 12,
                         "defaults": {"talk_threshold": 30, "talk_hold_ms": 300}})";
  BridgeConfig config;
  ASSERT_EQ(parse_config(json, config), "");
  EXPECT_EQ(config.max_rooms, 5u);
  EXPECT_EQ(config.line_max_listeners, 12u);
  EXPECT_EQ(config.defaults.talk_threshold, 30);
  EXPECT_EQ(config.defaults.max_participants, 100u);
  ASSERT_EQ(config.rooms.size(), 2u);
  EXPECT_EQ(config.rooms[0].first, "a");
  EXPECT_EQ(config.rooms[0].second.talk_threshold, 30);
  EXPECT_EQ(config.rooms[0].second.talk_hold_ms, 300);
  EXPECT_EQ(config.rooms[0].second.max_participants, 100u);
  EXPECT_EQ(config.rooms[1].first, "b");
  EXPECT_EQ(config.rooms[1].second.description, "B");
  EXPECT_EQ(config.rooms[1].second.max_participants, 10u);
  EXPECT_EQ(config.rooms[1].second.talk_hold_ms, 300);
}

TEST(BridgeJsonTest, ConfigErrorsNameTheFieldAndTheRoom) {
  struct Case {
    const char* json;
    const char* reason;
  };
  const Case cases[] = {
      {"[]", "the config must be a JSON object"},
      {"{", "the config must be a JSON object"},
      {R"({"max_rooms": 0})", "'max_rooms' must be an integer from 1 to 10000"},
      {R"({"max_rooms": 10001})", "'max_rooms' must be an integer from 1 to 10000"},
      {R"({"line_max_listeners": 0})", "'line_max_listeners' must be an integer from 1 to 1000"},
      {R"({"line_max_listeners": "8"})", "'line_max_listeners' must be an integer from 1 to 1000"},
      {R"({"defaults": 3})", "'defaults' must be an object"},
      {R"({"defaults": {"talk_hold_ms": 5}})", "defaults: 'talk_hold_ms' must be an integer from 20 to 10000"},
      {R"({"rooms": {}})", "'rooms' must be an array"},
      {R"({"rooms": [{"room": "a"}, 7]})", "rooms[1]: must be an object"},
      {R"({"rooms": [{"description": "x"}]})", "rooms[0]: missing 'room'"},
      {R"({"rooms": [{"room": "a"}, {"room": "b"}, {"room": "c d"}]})",
       "rooms[2]: 'room' may hold only letters, digits, '_', '.' and '-'"},
      {R"({"rooms": [{"room": "a", "max_participants": 0}]})",
       "rooms[0]: 'max_participants' must be an integer from 1 to 1000"},
      {R"({"max_rooms": 1, "rooms": [{"room": "a"}, {"room": "b"}]})", "more 'rooms' than 'max_rooms'"},
      {R"({"rooms": [{"room": "a"}, {"room": "b"}, {"room": "a"}]})", "rooms[2]: room 'a' is listed twice"},
  };
  for (const Case& c : cases) {
    BridgeConfig config;
    EXPECT_EQ(parse_config(c.json, config), c.reason) << c.json;
  }
  BridgeConfig exactly;
  EXPECT_EQ(parse_config(R"({"max_rooms": 2, "rooms": [{"room": "a"}, {"room": "b"}]})", exactly), "");
}

TEST(BridgeJsonTest, RoomReplyHasAnIdOnlyWhenGiven) {
  Json plain = parse(room_reply("created", "r1"));
  EXPECT_EQ(json_object_size(plain.get()), 2u);
  EXPECT_EQ(string_at(plain.get(), "audiobridge"), "created");
  EXPECT_EQ(string_at(plain.get(), "room"), "r1");
  Json with_id = parse(room_reply("joining", "r1", 4294967295u));
  EXPECT_EQ(json_object_size(with_id.get()), 3u);
  EXPECT_EQ(integer_at(with_id.get(), "id"), 4294967295);  // a uint32 id, not wrapped negative
}

TEST(BridgeJsonTest, ParticipantEventLeavesAbsentFieldsOut) {
  Json bare = parse(participant_event("talking", "r", ParticipantView(7, "Ann")));
  EXPECT_EQ(json_object_size(bare.get()), 3u);
  EXPECT_EQ(string_at(bare.get(), "audiobridge"), "talking");
  EXPECT_EQ(string_at(bare.get(), "room"), "r");
  json_t* participant = json_object_get(bare.get(), "participant");
  EXPECT_EQ(json_object_size(participant), 2u);
  EXPECT_EQ(integer_at(participant, "id"), 7);
  EXPECT_EQ(string_at(participant, "display"), "Ann");

  ParticipantView full(8, "Bob");
  full.muted = false;
  full.talking = true;
  full.gain = 1.5;
  Json event = parse(participant_event("muted", "r", full));
  participant = json_object_get(event.get(), "participant");
  EXPECT_EQ(json_object_size(participant), 5u);
  EXPECT_TRUE(json_is_false(json_object_get(participant, "muted")));
  EXPECT_TRUE(json_is_true(json_object_get(participant, "talking")));
  EXPECT_DOUBLE_EQ(json_number_value(json_object_get(participant, "gain")), 1.5);
}

TEST(BridgeJsonTest, DisplaysWithQuotesAndUnicodeSurviveTheRoundTrip) {
  const std::string display = "Zo\xC3\xAB \"the\" \\boss\\ \xE2\x98\x8E\n\t";
  Json event = parse(participant_event("joined", "r", ParticipantView(1, display)));
  EXPECT_EQ(string_at(json_object_get(event.get(), "participant"), "display"), display);
  Json left = parse(left_event("r", 1, display));
  EXPECT_EQ(string_at(left.get(), "reason"), display);
}

TEST(BridgeJsonTest, JoinedEventListsTheOthers) {
  Json event = parse(joined_event("r", 9, {ParticipantView(1, "A"), ParticipantView(2, "B")}));
  EXPECT_EQ(json_object_size(event.get()), 4u);
  EXPECT_EQ(string_at(event.get(), "audiobridge"), "joined");
  EXPECT_EQ(string_at(event.get(), "room"), "r");
  EXPECT_EQ(integer_at(event.get(), "id"), 9);
  json_t* others = json_object_get(event.get(), "participants");
  ASSERT_EQ(json_array_size(others), 2u);
  EXPECT_EQ(integer_at(json_array_get(others, 0), "id"), 1);
  EXPECT_EQ(string_at(json_array_get(others, 1), "display"), "B");
  // Alone in the room: an empty array, not a missing key.
  Json alone = parse(joined_event("r", 9, {}));
  EXPECT_TRUE(json_is_array(json_object_get(alone.get(), "participants")));
  EXPECT_EQ(json_array_size(json_object_get(alone.get(), "participants")), 0u);
}

TEST(BridgeJsonTest, ConfiguredReplyFlattensTheParticipant) {
  ParticipantView view(3, "C");
  view.muted = true;
  view.gain = 2.0;
  Json reply = parse(configured_reply("r", view));
  EXPECT_EQ(json_object_size(reply.get()), 6u);
  EXPECT_EQ(string_at(reply.get(), "audiobridge"), "configured");
  EXPECT_EQ(string_at(reply.get(), "room"), "r");
  EXPECT_EQ(integer_at(reply.get(), "id"), 3);
  EXPECT_EQ(string_at(reply.get(), "display"), "C");
  EXPECT_TRUE(json_is_true(json_object_get(reply.get(), "muted")));
  EXPECT_DOUBLE_EQ(json_number_value(json_object_get(reply.get(), "gain")), 2.0);
  EXPECT_EQ(json_object_get(reply.get(), "participant"), nullptr);
  EXPECT_EQ(json_object_get(reply.get(), "talking"), nullptr);
}

TEST(BridgeJsonTest, ParticipantsReplyListsEveryone) {
  ParticipantView talker(2, "B");
  talker.talking = true;
  Json reply = parse(participants_reply("r", {ParticipantView(1, "A"), talker}));
  EXPECT_EQ(json_object_size(reply.get()), 3u);
  EXPECT_EQ(string_at(reply.get(), "audiobridge"), "participants");
  json_t* list = json_object_get(reply.get(), "participants");
  ASSERT_EQ(json_array_size(list), 2u);
  EXPECT_EQ(json_object_get(json_array_get(list, 0), "talking"), nullptr);
  EXPECT_TRUE(json_is_true(json_object_get(json_array_get(list, 1), "talking")));
}

TEST(BridgeJsonTest, RoomsReplyListsEachRoomsCounts) {
  Json reply = parse(rooms_reply({RoomView{"a", "first", 2, 10}, RoomView{"b", "", 0, 100}}));
  EXPECT_EQ(json_object_size(reply.get()), 2u);  // no "room" key at the top
  EXPECT_EQ(string_at(reply.get(), "audiobridge"), "rooms");
  json_t* rooms = json_object_get(reply.get(), "rooms");
  ASSERT_EQ(json_array_size(rooms), 2u);
  json_t* first = json_array_get(rooms, 0);
  EXPECT_EQ(json_object_size(first), 4u);
  EXPECT_EQ(string_at(first, "room"), "a");
  EXPECT_EQ(string_at(first, "description"), "first");
  EXPECT_EQ(integer_at(first, "participants"), 2);
  EXPECT_EQ(integer_at(first, "max_participants"), 10);
  EXPECT_EQ(string_at(json_array_get(rooms, 1), "description"), "");
  Json none = parse(rooms_reply({}));
  EXPECT_EQ(json_array_size(json_object_get(none.get(), "rooms")), 0u);
}

TEST(BridgeJsonTest, LeftAndFailedEventsCarryTheirReason) {
  Json left = parse(left_event("r", 5, "media closed"));
  EXPECT_EQ(json_object_size(left.get()), 4u);
  EXPECT_EQ(string_at(left.get(), "audiobridge"), "left");
  EXPECT_EQ(string_at(left.get(), "room"), "r");
  EXPECT_EQ(integer_at(left.get(), "id"), 5);
  EXPECT_EQ(string_at(left.get(), "reason"), "media closed");
  Json failed = parse(failed_event("r", 488, "no opus in the answer"));
  EXPECT_EQ(json_object_size(failed.get()), 4u);
  EXPECT_EQ(string_at(failed.get(), "audiobridge"), "failed");
  EXPECT_EQ(integer_at(failed.get(), "code"), 488);
  EXPECT_EQ(string_at(failed.get(), "reason"), "no opus in the answer");
}

}  // namespace
}  // namespace audiobridge
