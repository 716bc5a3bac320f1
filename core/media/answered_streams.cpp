#include "core/media/answered_streams.hpp"

namespace partyline::core {

std::vector<AnsweredStream> answered_streams(const rtp::Answer& answer) {
  std::vector<AnsweredStream> streams;
  for (const auto& media : answer.media) {
    if (!media.accepted || !media.codec || !media.local_ssrc) continue;
    AnsweredStream stream;
    stream.mline = media.index;
    stream.video = media.kind == rtp::MediaKind::kVideo;
    stream.payload_types = {media.codec->payload_type};
    stream.rtx_payload_type = media.rtx_payload_type;
    stream.local_ssrc = *media.local_ssrc;
    stream.local_rtx_ssrc = media.local_rtx_ssrc;
    for (const auto& extmap : media.extmaps) {
      if (extmap.id < stream.extension_ids.size()) stream.extension_ids[extmap.id] = static_cast<uint8_t>(extmap.id);
    }
    if (!media.remote_ssrcs.empty()) {
      stream.remote_ssrc = media.remote_ssrcs.front().ssrc;
      stream.remote_rtx_ssrc = media.remote_ssrcs.front().rtx_ssrc;
    }
    streams.push_back(std::move(stream));
  }
  return streams;
}

}  // namespace partyline::core
