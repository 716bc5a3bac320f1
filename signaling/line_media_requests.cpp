// Forwarding in phone lines, the control-plane side: which streams each
// occupant receives, the server offers (`update` events) that carry them,
// the answers to them and the client's own offers (`update` requests). Who
// may offer when is core::Renegotiation's; who receives what is
// core::LineRoster's. The media itself never passes here: see
// core/media/line_media.hpp and core/media/media_router.hpp.
#include <algorithm>

#include "core/runtime/log.hpp"
#include "signaling/call_handler.hpp"
#include "signaling/protocol_events.hpp"
#include "signaling/request_fields.hpp"

namespace partyline::signaling {

void CallHandler::refresh_media(const std::string& line_id) {
  std::vector<std::string> sessions;
  for (const core::Occupant& occupant : roster_.occupants(line_id)) sessions.push_back(occupant.session);
  for (const std::string& session_id : sessions) {
    if (SessionState* state = state_of(session_id)) offer_streams(*state);
  }
}

void CallHandler::offer_streams(SessionState& state) {
  if (occupant_of(state) == nullptr) return;
  if (state.guest != nullptr ? !state.guest_subscribes : !state.peer || state.peer_finished) return;
  // Every other occupant's streams, in join order: the m-lines of earlier
  // occupants come first on every page. The keys alone decide whether
  // anything changed (for most occupants, after most changes, nothing has),
  // so the requests with their strings are built only for a new offer.
  const std::vector<core::ReceivedStream> received = roster_.received_by(state.line_id, state.id);
  std::vector<core::StreamKey> keys;
  keys.reserve(received.size());
  for (const core::ReceivedStream& stream : received) keys.push_back(stream.stream->key);
  if (keys == state.offered_keys) return;  // nothing new for this occupant
  if (state.guest == nullptr && !state.paired && !state.renegotiation.streams_changed()) {
    return;  // follows the outstanding offer
  }
  std::vector<core::LegRequest> streams;
  streams.reserve(received.size());
  for (const core::ReceivedStream& stream : received) {
    core::LegRequest request;
    request.key = stream.stream->key;
    request.source_worker = stream.publisher->worker_index;
    request.source_format = stream.stream->format;
    request.stream_id = stream.publisher->session;
    request.track_id = stream.track_id;
    request.cname = stream.publisher->session;
    request.publisher_name = stream.publisher->name;
    request.layers = stream.stream->layers;
    streams.push_back(std::move(request));
  }
  state.offered_keys = std::move(keys);
  if (state.guest != nullptr) {  // no offer and answer: the streams go to its GuestMedia
    state.guest->receive_streams(std::move(streams));
    return;
  }
  if (state.paired) {  // no offer either: its SDP declared the senders already
    state.peer->pair_streams(std::move(streams));
    return;
  }
  send_server_offer(state, std::move(streams));
}

void CallHandler::send_server_offer(SessionState& state, std::vector<core::LegRequest> streams) {
  state.renegotiation.server_offer_sent();
  state.peer->offer_streams(
      std::move(streams),
      [this, session_id = state.id, negotiation = state.negotiation, line_id = state.line_id](Result<std::string> offer) {
        SessionState* current = state_of(session_id);
        if (current == nullptr || current->negotiation != negotiation) return;
        if (!offer) {
          PL_LOG(kError, "line=" + line_id + " session=" + session_id.substr(0, 8))
              << "could not build the update offer: " << offer.error().message;
          current->renegotiation.server_offer_failed();
          current->offered_keys.clear();
          return;
        }
        core::JsonPtr event = events::event("update");
        json_object_set_new(event.get(), "line_id", json_string(line_id.c_str()));
        json_object_set_new(event.get(), "jsep", events::jsep("offer", *offer).release());
        auto text = format_event(event.get());
        if (!text) {
          PL_LOG(kError, "session=" + session_id.substr(0, 8)) << "update offer not sent: " << text.error().message;
          return;
        }
        current->server_offer_event = *text;
        send_text({session_id}, current->server_offer_event);
      });
}

void CallHandler::handle_update(SessionState& state, const Request& request) {
  const json_t* jsep = json_object_get(request.message.get(), "jsep");
  const char* type = json_is_object(jsep) ? json_string_value(json_object_get(jsep, "type")) : nullptr;
  if (type != nullptr && std::string_view(type) == "offer") {
    auto offer = required_jsep(request.message.get(), "offer");
    if (!offer) return respond(state, request, offer.error());
    return apply_client_offer(state, request, std::move(offer.value()));
  }
  auto answer = required_jsep(request.message.get(), "answer");
  if (!answer) return respond(state, request, answer.error());
  apply_update_answer(state, request, std::move(answer.value()));
}

void CallHandler::apply_update_answer(SessionState& state, const Request& request, std::string answer_sdp) {
  if (!state.peer || state.peer_finished || !state.renegotiation.server_offer_out()) {
    return respond(state, request, make_error(error_code::kConflict, "no server offer awaits an answer"));
  }
  state.peer->apply_answer(
      std::move(answer_sdp),
      [this, session_id = state.id, negotiation = state.negotiation,
       request = share_request(request)](Result<std::vector<core::UnreceivedStream>> result) {
        SessionState* current = state_of(session_id);
        if (current == nullptr) return;
        if (current->negotiation != negotiation) {
          return respond(*current, *request, make_error(error_code::kConflict, "the PeerConnection was replaced"));
        }
        if (!result) {
          // The offer stays out: the client may answer it again, correctly.
          return respond(*current, *request, result.error());
        }
        const bool again = current->renegotiation.server_offer_answered();
        respond(*current, *request, core::JsonPtr());
        if (!result->empty()) cannot_receive(*current, *result);
        // A line change still to be published refreshes every occupant's
        // offer itself, after its `occupants` event.
        if (again && !line_changes_.is_pending(current->line_id)) offer_streams(*current);
      });
}

void CallHandler::apply_client_offer(SessionState& state, const Request& request, std::string offer_sdp) {
  core::Occupant* occupant = occupant_of(state);
  if (occupant == nullptr || occupant->media == core::OccupantMedia::kPlugin) {
    return respond(state, request, make_error(error_code::kNotFound, "this session is not in a line"));
  }
  if (std::string_view refused = state.renegotiation.client_offer(); !refused.empty()) {
    return respond(state, request, make_error(error_code::kConflict, std::string(refused)));
  }
  if (occupant->media == core::OccupantMedia::kNone) {
    // A signaling-only occupant's first media: its PeerConnection starts here.
    wait_for_answer(state, request);
    start_peer(state, MediaStart{std::move(offer_sdp)}, [this, request = share_request(request)](SessionState& current,
                                                                                     Result<core::Negotiation> result) {
      current.renegotiation.reset();
      if (!result) return respond(current, *request, result.error());
      core::Occupant* now = occupant_of(current);
      if (now == nullptr) return respond(current, *request, make_error(error_code::kConflict, "left the line"));
      now->media = core::OccupantMedia::kServer;
      now->connected = false;
      now->worker_index = current.worker_index;
      core::JsonPtr fields = core::adopt_json(json_object());
      json_object_set_new(fields.get(), "jsep", events::jsep("answer", result->answer_sdp).release());
      respond(current, *request, std::move(fields));
      published_changed(current, *result);
    });
    // start_peer reset who offers; this offer is the one being answered.
    (void)state.renegotiation.client_offer();
    return;
  }
  if (!state.peer || state.peer_finished) {
    state.renegotiation.client_offer_answered();
    return respond(state, request, make_error(error_code::kConflict, "the session's PeerConnection has ended"));
  }
  wait_for_answer(state, request);
  state.peer->answer_offer(
      std::move(offer_sdp), [this, session_id = state.id, negotiation = state.negotiation,
                             request = share_request(request)](Result<core::Negotiation> result) {
        SessionState* current = state_of(session_id);
        // Replaced or closed meanwhile: close_peer answered the request (409).
        if (current == nullptr || current->negotiation != negotiation) return;
        current->abandon_waiting = nullptr;
        const bool again = current->renegotiation.client_offer_answered();
        if (!result) {
          respond(*current, *request, result.error());  // nothing changed: the client rolls back
        } else {
          core::JsonPtr fields = core::adopt_json(json_object());
          json_object_set_new(fields.get(), "jsep", events::jsep("answer", result->answer_sdp).release());
          respond(*current, *request, std::move(fields));
          published_changed(*current, *result);
        }
        // What changed for it meanwhile goes out now, unless the line's
        // scheduled change (after its `occupants` event) does it.
        if (again && !line_changes_.is_pending(current->line_id)) offer_streams(*current);
      });
}

// The client could not take some offered streams (their codec): it is told
// which and why, `occupants` lists them, and they are left out of its next
// offers (LineRoster::received_by), which makes their m-lines inactive.
void CallHandler::cannot_receive(SessionState& state, const std::vector<core::UnreceivedStream>& streams) {
  core::Occupant* viewer = occupant_of(state);
  if (viewer == nullptr) return;
  for (const core::UnreceivedStream& stream : streams) {
    core::UnreceivableStream entry{stream.stream_id, stream.track_id, stream.codec};
    if (std::find(viewer->cannot_receive.begin(), viewer->cannot_receive.end(), entry) == viewer->cannot_receive.end()) {
      viewer->cannot_receive.push_back(entry);
    }
    PL_LOG(kInfo, "line=" + state.line_id + " session=" + state.id.substr(0, 8))
        << "cannot receive " << stream.track_id << " (" << stream.codec << "): " << stream.reason;
    core::JsonPtr event = events::event("stream_unavailable");
    json_object_set_new(event.get(), "line_id", json_string(state.line_id.c_str()));
    json_object_set_new(event.get(), "session", json_string(stream.stream_id.c_str()));
    json_object_set_new(event.get(), "track", json_string(stream.track_id.c_str()));
    json_object_set_new(event.get(), "kind", json_string(std::string(rtp::to_string(stream.kind)).c_str()));
    json_object_set_new(event.get(), "codec", json_string(stream.codec.c_str()));
    json_object_set_new(event.get(), "reason", json_string(stream.reason.c_str()));
    send_event(state.id, std::move(event));
  }
  line_changed(state.line_id);
}

void CallHandler::published_changed(SessionState& state, const core::Negotiation& negotiation) {
  core::Occupant* occupant = occupant_of(state);
  if (occupant == nullptr) return;
  occupant->published = negotiation.published;
  line_changed(state.line_id);  // `occupants` (publishing flags), then offers to the others and to itself
}

namespace {

// VP8 and H.264 frames are at most 16383 pixels tall.
constexpr json_int_t kMaxHeight = 16383;

// `max_height`: a positive integer, or null for no limit.
Result<std::optional<uint32_t>> read_max_height(const json_t* message) {
  const json_t* value = json_object_get(message, "max_height");
  if (value == nullptr) return make_error(error_code::kBadRequest, "field 'max_height' is missing");
  if (json_is_null(value)) return std::optional<uint32_t>();
  if (!json_is_integer(value) || json_integer_value(value) < 1 || json_integer_value(value) > kMaxHeight) {
    return make_error(error_code::kBadRequest,
                      "field 'max_height' must be an integer from 1 to " + std::to_string(kMaxHeight) + ", or null");
  }
  return std::optional<uint32_t>(static_cast<uint32_t>(json_integer_value(value)));
}

}  // namespace

// `configure` (docs/protocol.md): a limit on the simulcast layers this
// session receives of one publisher's streams, and whether it pins the
// publisher's video against last-N. The layer choice itself is the
// subscriber's legs' (rtp::LayerSelector, on its worker); last-N's is
// line_speakers.cpp's.
void CallHandler::handle_configure(SessionState& state, const Request& request) {
  auto publisher = required_string(request.message.get(), "session");
  if (!publisher) return respond(state, request, publisher.error());
  auto track = optional_string(request.message.get(), "track");
  if (!track) return respond(state, request, track.error());
  auto pin = optional_bool(request.message.get(), "pin");
  if (!pin) return respond(state, request, pin.error());
  const bool limits_height = json_object_get(request.message.get(), "max_height") != nullptr;
  if (!limits_height && !*pin) {
    return respond(state, request, make_error(error_code::kBadRequest, "configure needs the field 'max_height' or 'pin'"));
  }
  std::optional<uint32_t> max_height;
  if (limits_height) {
    auto read = read_max_height(request.message.get());
    if (!read) return respond(state, request, read.error());
    max_height = *read;
  }
  core::Occupant* viewer = occupant_of(state);
  if (viewer == nullptr) {
    return respond(state, request, make_error(error_code::kNotFound, "the session occupies no line"));
  }
  const core::Occupant* source = roster_.find(state.line_id, *publisher);
  if (source == nullptr || source->session == state.id) {
    return respond(state, request,
                   make_error(error_code::kNotFound, "no other occupant " + *publisher + " in line " + state.line_id));
  }
  if (*track) {
    const bool publishes = std::any_of(source->published.begin(), source->published.end(),
                                       [&](const core::PublishedStream& stream) {
                                         return core::LineRoster::track_id(*source, stream) == **track;
                                       });
    if (!publishes) {
      return respond(state, request,
                     make_error(error_code::kNotFound, "occupant " + *publisher + " publishes no track " + **track));
    }
  }
  if (limits_height && (!state.peer || state.peer_finished)) {
    return respond(state, request, make_error(error_code::kConflict, "the session receives no media (no PeerConnection)"));
  }
  if (limits_height) state.peer->set_max_height(*publisher, track->value_or(""), max_height);
  if (*pin) {
    std::erase(viewer->pinned, *publisher);
    if (**pin) viewer->pinned.push_back(*publisher);
    apply_last_n(state.line_id);
  }
  respond(state, request, core::JsonPtr());
}

}  // namespace partyline::signaling
