#include "rtp/sdp/sdp_common.hpp"

#include <algorithm>

namespace partyline::rtp::sdp_common {

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    return lower(x) == lower(y);
  });
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return text;
}

std::optional<std::string_view> fmtp_parameter(const std::optional<std::string>& fmtp, std::string_view key) {
  if (!fmtp) return std::nullopt;
  std::string_view rest = *fmtp;
  while (!rest.empty()) {
    size_t end = rest.find(';');
    std::string_view item = trim(rest.substr(0, end));
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    size_t equals = item.find('=');
    if (equals != std::string_view::npos && iequals(trim(item.substr(0, equals)), key)) {
      return trim(item.substr(equals + 1));
    }
  }
  return std::nullopt;
}

bool is_offered(const MediaDescription& media, uint8_t payload_type) {
  return std::find(media.formats.begin(), media.formats.end(), std::to_string(payload_type)) != media.formats.end();
}

std::vector<RemoteSsrc> remote_ssrcs(const MediaDescription& media) {
  std::vector<uint32_t> order;
  auto note = [&](uint32_t ssrc) {
    if (std::find(order.begin(), order.end(), ssrc) == order.end()) order.push_back(ssrc);
  };
  for (const SsrcGroup& group : media.ssrc_groups) {
    for (uint32_t ssrc : group.ssrcs) note(ssrc);
  }
  for (const SsrcAttribute& attribute : media.ssrcs) note(attribute.ssrc);
  std::vector<RemoteSsrc> out;
  for (uint32_t ssrc : order) {
    bool is_rtx = false;
    std::optional<uint32_t> rtx;
    for (const SsrcGroup& group : media.ssrc_groups) {
      if (group.semantics != "FID" || group.ssrcs.size() != 2) continue;
      if (group.ssrcs[1] == ssrc) is_rtx = true;
      if (group.ssrcs[0] == ssrc) rtx = group.ssrcs[1];
    }
    if (!is_rtx) out.push_back(RemoteSsrc{ssrc, rtx});
  }
  return out;
}

void inherit_bundle_transport(std::vector<NegotiatedMedia>& media, const RemoteTransport& bundle) {
  for (NegotiatedMedia& item : media) {
    if (item.remote.ice_ufrag.empty() || item.remote.ice_pwd.empty()) {
      item.remote.ice_ufrag = bundle.ice_ufrag;
      item.remote.ice_pwd = bundle.ice_pwd;
    }
    if (item.remote.fingerprint.value.empty()) item.remote.fingerprint = bundle.fingerprint;
  }
}

RemoteTransport resolve_transport(const SessionDescription& description, const MediaDescription& media) {
  RemoteTransport transport;
  transport.ice_ufrag = media.ice_ufrag.value_or(description.ice_ufrag.value_or(""));
  transport.ice_pwd = media.ice_pwd.value_or(description.ice_pwd.value_or(""));
  const std::vector<Fingerprint>& fingerprints =
      media.fingerprints.empty() ? description.fingerprints : media.fingerprints;
  auto sha256 = std::find_if(fingerprints.begin(), fingerprints.end(),
                             [](const Fingerprint& f) { return f.algorithm == "sha-256"; });
  if (sha256 != fingerprints.end()) transport.fingerprint = *sha256;
  else if (!fingerprints.empty()) transport.fingerprint = fingerprints.front();
  // RFC 4145: without a=setup the offerer is active.
  transport.setup = media.setup.value_or(description.setup.value_or(DtlsSetup::kActive));
  transport.candidates = media.candidates;
  transport.end_of_candidates = media.end_of_candidates;
  return transport;
}

bool sends(MediaDirection direction) {
  return direction == MediaDirection::kSendRecv || direction == MediaDirection::kSendOnly;
}

bool receives(MediaDirection direction) {
  return direction == MediaDirection::kSendRecv || direction == MediaDirection::kRecvOnly;
}

std::string describe_section(std::string_view which, size_t index, const MediaDescription& section) {
  return std::string(which) + " m-line " + std::to_string(index) + " (" + section.media +
         (section.mid ? ", mid \"" + *section.mid + "\"" : std::string()) + ")";
}

void remember_codecs(std::vector<RtpCodec>& codecs, const SessionDescription& description) {
  for (const MediaDescription& media : description.media) {
    if (media.kind != MediaKind::kVideo) continue;
    for (const RtpCodec& codec : media.codecs) {
      const bool known = std::any_of(codecs.begin(), codecs.end(),
                                     [&](const RtpCodec& seen) { return seen.payload_type == codec.payload_type; });
      if (!known) codecs.push_back(codec);
    }
  }
}

}  // namespace partyline::rtp::sdp_common
