#include "signaling/request_fields.hpp"

#include "core/runtime/json.hpp"

namespace partyline::signaling {

namespace {

Error field_error(const std::string& field, const std::string& what) {
  return make_error(error_code::kBadRequest, "field '" + field + "' " + what);
}

// SDP is bounded by the WebSocket message limit; this only stops absurd values.
constexpr size_t kMaxSdpBytes = 256 * 1024;

}  // namespace

Result<std::optional<std::string>> optional_string(const json_t* message, const char* field, size_t max_bytes) {
  auto value = core::get_optional_string(message, field);
  if (!value) return value.error();
  if (value->has_value()) {
    if ((*value)->empty()) return field_error(field, "must not be empty");
    if ((*value)->size() > max_bytes) {
      return make_error(error_code::kTooLarge,
                        "field '" + std::string(field) + "' is over " + std::to_string(max_bytes) + " bytes");
    }
  }
  return value;
}

Result<std::string> required_string(const json_t* message, const char* field, size_t max_bytes) {
  auto value = optional_string(message, field, max_bytes);
  if (!value) return value.error();
  if (!value->has_value()) return field_error(field, "is missing");
  return std::move(**value);
}

Result<std::optional<bool>> optional_bool(const json_t* message, const char* field) {
  return core::get_optional_bool(message, field);
}

Result<bool> required_bool(const json_t* message, const char* field) {
  auto value = core::get_optional_bool(message, field);
  if (!value) return value.error();
  if (!value->has_value()) return field_error(field, "is missing");
  return **value;
}

Result<std::optional<std::string>> optional_jsep(const json_t* message, const char* type) {
  const json_t* jsep = json_object_get(message, "jsep");
  if (jsep == nullptr) return std::optional<std::string>();
  if (!json_is_object(jsep)) return field_error("jsep", "must be an object");
  auto jsep_type = core::get_required_string(jsep, "type", "jsep.type");
  if (!jsep_type) return jsep_type.error();
  if (*jsep_type != type) return field_error("jsep.type", "must be \"" + std::string(type) + "\"");
  auto sdp = core::get_required_string(jsep, "sdp", "jsep.sdp");
  if (!sdp) return sdp.error();
  if (sdp->size() > kMaxSdpBytes) return make_error(error_code::kTooLarge, "field 'jsep.sdp' is too large");
  return std::optional<std::string>(std::move(sdp.value()));
}

Result<std::optional<MediaStart>> optional_media_start(const json_t* message) {
  const json_t* jsep = json_object_get(message, "jsep");
  if (jsep == nullptr) return std::optional<MediaStart>();
  const json_t* type = json_is_object(jsep) ? json_object_get(jsep, "type") : nullptr;
  const bool answer = json_is_string(type) && std::string_view(json_string_value(type)) == "answer";
  auto sdp = optional_jsep(message, answer ? "answer" : "offer");
  if (!sdp) return sdp.error();
  const json_t* paired = json_object_get(message, "paired");
  if (paired != nullptr && !json_is_boolean(paired)) return field_error("paired", "must be a boolean");
  if (answer && json_is_false(paired)) return field_error("paired", "cannot be false with an answer: a media_offer session is paired");
  return std::optional<MediaStart>(MediaStart{std::move(**sdp), answer, answer || json_is_true(paired)});
}

Result<std::string> required_jsep(const json_t* message, const char* type) {
  auto jsep = optional_jsep(message, type);
  if (!jsep) return jsep.error();
  if (!jsep->has_value()) return field_error("jsep", "is missing");
  return std::move(**jsep);
}

Result<TrickledCandidate> read_trickled_candidate(const json_t* message) {
  const TrickledCandidate end{true, {}};
  const json_t* candidate = json_object_get(message, "candidate");
  if (candidate == nullptr) return make_error(error_code::kBadRequest, "field 'candidate' is missing");
  if (json_is_null(candidate)) return end;
  if (!json_is_object(candidate)) return make_error(error_code::kBadRequest, "field 'candidate' must be an object or null");
  if (json_is_true(json_object_get(candidate, "completed"))) return end;
  auto line = core::get_required_string(candidate, "candidate", "candidate.candidate");
  if (!line) return line.error();
  std::string_view text = line.value();
  if (text.starts_with("a=")) text.remove_prefix(2);
  if (text.empty()) return end;
  if (text.size() > 1024) return make_error(error_code::kTooLarge, "field 'candidate.candidate' is over 1024 bytes");
  return TrickledCandidate{false, std::string(text)};
}

std::shared_ptr<const Request> share_request(const Request& request) {
  return std::make_shared<const Request>(Request{request.name, request.transaction, core::share_json(request.message.get())});
}

}  // namespace partyline::signaling
