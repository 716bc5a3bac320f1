// parse_sdp(): untrusted SDP text -> SessionDescription. This file is the line
// and section driver; the parsers of attribute values are in
// sdp_attributes.cpp. Every error names the line number, the line and the
// reason.
#include <set>

#include "rtp/sdp/sdp.hpp"
#include "rtp/sdp/sdp_attributes.hpp"

namespace partyline::rtp {
namespace {

using namespace sdp_detail;

Result<ConnectionData> parse_connection(std::string_view value) {
  std::vector<std::string_view> tokens = split(value, ' ');
  if (tokens.size() != 3) return reason("c= must be \"IN IP4|IP6 ADDRESS\"");
  return ConnectionData{std::string(tokens[0]), std::string(tokens[1]), std::string(tokens[2])};
}

Result<Origin> parse_origin(std::string_view value) {
  std::vector<std::string_view> tokens = split(value, ' ');
  if (tokens.size() != 6) {
    return reason("o= must be \"USERNAME SESSION-ID VERSION IN IP4|IP6 ADDRESS\"");
  }
  if (tokens[1].find_first_not_of("0123456789") != std::string_view::npos) {
    return reason("session id must be digits");
  }
  auto version = parse_number<uint64_t>(tokens[2]);
  if (!version) return reason("session version must be an unsigned 64-bit integer");
  return Origin{std::string(tokens[0]), std::string(tokens[1]), *version,
                std::string(tokens[3]), std::string(tokens[4]), std::string(tokens[5])};
}

Result<MediaDescription> parse_media_line(std::string_view value) {
  std::vector<std::string_view> tokens = split(value, ' ');
  if (tokens.size() < 4) return reason("m= needs media, port, protocol and at least one format");
  MediaDescription media;
  media.media = std::string(tokens[0]);
  if (tokens[0] == "audio") media.kind = MediaKind::kAudio;
  else if (tokens[0] == "video") media.kind = MediaKind::kVideo;
  else if (tokens[0] == "application") media.kind = MediaKind::kApplication;
  else media.kind = MediaKind::kOther;
  std::string_view port_text = tokens[1];
  if (size_t slash = port_text.find('/'); slash != std::string_view::npos) {
    auto count = parse_number<uint16_t>(port_text.substr(slash + 1), 1);
    if (!count) return reason("port count must be a positive integer");
    media.port_count = *count;
    port_text = port_text.substr(0, slash);
  }
  auto port = parse_number<uint16_t>(port_text);
  if (!port) return reason("port must be an integer 0-65535");
  media.port = *port;
  media.protocol = std::string(tokens[2]);
  for (size_t i = 3; i < tokens.size(); ++i) {
    if (media.is_rtp() && !parse_number<uint8_t>(tokens[i], 0, 127)) {
      return reason("format \"" + std::string(tokens[i]) + "\" must be a payload type 0-127");
    }
    media.formats.emplace_back(tokens[i]);
  }
  return media;
}

bool is_media_only_attribute(std::string_view name) {
  static const std::set<std::string_view> kNames = {
      "mid",  "rtpmap", "fmtp",     "rtcp-fb",   "ssrc",       "ssrc-group", "rid",          "simulcast",
      "rtcp", "rtcp-mux", "rtcp-rsize", "candidate", "msid", "sctp-port", "sctpmap", "max-message-size",
      "bundle-only"};
  return kNames.contains(name);
}

// Length of the UTF-8 sequence at text[pos], or 0 if it is not valid UTF-8
// (overlong forms, surrogates and values past U+10FFFF are invalid).
size_t utf8_sequence_length(std::string_view text, size_t pos) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char lead = byte(pos);
  if (lead < 0x80) return 1;
  size_t length = 0;
  uint32_t min = 0;
  uint32_t code = 0;
  if ((lead & 0xE0) == 0xC0) { length = 2; min = 0x80; code = lead & 0x1F; }
  else if ((lead & 0xF0) == 0xE0) { length = 3; min = 0x800; code = lead & 0x0F; }
  else if ((lead & 0xF8) == 0xF0) { length = 4; min = 0x10000; code = lead & 0x07; }
  else return 0;
  if (pos + length > text.size()) return 0;
  for (size_t i = 1; i < length; ++i) {
    if ((byte(pos + i) & 0xC0) != 0x80) return 0;
    code = (code << 6) | (byte(pos + i) & 0x3F);
  }
  if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return length;
}

// The line as shown in errors: control and non-UTF-8 bytes escaped, cut short.
std::string printable(std::string_view line) {
  constexpr size_t kShown = 120;
  std::string out;
  for (size_t i = 0; i < line.size() && i < kShown; ++i) {
    auto c = static_cast<unsigned char>(line[i]);
    if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\') {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (line.size() > kShown) out += "...";
  return out;
}

// Why a line's bytes are not acceptable SDP text, or empty when they are.
std::string encoding_problem(std::string_view line) {
  for (size_t pos = 0; pos < line.size();) {
    auto c = static_cast<unsigned char>(line[pos]);
    if (c < 0x20 || c == 0x7F) {
      return "control character 0x" + std::string(1, "0123456789abcdef"[c >> 4]) +
             std::string(1, "0123456789abcdef"[c & 0xF]) + " at column " + std::to_string(pos + 1);
    }
    size_t length = utf8_sequence_length(line, pos);
    if (length == 0) return "invalid UTF-8 at column " + std::to_string(pos + 1);
    pos += length;
  }
  return {};
}

class SdpParser {
 public:
  explicit SdpParser(const SdpLimits& limits) : limits_(limits) {}

  Result<SessionDescription> parse(std::string_view text);

 private:
  Status parse_line(char type, std::string_view value);
  Status parse_session_attribute(std::string_view name, std::optional<std::string_view> value);
  Status parse_media_attribute(MediaDescription& media, std::string_view name,
                               std::optional<std::string_view> value);
  Status check_references();

  Error line_error(std::string_view why, int code = error_code::kBadRequest) const {
    return make_error(code, "line " + std::to_string(line_number_) + " \"" + printable(line_) + "\": " +
                                std::string(why));
  }

  const SdpLimits& limits_;
  SessionDescription session_;
  size_t line_number_ = 0;
  std::string_view line_;
  bool seen_origin_ = false;
  bool seen_session_name_ = false;
  bool seen_timing_ = false;
  // Where each a=group line is, to name it if it refers to an unknown mid.
  std::vector<std::pair<size_t, std::string>> group_lines_;
};

Result<SessionDescription> SdpParser::parse(std::string_view text) {
  if (text.size() > limits_.max_bytes) {
    return make_error(error_code::kTooLarge, "SDP is " + std::to_string(text.size()) +
                                                 " bytes, more than the limit of " +
                                                 std::to_string(limits_.max_bytes));
  }
  size_t pos = 0;
  bool seen_version = false;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    line_ = text.substr(pos, end - pos);
    if (line_.ends_with('\r')) line_.remove_suffix(1);
    pos = end + 1;
    ++line_number_;
    if (line_number_ > limits_.max_lines) {
      return line_error("more than " + std::to_string(limits_.max_lines) + " lines", error_code::kTooLarge);
    }
    if (line_.size() > limits_.max_line_length) {
      return line_error("line is longer than " + std::to_string(limits_.max_line_length) + " bytes",
                        error_code::kTooLarge);
    }
    if (line_.empty()) continue;  // tolerated: some stacks add a blank last line
    if (std::string problem = encoding_problem(line_); !problem.empty()) return line_error(problem);
    if (line_.size() < 2 || line_[1] != '=' || line_[0] < 'a' || line_[0] > 'z') {
      return line_error("expected a line of the form x=value");
    }
    if (!seen_version) {
      if (line_ != "v=0") return line_error("the SDP must start with v=0");
      seen_version = true;
      continue;
    }
    if (Status status = parse_line(line_[0], line_.substr(2)); !status) return status.error();
  }
  if (!seen_version) return make_error(error_code::kBadRequest, "SDP is empty: missing v=0");
  if (!seen_origin_) return make_error(error_code::kBadRequest, "missing o= line");
  if (Status status = check_references(); !status) return status.error();
  return std::move(session_);
}

Status SdpParser::parse_line(char type, std::string_view value) {
  MediaDescription* media = session_.media.empty() ? nullptr : &session_.media.back();
  auto session_only = [&](bool& seen) -> Status {
    if (media != nullptr) return line_error(std::string(1, type) + "= is only allowed before the first m= line");
    if (seen) return line_error("duplicate " + std::string(1, type) + "= line");
    seen = true;
    return {};
  };
  switch (type) {
    case 'v':
      return line_error("duplicate v= line");
    case 'o': {
      if (Status status = session_only(seen_origin_); !status) return status;
      auto origin = parse_origin(value);
      if (!origin) return line_error(origin.error().message);
      session_.origin = std::move(origin.value());
      return {};
    }
    case 's':
      if (Status status = session_only(seen_session_name_); !status) return status;
      session_.session_name = std::string(value);
      return {};
    case 't': {
      if (Status status = session_only(seen_timing_); !status) return status;
      std::vector<std::string_view> tokens = split(value, ' ');
      auto start = tokens.size() == 2 ? parse_number<uint64_t>(tokens[0]) : std::nullopt;
      auto stop = tokens.size() == 2 ? parse_number<uint64_t>(tokens[1]) : std::nullopt;
      if (!start || !stop) return line_error("t= must be two unsigned integers");
      session_.start_time = *start;
      session_.stop_time = *stop;
      return {};
    }
    case 'c': {
      auto connection = parse_connection(value);
      if (!connection) return line_error(connection.error().message);
      (media ? media->connection : session_.connection) = std::move(connection.value());
      return {};
    }
    case 'm': {
      if (session_.media.size() >= limits_.max_media_sections) {
        return line_error("more than " + std::to_string(limits_.max_media_sections) + " m= sections",
                          error_code::kTooLarge);
      }
      auto parsed = parse_media_line(value);
      if (!parsed) return line_error(parsed.error().message);
      session_.media.push_back(std::move(parsed.value()));
      return {};
    }
    case 'a': {
      size_t colon = value.find(':');
      std::string_view name = value.substr(0, colon);
      std::optional<std::string_view> attribute_value;
      if (colon != std::string_view::npos) attribute_value = value.substr(colon + 1);
      if (name.empty()) return line_error("attribute has no name");
      return media ? parse_media_attribute(*media, name, attribute_value)
                   : parse_session_attribute(name, attribute_value);
    }
    default:  // b=, i=, u=, e=, p=, z=, k=, r= and unknown types are kept raw
      (media ? media->other_lines : session_.other_lines).push_back(SdpLine{type, std::string(value)});
      return {};
  }
}

Status SdpParser::parse_session_attribute(std::string_view name, std::optional<std::string_view> value) {
  if (is_media_only_attribute(name)) {
    return line_error("a=" + std::string(name) + " is only allowed in a media section (after an m= line)");
  }
  std::string_view text = value.value_or("");
  if (name == "group") {
    std::vector<std::string_view> tokens = split(text, ' ');
    if (tokens.empty()) return line_error("group must be \"SEMANTICS MID...\"");
    BundleGroup group{std::string(tokens[0]), {}};
    for (size_t i = 1; i < tokens.size(); ++i) group.mids.emplace_back(tokens[i]);
    session_.groups.push_back(std::move(group));
    group_lines_.emplace_back(line_number_, std::string(line_));
  } else if (name == "msid-semantic") {
    while (text.starts_with(' ')) text.remove_prefix(1);
    session_.msid_semantic = std::string(text);
  } else if (name == "extmap-allow-mixed" && !value) {
    session_.extmap_allow_mixed = true;
  } else if (name == "ice-lite" && !value) {
    session_.ice_lite = true;
  } else if (name == "ice-ufrag" || name == "ice-pwd") {
    if (!is_ice_chars(text)) return line_error(std::string(name) + " must be 1-256 characters of [A-Za-z0-9+/]");
    (name == "ice-ufrag" ? session_.ice_ufrag : session_.ice_pwd) = std::string(text);
  } else if (name == "ice-options") {
    for (std::string_view option : split(text, ' ')) session_.ice_options.emplace_back(option);
  } else if (name == "fingerprint") {
    auto fingerprint = parse_fingerprint(text);
    if (!fingerprint) return line_error(fingerprint.error().message);
    session_.fingerprints.push_back(std::move(fingerprint.value()));
  } else if (name == "setup") {
    auto setup = parse_setup(text);
    if (!setup) return line_error(setup.error().message);
    session_.setup = setup.value();
  } else if (auto direction = parse_direction(name); direction && !value) {
    session_.direction = direction;
  } else {
    session_.other_attributes.push_back(
        SdpAttribute{std::string(name), value ? std::optional<std::string>(*value) : std::nullopt});
  }
  return {};
}

Status SdpParser::parse_media_attribute(MediaDescription& media, std::string_view name,
                                        std::optional<std::string_view> value) {
  static const std::set<std::string_view> kFlags = {"rtcp-mux", "rtcp-rsize", "bundle-only", "end-of-candidates",
                                                    "sendrecv", "sendonly",   "recvonly",    "inactive"};
  if (kFlags.contains(name)) {
    if (value) return line_error("a=" + std::string(name) + " takes no value");
    if (name == "rtcp-mux") media.rtcp_mux = true;
    else if (name == "rtcp-rsize") media.rtcp_rsize = true;
    else if (name == "bundle-only") media.bundle_only = true;
    else if (name == "end-of-candidates") media.end_of_candidates = true;
    else media.direction = parse_direction(name);
    return {};
  }
  static const std::set<std::string_view> kNeedValue = {
      "mid",       "rtpmap",     "fmtp", "rtcp-fb",   "extmap",  "msid",       "ssrc",      "ssrc-group",
      "rid",       "simulcast",  "rtcp", "ice-ufrag", "ice-pwd", "fingerprint", "setup",    "candidate",
      "sctp-port", "sctpmap",    "max-message-size", "ice-options"};
  if (kNeedValue.contains(name) && (!value || value->empty())) {
    return line_error("a=" + std::string(name) + " needs a value");
  }
  std::string_view text = value.value_or("");
  if (name == "mid") {
    if (!is_token(text) || text.size() > 256) return line_error("mid must be a token of 1-256 characters");
    if (media.mid) return line_error("duplicate a=mid in this m= section");
    for (const MediaDescription& other : session_.media) {
      if (other.mid == text) return line_error("mid \"" + std::string(text) + "\" is used by another m= section");
    }
    media.mid = std::string(text);
  } else if (name == "rtcp") {
    media.rtcp = std::string(text);
  } else if (name == "ice-ufrag" || name == "ice-pwd") {
    if (!is_ice_chars(text)) return line_error(std::string(name) + " must be 1-256 characters of [A-Za-z0-9+/]");
    (name == "ice-ufrag" ? media.ice_ufrag : media.ice_pwd) = std::string(text);
  } else if (name == "ice-options") {
    for (std::string_view option : split(text, ' ')) media.ice_options.emplace_back(option);
  } else if (name == "fingerprint") {
    auto fingerprint = parse_fingerprint(text);
    if (!fingerprint) return line_error(fingerprint.error().message);
    media.fingerprints.push_back(std::move(fingerprint.value()));
  } else if (name == "setup") {
    auto setup = parse_setup(text);
    if (!setup) return line_error(setup.error().message);
    media.setup = setup.value();
  } else if (name == "candidate") {
    auto candidate = parse_ice_candidate(text);
    if (!candidate) {
      // Drop parse_ice_candidate's own quoting of the text: the line is shown.
      std::string message = candidate.error().message;
      std::string prefix = "candidate \"" + std::string(text.substr(0, 200)) + "\": ";
      if (message.starts_with(prefix)) message = "candidate: " + message.substr(prefix.size());
      return line_error(message, candidate.error().code);
    }
    media.candidates.push_back(std::move(candidate.value()));
  } else if (name == "sctp-port") {
    auto port = parse_number<uint16_t>(text);
    if (!port) return line_error("sctp-port must be an integer 0-65535");
    media.sctp_port = *port;
  } else if (name == "sctpmap") {
    auto sctpmap = parse_sctpmap(text);
    if (!sctpmap) return line_error(sctpmap.error().message);
    media.sctpmap = std::move(sctpmap.value());
  } else if (name == "max-message-size") {
    auto size = parse_number<uint64_t>(text);
    if (!size) return line_error("max-message-size must be an unsigned integer");
    media.max_message_size = *size;
  } else if (name == "rtpmap" || name == "fmtp" || name == "rtcp-fb") {
    if (Status status = apply_codec_attribute(media, name, text); !status) return line_error(status.error().message);
  } else if (name == "extmap" || name == "msid" || name == "ssrc" || name == "ssrc-group" || name == "rid" ||
             name == "simulcast") {
    if (Status status = apply_rtp_attribute(media, name, text); !status) return line_error(status.error().message);
  } else {
    media.other_attributes.push_back(
        SdpAttribute{std::string(name), value ? std::optional<std::string>(*value) : std::nullopt});
  }
  return {};
}


// Checks that need the whole SDP: every mid a group names must exist.
Status SdpParser::check_references() {
  for (size_t g = 0; g < session_.groups.size(); ++g) {
    for (const std::string& mid : session_.groups[g].mids) {
      bool found = false;
      for (const MediaDescription& media : session_.media) found = found || media.mid == mid;
      if (!found) {
        line_number_ = group_lines_[g].first;
        line_ = group_lines_[g].second;
        return line_error("no m= section has mid \"" + mid + "\"");
      }
    }
  }
  return {};
}

}  // namespace

Result<SessionDescription> parse_sdp(std::string_view text, const SdpLimits& limits) {
  return SdpParser(limits).parse(text);
}

}  // namespace partyline::rtp
