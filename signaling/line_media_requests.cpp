// Forwarding in phone lines, the control-plane side: which streams each
// occupant receives, the server offers (`update` events) that carry them,
// and the answers (`update` requests). The media itself never passes here:
// see core/media/line_media.hpp and core/media/media_router.hpp.
#include <algorithm>

#include "core/runtime/log.hpp"
#include "signaling/call_handler.hpp"
#include "signaling/protocol_events.hpp"
#include "signaling/request_fields.hpp"

namespace partyline::signaling {

namespace {

std::string_view kind_name(rtp::MediaKind kind) { return kind == rtp::MediaKind::kVideo ? "video" : "audio"; }

}  // namespace

// a=msid's track: "<kind>-<first 8 characters of the session>" for the
// publisher's first stream of that kind, with "-<its m-line's mid>" after it
// for any further one (a screen share beside a camera), so each stream of a
// publisher is named apart.
std::string CallHandler::track_id(const SessionState& publisher, const core::PublishedStream& stream) {
  std::string name = std::string(kind_name(stream.format.kind)) + "-" + publisher.id.substr(0, 8);
  for (const core::PublishedStream& other : publisher.published) {
    if (&other == &stream) break;
    if (other.format.kind == stream.format.kind) return name + "-" + stream.mid;
  }
  return name;
}

std::vector<const CallHandler::SessionState*> CallHandler::line_publishers(const std::string& line_id) {
  std::vector<const SessionState*> publishers;
  auto it = occupants_.find(line_id);
  if (it == occupants_.end()) return publishers;
  for (const std::string& session_id : it->second) {
    const SessionState* occupant = state_of(session_id);
    if (occupant != nullptr && !occupant->published.empty()) publishers.push_back(occupant);
  }
  return publishers;
}

void CallHandler::refresh_media(const std::string& line_id) {
  auto it = occupants_.find(line_id);
  if (it == occupants_.end()) return;
  // Looked up once for the whole line, not once per occupant: with N
  // occupants of whom P publish, a refresh costs O(N * P), not O(N^2).
  const std::vector<const SessionState*> publishers = line_publishers(line_id);
  const std::vector<std::string> occupants = it->second;  // offer_streams never changes it, but be safe
  for (const std::string& session_id : occupants) {
    if (SessionState* state = state_of(session_id)) offer_streams(*state, publishers);
  }
}

void CallHandler::offer_streams(SessionState& state) {
  if (state.line_id.empty()) return;
  offer_streams(state, line_publishers(state.line_id));
}

void CallHandler::offer_streams(SessionState& state, const std::vector<const SessionState*>& publishing_occupants) {
  if (state.line_id.empty() || occupants_.count(state.line_id) == 0) return;
  if (state.guest != nullptr ? !state.guest_subscribes : !state.peer || state.peer_finished) return;
  if (state.offer_in_flight) {
    state.streams_changed = true;
    return;
  }
  // Every other occupant's streams, in join order: the m-lines of earlier
  // occupants come first on every page. The keys alone decide whether
  // anything changed (for most occupants, after most changes, nothing has),
  // so the requests with their strings are built only for a new offer.
  std::vector<const SessionState*> publishers;
  std::vector<core::StreamKey> keys;
  for (const SessionState* publisher : publishing_occupants) {
    if (publisher == &state) continue;
    publishers.push_back(publisher);
    for (const core::PublishedStream& published : publisher->published) keys.push_back(published.key);
  }
  if (keys == state.offered_keys) return;  // nothing new for this occupant
  std::vector<core::LegRequest> streams;
  streams.reserve(keys.size());
  for (const SessionState* publisher : publishers) {
    for (const core::PublishedStream& published : publisher->published) {
      core::LegRequest request;
      request.key = published.key;
      request.source_worker = publisher->worker_index;
      request.source_format = published.format;
      request.stream_id = publisher->id;
      request.track_id = track_id(*publisher, published);
      request.cname = publisher->id;
      request.publisher_name = publisher->name;
      streams.push_back(std::move(request));
    }
  }
  state.offered_keys = keys;
  if (state.guest != nullptr) {  // no offer and answer: the streams go to its GuestMedia
    state.guest->receive_streams(std::move(streams));
    return;
  }
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
        // A line change still to be published refreshes every occupant's
        // offer itself, after its `occupants` event.
        if (current->streams_changed && !line_changes_.is_pending(current->line_id)) offer_streams(*current);
      });
}

}  // namespace partyline::signaling
