// RAII ownership of jansson values, and typed field access whose errors name
// the field. Used by config (core) and the protocol (signaling).
#pragma once

#include <jansson.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "rtp/result.hpp"

namespace partyline::core {

struct JsonDeleter {
  void operator()(json_t* value) const { json_decref(value); }
};
// Owns one reference.
using JsonPtr = std::unique_ptr<json_t, JsonDeleter>;

// Takes ownership of a new reference (e.g. from json_object()).
inline JsonPtr adopt_json(json_t* value) { return JsonPtr(value); }
// Adds a reference to a borrowed value (e.g. from json_object_get()).
inline JsonPtr share_json(json_t* value) { return JsonPtr(json_incref(value)); }

// Parses text that must be one JSON object; the error gives line, column and reason.
Result<JsonPtr> parse_json_object(std::string_view text);
// Compact serialization.
std::string dump_json(const json_t* value);

// Typed access to `object[field]`. A missing field is std::nullopt; a field of
// the wrong type is an error "field 'NAME' must be a TYPE". `path`, when
// given, is the name errors use for a nested field (e.g. "jsep.sdp").
Result<std::optional<std::string>> get_optional_string(const json_t* object, const char* field,
                                                       std::string_view path = {});
Result<std::string> get_required_string(const json_t* object, const char* field, std::string_view path = {});
Result<std::optional<long long>> get_optional_integer(const json_t* object, const char* field);
Result<std::optional<bool>> get_optional_bool(const json_t* object, const char* field);

}  // namespace partyline::core
