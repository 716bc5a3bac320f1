// Internal to the SDP parser (sdp_parser.cpp): the parsers of single
// attribute values ("a=rtpmap:...", "a=ssrc:...") and the token helpers they
// share with the line driver. Not part of the public API: include rtp/sdp/sdp.hpp.
//
// Errors here carry only the reason (code 400); the line driver prefixes the
// line number and the line, so one message format covers every attribute.
#pragma once

#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rtp/result.hpp"
#include "rtp/sdp/sdp.hpp"

namespace partyline::rtp::sdp_detail {

// A reason without the line context.
inline Error reason(std::string text) { return make_error(error_code::kBadRequest, std::move(text)); }

// Splits at `separator`, dropping empty tokens (so runs of spaces are one gap).
std::vector<std::string_view> split(std::string_view text, char separator);
// Splits "first rest of the value" at the first space; rest may be empty.
std::pair<std::string_view, std::string_view> split_first(std::string_view text);

// A decimal integer in [min, max] with nothing else around it.
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

Result<uint8_t> parse_payload_type(std::string_view token);
bool is_token(std::string_view text);      // non-empty, no space
bool is_ice_chars(std::string_view text);  // 1-256 of [A-Za-z0-9+/] (RFC 8839 ice-char)
std::optional<MediaDirection> parse_direction(std::string_view name);
Result<DtlsSetup> parse_setup(std::string_view value);
Result<Fingerprint> parse_fingerprint(std::string_view value);

Result<RtpCodec> parse_rtpmap(std::string_view value);  // only the rtpmap fields are set
Result<Extmap> parse_extmap(std::string_view value);
Result<Msid> parse_msid(std::string_view value);
Result<SsrcAttribute> parse_ssrc(std::string_view value);
Result<SsrcGroup> parse_ssrc_group(std::string_view value);
Result<Rid> parse_rid(std::string_view value);
Result<Simulcast> parse_simulcast(std::string_view value);
Result<Sctpmap> parse_sctpmap(std::string_view value);

// Applies a=rtpmap, a=fmtp or a=rtcp-fb (`name`) to the codec it names in
// `media`, creating the codec entry on first mention; rejects duplicates.
Status apply_codec_attribute(MediaDescription& media, std::string_view name, std::string_view value);
// Applies a=extmap, a=msid, a=ssrc, a=ssrc-group, a=rid or a=simulcast.
Status apply_rtp_attribute(MediaDescription& media, std::string_view name, std::string_view value);

}  // namespace partyline::rtp::sdp_detail
