// What the wire-format tests share: a TextSink that keeps what a format
// sent, and short readers for JSON fields.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/runtime/json.hpp"
#include "signaling/wire_format.hpp"

namespace partyline::signaling::testing {

struct Sink : TextSink {
  std::vector<std::string> texts;
  void send_text(std::string_view text) override { texts.emplace_back(text); }
  // The texts as JSON objects, and forgets them.
  std::vector<core::JsonPtr> take() {
    std::vector<core::JsonPtr> objects;
    for (const std::string& text : texts) {
      auto parsed = core::parse_json_object(text);
      EXPECT_TRUE(parsed.ok()) << text;
      if (parsed.ok()) objects.push_back(std::move(parsed.value()));
    }
    texts.clear();
    return objects;
  }
};

inline std::string str(const json_t* object, const char* field) {
  const json_t* value = json_object_get(object, field);
  return json_is_string(value) ? json_string_value(value) : std::string("<none>");
}

inline long long num(const json_t* object, const char* field) {
  const json_t* value = json_object_get(object, field);
  return json_is_integer(value) ? json_integer_value(value) : -1;
}

inline core::JsonPtr json(const char* text) {
  auto parsed = core::parse_json_object(text);
  EXPECT_TRUE(parsed.ok()) << text;
  return parsed.ok() ? std::move(parsed.value()) : core::adopt_json(json_object());
}

// `object` serialized with sorted keys, for exact comparisons.
inline std::string canonical(const json_t* object) {
  char* text = json_dumps(object, JSON_SORT_KEYS | JSON_COMPACT);
  std::string out = text != nullptr ? text : "";
  free(text);
  return out;
}

inline std::string canonical(const char* text) { return canonical(json(text).get()); }

}  // namespace partyline::signaling::testing
