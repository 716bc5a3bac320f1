#include "rtp/sdp/sdp_first_offer.hpp"

#include <set>
#include <utility>

#include "rtp/sdp/sdp_server_media.hpp"

namespace partyline::rtp {
namespace {

constexpr size_t kMaxMediaLines = 16;
constexpr int kSsrcAttempts = 64;

class FirstOfferWriter {
 public:
  explicit FirstOfferWriter(const FirstOfferOptions& options) : options_(options) {}
  Result<UpdateOffer> write();

 private:
  Result<uint32_t> draw_ssrc();
  Result<MediaDescription> section(size_t index, MediaKind kind, MediaSlot& slot);

  const FirstOfferOptions& options_;
  std::set<uint32_t> used_ssrcs_;
  std::vector<std::pair<uint16_t, std::string>> known_extmaps_;
  std::vector<IceCandidate> candidates_;
};

Result<uint32_t> FirstOfferWriter::draw_ssrc() {
  for (int attempt = 0; attempt < kSsrcAttempts; ++attempt) {
    uint32_t ssrc = options_.generate_ssrc();
    if (ssrc != 0 && used_ssrcs_.insert(ssrc).second) return ssrc;
  }
  return make_error(error_code::kInternal, "the SSRC generator gave no new non-zero SSRC in 64 attempts");
}

Result<MediaDescription> FirstOfferWriter::section(size_t index, MediaKind kind, MediaSlot& slot) {
  MediaDescription section;
  section.kind = kind;
  section.media = std::string(to_string(kind));
  section.connection = ConnectionData{};
  section.mid = std::to_string(index);
  section.direction = MediaDirection::kSendRecv;
  section.rtcp_mux = true;
  section.rtcp_rsize = true;
  section.ice_ufrag = options_.ice_ufrag;
  section.ice_pwd = options_.ice_pwd;
  if (!options_.candidates_complete) section.ice_options = {"trickle"};
  section.fingerprints = {options_.fingerprint};
  section.setup = DtlsSetup::kActpass;
  if (index == 0) {
    section.candidates = candidates_;
    section.end_of_candidates = options_.candidates_complete;
  }
  // Opus 111 and VP8 96 + RTX 97 never collide, so every m-line of a kind
  // numbers its codecs alike; extension ids are shared across the BUNDLE.
  std::set<uint8_t> used;
  if (Status status = server_media::add_default_codecs(section, used); !status) return status.error();
  server_media::add_default_extmaps(section, known_extmaps_);
  OutgoingStream stream;
  stream.kind = kind;
  stream.stream_id = options_.stream_id;
  stream.track_id = std::string(to_string(kind)) + "-" + *section.mid;
  stream.cname = options_.cname;
  auto ssrc = draw_ssrc();
  if (!ssrc) return ssrc.error();
  stream.ssrc = *ssrc;
  if (kind == MediaKind::kVideo) {
    auto rtx = draw_ssrc();
    if (!rtx) return rtx.error();
    stream.rtx_ssrc = *rtx;
  }
  server_media::write_sender(section, stream);
  slot = MediaSlot{*section.mid, kind, MediaOrigin::kParticipant, false, std::move(stream)};
  return section;
}

Result<UpdateOffer> FirstOfferWriter::write() {
  if (options_.kinds.empty() || options_.kinds.size() > kMaxMediaLines) {
    return make_error(error_code::kInternal, "a first offer has 1 to 16 m-lines");
  }
  if (!options_.generate_ssrc) return make_error(error_code::kInternal, "a first offer needs an SSRC generator");
  for (const std::string& text : options_.candidates) {
    auto candidate = parse_ice_candidate(text);
    if (!candidate) return make_error(error_code::kInternal, "local " + candidate.error().message);
    candidates_.push_back(std::move(candidate.value()));
  }
  UpdateOffer offer;
  SessionDescription& description = offer.description;
  description.origin.session_id = std::to_string(options_.session_id);
  description.origin.session_version = 1;
  description.origin.address = "127.0.0.1";
  BundleGroup bundle{"BUNDLE", {}};
  for (size_t i = 0; i < options_.kinds.size(); ++i) {
    MediaKind kind = options_.kinds[i];
    if (kind != MediaKind::kAudio && kind != MediaKind::kVideo) {
      return make_error(error_code::kInternal, "a first offer carries audio or video m-lines only");
    }
    MediaSlot slot;
    auto section = this->section(i, kind, slot);
    if (!section) return section.error();
    bundle.mids.push_back(*section->mid);
    description.media.push_back(std::move(section.value()));
    offer.slots.push_back(std::move(slot));
  }
  description.groups.push_back(std::move(bundle));
  description.ice_lite = options_.ice_lite;
  description.msid_semantic = "WMS " + options_.stream_id;
  offer.sdp = to_string(description);
  return offer;
}

}  // namespace

Result<UpdateOffer> build_first_offer(const FirstOfferOptions& options) { return FirstOfferWriter(options).write(); }

}  // namespace partyline::rtp
