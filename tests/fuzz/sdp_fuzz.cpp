// parse_sdp() on arbitrary text. Whatever parses must survive to_string()
// and parse back to an equal model (sdp.hpp promises a lossless round trip
// in meaning; only raw lines may move, into RFC 8866 order), and
// build_answer() on it must either refuse with a 4xx error or produce an
// answer whose SDP parses, with one entry per m-line.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "rtp/sdp.hpp"
#include "rtp/sdp_answer.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace partyline::rtp {
namespace {

AnswerOptions answer_options() {
  AnswerOptions options;
  options.ice_ufrag = "fuzzufrag";
  options.ice_pwd = "fuzzpasswordfuzzpassword";
  options.fingerprint = {"sha-256",
                         "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
                         "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF"};
  options.cname = "fuzzcname";
  options.stream_id = "fuzzstream";
  options.candidates = {"candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host"};
  options.candidates_complete = true;
  return options;
}

// The writer puts raw lines (b=, i=, e=, k=...) in RFC 8866 order, not in
// the order they came: a session's i=, u=, e=, p= first, then b=, then the
// rest; a media section's i=, then b=, then the rest. Applying that order to
// a model gives what a round trip through to_string() must return.
void sort_raw_lines(std::vector<SdpLine>& lines, std::string_view first_types) {
  auto rank = [&](const SdpLine& line) {
    if (first_types.find(line.type) != std::string_view::npos) return 0;
    return line.type == 'b' ? 1 : 2;
  };
  std::stable_sort(lines.begin(), lines.end(),
                   [&](const SdpLine& a, const SdpLine& b) { return rank(a) < rank(b); });
}

SessionDescription in_writer_order(SessionDescription description) {
  sort_raw_lines(description.other_lines, "iuep");
  for (MediaDescription& media : description.media) sort_raw_lines(media.other_lines, "i");
  return description;
}

void check_answer(const SessionDescription& offer) {
  AnswerOptions options = answer_options();
  uint32_t next_ssrc = 1000;
  options.generate_ssrc = [&next_ssrc] { return next_ssrc++; };
  auto answer = build_answer(offer, options);
  if (!answer) {
    FUZZ_REQUIRE(answer.error().code >= 400 && answer.error().code < 500 && !answer.error().message.empty());
    return;
  }
  FUZZ_REQUIRE(answer->media.size() == offer.media.size());
  FUZZ_REQUIRE(answer->sdp == to_string(answer->description));
  auto reparsed = parse_sdp(answer->sdp);
  FUZZ_REQUIRE(reparsed.ok());
  FUZZ_REQUIRE(reparsed->media.size() == offer.media.size());
}

}  // namespace
}  // namespace partyline::rtp

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace partyline::rtp;
  auto parsed = parse_sdp(partyline::fuzz::as_text(data, size));
  if (!parsed) {
    const auto& error = parsed.error();
    FUZZ_REQUIRE((error.code == 400 || error.code == 413) && !error.message.empty());
    return 0;
  }
  const std::string written = to_string(*parsed);
  auto reparsed = parse_sdp(written);
  if (!reparsed) std::fprintf(stderr, "written SDP does not parse: %s\n", reparsed.error().message.c_str());
  FUZZ_REQUIRE(reparsed.ok());
  FUZZ_REQUIRE(*reparsed == in_writer_order(*parsed));
  FUZZ_REQUIRE(to_string(*reparsed) == written);
  check_answer(*parsed);
  return 0;
}
