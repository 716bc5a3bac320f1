// The plugin host's line mixers (plugin API 1.4): for each line of mixed
// audio, a handle of the host's own on the plugin plugins.line_mixer names
// (the audio bridge by default). The plugin accepts the line in mix_line;
// the handle then takes the line's mixer seat (GuestJoin::mixer), where the
// control plane gives it every occupant's audio and a stream per listener
// (HandleLine::set_listeners), and it sends each its mix with
// line_send_rtp_to. The control plane stops it when the line empties; an
// operator closing the line or removing the handle stops it too.
#include "core/plugins/plugin_handle.hpp"
#include "core/runtime/log.hpp"

namespace partyline::core {

int host_line_send_rtp_to(pl_handle* handle, uint32_t listener, const uint8_t* packet, size_t length) {
  if (handle == nullptr || packet == nullptr) return error_code::kBadRequest;
  if (handle->worker == nullptr || !handle->worker->on_loop_thread() || !handle->guest_media) {
    return error_code::kConflict;
  }
  switch (handle->guest_media->send_rtp_to(listener, std::span(packet, length), g_get_monotonic_time())) {
    case GuestSendResult::kSent: return PL_OK;
    case GuestSendResult::kBadPacket: return error_code::kBadRequest;
    case GuestSendResult::kNoSuchListener: return error_code::kNotFound;
    case GuestSendResult::kNotPublishing:
    case GuestSendResult::kInsideDelivery: return error_code::kConflict;
  }
  return error_code::kInternal;
}

Status PluginHost::can_mix() const {
  if (!media_ || media_->lines == nullptr || media_->settings.fabric == nullptr) {
    return make_error(error_code::kNotImplemented, "this server runs without media");
  }
  const Loaded* plugin = find_plugin(settings_.line_mixer);
  if (plugin == nullptr || PL_CALLBACK(plugin->library.plugin(), mix_line) == nullptr) {
    return make_error(error_code::kNotImplemented, "no loaded plugin mixes audio (plugins.line_mixer is '" +
                                                       settings_.line_mixer + "')");
  }
  return {};
}

Status PluginHost::start(const std::string& line_id) {
  if (auto mixing = can_mix(); !mixing) return mixing;
  if (mixers_.contains(line_id)) return {};
  Loaded& plugin = *find_plugin(settings_.line_mixer);
  auto made = make_handle(plugin, "", "line=" + line_id + " mixer", HandleSinks{});
  if (!made) return made.error();
  pl_handle& handle = **made;
  handle.mixed_line = line_id;
  const pl_plugin& abi = plugin.library.plugin();
  if (const int status = PL_CALLBACK(abi, mix_line)(plugin.state, handle.state, line_id.c_str()); status != PL_OK) {
    retire_handle(handle.id, /*wait=*/false);
    return make_error(client_code(status), "plugin '" + settings_.line_mixer + "' refused to mix the line (" +
                                               std::to_string(status) + ")");
  }
  GuestJoin join;
  join.line_id = line_id;
  join.display_name = "mixer";
  join.mixer = true;
  if (const int status = take_line_seat(handle, std::move(join)); status != PL_OK) {
    retire_handle(handle.id, /*wait=*/false);
    return make_error(client_code(status), "the mixer could not take its seat (" + std::to_string(status) + ")");
  }
  mixers_.emplace(line_id, handle.id);
  return {};
}

void PluginHost::stop(const std::string& line_id) {
  auto found = mixers_.find(line_id);
  if (found == mixers_.end()) return;
  const std::string handle_id = found->second;
  mixers_.erase(found);
  retire_handle(handle_id, /*wait=*/false);
}

}  // namespace partyline::core
