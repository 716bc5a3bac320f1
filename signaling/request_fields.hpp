// Reading the fields of a request, with errors that name the field
// (docs/protocol.md: "missing or wrong-typed field (the reason names the
// field)").
#pragma once

#include <jansson.h>

#include <memory>
#include <optional>
#include <string>

#include "rtp/result.hpp"
#include "signaling/protocol.hpp"

namespace partyline::signaling {

// A required non-empty string of at most `max_bytes` (413 beyond).
Result<std::string> required_string(const json_t* message, const char* field, size_t max_bytes = 256);
Result<std::optional<std::string>> optional_string(const json_t* message, const char* field, size_t max_bytes = 256);
Result<std::optional<bool>> optional_bool(const json_t* message, const char* field);
Result<bool> required_bool(const json_t* message, const char* field);
// jsep: {"type": `type`, "sdp": "..."}; returns the SDP.
Result<std::string> required_jsep(const json_t* message, const char* type);
// The same, nullopt when there is no "jsep" field.
Result<std::optional<std::string>> optional_jsep(const json_t* message, const char* type);

// The "candidate" of an ice_trickle: a candidate line, or the end of
// candidates (null, {"completed": true}, or the empty candidate browsers emit
// last). 400 when malformed, 413 over 1024 bytes.
struct TrickledCandidate {
  bool end_of_candidates = false;
  std::string line;
};
Result<TrickledCandidate> read_trickled_candidate(const json_t* message);

// A copy of `request` that asynchronous replies can hold on to (the JSON is
// shared, not copied).
std::shared_ptr<const Request> share_request(const Request& request);

}  // namespace partyline::signaling
