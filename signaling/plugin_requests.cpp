#include "signaling/plugin_requests.hpp"

#include "core/runtime/log.hpp"
#include "signaling/protocol_events.hpp"
#include "signaling/request_fields.hpp"

namespace partyline::signaling {

namespace {
constexpr size_t kMaxNameBytes = 64;
}  // namespace

PluginRequests::PluginRequests(core::PluginHost& host) : host_(host) {}

void PluginRequests::on_session_open(const std::shared_ptr<ClientSession>&) {}

void PluginRequests::on_session_closed(const std::shared_ptr<ClientSession>& session) {
  host_.detach_session(session->id());
}

void PluginRequests::on_request(const std::shared_ptr<ClientSession>& session, Request request) {
  if (request.name == "ice_trickle") return trickle(session, request);
  Result<core::JsonPtr> result = request.name == "attach"    ? attach(session, request)
                                 : request.name == "message" ? message(*session, request)
                                 : request.name == "hangup"  ? hangup(*session, request)
                                                             : detach(*session, request);
  if (result) {
    session->respond_success(request.transaction, request.name, std::move(result.value()));
  } else {
    session->respond_error(request.transaction, request.name, result.error());
  }
}

Result<core::JsonPtr> PluginRequests::attach(const std::shared_ptr<ClientSession>& session, const Request& request) {
  auto plugin = required_string(request.message.get(), "plugin", kMaxNameBytes);
  if (!plugin) return plugin.error();
  // Everything goes to the session while it is open; the host drops the
  // handle when it closes.
  std::weak_ptr<ClientSession> weak = session;
  core::HandleSinks sinks;
  // The mid the handle's trickled candidates name: the first m-line of the
  // answer its plugin sent (the client's offer's first), which comes before
  // any candidate.
  auto candidate_mid = std::make_shared<std::string>("0");
  sinks.plugin_event = [weak, plugin_name = *plugin, candidate_mid](core::PluginEvent event) {
    auto open = weak.lock();
    if (!open) return;
    if (event.jsep_type == "answer") *candidate_mid = events::first_mid(event.jsep_sdp).value_or("0");
    core::JsonPtr message = events::event("plugin");
    json_object_set_new(message.get(), "plugin", json_string(plugin_name.c_str()));
    json_object_set_new(message.get(), "handle", json_string(event.handle_id.c_str()));
    json_object_set_new(message.get(), "data", event.data.release());
    if (!event.jsep_type.empty()) {
      json_object_set_new(message.get(), "jsep", events::jsep(event.jsep_type.c_str(), event.jsep_sdp).release());
    }
    open->send_event(std::move(message));
  };
  sinks.candidate = [weak, candidate_mid](const std::string& handle_id, std::optional<std::string> candidate) {
    auto open = weak.lock();
    if (!open) return;
    core::JsonPtr message = events::ice_candidate(candidate ? &*candidate : nullptr, *candidate_mid);
    json_object_set_new(message.get(), "handle", json_string(handle_id.c_str()));
    open->send_event(std::move(message));
  };
  sinks.state = [weak](const std::string& handle_id, ice::TransportState state, const std::optional<Error>& error) {
    auto open = weak.lock();
    const char* name = events::webrtc_state_name(state);
    if (!open || name == nullptr) return;
    core::JsonPtr message = events::webrtc_state(name, error ? &*error : nullptr);
    json_object_set_new(message.get(), "handle", json_string(handle_id.c_str()));
    open->send_event(std::move(message));
  };
  auto handle = host_.attach(*plugin, session->id(), session->log_context(), std::move(sinks));
  if (!handle) return handle.error();
  return core::adopt_json(json_pack("{s:s, s:s}", "handle", handle->c_str(), "plugin", plugin->c_str()));
}

Result<core::JsonPtr> PluginRequests::message(ClientSession& session, const Request& request) {
  auto handle = required_string(request.message.get(), "handle", kMaxNameBytes);
  if (!handle) return handle.error();
  const json_t* body = json_object_get(request.message.get(), "body");
  if (body == nullptr) return make_error(error_code::kBadRequest, "field 'body' is missing");
  if (!json_is_object(body)) return make_error(error_code::kBadRequest, "field 'body' must be an object");
  std::string jsep_type, jsep_sdp;
  bool has_jsep = false;
  if (const json_t* jsep = json_object_get(request.message.get(), "jsep")) {
    const char* type = json_is_object(jsep) ? json_string_value(json_object_get(jsep, "type")) : nullptr;
    if (type == nullptr || (std::string_view(type) != "offer" && std::string_view(type) != "answer")) {
      return make_error(error_code::kBadRequest, "field 'jsep.type' must be \"offer\" or \"answer\"");
    }
    auto sdp = optional_jsep(request.message.get(), type);  // the object, its sdp and size
    if (!sdp) return sdp.error();
    jsep_type = type;
    jsep_sdp = std::move(**sdp);
    has_jsep = true;
  }
  auto reply = host_.message(*handle, session.id(), body, has_jsep ? &jsep_type : nullptr,
                             has_jsep ? &jsep_sdp : nullptr);
  if (!reply) return reply.error();
  core::JsonPtr fields = core::adopt_json(json_pack("{s:s}", "handle", handle->c_str()));
  if (reply->has_value()) json_object_set_new(fields.get(), "data", reply->value().release());
  return fields;
}

Result<core::JsonPtr> PluginRequests::detach(ClientSession& session, const Request& request) {
  auto handle = required_string(request.message.get(), "handle", kMaxNameBytes);
  if (!handle) return handle.error();
  if (auto status = host_.detach(*handle, session.id()); !status) return status.error();
  return core::adopt_json(json_pack("{s:s}", "handle", handle->c_str()));
}

void PluginRequests::trickle(const std::shared_ptr<ClientSession>& session, const Request& request) {
  auto fail = [&](const Error& error) { session->respond_error(request.transaction, request.name, error); };
  auto handle = required_string(request.message.get(), "handle", kMaxNameBytes);
  if (!handle) return fail(handle.error());
  auto candidate = read_trickled_candidate(request.message.get());
  if (!candidate) return fail(candidate.error());
  std::optional<std::string> line;
  if (!candidate->end_of_candidates) line = std::move(candidate->line);
  const bool end = !line;
  std::weak_ptr<ClientSession> weak = session;
  auto status = host_.add_remote_candidate(
      *handle, session->id(), std::move(line), [weak, request = share_request(request), id = *handle](Result<bool> added) {
        auto open = weak.lock();
        if (!open) return;
        if (!added) return open->respond_error(request->transaction, request->name, added.error());
        core::JsonPtr fields = core::adopt_json(json_pack("{s:s}", "handle", id.c_str()));
        if (!added.value()) json_object_set_new(fields.get(), "ignored", json_true());
        open->respond_success(request->transaction, request->name, std::move(fields));
      });
  if (!status) return fail(status.error());
  if (end) session->respond_success(request.transaction, request.name, core::adopt_json(json_pack("{s:s}", "handle", handle->c_str())));
}

Result<core::JsonPtr> PluginRequests::hangup(ClientSession& session, const Request& request) {
  auto handle = required_string(request.message.get(), "handle", kMaxNameBytes);
  if (!handle) return handle.error();
  if (auto status = host_.hangup(*handle, session.id()); !status) return status.error();
  return core::adopt_json(json_pack("{s:s}", "handle", handle->c_str()));
}

}  // namespace partyline::signaling
