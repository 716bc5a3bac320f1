// Active speaker and last-N, the control-plane side (docs/protocol.md,
// `active_speaker`, and `lines.last_n`): each participant's worker reports
// its audio level (core::LineMedia::on_audio_level), the line's
// core::SpeakerDetector decides, every occupant is told, and each
// occupant's PeerConnection gets the publishers whose video it still
// receives. The media never passes here.
#include "signaling/call_handler.hpp"

#include "core/runtime/log.hpp"
#include "signaling/protocol_events.hpp"

namespace partyline::signaling {

void CallHandler::on_audio_level(const std::string& session_id, uint8_t level) {
  SessionState* state = state_of(session_id);
  if (state == nullptr || state->line_id.empty() || roster_.find(state->line_id, session_id) == nullptr) return;
  const std::string line_id = state->line_id;
  core::SpeakerDetector* speakers = roster_.speakers(line_id);
  if (speakers == nullptr || !speakers->on_level(session_id, level, monotonic_ms())) return;
  announce_speaker(line_id);
  apply_last_n(line_id);
}

void CallHandler::announce_speaker(const std::string& line_id) {
  const core::SpeakerDetector* speakers = roster_.speakers(line_id);
  if (speakers == nullptr || !speakers->active()) return;
  const std::string& speaker = *speakers->active();
  const core::Occupant* occupant = roster_.find(line_id, speaker);
  if (occupant == nullptr) return;
  std::vector<std::string> recipients;
  for (const core::Occupant& other : roster_.occupants(line_id)) {
    SessionState* state = state_of(other.session);
    if (state == nullptr || state->told_speaker == speaker) continue;
    state->told_speaker = speaker;
    recipients.push_back(other.session);
  }
  if (recipients.empty()) return;
  core::JsonPtr event = events::event("active_speaker");
  json_object_set_new(event.get(), "line_id", json_string(line_id.c_str()));
  json_object_set_new(event.get(), "session", json_string(speaker.c_str()));
  json_object_set_new(event.get(), "user", json_string(occupant->user.c_str()));
  auto text = format_event(event.get());
  if (!text) {
    PL_LOG(kError, "line=" + line_id) << "active_speaker not sent: " << text.error().message;
    return;
  }
  send_text(recipients, *text);
}

void CallHandler::apply_last_n(const std::string& line_id) {
  if (options_.last_n == 0) return;
  for (const core::Occupant& occupant : roster_.occupants(line_id)) {
    SessionState* state = state_of(occupant.session);
    if (state == nullptr || state->guest != nullptr || !state->peer || state->peer_finished) continue;
    auto selection = roster_.video_for(line_id, occupant.session, options_.last_n);
    if (selection == state->video_from) continue;
    state->video_from = selection;
    state->peer->set_video_from(std::move(selection));
  }
}

}  // namespace partyline::signaling
