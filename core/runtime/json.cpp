#include "core/runtime/json.hpp"

namespace partyline::core {

Result<JsonPtr> parse_json_object(std::string_view text) {
  json_error_t error{};
  JsonPtr value(json_loadb(text.data(), text.size(), JSON_REJECT_DUPLICATES, &error));
  if (!value) {
    return make_error(error_code::kBadRequest, "malformed JSON at line " + std::to_string(error.line) + ", column " +
                                                   std::to_string(error.column) + ": " + error.text);
  }
  if (!json_is_object(value.get())) {
    return make_error(error_code::kBadRequest, "message must be a JSON object");
  }
  return value;
}

std::string dump_json(const json_t* value) {
  std::unique_ptr<char, decltype(&free)> text(json_dumps(value, JSON_COMPACT), &free);
  return text ? std::string(text.get()) : std::string("null");
}

namespace {
Error wrong_type(std::string_view field, const char* type) {
  return make_error(error_code::kBadRequest, "field '" + std::string(field) + "' must be " + type);
}
}  // namespace

Result<std::optional<std::string>> get_optional_string(const json_t* object, const char* field,
                                                       std::string_view path) {
  const json_t* value = json_object_get(object, field);
  if (value == nullptr) return std::optional<std::string>();
  if (!json_is_string(value)) return wrong_type(path.empty() ? field : path, "a string");
  return std::optional<std::string>(std::string(json_string_value(value), json_string_length(value)));
}

Result<std::string> get_required_string(const json_t* object, const char* field, std::string_view path) {
  auto value = get_optional_string(object, field, path);
  if (!value) return value.error();
  if (!value->has_value()) {
    return make_error(error_code::kBadRequest, "field '" + std::string(path.empty() ? field : path) + "' is missing");
  }
  return std::move(**value);
}

Result<std::optional<long long>> get_optional_integer(const json_t* object, const char* field) {
  const json_t* value = json_object_get(object, field);
  if (value == nullptr) return std::optional<long long>();
  if (!json_is_integer(value)) return wrong_type(field, "an integer");
  return std::optional<long long>(json_integer_value(value));
}

Result<std::optional<bool>> get_optional_bool(const json_t* object, const char* field) {
  const json_t* value = json_object_get(object, field);
  if (value == nullptr) return std::optional<bool>();
  if (!json_is_boolean(value)) return wrong_type(field, "a boolean");
  return std::optional<bool>(json_is_true(value));
}

}  // namespace partyline::core
