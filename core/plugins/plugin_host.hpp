// PluginHost: the plugins this server loaded and the handles clients hold on
// them. It loads every shared object in the configured folders
// (PluginLibrary checks each against the ABI), gives each plugin its config
// section and its pl_host (the services of partyline/plugin.h), and turns
// signaling's attach / message / detach into the plugin's callbacks.
//
// Threads: every method runs on the signaling loop given at construction,
// and so do the plugin callbacks it makes. Plugins may push events from any
// thread: the event is posted to that loop and delivered there, or dropped
// when its handle is gone by then.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/runtime/config.hpp"
#include "core/runtime/event_loop.hpp"
#include "core/runtime/json.hpp"
#include "core/plugins/plugin_library.hpp"
#include "rtp/result.hpp"

namespace partyline::core {

struct PluginSettings {
  std::vector<std::string> folders;                // searched for *.so, in order
  std::vector<std::string> enabled;                // plugin names to load; empty: every one found
  std::map<std::string, std::string> config_json;  // plugin name -> its config section (a JSON object)
  size_t max_message_bytes = 16384;                // a larger `message` body gets 413
  size_t max_handles_per_session = 16;             // more `attach`es get 503
};

// plugins.* of the config; folders default to the installed plugin folder,
// then the build tree's.
PluginSettings make_plugin_settings(const Config& config);

// An event a plugin pushed to one handle's client.
struct PluginEvent {
  std::string handle_id;
  JsonPtr data;           // a JSON object
  std::string jsep_type;  // "offer" or "answer"; empty: no jsep
  std::string jsep_sdp;
};

struct PluginInfo {
  std::string name, version, description, path, api_version;
  size_t handles = 0;
};

class PluginHost {
 public:
  // Runs on the signaling loop; the handle's client gets `event`.
  using EventSink = std::function<void(PluginEvent event)>;

  PluginHost(EventLoop& loop, PluginSettings settings);
  // Destroys every handle, then every plugin, then unloads them.
  ~PluginHost();
  PluginHost(const PluginHost&) = delete;
  PluginHost& operator=(const PluginHost&) = delete;

  // Loads the plugins of settings.folders. One that fails to load, has
  // another major API version, a name taken already, or fails init is
  // logged with its path (and versions) and skipped.
  void load();
  std::vector<PluginInfo> plugins() const;

  // A client session attaches to `plugin`: the new handle's id, 404 for an
  // unknown plugin, 503 beyond max_handles_per_session, or the plugin's own
  // refusal. `log_context` names the session in log lines.
  Result<std::string> attach(std::string_view plugin, const std::string& session_id, const std::string& log_context,
                             EventSink sink);
  // A message to one of the session's handles (404 for another session's).
  // The plugin's synchronous reply (a JSON object) when it gave one.
  Result<std::optional<JsonPtr>> message(std::string_view handle_id, const std::string& session_id,
                                         const json_t* body, const std::string* jsep_type,
                                         const std::string* jsep_sdp);
  Status detach(std::string_view handle_id, const std::string& session_id);
  // The session is gone: every handle it held is destroyed.
  void detach_session(const std::string& session_id);
  // An operator's query (plugin-wide, or about one handle).
  Result<JsonPtr> admin_query(std::string_view plugin, std::optional<std::string_view> handle_id,
                              const json_t* request);

  struct Loaded;
  struct Handles;

 private:
  Loaded* find_plugin(std::string_view name);
  void destroy_handle(const std::string& handle_id);

  EventLoop& loop_;
  PluginSettings settings_;
  std::vector<std::unique_ptr<Loaded>> plugins_;
  std::shared_ptr<Handles> handles_;  // shared with events in flight
};

}  // namespace partyline::core
