#include "bridge_sdp.hpp"

#include <charconv>

namespace audiobridge {

namespace {

// Calls `line` for each line of the SDP (without its CR LF) until it returns false.
template <typename Visit>
void for_each_line(std::string_view sdp, Visit line) {
  while (!sdp.empty()) {
    const size_t end = sdp.find('\n');
    std::string_view current = sdp.substr(0, end);
    if (!current.empty() && current.back() == '\r') current.remove_suffix(1);
    if (!line(current)) return;
    if (end == std::string_view::npos) return;
    sdp.remove_prefix(end + 1);
  }
}

std::optional<int> leading_number(std::string_view text) {
  int value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end == text.data()) return std::nullopt;
  return value;
}

}  // namespace

std::vector<std::string> media_kinds(std::string_view sdp) {
  std::vector<std::string> kinds;
  for_each_line(sdp, [&](std::string_view line) {
    if (line.starts_with("m=")) kinds.emplace_back(line.substr(2, line.find(' ') - 2));
    return true;
  });
  return kinds;
}

std::optional<int> opus_payload_type(std::string_view sdp) {
  std::optional<int> found;
  int media = 0;
  for_each_line(sdp, [&](std::string_view line) {
    if (line.starts_with("m=")) ++media;
    if (media > 1) return false;
    constexpr std::string_view kRtpmap = "a=rtpmap:";
    if (!line.starts_with(kRtpmap)) return true;
    std::string_view rest = line.substr(kRtpmap.size());
    const size_t space = rest.find(' ');
    if (space == std::string_view::npos) return true;
    std::string_view codec = rest.substr(space + 1);
    if (codec.size() >= 10 && (codec.substr(0, 10) == "opus/48000" || codec.substr(0, 10) == "OPUS/48000")) {
      found = leading_number(rest);
      return false;
    }
    return true;
  });
  return found;
}

int extension_id(std::string_view sdp, std::string_view uri) {
  int id = 0;
  int media = 0;
  for_each_line(sdp, [&](std::string_view line) {
    if (line.starts_with("m=")) ++media;
    if (media > 1) return false;
    constexpr std::string_view kExtmap = "a=extmap:";
    if (!line.starts_with(kExtmap)) return true;
    std::string_view rest = line.substr(kExtmap.size());
    const size_t space = rest.find(' ');
    if (space == std::string_view::npos) return true;
    std::string_view name = rest.substr(space + 1);
    name = name.substr(0, name.find(' '));
    if (name != uri) return true;
    id = leading_number(rest).value_or(0);  // "3" or "3/sendrecv"
    return false;
  });
  return id > 0 && id < 256 ? id : 0;
}

}  // namespace audiobridge
