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

// What a join (`join`, `accept`, `outgoing_call`) brings for its media
// (docs/protocol.md): an offer, `paired` or not, or the answer to the
// session's `media_offer`.
struct MediaStart {
  std::string sdp;
  bool answer = false;  // the answer to the session's media_offer (always paired)
  bool paired = false;  // the server sends the line's streams on the client's own m-lines
};
// `jsep` of type offer (with the optional boolean `paired`) or answer;
// nullopt without `jsep`. 400 for another type or a bad `paired`.
Result<std::optional<MediaStart>> optional_media_start(const json_t* message);

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
