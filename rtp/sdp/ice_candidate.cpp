#include "rtp/sdp/ice_candidate.hpp"

#include <charconv>
#include <limits>

namespace partyline::rtp {
namespace {

std::vector<std::string_view> split_spaces(std::string_view text) {
  std::vector<std::string_view> tokens;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t start = text.find_first_not_of(' ', pos);
    if (start == std::string_view::npos) break;
    size_t end = text.find(' ', start);
    if (end == std::string_view::npos) end = text.size();
    tokens.push_back(text.substr(start, end - start));
    pos = end;
  }
  return tokens;
}

template <typename T>
std::optional<T> parse_number(std::string_view token, T min, T max) {
  uint64_t value = 0;
  if (token.empty() || token.size() > 20) return std::nullopt;
  auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
  if (ec != std::errc() || end != token.data() + token.size()) return std::nullopt;
  if (value < min || value > max) return std::nullopt;
  return static_cast<T>(value);
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// ice-char from RFC 8839: ALPHA / DIGIT / "+" / "/".
bool is_ice_chars(std::string_view token) {
  for (char c : token) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
              c == '/';
    if (!ok) return false;
  }
  return true;
}

bool is_visible_token(std::string_view token) {
  for (char c : token) {
    auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f) return false;
  }
  return !token.empty();
}

std::optional<IceCandidateType> parse_type(std::string_view token) {
  if (token == "host") return IceCandidateType::kHost;
  if (token == "srflx") return IceCandidateType::kServerReflexive;
  if (token == "prflx") return IceCandidateType::kPeerReflexive;
  if (token == "relay") return IceCandidateType::kRelay;
  return std::nullopt;
}

Error candidate_error(std::string_view text, std::string_view reason) {
  std::string shown(text.substr(0, 200));
  return make_error(error_code::kBadRequest, "candidate \"" + shown + "\": " + std::string(reason));
}

// Parses the "name value" pairs after "typ X"; the known ones go to fields.
Status parse_extensions(std::string_view text, const std::vector<std::string_view>& tokens, size_t first,
                        IceCandidate& candidate) {
  if ((tokens.size() - first) % 2 != 0) {
    return candidate_error(text, "attribute \"" + std::string(tokens.back()) + "\" has no value");
  }
  for (size_t i = first; i < tokens.size(); i += 2) {
    std::string_view name = tokens[i];
    std::string_view value = tokens[i + 1];
    if (name == "raddr") {
      if (!is_visible_token(value)) return candidate_error(text, "raddr is not an address");
      candidate.related_address = std::string(value);
    } else if (name == "rport") {
      auto port = parse_number<uint16_t>(value, 0, 65535);
      if (!port) return candidate_error(text, "rport must be an integer 0-65535");
      candidate.related_port = *port;
    } else if (name == "tcptype") {
      if (value != "active" && value != "passive" && value != "so") {
        return candidate_error(text, "tcptype must be active, passive or so");
      }
      candidate.tcp_type = std::string(value);
    } else if (name == "generation") {
      auto generation = parse_number<uint32_t>(value, 0, std::numeric_limits<uint32_t>::max());
      if (!generation) return candidate_error(text, "generation must be an unsigned 32-bit integer");
      candidate.generation = *generation;
    } else {
      if (!is_visible_token(name) || !is_visible_token(value)) {
        return candidate_error(text, "extension attributes must be visible characters");
      }
      candidate.extensions.emplace_back(std::string(name), std::string(value));
    }
  }
  return {};
}

}  // namespace

std::string_view to_string(IceCandidateType type) {
  switch (type) {
    case IceCandidateType::kHost: return "host";
    case IceCandidateType::kServerReflexive: return "srflx";
    case IceCandidateType::kPeerReflexive: return "prflx";
    case IceCandidateType::kRelay: return "relay";
  }
  return "host";
}

bool IceCandidate::is_udp() const { return equals_ignore_case(transport, "udp"); }
bool IceCandidate::is_tcp() const { return equals_ignore_case(transport, "tcp"); }

Result<IceCandidate> parse_ice_candidate(std::string_view text) {
  constexpr size_t kMaxCandidateLength = 1024;
  if (text.size() > kMaxCandidateLength) {
    return make_error(error_code::kTooLarge, "candidate is " + std::to_string(text.size()) +
                                                 " bytes, more than the limit of " +
                                                 std::to_string(kMaxCandidateLength));
  }
  std::string_view body = text;
  if (body.starts_with("a=")) body.remove_prefix(2);
  if (body.starts_with("candidate:")) body.remove_prefix(10);
  for (char c : body) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return candidate_error(text, "contains a control character");
  }
  std::vector<std::string_view> tokens = split_spaces(body);
  if (tokens.size() < 8) return candidate_error(text, "expected at least 8 fields up to \"typ TYPE\"");

  IceCandidate candidate;
  if (tokens[0].size() > 32 || !is_ice_chars(tokens[0])) {
    return candidate_error(text, "foundation must be 1-32 characters of [A-Za-z0-9+/]");
  }
  candidate.foundation = std::string(tokens[0]);
  auto component = parse_number<uint16_t>(tokens[1], 1, 256);
  if (!component) return candidate_error(text, "component must be an integer 1-256");
  candidate.component = *component;
  if (!is_visible_token(tokens[2])) return candidate_error(text, "transport is not a token");
  candidate.transport = std::string(tokens[2]);
  auto priority = parse_number<uint32_t>(tokens[3], 1, std::numeric_limits<uint32_t>::max());
  if (!priority) return candidate_error(text, "priority must be an integer 1-4294967295");
  candidate.priority = *priority;
  if (!is_visible_token(tokens[4])) return candidate_error(text, "address is not a token");
  candidate.address = std::string(tokens[4]);
  auto port = parse_number<uint16_t>(tokens[5], 0, 65535);
  if (!port) return candidate_error(text, "port must be an integer 0-65535");
  candidate.port = *port;
  if (tokens[6] != "typ") return candidate_error(text, "expected \"typ\" after the port");
  auto type = parse_type(tokens[7]);
  if (!type) return candidate_error(text, "type must be host, srflx, prflx or relay");
  candidate.type = *type;

  Status extensions = parse_extensions(text, tokens, 8, candidate);
  if (!extensions) return extensions.error();
  return candidate;
}

std::string to_string(const IceCandidate& candidate) {
  std::string out = "candidate:" + candidate.foundation + ' ' + std::to_string(candidate.component) + ' ' +
                    candidate.transport + ' ' + std::to_string(candidate.priority) + ' ' + candidate.address +
                    ' ' + std::to_string(candidate.port) + " typ " + std::string(to_string(candidate.type));
  if (candidate.related_address) out += " raddr " + *candidate.related_address;
  if (candidate.related_port) out += " rport " + std::to_string(*candidate.related_port);
  if (candidate.tcp_type) out += " tcptype " + *candidate.tcp_type;
  if (candidate.generation) out += " generation " + std::to_string(*candidate.generation);
  for (const auto& [name, value] : candidate.extensions) out += ' ' + name + ' ' + value;
  return out;
}

}  // namespace partyline::rtp
