// Loading plugins, their handles and messages; a handle's PeerConnection is
// in plugin_host_media.cpp.
#include "core/plugins/plugin_host.hpp"

#include <algorithm>
#include <filesystem>
#include <random>
#include <unordered_map>

#include "core/plugins/plugin_handle.hpp"
#include "core/runtime/log.hpp"

namespace partyline::core {
namespace {

LogLevel to_log_level(pl_log_level level) {
  switch (level) {
    case PL_LOG_ERROR: return LogLevel::kError;
    case PL_LOG_WARN: return LogLevel::kWarn;
    case PL_LOG_INFO: return LogLevel::kInfo;
    case PL_LOG_DEBUG: return LogLevel::kDebug;
  }
  return LogLevel::kInfo;
}

void host_log(const pl_host* host, const pl_handle* handle, pl_log_level level, const char* message, size_t length) {
  const LogLevel log_level = to_log_level(level);
  if (!log_enabled(log_level) || host == nullptr || message == nullptr) return;
  const auto* context = reinterpret_cast<const PluginContext*>(host);
  LogLine(log_level, handle != nullptr ? handle->log_context : std::string("plugin=") + context->name)
      << std::string_view(message, length);
}

int host_push_event(pl_handle* handle, const char* json, size_t json_length, const char* jsep_type,
                    const char* jsep_sdp, size_t jsep_sdp_length) {
  if (handle == nullptr || json == nullptr) return error_code::kBadRequest;
  auto data = parse_json_object(std::string_view(json, json_length));
  if (!data) return error_code::kBadRequest;
  auto event = std::make_shared<PluginEvent>();
  event->data = std::move(data.value());
  if (jsep_type != nullptr) {
    const std::string_view type(jsep_type);
    if ((type != "offer" && type != "answer") || jsep_sdp == nullptr || jsep_sdp_length == 0) {
      return error_code::kBadRequest;
    }
    event->jsep_type = type;
    event->jsep_sdp.assign(jsep_sdp, jsep_sdp_length);
  }
  handle->loop->post([handles = handle->handles, id = handle->id, event] {
    auto table = handles.lock();
    if (!table) return;
    auto found = table->by_id.find(id);
    if (found == table->by_id.end() || !found->second->sinks.plugin_event) return;
    event->handle_id = id;
    found->second->sinks.plugin_event(std::move(*event));
  });
  return PL_OK;
}

int host_reply(pl_reply* reply, const char* text, size_t length) {
  if (reply == nullptr || text == nullptr) return error_code::kBadRequest;
  reply->text.assign(text, length);
  reply->given = true;
  return PL_OK;
}

const char* host_handle_id(const pl_handle* handle) { return handle != nullptr ? handle->id.c_str() : ""; }

std::string new_handle_id() {
  static std::mt19937_64 generator{std::random_device{}()};
  static constexpr char kDigits[] = "0123456789abcdef";
  uint64_t value = generator();
  std::string id(16, '0');
  for (char& digit : id) {
    digit = kDigits[value & 0xF];
    value >>= 4;
  }
  return id;
}

}  // namespace

int client_code(int code) { return code >= 400 && code <= 599 ? code : error_code::kInternal; }

PluginSettings make_plugin_settings(const Config& config) {
  PluginSettings settings;
  settings.folders = config.plugins.folders;
  if (settings.folders.empty()) settings.folders = {PARTYLINE_INSTALLED_PLUGIN_DIR, PARTYLINE_BUILD_PLUGIN_DIR};
  settings.enabled = config.plugins.enabled;
  settings.config_json = config.plugins.config;
  settings.max_message_bytes = config.plugins.max_message_bytes;
  settings.max_handles_per_session = config.plugins.max_handles_per_session;
  settings.line_mixer = config.plugins.line_mixer;
  return settings;
}

PluginHost::PluginHost(EventLoop& loop, PluginSettings settings, std::optional<PluginMediaServices> media)
    : loop_(loop), settings_(std::move(settings)), media_(std::move(media)), handles_(std::make_shared<Handles>()) {}

PluginHost::~PluginHost() {
  std::vector<std::string> ids;
  for (const auto& [id, handle] : handles_->by_id) ids.push_back(id);
  for (const std::string& id : ids) retire_handle(id, /*wait=*/true);
  for (auto it = plugins_.rbegin(); it != plugins_.rend(); ++it) (*it)->library.plugin().destroy((*it)->state);
  handles_.reset();
  plugins_.clear();  // unloads, last
}

void PluginHost::load() {
  std::vector<std::string> paths;
  for (const std::string& folder : settings_.folders) {
    std::error_code error;
    std::vector<std::string> found;
    for (const auto& entry : std::filesystem::directory_iterator(folder, error)) {
      if (entry.path().extension() == ".so") found.push_back(entry.path().string());
    }
    if (error) {
      PL_LOG(kDebug, "server") << "plugin folder " << folder << ": " << error.message();
      continue;
    }
    std::sort(found.begin(), found.end());
    paths.insert(paths.end(), found.begin(), found.end());
  }
  for (const std::string& path : paths) {
    auto library = PluginLibrary::open(path);
    if (!library) {
      PL_LOG(kWarn, "server") << "plugin " << path << ": " << library.error().message << ": skipped";
      continue;
    }
    const std::string name = library->name();
    if (!settings_.enabled.empty() &&
        std::find(settings_.enabled.begin(), settings_.enabled.end(), name) == settings_.enabled.end()) {
      PL_LOG(kInfo, "server") << "plugin " << path << ": '" << name << "' is not in plugins.enabled: skipped";
      continue;
    }
    if (Loaded* taken = find_plugin(name)) {
      PL_LOG(kWarn, "server") << "plugin " << path << ": the name '" << name << "' is taken by "
                              << taken->library.path() << ": skipped";
      continue;
    }
    auto plugin = std::make_unique<Loaded>(std::move(library.value()));
    const pl_plugin& abi = plugin->library.plugin();
    plugin->context.api = pl_host{PARTYLINE_PLUGIN_API_VERSION_MAJOR,
                                  PARTYLINE_PLUGIN_API_VERSION_MINOR,
                                  sizeof(pl_host),
                                  &host_log,
                                  &host_push_event,
                                  &host_reply,
                                  &host_handle_id,
                                  &host_negotiate,
                                  &host_send_rtp,
                                  &host_send_rtcp,
                                  &host_request_keyframe,
                                  &host_close_media,
                                  &host_line_join,
                                  &host_line_leave,
                                  &host_line_send_rtp,
                                  &host_line_request_keyframe,
                                  &host_line_nack,
                                  &host_start_timer,
                                  &host_stop_timer,
                                  &host_media_thread,
                                  &host_use_media_thread,
                                  &host_run_on_media_thread,
                                  &host_line_send_rtp_to};
    plugin->context.name = abi.name;
    auto config = settings_.config_json.find(name);
    const std::string config_json = config != settings_.config_json.end() ? config->second : "{}";
    const int status = abi.init(&plugin->context.api, config_json.c_str(), config_json.size(), &plugin->state);
    if (status != PL_OK) {
      PL_LOG(kWarn, "server") << "plugin " << path << ": '" << name << "' init failed with " << status << ": skipped";
      continue;
    }
    PL_LOG(kInfo, "server") << "plugin '" << name << "' " << (abi.version ? abi.version : "") << " loaded from "
                            << path << " (plugin API "
                            << plugin_api_version(abi.api_major, abi.api_minor) << ")";
    plugins_.push_back(std::move(plugin));
  }
}

std::vector<PluginInfo> PluginHost::plugins() const {
  std::vector<PluginInfo> infos;
  for (const auto& plugin : plugins_) {
    const pl_plugin& abi = plugin->library.plugin();
    infos.push_back(PluginInfo{abi.name, abi.version ? abi.version : "", abi.description ? abi.description : "",
                               plugin->library.path(), plugin_api_version(abi.api_major, abi.api_minor),
                               plugin->handles});
  }
  return infos;
}

PluginHost::Loaded* PluginHost::find_plugin(std::string_view name) {
  return const_cast<Loaded*>(static_cast<const PluginHost*>(this)->find_plugin(name));
}

const PluginHost::Loaded* PluginHost::find_plugin(std::string_view name) const {
  for (const auto& plugin : plugins_) {
    if (plugin->library.plugin().name == name) return plugin.get();
  }
  return nullptr;
}

Result<std::string> PluginHost::attach(std::string_view plugin_name, const std::string& session_id,
                                       const std::string& log_context, HandleSinks sinks) {
  Loaded* plugin = find_plugin(plugin_name);
  if (plugin == nullptr) return make_error(error_code::kNotFound, "no plugin '" + std::string(plugin_name) + "'");
  const size_t held = static_cast<size_t>(std::count_if(
      handles_->by_id.begin(), handles_->by_id.end(), [&](const auto& entry) { return entry.second->session_id == session_id; }));
  if (held >= settings_.max_handles_per_session) {
    return make_error(error_code::kUnavailable, "this session holds " + std::to_string(held) +
                                                    " plugin handles already (plugins.max_handles_per_session)");
  }
  auto handle = make_handle(*plugin, session_id, log_context, std::move(sinks));
  if (!handle) return handle.error();
  return (*handle)->id;
}

Result<pl_handle*> PluginHost::make_handle(Loaded& plugin, const std::string& session_id,
                                           const std::string& log_context, HandleSinks sinks) {
  const std::string plugin_name = plugin.library.plugin().name;
  auto handle = std::make_unique<pl_handle>();
  handle->id = new_handle_id();
  while (handles_->by_id.contains(handle->id)) handle->id = new_handle_id();
  handle->session_id = session_id;
  handle->log_context = "plugin=" + plugin_name + " handle=" + handle->id + " " + log_context;
  handle->plugin = &plugin;
  handle->host = this;
  handle->sinks = std::move(sinks);
  handle->loop = &loop_;
  handle->handles = handles_;
  const pl_plugin& abi = plugin.library.plugin();
  const int status = abi.create_handle(plugin.state, handle.get(), &handle->state);
  if (status != PL_OK) {
    return make_error(client_code(status), "plugin '" + plugin_name + "' refused the handle (" +
                                               std::to_string(status) + ")");
  }
  ++plugin.handles;
  PL_LOG(kDebug, handle->log_context) << "attached";
  pl_handle* made = handle.get();
  handles_->by_id.emplace(made->id, std::move(handle));
  return made;
}

Result<std::optional<JsonPtr>> PluginHost::message(std::string_view handle_id, const std::string& session_id,
                                                   const json_t* body, const std::string* jsep_type,
                                                   const std::string* jsep_sdp) {
  pl_handle* found = find_handle(handle_id, session_id);
  if (found == nullptr) {
    return make_error(error_code::kNotFound, "no plugin handle '" + std::string(handle_id) + "' on this session");
  }
  pl_handle& handle = *found;
  const std::string text = dump_json(body);
  if (text.size() > settings_.max_message_bytes) {
    return make_error(error_code::kTooLarge, "the message body is " + std::to_string(text.size()) +
                                                 " bytes, over plugins.max_message_bytes (" +
                                                 std::to_string(settings_.max_message_bytes) + ")");
  }
  const pl_plugin& abi = handle.plugin->library.plugin();
  pl_reply reply;
  const int status =
      abi.handle_message(handle.plugin->state, handle.state, text.data(), text.size(),
                         jsep_type ? jsep_type->c_str() : nullptr, jsep_sdp ? jsep_sdp->data() : nullptr,
                         jsep_sdp ? jsep_sdp->size() : 0, &reply);
  if (status != PL_OK) {
    return make_error(client_code(status), reply.given && !reply.text.empty()
                                               ? reply.text
                                               : "plugin '" + std::string(abi.name) + "' refused the message (" +
                                                     std::to_string(status) + ")");
  }
  if (!reply.given) return std::optional<JsonPtr>();
  auto data = parse_json_object(reply.text);
  if (!data) {
    PL_LOG(kWarn, handle.log_context) << "replied with something that is not a JSON object";
    return make_error(error_code::kInternal, "plugin '" + std::string(abi.name) + "' gave an invalid reply");
  }
  return std::optional<JsonPtr>(std::move(data.value()));
}

pl_handle* PluginHost::find_handle(std::string_view handle_id, const std::string& session_id) {
  auto found = handles_->by_id.find(std::string(handle_id));
  if (found == handles_->by_id.end() || found->second->session_id != session_id || found->second->retiring) {
    return nullptr;
  }
  return found->second.get();
}

Status PluginHost::detach(std::string_view handle_id, const std::string& session_id) {
  if (find_handle(handle_id, session_id) == nullptr) {
    return make_error(error_code::kNotFound, "no plugin handle '" + std::string(handle_id) + "' on this session");
  }
  retire_handle(std::string(handle_id), /*wait=*/false);
  return {};
}

void PluginHost::detach_session(const std::string& session_id) {
  std::vector<std::string> ids;
  for (const auto& [id, handle] : handles_->by_id) {
    if (handle->session_id == session_id && !handle->retiring) ids.push_back(id);
  }
  for (const std::string& id : ids) retire_handle(id, /*wait=*/false);
}

void PluginHost::retire_handle(const std::string& handle_id, bool wait) {
  auto found = handles_->by_id.find(handle_id);
  if (found == handles_->by_id.end()) return;
  pl_handle& handle = *found->second;
  handle.retiring = true;
  if (handle.peer) {
    handle.peer->close();
    handle.peer.reset();
  }
  if (!handle.line_id.empty()) {
    media_->lines->leave_guest(handle.id);
    end_line_seat(handle);
  }
  if (handle.worker == nullptr) {  // never had media or a timer
    destroy_handle(handle_id);
    return;
  }
  handle.worker->post([target = &handle] {
    target->timer.reset();
    const pl_plugin& abi = target->plugin->library.plugin();
    if (auto released = PL_CALLBACK(abi, media_thread_released)) released(target->plugin->state, target->state);
  });
  // The worker runs its queue in order: the PeerConnection's close (this
  // one, or an earlier close_media's), the line seat's end, tasks of
  // run_on_media_thread, the timer's end and media_thread_released run
  // before the marker, so no media or timer callback of the handle can
  // follow destroy_handle.
  if (wait) {  // shutdown: the worker still runs
    handle.worker->run_sync([] {});
    destroy_handle(handle_id);
    return;
  }
  handle.worker->post([handles = std::weak_ptr<Handles>(handles_), host = this, handle_id, loop = &loop_] {
    loop->post([handles, host, handle_id] {
      if (handles.lock()) host->destroy_handle(handle_id);
    });
  });
}

void PluginHost::destroy_handle(const std::string& handle_id) {
  auto found = handles_->by_id.find(handle_id);
  if (found == handles_->by_id.end()) return;
  std::unique_ptr<pl_handle> handle = std::move(found->second);
  handles_->by_id.erase(found);
  handle->plugin->library.plugin().destroy_handle(handle->plugin->state, handle->state);
  --handle->plugin->handles;
  PL_LOG(kDebug, handle->log_context) << "detached";
}

Result<JsonPtr> PluginHost::admin_query(std::string_view plugin_name, std::optional<std::string_view> handle_id,
                                        const json_t* request) {
  Loaded* plugin = find_plugin(plugin_name);
  if (plugin == nullptr) return make_error(error_code::kNotFound, "no plugin '" + std::string(plugin_name) + "'");
  const pl_plugin& abi = plugin->library.plugin();
  if (abi.admin_query == nullptr) {
    return make_error(error_code::kNotImplemented, "plugin '" + std::string(plugin_name) + "' answers no queries");
  }
  void* handle_state = nullptr;
  if (handle_id) {
    auto found = handles_->by_id.find(std::string(*handle_id));
    if (found == handles_->by_id.end() || found->second->plugin != plugin) {
      return make_error(error_code::kNotFound, "no handle '" + std::string(*handle_id) + "' of this plugin");
    }
    handle_state = found->second->state;
  }
  const std::string text = dump_json(request);
  pl_reply reply;
  const int status = abi.admin_query(plugin->state, handle_state, text.data(), text.size(), &reply);
  if (status != PL_OK) {
    return make_error(client_code(status), reply.given ? reply.text : "the plugin refused the query");
  }
  auto data = parse_json_object(reply.given ? reply.text : "{}");
  if (!data) return make_error(error_code::kInternal, "plugin '" + std::string(plugin_name) + "' gave an invalid reply");
  return std::move(data.value());
}

}  // namespace partyline::core
