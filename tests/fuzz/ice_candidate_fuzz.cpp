// parse_ice_candidate() on arbitrary text (both SDP attribute values and
// trickled strings). Whatever parses must print with to_string() and parse
// back to an equal candidate; errors must be 400 or 413 with a message.
#include <cstdint>
#include <string>

#include "rtp/sdp/ice_candidate.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace partyline::rtp;
  auto candidate = parse_ice_candidate(partyline::fuzz::as_text(data, size));
  if (!candidate) {
    FUZZ_REQUIRE((candidate.error().code == 400 || candidate.error().code == 413) &&
                 !candidate.error().message.empty());
    return 0;
  }
  FUZZ_REQUIRE(!candidate->foundation.empty() && candidate->component >= 1 && candidate->priority >= 1);
  const std::string written = to_string(*candidate);
  FUZZ_REQUIRE(written.starts_with("candidate:"));
  // The 1024-byte limit applies to the text as given, so a candidate that
  // came without the "candidate:" prefix may print up to 10 bytes too long.
  if (written.size() > 1024) return 0;
  auto reparsed = parse_ice_candidate(written);
  FUZZ_REQUIRE(reparsed.ok());
  FUZZ_REQUIRE(*reparsed == *candidate);
  FUZZ_REQUIRE(to_string(*reparsed) == written);
  return 0;
}
