// to_string(SessionDescription) and the small helpers of the SDP model.
#include <algorithm>

#include "rtp/sdp/sdp.hpp"

namespace partyline::rtp {

std::string_view to_string(MediaKind kind) {
  switch (kind) {
    case MediaKind::kAudio: return "audio";
    case MediaKind::kVideo: return "video";
    case MediaKind::kApplication: return "application";
    case MediaKind::kOther: return "other";
  }
  return "other";
}

std::string_view to_string(MediaDirection direction) {
  switch (direction) {
    case MediaDirection::kSendRecv: return "sendrecv";
    case MediaDirection::kSendOnly: return "sendonly";
    case MediaDirection::kRecvOnly: return "recvonly";
    case MediaDirection::kInactive: return "inactive";
  }
  return "inactive";
}

std::string_view to_string(DtlsSetup setup) {
  switch (setup) {
    case DtlsSetup::kActpass: return "actpass";
    case DtlsSetup::kActive: return "active";
    case DtlsSetup::kPassive: return "passive";
    case DtlsSetup::kHoldconn: return "holdconn";
  }
  return "actpass";
}

MediaDirection reverse(MediaDirection direction) {
  if (direction == MediaDirection::kSendOnly) return MediaDirection::kRecvOnly;
  if (direction == MediaDirection::kRecvOnly) return MediaDirection::kSendOnly;
  return direction;
}

bool MediaDescription::is_rtp() const { return protocol.find("RTP/") != std::string::npos; }

const RtpCodec* MediaDescription::find_codec(uint8_t payload_type) const {
  auto it = std::find_if(codecs.begin(), codecs.end(),
                         [&](const RtpCodec& codec) { return codec.payload_type == payload_type; });
  return it == codecs.end() ? nullptr : &*it;
}

std::optional<std::string> MediaDescription::ssrc_cname(uint32_t ssrc) const {
  for (const SsrcAttribute& attribute : ssrcs) {
    if (attribute.ssrc == ssrc && attribute.attribute == "cname") return attribute.value;
  }
  return std::nullopt;
}

const BundleGroup* SessionDescription::find_group(std::string_view semantics) const {
  for (const BundleGroup& group : groups) {
    if (group.semantics == semantics) return &group;
  }
  return nullptr;
}

namespace {

// Appends SDP lines; every line ends in \r\n.
class SdpBuilder {
 public:
  void line(char type, std::string_view value) {
    out_ += type;
    out_ += '=';
    out_ += value;
    out_ += "\r\n";
  }
  void attribute(std::string_view name) { line('a', name); }
  void attribute(std::string_view name, std::string_view value) {
    out_ += "a=";
    out_ += name;
    out_ += ':';
    out_ += value;
    out_ += "\r\n";
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string join(const std::vector<std::string>& items, char separator) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

std::string connection_value(const ConnectionData& c) {
  return c.network_type + ' ' + c.address_type + ' ' + c.address;
}

// Writes the raw lines whose type is in `types`, type by type in the order
// `types` lists them (RFC 8866's order; lines of one type keep theirs), or
// with `types` "" every line whose type is not in `placed` (the types the
// caller writes at their place before a=), in arrival order. A media section
// places only i=, c=, b= and k=: the session-level u=, e= and p= found in a
// media section must go with the rest, not be lost.
void write_other(SdpBuilder& out, const std::vector<SdpLine>& lines, std::string_view types,
                 std::string_view placed = "iuepcbrzk") {
  if (types.empty()) {
    for (const SdpLine& line : lines) {
      if (placed.find(line.type) == std::string_view::npos) out.line(line.type, line.value);
    }
    return;
  }
  for (char type : types) {
    for (const SdpLine& line : lines) {
      if (line.type == type) out.line(line.type, line.value);
    }
  }
}

void write_other_attributes(SdpBuilder& out, const std::vector<SdpAttribute>& attributes) {
  for (const SdpAttribute& attribute : attributes) {
    if (attribute.value) out.attribute(attribute.name, *attribute.value);
    else out.attribute(attribute.name);
  }
}

// ICE and DTLS attributes, which may be at session or media level.
void write_transport(SdpBuilder& out, const std::optional<std::string>& ufrag, const std::optional<std::string>& pwd,
                     const std::vector<std::string>& options, const std::vector<Fingerprint>& fingerprints,
                     const std::optional<DtlsSetup>& setup) {
  if (ufrag) out.attribute("ice-ufrag", *ufrag);
  if (pwd) out.attribute("ice-pwd", *pwd);
  if (!options.empty()) out.attribute("ice-options", join(options, ' '));
  for (const Fingerprint& fingerprint : fingerprints) {
    out.attribute("fingerprint", fingerprint.algorithm + ' ' + fingerprint.value);
  }
  if (setup) out.attribute("setup", to_string(*setup));
}

std::string simulcast_list(const std::vector<SimulcastStream>& streams) {
  std::string out;
  for (size_t i = 0; i < streams.size(); ++i) {
    if (i > 0) out += ';';
    for (size_t j = 0; j < streams[i].size(); ++j) {
      if (j > 0) out += ',';
      if (streams[i][j].paused) out += '~';
      out += streams[i][j].rid;
    }
  }
  return out;
}

void write_codecs(SdpBuilder& out, const MediaDescription& media) {
  for (const RtpCodec& codec : media.codecs) {
    std::string pt = std::to_string(codec.payload_type);
    if (!codec.name.empty()) {
      std::string value = pt + ' ' + codec.name + '/' + std::to_string(codec.clock_rate);
      if (codec.channels != 0) value += '/' + std::to_string(codec.channels);
      out.attribute("rtpmap", value);
    }
    for (const std::string& feedback : codec.rtcp_feedback) out.attribute("rtcp-fb", pt + ' ' + feedback);
    if (codec.fmtp) out.attribute("fmtp", pt + ' ' + *codec.fmtp);
  }
  for (const std::string& feedback : media.rtcp_feedback_all) out.attribute("rtcp-fb", "* " + feedback);
}

void write_ssrcs(SdpBuilder& out, const MediaDescription& media) {
  for (const SsrcGroup& group : media.ssrc_groups) {
    std::string value = group.semantics;
    for (uint32_t ssrc : group.ssrcs) value += ' ' + std::to_string(ssrc);
    out.attribute("ssrc-group", value);
  }
  for (const SsrcAttribute& ssrc : media.ssrcs) {
    std::string value = std::to_string(ssrc.ssrc) + ' ' + ssrc.attribute;
    if (ssrc.value) value += ':' + *ssrc.value;
    out.attribute("ssrc", value);
  }
}

void write_rtp_attributes(SdpBuilder& out, const MediaDescription& media) {
  for (const Extmap& extmap : media.extmaps) {
    std::string value = std::to_string(extmap.id);
    if (extmap.direction) value += '/' + std::string(to_string(*extmap.direction));
    value += ' ' + extmap.uri;
    if (extmap.attributes) value += ' ' + *extmap.attributes;
    out.attribute("extmap", value);
  }
  if (media.direction) out.attribute(to_string(*media.direction));
  for (const Msid& msid : media.msids) {
    out.attribute("msid", msid.stream_id + (msid.track_id ? ' ' + *msid.track_id : std::string()));
  }
  if (media.rtcp_mux) out.attribute("rtcp-mux");
  if (media.rtcp_rsize) out.attribute("rtcp-rsize");
  write_codecs(out, media);
  write_ssrcs(out, media);
  for (const Rid& rid : media.rids) {
    std::string value = rid.id + (rid.send ? " send" : " recv");
    if (rid.restrictions) value += ' ' + *rid.restrictions;
    out.attribute("rid", value);
  }
  if (media.simulcast) {
    std::string value;
    if (!media.simulcast->send.empty()) value = "send " + simulcast_list(media.simulcast->send);
    if (!media.simulcast->recv.empty()) {
      value += (value.empty() ? "recv " : " recv ") + simulcast_list(media.simulcast->recv);
    }
    out.attribute("simulcast", value);
  }
}

void write_media(SdpBuilder& out, const MediaDescription& media) {
  std::string m = (media.kind == MediaKind::kOther ? media.media : std::string(to_string(media.kind))) + ' ' +
                  std::to_string(media.port);
  if (media.port_count) m += '/' + std::to_string(*media.port_count);
  m += ' ' + media.protocol;
  for (const std::string& format : media.formats) m += ' ' + format;
  out.line('m', m);
  write_other(out, media.other_lines, "i");
  if (media.connection) out.line('c', connection_value(*media.connection));
  write_other(out, media.other_lines, "bk");
  write_other(out, media.other_lines, "", "icbk");
  if (media.rtcp) out.attribute("rtcp", *media.rtcp);
  for (const IceCandidate& candidate : media.candidates) out.line('a', to_string(candidate));
  if (media.end_of_candidates) out.attribute("end-of-candidates");
  write_transport(out, media.ice_ufrag, media.ice_pwd, media.ice_options, media.fingerprints, media.setup);
  if (media.mid) out.attribute("mid", *media.mid);
  if (media.bundle_only) out.attribute("bundle-only");
  write_rtp_attributes(out, media);
  if (media.sctp_port) out.attribute("sctp-port", std::to_string(*media.sctp_port));
  if (media.sctpmap) {
    std::string value = std::to_string(media.sctpmap->number) + ' ' + media.sctpmap->app;
    if (media.sctpmap->streams) value += ' ' + std::to_string(*media.sctpmap->streams);
    out.attribute("sctpmap", value);
  }
  if (media.max_message_size) out.attribute("max-message-size", std::to_string(*media.max_message_size));
  write_other_attributes(out, media.other_attributes);
}

}  // namespace

std::string to_string(const SessionDescription& description) {
  SdpBuilder out;
  out.line('v', "0");
  const Origin& o = description.origin;
  out.line('o', o.username + ' ' + o.session_id + ' ' + std::to_string(o.session_version) + ' ' + o.network_type +
                    ' ' + o.address_type + ' ' + o.address);
  out.line('s', description.session_name);
  write_other(out, description.other_lines, "iuep");
  if (description.connection) out.line('c', connection_value(*description.connection));
  write_other(out, description.other_lines, "b");
  out.line('t', std::to_string(description.start_time) + ' ' + std::to_string(description.stop_time));
  write_other(out, description.other_lines, "rzk");
  write_other(out, description.other_lines, "");
  if (description.ice_lite) out.attribute("ice-lite");
  for (const BundleGroup& group : description.groups) {
    std::string value = group.semantics;
    for (const std::string& mid : group.mids) value += ' ' + mid;
    out.attribute("group", value);
  }
  if (description.extmap_allow_mixed) out.attribute("extmap-allow-mixed");
  if (description.msid_semantic) out.attribute("msid-semantic", ' ' + *description.msid_semantic);
  write_transport(out, description.ice_ufrag, description.ice_pwd, description.ice_options,
                  description.fingerprints, description.setup);
  if (description.direction) out.attribute(to_string(*description.direction));
  write_other_attributes(out, description.other_attributes);
  for (const MediaDescription& media : description.media) write_media(out, media);
  return out.take();
}

}  // namespace partyline::rtp
