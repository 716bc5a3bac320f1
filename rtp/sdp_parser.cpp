// parse_sdp(): untrusted SDP text -> SessionDescription. Every error names
// the line number, the line and the reason.
#include <array>
#include <charconv>
#include <limits>
#include <set>

#include "rtp/sdp.hpp"

namespace partyline::rtp {
namespace {

// Attribute parsers return their reason as an Error; the line loop adds the
// line number and text.
Error reason(std::string text) { return make_error(error_code::kBadRequest, std::move(text)); }

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> tokens;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find(separator, pos);
    if (end == std::string_view::npos) end = text.size();
    if (end > pos) tokens.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return tokens;
}

// Splits "first rest of the value" at the first space; rest may be empty.
std::pair<std::string_view, std::string_view> split_first(std::string_view text) {
  size_t space = text.find(' ');
  if (space == std::string_view::npos) return {text, {}};
  std::string_view rest = text.substr(space + 1);
  while (rest.starts_with(' ')) rest.remove_prefix(1);
  return {text.substr(0, space), rest};
}

template <typename T>
std::optional<T> parse_number(std::string_view token, uint64_t min = 0,
                              uint64_t max = std::numeric_limits<T>::max()) {
  uint64_t value = 0;
  if (token.empty() || token.size() > 20) return std::nullopt;
  auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
  if (ec != std::errc() || end != token.data() + token.size() || value < min || value > max) {
    return std::nullopt;
  }
  return static_cast<T>(value);
}

Result<uint8_t> parse_payload_type(std::string_view token) {
  auto pt = parse_number<uint8_t>(token, 0, 127);
  if (!pt) return reason("payload type must be an integer 0-127");
  return *pt;
}

std::string to_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool is_token(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c == ' ') return false;
  }
  return true;
}

bool is_ice_chars(std::string_view text) {
  if (text.empty() || text.size() > 256) return false;
  for (char c : text) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
              c == '/';
    if (!ok) return false;
  }
  return true;
}

std::optional<MediaDirection> parse_direction(std::string_view name) {
  if (name == "sendrecv") return MediaDirection::kSendRecv;
  if (name == "sendonly") return MediaDirection::kSendOnly;
  if (name == "recvonly") return MediaDirection::kRecvOnly;
  if (name == "inactive") return MediaDirection::kInactive;
  return std::nullopt;
}

Result<DtlsSetup> parse_setup(std::string_view value) {
  if (value == "actpass") return DtlsSetup::kActpass;
  if (value == "active") return DtlsSetup::kActive;
  if (value == "passive") return DtlsSetup::kPassive;
  if (value == "holdconn") return DtlsSetup::kHoldconn;
  return reason("setup must be actpass, active, passive or holdconn");
}

Result<Fingerprint> parse_fingerprint(std::string_view value) {
  auto [algorithm_token, hex] = split_first(value);
  std::string algorithm = to_lower(algorithm_token);
  static constexpr std::array<std::pair<std::string_view, size_t>, 7> kDigestSizes{{
      {"sha-1", 20}, {"sha-224", 28}, {"sha-256", 32}, {"sha-384", 48}, {"sha-512", 64}, {"md5", 16}, {"md2", 16}}};
  size_t expected_bytes = 0;
  for (const auto& [name, size] : kDigestSizes) {
    if (algorithm == name) expected_bytes = size;
  }
  if (expected_bytes == 0) return reason("unknown fingerprint algorithm \"" + std::string(algorithm_token) + "\"");
  bool well_formed = hex.size() == expected_bytes * 3 - 1;
  for (size_t i = 0; well_formed && i < hex.size(); ++i) {
    char c = hex[i];
    bool is_hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    well_formed = (i % 3 == 2) ? c == ':' : is_hex;
  }
  if (!well_formed) {
    return reason("fingerprint value must be " + std::to_string(expected_bytes) +
                  " colon-separated hex bytes for " + algorithm);
  }
  return Fingerprint{algorithm, std::string(hex)};
}

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

Result<RtpCodec> parse_rtpmap(std::string_view value) {
  auto [pt_token, encoding] = split_first(value);
  auto pt = parse_payload_type(pt_token);
  if (!pt) return pt.error();
  std::vector<std::string_view> parts = split(encoding, '/');
  if (parts.size() < 2 || parts.size() > 3 || encoding.find(' ') != std::string_view::npos) {
    return reason("rtpmap must be \"PT NAME/CLOCKRATE[/CHANNELS]\"");
  }
  auto clock_rate = parse_number<uint32_t>(parts[1], 1);
  if (!clock_rate) return reason("clock rate must be a positive integer");
  RtpCodec codec{*pt, std::string(parts[0]), *clock_rate, 0, std::nullopt, {}};
  if (parts.size() == 3) {
    auto channels = parse_number<uint16_t>(parts[2], 1, 255);
    if (!channels) return reason("channels must be an integer 1-255");
    codec.channels = *channels;
  }
  return codec;
}

Result<Extmap> parse_extmap(std::string_view value) {
  auto [id_token, rest] = split_first(value);
  Extmap extmap;
  std::string_view id_text = id_token;
  if (size_t slash = id_token.find('/'); slash != std::string_view::npos) {
    id_text = id_token.substr(0, slash);
    auto direction = parse_direction(id_token.substr(slash + 1));
    if (!direction) return reason("extmap direction must be sendrecv, sendonly, recvonly or inactive");
    extmap.direction = direction;
  }
  auto id = parse_number<uint16_t>(id_text, 1, 255);
  if (!id) return reason("extmap id must be an integer 1-255");
  extmap.id = *id;
  auto [uri, attributes] = split_first(rest);
  if (uri.empty()) return reason("extmap needs a URI");
  extmap.uri = std::string(uri);
  if (!attributes.empty()) extmap.attributes = std::string(attributes);
  return extmap;
}

Result<SsrcAttribute> parse_ssrc(std::string_view value) {
  auto [id_token, attribute] = split_first(value);
  auto ssrc = parse_number<uint32_t>(id_token);
  if (!ssrc) return reason("ssrc must be an unsigned 32-bit integer");
  if (attribute.empty()) return reason("ssrc needs an attribute (e.g. cname:...)");
  SsrcAttribute out{*ssrc, std::string(attribute), std::nullopt};
  if (size_t colon = attribute.find(':'); colon != std::string_view::npos) {
    out.attribute = std::string(attribute.substr(0, colon));
    out.value = std::string(attribute.substr(colon + 1));
  }
  if (out.attribute.empty() || !is_token(out.attribute)) return reason("ssrc attribute name is empty");
  return out;
}

Result<SsrcGroup> parse_ssrc_group(std::string_view value) {
  std::vector<std::string_view> tokens = split(value, ' ');
  if (tokens.size() < 2) return reason("ssrc-group must be \"SEMANTICS SSRC...\"");
  SsrcGroup group{std::string(tokens[0]), {}};
  for (size_t i = 1; i < tokens.size(); ++i) {
    auto ssrc = parse_number<uint32_t>(tokens[i]);
    if (!ssrc) return reason("ssrc-group member \"" + std::string(tokens[i]) + "\" is not a 32-bit integer");
    group.ssrcs.push_back(*ssrc);
  }
  return group;
}

bool is_rid_id(std::string_view id) {
  if (id.empty() || id.size() > 255) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

Result<Rid> parse_rid(std::string_view value) {
  auto [id, rest] = split_first(value);
  auto [direction, restrictions] = split_first(rest);
  if (!is_rid_id(id)) return reason("rid id must be letters, digits, '-' or '_'");
  if (direction != "send" && direction != "recv") return reason("rid direction must be send or recv");
  Rid rid{std::string(id), direction == "send", std::nullopt};
  if (!restrictions.empty()) rid.restrictions = std::string(restrictions);
  return rid;
}

Result<std::vector<SimulcastStream>> parse_simulcast_streams(std::string_view list) {
  std::vector<SimulcastStream> streams;
  for (std::string_view stream_text : split(list, ';')) {
    SimulcastStream stream;
    for (std::string_view alternative : split(stream_text, ',')) {
      bool paused = alternative.starts_with('~');
      if (paused) alternative.remove_prefix(1);
      if (!is_rid_id(alternative)) return reason("simulcast rid \"" + std::string(alternative) + "\" is invalid");
      stream.push_back({std::string(alternative), paused});
    }
    if (stream.empty()) return reason("simulcast stream has no rid");
    streams.push_back(std::move(stream));
  }
  if (streams.empty()) return reason("simulcast direction has no streams");
  return streams;
}

Result<Simulcast> parse_simulcast(std::string_view value) {
  std::vector<std::string_view> tokens = split(value, ' ');
  if (tokens.empty() || tokens.size() % 2 != 0 || tokens.size() > 4) {
    return reason("simulcast must be \"send|recv RIDS [send|recv RIDS]\"");
  }
  Simulcast simulcast;
  for (size_t i = 0; i < tokens.size(); i += 2) {
    auto streams = parse_simulcast_streams(tokens[i + 1]);
    if (!streams) return streams.error();
    std::vector<SimulcastStream>* target = nullptr;
    if (tokens[i] == "send") target = &simulcast.send;
    if (tokens[i] == "recv") target = &simulcast.recv;
    if (target == nullptr || !target->empty()) return reason("simulcast directions must be send and/or recv, once each");
    *target = std::move(streams.value());
  }
  return simulcast;
}

Result<Sctpmap> parse_sctpmap(std::string_view value) {
  std::vector<std::string_view> tokens = split(value, ' ');
  if (tokens.size() < 2 || tokens.size() > 3) return reason("sctpmap must be \"PORT APP [STREAMS]\"");
  auto number = parse_number<uint16_t>(tokens[0]);
  if (!number) return reason("sctpmap port must be an integer 0-65535");
  Sctpmap sctpmap{*number, std::string(tokens[1]), std::nullopt};
  if (tokens.size() == 3) {
    auto streams = parse_number<uint32_t>(tokens[2]);
    if (!streams) return reason("sctpmap streams must be an unsigned integer");
    sctpmap.streams = *streams;
  }
  return sctpmap;
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

// Finds or creates the codec entry that a=rtpmap/fmtp/rtcp-fb lines fill in.
RtpCodec& codec_for(MediaDescription& media, uint8_t pt) {
  for (RtpCodec& codec : media.codecs) {
    if (codec.payload_type == pt) return codec;
  }
  media.codecs.push_back(RtpCodec{pt, {}, 0, 0, std::nullopt, {}});
  return media.codecs.back();
}

bool is_media_only_attribute(std::string_view name) {
  static const std::set<std::string_view> kNames = {
      "mid",  "rtpmap", "fmtp",     "rtcp-fb",   "ssrc",       "ssrc-group", "rid",          "simulcast",
      "rtcp", "rtcp-mux", "rtcp-rsize", "candidate", "msid", "sctp-port", "sctpmap", "max-message-size",
      "bundle-only"};
  return kNames.contains(name);
}

}  // namespace

namespace {

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
  Status parse_codec_attribute(MediaDescription& media, std::string_view name, std::string_view value);
  Status parse_rtp_attribute(MediaDescription& media, std::string_view name, std::string_view value);
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
    return parse_codec_attribute(media, name, text);
  } else if (name == "extmap" || name == "msid" || name == "ssrc" || name == "ssrc-group" || name == "rid" ||
             name == "simulcast") {
    return parse_rtp_attribute(media, name, text);
  } else {
    media.other_attributes.push_back(
        SdpAttribute{std::string(name), value ? std::optional<std::string>(*value) : std::nullopt});
  }
  return {};
}

Status SdpParser::parse_codec_attribute(MediaDescription& media, std::string_view name, std::string_view value) {
  auto [pt_token, rest] = split_first(value);
  if (name == "rtcp-fb" && pt_token == "*") {
    if (rest.empty()) return line_error("rtcp-fb needs a feedback type");
    media.rtcp_feedback_all.emplace_back(rest);
    return {};
  }
  auto pt = parse_payload_type(pt_token);
  if (!pt) return line_error(pt.error().message);
  if (name == "rtpmap") {
    auto parsed = parse_rtpmap(value);
    if (!parsed) return line_error(parsed.error().message);
    RtpCodec& codec = codec_for(media, *pt);
    if (!codec.name.empty()) return line_error("duplicate a=rtpmap for payload type " + std::to_string(*pt));
    codec.name = std::move(parsed->name);
    codec.clock_rate = parsed->clock_rate;
    codec.channels = parsed->channels;
  } else if (name == "fmtp") {
    if (rest.empty()) return line_error("fmtp needs parameters after the payload type");
    RtpCodec& codec = codec_for(media, *pt);
    if (codec.fmtp) return line_error("duplicate a=fmtp for payload type " + std::to_string(*pt));
    codec.fmtp = std::string(rest);
  } else {
    if (rest.empty()) return line_error("rtcp-fb needs a feedback type");
    codec_for(media, *pt).rtcp_feedback.emplace_back(rest);
  }
  return {};
}

Status SdpParser::parse_rtp_attribute(MediaDescription& media, std::string_view name, std::string_view value) {
  if (name == "extmap") {
    auto extmap = parse_extmap(value);
    if (!extmap) return line_error(extmap.error().message);
    for (const Extmap& other : media.extmaps) {
      if (other.id == extmap->id) return line_error("extmap id " + std::to_string(other.id) + " is used twice");
    }
    media.extmaps.push_back(std::move(extmap.value()));
  } else if (name == "msid") {
    std::vector<std::string_view> tokens = split(value, ' ');
    if (tokens.empty() || tokens.size() > 2) return line_error("msid must be \"STREAM [TRACK]\"");
    Msid msid{std::string(tokens[0]), std::nullopt};
    if (tokens.size() == 2) msid.track_id = std::string(tokens[1]);
    media.msids.push_back(std::move(msid));
  } else if (name == "ssrc") {
    auto ssrc = parse_ssrc(value);
    if (!ssrc) return line_error(ssrc.error().message);
    media.ssrcs.push_back(std::move(ssrc.value()));
  } else if (name == "ssrc-group") {
    auto group = parse_ssrc_group(value);
    if (!group) return line_error(group.error().message);
    media.ssrc_groups.push_back(std::move(group.value()));
  } else if (name == "rid") {
    auto rid = parse_rid(value);
    if (!rid) return line_error(rid.error().message);
    media.rids.push_back(std::move(rid.value()));
  } else {
    auto simulcast = parse_simulcast(value);
    if (!simulcast) return line_error(simulcast.error().message);
    media.simulcast = std::move(simulcast.value());
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
