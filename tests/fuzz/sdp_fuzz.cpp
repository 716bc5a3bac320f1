// parse_sdp() on arbitrary text. Whatever parses must survive to_string()
// in RFC 8866's line order (stated here as data, from the RFC, not from the
// writer) and parse back to an equal model (sdp.hpp promises a lossless
// round trip in meaning; only raw lines may move, into that order), and
// build_answer() on it must either refuse with a 4xx error or produce an
// answer whose SDP parses, with one entry per m-line. Once answered as the
// SFU answers (start_session), the same text is offered again as a re-offer,
// before and after a server round (check_reoffer below).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rtp/sdp/sdp.hpp"
#include "rtp/sdp/sdp_answer.hpp"
#include "rtp/sdp/sdp_offer.hpp"
#include "rtp/sdp/sdp_reoffer.hpp"
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

// RFC 8866 section 5 (and the grammar of section 9): the order of the line
// types in a session description, then in each media description. The time
// description (t= r=*) appears once here: the parser refuses a second t=.
// A type a section's grammar does not name (u= in a media section, an
// unknown letter) has no place in it, so only the named ones are checked.
constexpr std::string_view kSessionOrder = "vosiuepcbtrzka";
constexpr std::string_view kMediaOrder = "micbka";

// True when the lines of `sdp` follow RFC 8866's order; else says where not.
bool in_rfc_order(std::string_view sdp, std::string_view what) {
  std::string_view order = kSessionOrder;
  size_t rank = 0;
  size_t number = 0;
  char previous = 'v';
  for (size_t pos = 0; pos < sdp.size();) {
    size_t end = sdp.find('\n', pos);
    if (end == std::string_view::npos) end = sdp.size();
    std::string_view line = sdp.substr(pos, end - pos);
    pos = end + 1;
    ++number;
    if (line.empty()) continue;
    const char type = line[0];
    if (type == 'm') {  // a media description starts: its own order
      order = kMediaOrder;
      rank = 0;
      previous = 'm';
      continue;
    }
    const size_t position = order.find(type);
    if (position == std::string_view::npos) continue;
    if (position < rank) {
      std::fprintf(stderr, "%.*s line %zu: %c= after %c=, but RFC 8866 orders %.*s\n", static_cast<int>(what.size()),
                   what.data(), number, type, previous, static_cast<int>(order.size()), order.data());
      return false;
    }
    rank = position;
    previous = type;
  }
  return true;
}

// The raw lines (b=, i=, k=, unknown types...) of each type, in the order
// they came: the writer may move them into RFC 8866 order, but must keep
// every one, and keep the lines of one type in their order.
std::map<char, std::vector<std::string>> raw_lines_by_type(const std::vector<SdpLine>& lines) {
  std::map<char, std::vector<std::string>> by_type;
  for (const SdpLine& line : lines) by_type[line.type].push_back(line.value);
  return by_type;
}

// The written description means the same: every field equal, raw lines
// equal per type (checked above for where they went).
bool same_meaning(SessionDescription written, SessionDescription original) {
  if (raw_lines_by_type(written.other_lines) != raw_lines_by_type(original.other_lines)) return false;
  written.other_lines.clear();
  original.other_lines.clear();
  if (written.media.size() != original.media.size()) return false;
  for (size_t i = 0; i < written.media.size(); ++i) {
    if (raw_lines_by_type(written.media[i].other_lines) != raw_lines_by_type(original.media[i].other_lines)) {
      return false;
    }
    written.media[i].other_lines.clear();
    original.media[i].other_lines.clear();
  }
  return written == original;
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
  FUZZ_REQUIRE(in_rfc_order(answer->sdp, "answer"));
  auto reparsed = parse_sdp(answer->sdp);
  FUZZ_REQUIRE(reparsed.ok());
  FUZZ_REQUIRE(reparsed->media.size() == offer.media.size());
}

// answer_reoffer() refuses with 400/415/501, or answers every m-line in
// place, in RFC 8866 order, never receiving on a server m-line, and leaves a
// session the server can make its next offer on.
void check_reoffer_answer(const NegotiatedSession& session, const SessionDescription& offer) {
  ReofferOptions options;
  options.candidates = answer_options().candidates;
  options.candidates_complete = true;
  auto answer = answer_reoffer(session, offer, options);
  if (!answer) {
    const int code = answer.error().code;
    if (code != 400 && code != 415 && code != 501) std::fprintf(stderr, "re-offer: %s\n", answer.error().message.c_str());
    FUZZ_REQUIRE((code == 400 || code == 415 || code == 501) && !answer.error().message.empty());
    return;
  }
  FUZZ_REQUIRE(answer->sdp == to_string(answer->description));
  FUZZ_REQUIRE(in_rfc_order(answer->sdp, "re-offer answer"));
  FUZZ_REQUIRE(answer->description.media.size() == offer.media.size());
  FUZZ_REQUIRE(answer->session.slots.size() == offer.media.size());
  FUZZ_REQUIRE(answer->session.media.size() == offer.media.size());
  for (size_t i = 0; i < session.slots.size(); ++i) {
    const MediaSlot& slot = answer->session.slots[i];
    FUZZ_REQUIRE(slot.mid == session.slots[i].mid && slot.kind == session.slots[i].kind);
    FUZZ_REQUIRE(slot.origin == session.slots[i].origin);
    const NegotiatedMedia& media = answer->session.media[i];
    if (slot.origin == MediaOrigin::kServer && media.accepted) {
      FUZZ_REQUIRE(media.direction == MediaDirection::kSendOnly || media.direction == MediaDirection::kInactive);
      FUZZ_REQUIRE(media.codec && media.codec->payload_type == session.media[i].codec->payload_type);
    }
  }
  FUZZ_REQUIRE(parse_sdp(answer->sdp).ok());
  auto next_offer = build_update_offer(answer->session, {});
  if (!next_offer) std::fprintf(stderr, "offer after re-offer: %s\n", next_offer.error().message.c_str());
  FUZZ_REQUIRE(next_offer.ok());
}

// One server round on `session`: a stream of each kind it receives, answered
// as a browser answers (the offer mirrored, with the participant's
// transport). Nullopt when the server cannot offer (an SSRC conflict).
std::optional<NegotiatedSession> with_server_mlines(const NegotiatedSession& session) {
  std::vector<OutgoingStream> streams;
  for (MediaKind kind : {MediaKind::kAudio, MediaKind::kVideo}) {
    const bool published = std::any_of(session.media.begin(), session.media.end(), [&](const NegotiatedMedia& m) {
      return m.accepted && m.kind == kind;
    });
    const uint32_t ssrc = kind == MediaKind::kAudio ? 0x5e000001 : 0x5e000003;
    if (published) {
      streams.push_back(OutgoingStream{kind, "fuzzpublisher", kind == MediaKind::kAudio ? "audio-fuzz" : "video-fuzz",
                                       ssrc, kind == MediaKind::kVideo ? std::optional<uint32_t>(ssrc + 1) : std::nullopt,
                                       "fuzzcname"});
    }
  }
  auto update = build_update_offer(session, streams);
  if (!update) return std::nullopt;
  SessionDescription answer = update->description;
  for (MediaDescription& section : answer.media) {
    section.ice_ufrag = session.remote_transport.ice_ufrag;
    section.ice_pwd = session.remote_transport.ice_pwd;
    section.fingerprints = {session.remote_transport.fingerprint};
    section.setup = session.dtls_role == DtlsRole::kServer ? DtlsSetup::kActive : DtlsSetup::kPassive;
    section.candidates.clear();
    section.end_of_candidates = false;
    section.msids.clear();
    section.ssrcs.clear();
    section.ssrc_groups.clear();
    if (section.port != 0) section.direction = reverse(section.effective_direction());
  }
  auto next = apply_update_answer(session, *update, answer);
  if (!next) return std::nullopt;
  return std::move(next.value());
}

// Answered as the SFU answers, the input is offered again as a re-offer;
// then, after a server round, again with the server's m-lines appended as a
// browser's receiving transceivers (copies of its first m-line of the kind).
void check_reoffer(const SessionDescription& offer) {
  AnswerOptions options = answer_options();
  options.send_media = false;  // a line participant: its m-lines only publish
  auto first = build_answer(offer, options);
  if (!first) return;
  auto session = start_session(offer, *first);
  FUZZ_REQUIRE(session.ok());
  check_reoffer_answer(*session, offer);

  auto with_server = with_server_mlines(*session);
  if (!with_server) return;
  SessionDescription reoffer = offer;
  for (size_t i = offer.media.size(); i < with_server->slots.size(); ++i) {
    const MediaSlot& slot = with_server->slots[i];
    auto model = std::find_if(offer.media.begin(), offer.media.end(),
                              [&](const MediaDescription& m) { return m.kind == slot.kind; });
    if (model == offer.media.end()) return;
    MediaDescription section = *model;
    section.mid = slot.mid;
    section.direction = MediaDirection::kRecvOnly;
    section.msids.clear();
    section.ssrcs.clear();
    section.ssrc_groups.clear();
    reoffer.media.push_back(std::move(section));
    for (BundleGroup& group : reoffer.groups) {
      if (group.semantics == "BUNDLE") group.mids.push_back(slot.mid);
    }
  }
  check_reoffer_answer(*with_server, reoffer);
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
  FUZZ_REQUIRE(in_rfc_order(written, "written SDP"));
  FUZZ_REQUIRE(same_meaning(*reparsed, *parsed));
  FUZZ_REQUIRE(to_string(*reparsed) == written);
  check_answer(*parsed);
  check_reoffer(*parsed);
  return 0;
}
