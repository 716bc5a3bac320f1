#include "rtp/sdp/sdp_server_media.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include "rtp/sdp/sdp_common.hpp"

namespace partyline::rtp::server_media {
namespace {

// What build_answer() accepts, so the server offers nothing it would refuse.
constexpr std::array<std::string_view, 3> kDefaultAudioExtensions = {
    "urn:ietf:params:rtp-hdrext:sdes:mid",
    "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
    "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
};
constexpr std::array<std::string_view, 3> kDefaultVideoExtensions = {
    "urn:ietf:params:rtp-hdrext:sdes:mid",
    "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
    "urn:3gpp:video-orientation",
};
constexpr uint16_t kMaxOneByteExtensionId = 14;
constexpr std::array<std::string_view, 3> kDefaultVideoFeedback = {"nack", "nack pli", "ccm fir"};

}  // namespace

Status add_default_codecs(MediaDescription& section, std::set<uint8_t>& used) {
  auto take = [&](uint8_t preferred) -> std::optional<uint8_t> {
    if (used.insert(preferred).second) return preferred;
    for (uint8_t pt = 96; pt <= 127; ++pt) {
      if (used.insert(pt).second) return pt;
    }
    return std::nullopt;
  };
  if (section.kind == MediaKind::kAudio) {
    auto opus = take(111);
    if (!opus) return make_error(error_code::kInternal, "no free dynamic payload type for opus");
    section.codecs.push_back(RtpCodec{*opus, "opus", 48000, 2, "minptime=10;useinbandfec=1", {}});
  } else {
    auto vp8 = take(96);
    auto rtx = take(97);
    if (!vp8 || !rtx) return make_error(error_code::kInternal, "no free dynamic payload types for VP8 and RTX");
    std::vector<std::string> feedback(kDefaultVideoFeedback.begin(), kDefaultVideoFeedback.end());
    section.codecs.push_back(RtpCodec{*vp8, "VP8", 90000, 0, std::nullopt, feedback});
    section.codecs.push_back(RtpCodec{*rtx, "rtx", 90000, 0, "apt=" + std::to_string(*vp8), {}});
  }
  for (const RtpCodec& codec : section.codecs) section.formats.push_back(std::to_string(codec.payload_type));
  return {};
}

bool carries(const StreamCodec& wanted, const RtpCodec& codec) {
  if (!sdp_common::iequals(wanted.name, codec.name) || wanted.clock_rate != codec.clock_rate) return false;
  if (!sdp_common::iequals(codec.name, "H264")) return true;
  auto mode = [](const std::optional<std::string>& fmtp) {
    return std::string(sdp_common::fmtp_parameter(fmtp, "packetization-mode").value_or("0"));
  };
  auto profile = [](const std::optional<std::string>& fmtp) {
    std::string id(sdp_common::fmtp_parameter(fmtp, "profile-level-id").value_or("42000a"));
    std::transform(id.begin(), id.end(), id.begin(), [](unsigned char c) { return std::tolower(c); });
    return id.substr(0, 4);  // profile_idc and profile-iop; the level is the last byte
  };
  return mode(wanted.fmtp) == mode(codec.fmtp) && profile(wanted.fmtp) == profile(codec.fmtp);
}

std::optional<std::string> offered_fmtp(const std::optional<std::string>& fmtp) {
  if (!fmtp) return std::nullopt;
  std::string kept;
  std::string_view rest = *fmtp;
  while (!rest.empty()) {
    const size_t end = rest.find(';');
    std::string_view item = sdp_common::trim(rest.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    if (item.empty() || item.starts_with("x-google-")) continue;
    if (!kept.empty()) kept += ';';
    kept += item;
  }
  if (kept.empty()) return std::nullopt;
  return kept;
}

void add_default_extmaps(MediaDescription& section, std::vector<std::pair<uint16_t, std::string>>& known) {
  auto uris = section.kind == MediaKind::kAudio ? kDefaultAudioExtensions : kDefaultVideoExtensions;
  for (std::string_view uri : uris) {
    auto existing = std::find_if(known.begin(), known.end(), [&](const auto& entry) { return entry.second == uri; });
    std::optional<uint16_t> id;
    if (existing != known.end()) {
      id = existing->first;
    } else {
      for (uint16_t candidate = 1; candidate <= kMaxOneByteExtensionId && !id; ++candidate) {
        bool taken = std::any_of(known.begin(), known.end(), [&](const auto& entry) { return entry.first == candidate; });
        if (!taken) id = candidate;
      }
    }
    if (!id) continue;  // no id left: offer the m-line without it
    known.emplace_back(*id, std::string(uri));
    section.extmaps.push_back(Extmap{*id, std::nullopt, std::string(uri), std::nullopt});
  }
}

void write_sender(MediaDescription& section, const std::optional<OutgoingStream>& stream) {
  section.msids.clear();
  section.ssrcs.clear();
  section.ssrc_groups.clear();
  if (!stream) return;
  section.msids.push_back(Msid{stream->stream_id, stream->track_id});
  bool has_rtx = std::any_of(section.codecs.begin(), section.codecs.end(),
                             [](const RtpCodec& codec) { return sdp_common::iequals(codec.name, "rtx"); });
  std::vector<uint32_t> ssrcs = {stream->ssrc};
  if (has_rtx && stream->rtx_ssrc) {
    ssrcs.push_back(*stream->rtx_ssrc);
    section.ssrc_groups.push_back(SsrcGroup{"FID", ssrcs});
  }
  for (uint32_t ssrc : ssrcs) section.ssrcs.push_back(SsrcAttribute{ssrc, "cname", stream->cname});
}

}  // namespace partyline::rtp::server_media
