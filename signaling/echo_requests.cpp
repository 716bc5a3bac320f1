// The echo test (docs/protocol.md, `echo`), served by the echotest plugin:
// the session's `echo` attaches an internal handle to it and starts it with
// the offer; the plugin's answer event becomes the `echo` response, and the
// handle's candidates and states reach the client as the session's own
// `ice_candidate` and `webrtc_state` events, without a handle. The client's
// session-level `ice_trickle` and `hangup` go to that handle. So the echo
// test's protocol is unchanged and its media runs where any plugin's does.
#include "core/plugins/plugin_host.hpp"
#include "core/runtime/log.hpp"
#include "signaling/call_handler.hpp"
#include "signaling/protocol_events.hpp"
#include "signaling/request_fields.hpp"

namespace partyline::signaling {

namespace {
constexpr std::string_view kEchoPlugin = "echotest";
}  // namespace

void CallHandler::use_plugins(core::PluginHost* plugins) {
  plugins_ = plugins;
  mixers_ = plugins;
}

void CallHandler::handle_echo(SessionState& state, const Request& request) {
  if ((state.peer && !state.peer_finished) || !state.line_id.empty() || !state.echo_handle.empty()) {
    return respond(state, request,
                   make_error(error_code::kConflict, "a PeerConnection is already running; hang up first"));
  }
  auto offer = required_jsep(request.message.get(), "offer");
  if (!offer) return respond(state, request, offer.error());
  if (plugins_ == nullptr) {
    return respond(state, request, make_error(error_code::kNotImplemented,
                                              "the echo test runs in the echotest plugin, which is not loaded"));
  }
  auto session = state.session.lock();
  if (!session) return;
  state.candidate_mid = events::first_mid(*offer).value_or("0");
  core::HandleSinks sinks;
  const std::string session_id = state.id;
  sinks.plugin_event = [this, session_id, request = share_request(request)](core::PluginEvent event) {
    SessionState* current = state_of(session_id);
    if (current == nullptr || current->echo_handle != event.handle_id) return;
    current->abandon_waiting = nullptr;  // answered here, either way
    if (event.jsep_type == "answer") {
      core::JsonPtr fields = core::adopt_json(json_object());
      json_object_set_new(fields.get(), "jsep", events::jsep("answer", event.jsep_sdp).release());
      return respond(*current, *request, std::move(fields));
    }
    // {"echotest": "error", "code", "reason"}: the offer was refused.
    const json_int_t code = json_integer_value(json_object_get(event.data.get(), "code"));
    const char* reason = json_string_value(json_object_get(event.data.get(), "reason"));
    respond(*current, *request,
            make_error(code > 0 ? static_cast<int>(code) : error_code::kInternal, reason ? reason : "echo failed"));
    end_echo(*current);
  };
  sinks.candidate = [this, session_id](const std::string& handle_id, std::optional<std::string> candidate) {
    SessionState* current = state_of(session_id);
    if (current == nullptr || current->echo_handle != handle_id) return;
    send_event(session_id, events::ice_candidate(candidate ? &*candidate : nullptr, current->candidate_mid));
  };
  sinks.state = [this, session_id](const std::string& handle_id, ice::TransportState transport_state,
                                   const std::optional<Error>& error) {
    SessionState* current = state_of(session_id);
    if (current == nullptr || current->echo_handle != handle_id) return;
    const char* name = events::webrtc_state_name(transport_state);
    if (name == nullptr) return;
    current->peer_state = name;
    send_event(session_id, events::webrtc_state(name, error ? &*error : nullptr));
    if (transport_state == ice::TransportState::kFailed && error) {
      send_event(session_id, events::error(*error));
      report("media_failed", core::adopt_json(json_pack("{s:s, s:s, s:n, s:i, s:s}", "session", session_id.c_str(),
                                                        "user", current->user.c_str(), "line_id", "code",
                                                        error->code, "reason", error->message.c_str())));
    }
    if (transport_state == ice::TransportState::kFailed || transport_state == ice::TransportState::kClosed) {
      // The host is inside its own state callback: detach from the loop.
      loop_.post([this, session_id, handle_id] {
        SessionState* still = state_of(session_id);
        if (still != nullptr && still->echo_handle == handle_id) end_echo(*still);
      });
    }
  };
  auto handle = plugins_->attach(kEchoPlugin, state.id, session->log_context(), std::move(sinks));
  if (!handle) {
    return respond(state, request,
                   handle.error().code == error_code::kNotFound
                       ? make_error(error_code::kNotImplemented,
                                    "the echo test runs in the echotest plugin, which is not loaded")
                       : handle.error());
  }
  state.echo_handle = *handle;
  state.peer_state = "new";
  wait_for_answer(state, request);
  core::JsonPtr body = core::adopt_json(json_pack("{s:s}", "request", "start"));
  const std::string jsep_type = "offer";
  auto started = plugins_->message(*handle, state.id, body.get(), &jsep_type, &offer.value());
  if (!started) {
    state.abandon_waiting = nullptr;
    respond(state, request, started.error());
    return end_echo(state);
  }
  // Candidates trickled before the offer follow it now that the handle's
  // PeerConnection exists (on its worker's queue, after the offer).
  for (auto& candidate : state.early_candidates) {
    (void)plugins_->add_remote_candidate(*handle, state.id, std::move(candidate), nullptr);
  }
  state.early_candidates.clear();
  if (state.early_end_of_candidates) (void)plugins_->add_remote_candidate(*handle, state.id, std::nullopt, nullptr);
  state.early_end_of_candidates = false;
}

void CallHandler::end_echo(SessionState& state) {
  if (state.echo_handle.empty()) return;
  abandon_waiting(state);  // an echo still negotiating is answered first
  const std::string handle = std::move(state.echo_handle);
  state.echo_handle.clear();
  if (plugins_ != nullptr) (void)plugins_->detach(handle, state.id);
}

void CallHandler::trickle_to_echo(SessionState& state, const Request& request, TrickledCandidate candidate) {
  std::optional<std::string> line;
  if (!candidate.end_of_candidates) line = std::move(candidate.line);
  const bool end = !line;
  auto status = plugins_->add_remote_candidate(
      state.echo_handle, state.id, std::move(line),
      [this, session_id = state.id, request = share_request(request)](Result<bool> added) {
        SessionState* current = state_of(session_id);
        if (current == nullptr) return;
        if (!added) return respond(*current, *request, added.error());
        core::JsonPtr fields;
        if (!added.value()) fields = core::adopt_json(json_pack("{s:b}", "ignored", true));
        respond(*current, *request, std::move(fields));
      });
  if (!status) return respond(state, request, status.error());
  if (end) respond(state, request, core::JsonPtr());
}

}  // namespace partyline::signaling
