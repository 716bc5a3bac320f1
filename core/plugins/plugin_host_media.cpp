// The plugin host's half for a handle's PeerConnection (plugin API 1.1):
// negotiating it on a worker, the media services, and handing its media to
// the plugin (HandleMedia).
#include "core/plugins/plugin_handle.hpp"

namespace partyline::core {

namespace {

int to_status(PluginSendResult result) {
  switch (result) {
    case PluginSendResult::kSent: return PL_OK;
    case PluginSendResult::kBadPacket:
    case PluginSendResult::kNoSuchStream: return error_code::kBadRequest;
    case PluginSendResult::kNotSent: return error_code::kUnavailable;
  }
  return error_code::kInternal;
}

}  // namespace

int host_send_rtp(pl_handle* handle, uint32_t mline, const uint8_t* packet, size_t length) {
  if (handle == nullptr || packet == nullptr) return error_code::kBadRequest;
  if (handle->media == nullptr) return error_code::kConflict;
  return to_status(handle->media->send_rtp(mline, std::span(packet, length)));
}

int host_send_rtcp(pl_handle* handle, const uint8_t* compound, size_t length) {
  if (handle == nullptr || compound == nullptr) return error_code::kBadRequest;
  if (handle->media == nullptr) return error_code::kConflict;
  return to_status(handle->media->send_rtcp(std::span(compound, length)));
}

int host_request_keyframe(pl_handle* handle, uint32_t mline) {
  if (handle == nullptr) return error_code::kBadRequest;
  if (handle->media == nullptr) return error_code::kConflict;
  return to_status(handle->media->request_keyframe(mline));
}

int host_close_media(pl_handle* handle) {
  if (handle == nullptr) return error_code::kBadRequest;
  return handle->host->close_media(*handle);
}

int host_negotiate(pl_handle* handle, const char* offer, size_t length) {
  if (handle == nullptr || offer == nullptr) return error_code::kBadRequest;
  return handle->host->negotiate(*handle, std::string(offer, length));
}

void HandleMedia::on_media_rtp(size_t mline, bool video, bool rtx, std::span<uint8_t> packet) {
  const pl_plugin& abi = handle_.plugin->library.plugin();
  if (auto incoming = PL_CALLBACK(abi, incoming_rtp)) {
    incoming(handle_.plugin->state, handle_.state, static_cast<uint32_t>(mline), video ? 1 : 0, rtx ? 1 : 0,
             packet.data(), packet.size());
  }
}

void HandleMedia::on_media_rtcp(std::span<const uint8_t> compound) {
  const pl_plugin& abi = handle_.plugin->library.plugin();
  if (auto incoming = PL_CALLBACK(abi, incoming_rtcp)) {
    incoming(handle_.plugin->state, handle_.state, compound.data(), compound.size());
  }
}

void HandleMedia::on_keyframe_requested(size_t mline) {
  const pl_plugin& abi = handle_.plugin->library.plugin();
  if (auto requested = PL_CALLBACK(abi, keyframe_requested)) {
    requested(handle_.plugin->state, handle_.state, static_cast<uint32_t>(mline));
  }
}

void HandleMedia::on_media_gone(PluginMedia* media) {
  if (handle_.media == media) handle_.media = nullptr;
}

int PluginHost::negotiate(pl_handle& handle, std::string offer_sdp) {
  if (!media_ || media_->workers == nullptr) return error_code::kNotImplemented;
  if (handle.peer || handle.retiring) return error_code::kConflict;
  // A handle keeps one worker, so every close of its PeerConnections is
  // ordered on one queue (retire_handle).
  handle_worker(handle);
  const size_t worker_index = *handle.worker_index;
  const std::string id = handle.id;
  std::weak_ptr<Handles> handles = handles_;
  PeerConnectionHandle::Events events;
  // The handle, if it still exists when a PeerConnection event arrives.
  auto live_handle = [handles, id]() -> pl_handle* {
    auto table = handles.lock();
    if (!table) return nullptr;
    auto found = table->by_id.find(id);
    return found == table->by_id.end() ? nullptr : found->second.get();
  };
  events.on_local_candidate = [live_handle, id](std::string candidate) {
    pl_handle* live = live_handle();
    if (live != nullptr && live->sinks.candidate) live->sinks.candidate(id, std::move(candidate));
  };
  events.on_end_of_candidates = [live_handle, id] {
    pl_handle* live = live_handle();
    if (live != nullptr && live->sinks.candidate) live->sinks.candidate(id, std::nullopt);
  };
  events.on_state = [live_handle, id, this](ice::TransportState state, std::optional<Error> error) {
    pl_handle* found = live_handle();
    if (found == nullptr) return;
    pl_handle& live = *found;
    if (live.sinks.state) live.sinks.state(id, state, error);
    const pl_plugin& abi = live.plugin->library.plugin();
    auto report = PL_CALLBACK(abi, media_state);
    if (report == nullptr) return;
    if (state == ice::TransportState::kSecure) report(live.plugin->state, live.state, PL_MEDIA_UP, nullptr);
    if (state == ice::TransportState::kFailed) {
      report(live.plugin->state, live.state, PL_MEDIA_FAILED, error ? error->message.c_str() : nullptr);
    }
    if (state == ice::TransportState::kClosed) media_closed(id, "closed by the client");
  };
  handle.peer = PeerConnectionHandle::create(*handle.worker, worker_index, loop_, media_->settings,
                                             handle.log_context, std::move(events));
  pl_handle* target = &handle;  // outlives its PeerConnection: retire_handle
  MediaHandlerFactory factory = [target](std::vector<AnsweredStream> streams, MediaTransport& transport) {
    auto media = std::make_unique<PluginMedia>(std::move(streams), transport, target->media_sink);
    target->media = media.get();
    return std::unique_ptr<MediaHandler>(std::move(media));
  };
  handle.peer->negotiate(
      std::move(offer_sdp), MediaRole::kPlugin,
      [live_handle](Result<Negotiation> answer) {
        pl_handle* found = live_handle();
        if (found == nullptr || found->retiring) return;
        pl_handle& live = *found;
        const pl_plugin& abi = live.plugin->library.plugin();
        auto negotiated = PL_CALLBACK(abi, negotiated);
        if (!answer && live.peer) {
          live.peer->close();
          live.peer.reset();
        }
        if (negotiated == nullptr) return;
        if (answer) {
          negotiated(live.plugin->state, live.state, PL_OK, answer->answer_sdp.data(), answer->answer_sdp.size());
        } else {
          negotiated(live.plugin->state, live.state, answer.error().code, answer.error().message.data(),
                     answer.error().message.size());
        }
      },
      std::move(factory));
  return PL_OK;
}

int PluginHost::close_media(pl_handle& handle) {
  if (!handle.peer) return error_code::kNotFound;
  handle.peer->close();
  handle.peer.reset();
  if (handle.sinks.state) handle.sinks.state(handle.id, ice::TransportState::kClosed, std::nullopt);
  media_closed(handle.id, "closed by the plugin");
  return PL_OK;
}

void PluginHost::media_closed(const std::string& handle_id, const char* reason) {
  auto found = handles_->by_id.find(handle_id);
  if (found == handles_->by_id.end()) return;
  pl_handle& handle = *found->second;
  const pl_plugin& abi = handle.plugin->library.plugin();
  if (auto report = PL_CALLBACK(abi, media_state)) report(handle.plugin->state, handle.state, PL_MEDIA_CLOSED, reason);
}

Status PluginHost::add_remote_candidate(std::string_view handle_id, const std::string& session_id,
                                        std::optional<std::string> candidate,
                                        std::function<void(Result<bool>)> done) {
  pl_handle* handle = find_handle(handle_id, session_id);
  if (handle == nullptr) {
    return make_error(error_code::kNotFound, "no plugin handle '" + std::string(handle_id) + "' on this session");
  }
  if (!handle->peer) return make_error(error_code::kConflict, "the handle has no PeerConnection yet");
  if (!candidate) {
    handle->peer->end_of_remote_candidates();
    return {};
  }
  handle->peer->add_remote_candidate(std::move(*candidate), std::move(done));
  return {};
}

std::optional<size_t> PluginHost::worker_of(std::string_view handle_id) const {
  auto found = handles_->by_id.find(std::string(handle_id));
  if (found == handles_->by_id.end() || !found->second->peer) return std::nullopt;
  return found->second->worker_index;
}

Status PluginHost::hangup(std::string_view handle_id, const std::string& session_id) {
  pl_handle* handle = find_handle(handle_id, session_id);
  if (handle == nullptr) {
    return make_error(error_code::kNotFound, "no plugin handle '" + std::string(handle_id) + "' on this session");
  }
  if (close_media(*handle) != PL_OK) return make_error(error_code::kNotFound, "the handle has no PeerConnection");
  return {};
}

}  // namespace partyline::core
