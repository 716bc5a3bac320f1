// The plugin host's half for phone lines and timers (plugin API 1.2): a
// handle joins a line through the control plane (LineGuests), its media is a
// GuestMedia on the handle's worker, and HandleLine hands the line's streams
// to the plugin there. Timers run on the same worker, so a plugin's timer
// and its media callbacks never run at once.
#include <glib.h>

#include "core/runtime/log.hpp"
#include "core/plugins/plugin_handle.hpp"

namespace partyline::core {

namespace {

constexpr size_t kMaxDisplayNameBytes = 64;

// The handle's GuestMedia, when called on its worker while it is in a line.
GuestMedia* worker_guest_media(pl_handle* handle) {
  if (handle == nullptr || handle->worker == nullptr || !handle->worker->on_loop_thread()) return nullptr;
  return handle->guest_media.get();
}

}  // namespace

int host_line_join(pl_handle* handle, const pl_line_join* join) {
  if (handle == nullptr || join == nullptr) return error_code::kBadRequest;
  return handle->host->line_join(*handle, *join);
}

int host_line_leave(pl_handle* handle) {
  if (handle == nullptr) return error_code::kBadRequest;
  return handle->host->line_leave(*handle);
}

int host_line_send_rtp(pl_handle* handle, const uint8_t* packet, size_t length) {
  if (handle == nullptr || packet == nullptr) return error_code::kBadRequest;
  GuestMedia* media = worker_guest_media(handle);
  if (media == nullptr) return error_code::kConflict;
  switch (media->send_rtp(std::span(packet, length), g_get_monotonic_time())) {
    case GuestSendResult::kSent: return PL_OK;
    case GuestSendResult::kBadPacket: return error_code::kBadRequest;
    case GuestSendResult::kNotPublishing:
    case GuestSendResult::kInsideDelivery: return error_code::kConflict;
    case GuestSendResult::kNoSuchListener: break;  // only a mixer's send_rtp_to names a listener
  }
  return error_code::kInternal;
}

int host_line_request_keyframe(pl_handle* handle, uint32_t stream) {
  GuestMedia* media = worker_guest_media(handle);
  if (media == nullptr) return handle == nullptr ? error_code::kBadRequest : error_code::kConflict;
  return media->request_keyframe(stream) ? PL_OK : error_code::kNotFound;
}

int host_line_nack(pl_handle* handle, uint32_t stream, const uint16_t* sequence_numbers, size_t count) {
  if (handle == nullptr || (sequence_numbers == nullptr && count > 0)) return error_code::kBadRequest;
  GuestMedia* media = worker_guest_media(handle);
  if (media == nullptr) return error_code::kConflict;
  return media->nack(stream, std::span(sequence_numbers, count), g_get_monotonic_time()) ? PL_OK
                                                                                          : error_code::kNotFound;
}

int host_start_timer(pl_handle* handle, uint32_t period_ms) {
  if (handle == nullptr || period_ms == 0 || period_ms > 10000) return error_code::kBadRequest;
  return handle->host->start_timer(*handle, period_ms);
}

int host_stop_timer(pl_handle* handle) {
  if (handle == nullptr) return error_code::kBadRequest;
  return handle->host->stop_timer(*handle);
}

int PluginHost::line_join(pl_handle& handle, const pl_line_join& join) {
  if (join.struct_size < offsetof(pl_line_join, publish_audio) + sizeof(join.publish_audio) ||
      join.line_id == nullptr || join.display_name == nullptr) {
    return error_code::kBadRequest;
  }
  const std::string display_name = join.display_name;
  if (display_name.empty() || display_name.size() > kMaxDisplayNameBytes) return error_code::kBadRequest;
  if (!media_ || media_->workers == nullptr || media_->lines == nullptr || media_->settings.fabric == nullptr) {
    return error_code::kNotImplemented;
  }
  if (handle.retiring || !handle.line_id.empty() || !handle.mixed_line.empty()) return error_code::kConflict;
  GuestJoin request;
  request.owner_session = handle.session_id;
  request.line_id = join.line_id;
  request.display_name = display_name;
  request.subscribe = join.subscribe != 0;
  request.publish_audio = join.publish_audio != 0;
  return take_line_seat(handle, std::move(request));
}

int PluginHost::take_line_seat(pl_handle& handle, GuestJoin request) {
  EventLoop& worker = handle_worker(handle);
  request.guest_id = handle.id;
  request.plugin = handle.plugin->library.plugin().name;
  request.worker_index = *handle.worker_index;
  request.guest = &handle.line_seat;
  const std::string line_id = request.line_id, display_name = request.display_name;
  const bool subscribe = request.subscribe, publish_audio = request.publish_audio, mixer = request.mixer;
  auto published = media_->lines->join_guest(std::move(request));
  if (!published) {
    PL_LOG(kInfo, handle.log_context) << "line_join " << line_id << " refused: " << published.error().message;
    return published.error().code;
  }
  handle.line_id = line_id;
  PL_LOG(kInfo, handle.log_context) << "joined line " << handle.line_id << " as '" << display_name << "'"
                                    << (subscribe ? ", subscribing" : "") << (publish_audio ? ", publishing audio" : "")
                                    << (mixer ? ", mixing its audio" : "");
  // The GuestMedia is made on the worker before any stream the control
  // plane gives it (posted later, on the same queue) arrives there.
  WorkerRouter* router = &media_->settings.fabric->router(*handle.worker_index);
  worker.post([target = &handle, router, published = std::move(published.value()), seed = g_random_int()] {
    target->guest_media = std::make_unique<GuestMedia>(*router, target->line_seat, seed);
    for (const PublishedStream& stream : published) target->guest_media->publish(stream.key, stream.format);
  });
  return PL_OK;
}

int PluginHost::line_leave(pl_handle& handle) {
  if (handle.line_id.empty()) return error_code::kNotFound;
  media_->lines->leave_guest(handle.id);
  PL_LOG(kInfo, handle.log_context) << "left line " << handle.line_id;
  end_line_seat(handle);
  return PL_OK;
}

void PluginHost::end_line_seat(pl_handle& handle) {
  handle.line_id.clear();
  // The pl_handle outlives this task: retire_handle destroys it only after
  // a later marker on the same queue returned.
  handle.worker->post([target = &handle] {
    if (!target->guest_media) return;
    target->guest_media->remove_all_streams();
    target->guest_media.reset();
  });
}

int PluginHost::start_timer(pl_handle& handle, uint32_t period_ms) {
  if (!media_ || media_->workers == nullptr) return error_code::kNotImplemented;
  if (handle.retiring) return error_code::kConflict;
  auto start = [target = &handle, period_ms] {
    if (!target->timer) target->timer = std::make_unique<Timer>();
    target->timer->start(target->worker->context(), std::chrono::milliseconds(period_ms), [target] {
      const pl_plugin& abi = target->plugin->library.plugin();
      if (auto tick = PL_CALLBACK(abi, timer)) tick(target->plugin->state, target->state);
      return true;
    });
  };
  if (loop_.on_loop_thread()) {
    handle_worker(handle).post(std::move(start));
    return PL_OK;
  }
  if (handle.worker != nullptr && handle.worker->on_loop_thread()) {
    start();  // at once: the plugin may count on it inside this callback
    return PL_OK;
  }
  return error_code::kConflict;  // a plugin's own thread
}

int PluginHost::stop_timer(pl_handle& handle) {
  // Never started; or the handle is retiring (a stop_timer inside
  // destroy_handle, say): retire_handle has already ended the timer on the
  // worker, and a task posted now would outlive the handle.
  if (handle.worker == nullptr || handle.retiring) return PL_OK;
  if (handle.worker->on_loop_thread()) {
    if (handle.timer) handle.timer->cancel();
    return PL_OK;
  }
  if (!loop_.on_loop_thread()) return error_code::kConflict;
  handle.worker->post([target = &handle] {
    if (target->timer) target->timer->cancel();
  });
  return PL_OK;
}

// ---- HandleLine ----

void HandleLine::receive_streams(std::vector<LegRequest> streams) {
  if (handle_.worker == nullptr) return;
  handle_.worker->post([target = &handle_, streams = std::move(streams)] {
    if (!target->guest_media) return;
    if (const size_t failed = target->guest_media->set_streams(streams); failed > 0) {
      PL_LOG(kWarn, target->log_context) << failed << " of the line's streams could not be forwarded to the plugin";
    }
  });
}

void HandleLine::set_listeners(std::vector<ListenerStream> listeners) {
  if (handle_.worker == nullptr) return;
  handle_.worker->post([target = &handle_, listeners = std::move(listeners)] {
    if (target->guest_media) target->guest_media->set_listeners(listeners);
  });
}

void HandleLine::removed(const std::string& line_id, const std::string& reason) {
  PL_LOG(kInfo, handle_.log_context) << "removed from line " << line_id << ": " << reason;
  handle_.host->end_line_seat(handle_);
  if (!handle_.mixed_line.empty()) {  // the host's own handle: nobody to tell, and no use for it any more
    handle_.host->stop(handle_.mixed_line);
    return;
  }
  const pl_plugin& abi = handle_.plugin->library.plugin();
  if (auto left = PL_CALLBACK(abi, line_left)) left(handle_.plugin->state, handle_.state, line_id.c_str(), reason.c_str());
}

void HandleLine::on_listener_added(const GuestListener& listener) {
  const pl_plugin& abi = handle_.plugin->library.plugin();
  auto added = PL_CALLBACK(abi, line_listener_added);
  if (added == nullptr) return;
  const pl_line_listener announced{sizeof(pl_line_listener), listener.number, listener.occupant.c_str(),
                                   listener.name.c_str()};
  added(handle_.plugin->state, handle_.state, &announced);
}

void HandleLine::on_listener_removed(uint32_t number) {
  const pl_plugin& abi = handle_.plugin->library.plugin();
  if (auto removed = PL_CALLBACK(abi, line_listener_removed)) removed(handle_.plugin->state, handle_.state, number);
}

void HandleLine::on_stream_added(const GuestStream& stream) {
  const pl_plugin& abi = handle_.plugin->library.plugin();
  auto added = PL_CALLBACK(abi, line_stream_added);
  if (added == nullptr) return;
  const pl_line_stream announced{stream.number,
                                 stream.format.kind == rtp::MediaKind::kVideo ? 1 : 0,
                                 stream.format.codec_name.c_str(),
                                 stream.format.clock_rate,
                                 stream.format.payload_type,
                                 stream.publisher.c_str(),
                                 stream.publisher_name.c_str()};
  added(handle_.plugin->state, handle_.state, &announced);
}

void HandleLine::on_stream_removed(uint32_t number) {
  const pl_plugin& abi = handle_.plugin->library.plugin();
  if (auto removed = PL_CALLBACK(abi, line_stream_removed)) removed(handle_.plugin->state, handle_.state, number);
}

void HandleLine::on_stream_rtp(uint32_t number, std::span<const uint8_t> packet) {
  const pl_plugin& abi = handle_.plugin->library.plugin();
  if (auto rtp = PL_CALLBACK(abi, line_rtp)) rtp(handle_.plugin->state, handle_.state, number, packet.data(), packet.size());
}

}  // namespace partyline::core
