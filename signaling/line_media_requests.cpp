// Forwarding in phone lines, the control-plane side: which streams each
// occupant receives, the server offers (`update` events) that carry them,
// and the answers (`update` requests). The media itself never passes here:
// see core/line_media.hpp and core/media_router.hpp.
#include <algorithm>

#include "core/log.hpp"
#include "signaling/call_handler.hpp"
#include "signaling/protocol_events.hpp"
#include "signaling/request_fields.hpp"

namespace partyline::signaling {

namespace {

std::string_view kind_name(rtp::MediaKind kind) { return kind == rtp::MediaKind::kVideo ? "video" : "audio"; }

}  // namespace

void CallHandler::refresh_media(const std::string& line_id) {
  auto it = occupants_.find(line_id);
  if (it == occupants_.end()) return;
  const std::vector<std::string> occupants = it->second;  // offer_streams never changes it, but be safe
  for (const std::string& session_id : occupants) {
    if (SessionState* state = state_of(session_id)) offer_streams(*state);
  }
}

void CallHandler::offer_streams(SessionState& state) {
  if (!state.peer || state.peer_finished || state.line_id.empty()) return;
  auto it = occupants_.find(state.line_id);
  if (it == occupants_.end()) return;
  if (state.offer_in_flight) {
    state.streams_changed = true;
    return;
  }
  // Every other occupant's streams, in join order: the m-lines of earlier
  // occupants come first on every page.
  std::vector<core::LegRequest> streams;
  std::vector<core::StreamKey> keys;
  for (const std::string& session_id : it->second) {
    if (session_id == state.id) continue;
    const SessionState* publisher = state_of(session_id);
    if (publisher == nullptr) continue;
    for (const core::PublishedStream& published : publisher->published) {
      core::LegRequest request;
      request.key = published.key;
      request.source_worker = publisher->worker_index;
      request.source_format = published.format;
      request.stream_id = publisher->id;
      request.track_id = std::string(kind_name(published.format.kind)) + "-" + publisher->id.substr(0, 8);
      request.cname = publisher->id;
      streams.push_back(std::move(request));
      keys.push_back(published.key);
    }
  }
  if (keys == state.offered_keys) return;  // nothing new for this occupant
  state.offered_keys = keys;
  state.offer_in_flight = true;
  state.streams_changed = false;
  state.peer->offer_streams(
      std::move(streams),
      [this, session_id = state.id, negotiation = state.negotiation, line_id = state.line_id](Result<std::string> offer) {
        SessionState* current = state_of(session_id);
        if (current == nullptr || current->negotiation != negotiation) return;
        if (!offer) {
          PL_LOG(kError, "line=" + line_id + " session=" + session_id.substr(0, 8))
              << "could not build the update offer: " << offer.error().message;
          current->offer_in_flight = false;
          current->offered_keys.clear();
          return;
        }
        core::JsonPtr event = events::event("update");
        json_object_set_new(event.get(), "line_id", json_string(line_id.c_str()));
        json_object_set_new(event.get(), "jsep", events::jsep("offer", *offer).release());
        send_event(session_id, std::move(event));
      });
}

void CallHandler::apply_update_answer(SessionState& state, const Request& request, std::string answer_sdp) {
  if (!state.peer || state.peer_finished || !state.offer_in_flight) {
    return respond(state, request, make_error(error_code::kConflict, "no server offer awaits an answer"));
  }
  state.peer->apply_answer(
      std::move(answer_sdp),
      [this, session_id = state.id, negotiation = state.negotiation, request = share_request(request)](Status status) {
        SessionState* current = state_of(session_id);
        if (current == nullptr) return;
        if (current->negotiation != negotiation) {
          return respond(*current, *request, make_error(error_code::kConflict, "the PeerConnection was replaced"));
        }
        if (!status) {
          // The offer stays out: the client may answer it again, correctly.
          return respond(*current, *request, status.error());
        }
        current->offer_in_flight = false;
        respond(*current, *request, core::JsonPtr());
        if (current->streams_changed) offer_streams(*current);
      });
}

}  // namespace partyline::signaling
