// The parsers of single SDP attribute values, and how the codec and RTP
// attributes fill in a media section. See sdp_attributes.hpp.
#include "rtp/sdp/sdp_attributes.hpp"

#include <array>

namespace partyline::rtp::sdp_detail {
namespace {

std::string to_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool is_rid_id(std::string_view id) {
  if (id.empty() || id.size() > 255) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
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

// Finds or creates the codec entry that a=rtpmap/fmtp/rtcp-fb lines fill in.
RtpCodec& codec_for(MediaDescription& media, uint8_t pt) {
  for (RtpCodec& codec : media.codecs) {
    if (codec.payload_type == pt) return codec;
  }
  media.codecs.push_back(RtpCodec{pt, {}, 0, 0, std::nullopt, {}});
  return media.codecs.back();
}

}  // namespace

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

Result<uint8_t> parse_payload_type(std::string_view token) {
  auto pt = parse_number<uint8_t>(token, 0, 127);
  if (!pt) return reason("payload type must be an integer 0-127");
  return *pt;
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

Result<Msid> parse_msid(std::string_view value) {
  std::vector<std::string_view> tokens = split(value, ' ');
  if (tokens.empty() || tokens.size() > 2) return reason("msid must be \"STREAM [TRACK]\"");
  Msid msid{std::string(tokens[0]), std::nullopt};
  if (tokens.size() == 2) msid.track_id = std::string(tokens[1]);
  return msid;
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

Result<Rid> parse_rid(std::string_view value) {
  auto [id, rest] = split_first(value);
  auto [direction, restrictions] = split_first(rest);
  if (!is_rid_id(id)) return reason("rid id must be letters, digits, '-' or '_'");
  if (direction != "send" && direction != "recv") return reason("rid direction must be send or recv");
  Rid rid{std::string(id), direction == "send", std::nullopt};
  if (!restrictions.empty()) rid.restrictions = std::string(restrictions);
  return rid;
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
    if (target == nullptr || !target->empty()) {
      return reason("simulcast directions must be send and/or recv, once each");
    }
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

Status apply_codec_attribute(MediaDescription& media, std::string_view name, std::string_view value) {
  auto [pt_token, rest] = split_first(value);
  if (name == "rtcp-fb" && pt_token == "*") {
    if (rest.empty()) return reason("rtcp-fb needs a feedback type");
    media.rtcp_feedback_all.emplace_back(rest);
    return {};
  }
  auto pt = parse_payload_type(pt_token);
  if (!pt) return pt.error();
  if (name == "rtpmap") {
    auto parsed = parse_rtpmap(value);
    if (!parsed) return parsed.error();
    RtpCodec& codec = codec_for(media, *pt);
    if (!codec.name.empty()) return reason("duplicate a=rtpmap for payload type " + std::to_string(*pt));
    codec.name = std::move(parsed->name);
    codec.clock_rate = parsed->clock_rate;
    codec.channels = parsed->channels;
  } else if (name == "fmtp") {
    if (rest.empty()) return reason("fmtp needs parameters after the payload type");
    RtpCodec& codec = codec_for(media, *pt);
    if (codec.fmtp) return reason("duplicate a=fmtp for payload type " + std::to_string(*pt));
    codec.fmtp = std::string(rest);
  } else {
    if (rest.empty()) return reason("rtcp-fb needs a feedback type");
    codec_for(media, *pt).rtcp_feedback.emplace_back(rest);
  }
  return {};
}

Status apply_rtp_attribute(MediaDescription& media, std::string_view name, std::string_view value) {
  if (name == "extmap") {
    auto extmap = parse_extmap(value);
    if (!extmap) return extmap.error();
    for (const Extmap& other : media.extmaps) {
      if (other.id == extmap->id) return reason("extmap id " + std::to_string(other.id) + " is used twice");
    }
    media.extmaps.push_back(std::move(extmap.value()));
  } else if (name == "msid") {
    auto msid = parse_msid(value);
    if (!msid) return msid.error();
    media.msids.push_back(std::move(msid.value()));
  } else if (name == "ssrc") {
    auto ssrc = parse_ssrc(value);
    if (!ssrc) return ssrc.error();
    media.ssrcs.push_back(std::move(ssrc.value()));
  } else if (name == "ssrc-group") {
    auto group = parse_ssrc_group(value);
    if (!group) return group.error();
    media.ssrc_groups.push_back(std::move(group.value()));
  } else if (name == "rid") {
    auto rid = parse_rid(value);
    if (!rid) return rid.error();
    media.rids.push_back(std::move(rid.value()));
  } else {
    auto simulcast = parse_simulcast(value);
    if (!simulcast) return simulcast.error();
    media.simulcast = std::move(simulcast.value());
  }
  return {};
}

}  // namespace partyline::rtp::sdp_detail
