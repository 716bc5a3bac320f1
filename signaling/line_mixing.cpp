// Lines of mixed audio (docs/protocol.md, create_line's "audio"): while such
// a line has occupants it has a mixer, a plugin handle of the server's own
// (core::LineMixers: the plugin host, plugin API 1.4). The roster routes
// every occupant's audio to the mixer only and the mixer's streams each to
// its one listener (core::LineRoster::received_by); here the control plane
// starts and stops the mixer and gives it one stream per listener.
#include <algorithm>

#include "core/media/guest_media.hpp"
#include "core/runtime/log.hpp"
#include "signaling/call_handler.hpp"

namespace partyline::signaling {

core::LineAudio CallHandler::line_audio(const std::string& line_id) const {
  if (roster_.occupied(line_id)) return roster_.audio(line_id);
  auto record = lines_.find_line(line_id);
  return record ? record->audio : core::LineAudio::kForwarded;
}

void CallHandler::update_mixer(const std::string& line_id) {
  if (roster_.audio(line_id) != core::LineAudio::kMixed || mixers_ == nullptr) return;
  if (roster_.people(line_id) == 0) {
    mixers_->stop(line_id);  // its handle leaves the line (leave_guest) on the way
    return;
  }
  if (roster_.mixer(line_id) == nullptr) {
    if (auto started = mixers_->start(line_id); !started) {
      PL_LOG(kError, "line=" + line_id) << "no audio mixer: " << started.error().message
                                        << " (the occupants hear nobody)";
      return;
    }
  }
  core::Occupant* mixer = roster_.mixer(line_id);
  SessionState* mixer_state = mixer != nullptr ? state_of(mixer->session) : nullptr;
  if (mixer_state == nullptr || mixer_state->guest == nullptr) return;  // joins later
  // One stream per listener, kept for as long as that occupant stays.
  const std::vector<core::Occupant>& occupants = roster_.occupants(line_id);
  auto present = [&](const std::string& session) {
    return std::any_of(occupants.begin(), occupants.end(),
                       [&](const core::Occupant& occupant) { return !occupant.mixer && occupant.session == session; });
  };
  std::vector<core::PublishedStream>& streams = mixer->published;
  const size_t before = streams.size();
  std::erase_if(streams, [&](const core::PublishedStream& stream) { return !present(stream.audience); });
  bool changed = streams.size() != before;
  for (const core::Occupant& occupant : occupants) {
    if (occupant.mixer) continue;
    const bool has_stream = std::any_of(streams.begin(), streams.end(), [&](const core::PublishedStream& stream) {
      return stream.audience == occupant.session;
    });
    if (has_stream) continue;
    streams.push_back(core::PublishedStream{core::next_stream_key(), core::guest_audio_format(), "", occupant.session});
    changed = true;
  }
  if (!changed) return;
  std::vector<core::ListenerStream> listeners;
  listeners.reserve(streams.size());
  for (const core::PublishedStream& stream : streams) {
    const core::Occupant* listener = roster_.find(line_id, stream.audience);
    listeners.push_back(core::ListenerStream{stream.key, stream.audience, listener != nullptr ? listener->name : ""});
  }
  mixer_state->guest->set_listeners(std::move(listeners));
}

}  // namespace partyline::signaling
