// PluginHost: the plugins this server loaded and the handles clients hold on
// them. It loads every shared object in the configured folders
// (PluginLibrary checks each against the ABI), gives each plugin its config
// section and its pl_host (the services of partyline/plugin.h), and turns
// signaling's attach / message / detach into the plugin's callbacks.
//
// Threads: every method runs on the signaling loop given at construction,
// and so do the plugin callbacks it makes, except the media callbacks of a
// handle's PeerConnection (API 1.1), which run on that PeerConnection's
// worker (core::PluginMedia hands them on). Plugins may push events from any
// thread: the event is posted to that loop and delivered there, or dropped
// when its handle is gone by then. A handle's PeerConnection is gone before
// the plugin hears destroy_handle, so no media callback can outlive it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/lines/line_guests.hpp"
#include "core/runtime/config.hpp"
#include "core/runtime/event_loop.hpp"
#include "core/runtime/worker_pool.hpp"
#include "core/session/peer_connection.hpp"
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
  std::string line_mixer = "audiobridge";          // mixes lines of mixed audio (plugin API 1.4)
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

// What a handle's client is told, on the signaling loop: the plugin's events,
// and its PeerConnection's candidates and states.
struct HandleSinks {
  std::function<void(PluginEvent event)> plugin_event;
  // A server ICE candidate ("candidate:..."); nullopt: the last one was sent.
  std::function<void(const std::string& handle_id, std::optional<std::string> candidate)> candidate;
  std::function<void(const std::string& handle_id, ice::TransportState state, const std::optional<Error>& error)>
      state;
};

// What plugin handles' PeerConnections are made with. Without it the host
// serves plugins without media (host->negotiate answers 501).
struct PluginMediaServices {
  WorkerPool* workers = nullptr;
  PeerConnectionSettings settings;
  // Where handles join phone lines (API 1.2; null: line_join answers 501).
  // Needs settings.fabric.
  LineGuests* lines = nullptr;
};

class PluginHost final : public LineMixers {
 public:
  PluginHost(EventLoop& loop, PluginSettings settings, std::optional<PluginMediaServices> media = std::nullopt);
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
                             HandleSinks sinks);
  // A message to one of the session's handles (404 for another session's).
  // The plugin's synchronous reply (a JSON object) when it gave one.
  Result<std::optional<JsonPtr>> message(std::string_view handle_id, const std::string& session_id,
                                         const json_t* body, const std::string* jsep_type,
                                         const std::string* jsep_sdp);
  Status detach(std::string_view handle_id, const std::string& session_id);
  // A client ICE candidate for the handle's PeerConnection (nullopt: end of
  // candidates, `done` not called); `done` gets whether it was used (false:
  // filtered), as for the session's own PeerConnection. 404 for an unknown
  // handle, 409 before the plugin negotiated one.
  Status add_remote_candidate(std::string_view handle_id, const std::string& session_id,
                              std::optional<std::string> candidate, std::function<void(Result<bool>)> done);
  // The client hangs up the handle's PeerConnection (404 without one).
  Status hangup(std::string_view handle_id, const std::string& session_id);
  // The session is gone: every handle it held is destroyed.
  void detach_session(const std::string& session_id);
  // An operator's query (plugin-wide, or about one handle).
  Result<JsonPtr> admin_query(std::string_view plugin, std::optional<std::string_view> handle_id,
                              const json_t* request);

  // The worker of the handle's PeerConnection, if it has one now.
  std::optional<size_t> worker_of(std::string_view handle_id) const;

  struct Loaded;
  struct Handles;

  // Host services of API 1.1 (pl_host.negotiate, close_media), signaling thread.
  int negotiate(pl_handle& handle, std::string offer_sdp);
  int close_media(pl_handle& handle);
  // Host services of API 1.2 (plugin_host_lines.cpp): lines on the
  // signaling thread; timers from it or from the handle's worker.
  int line_join(pl_handle& handle, const pl_line_join& join);
  int line_leave(pl_handle& handle);
  int start_timer(pl_handle& handle, uint32_t period_ms);
  int stop_timer(pl_handle& handle);
  // Host services of API 1.3 (plugin_host_threads.cpp), signaling thread.
  int media_thread(pl_handle& handle);
  int use_media_thread(pl_handle& handle, int index);
  int run_on_media_thread(pl_handle& handle, void (*fn)(void*, void*, void*), void* arg);
  // Ends the worker side of the handle's line seat (announcing its streams
  // removed) once the control plane let it go.
  void end_line_seat(pl_handle& handle);

  // LineMixers (plugin API 1.4, plugin_host_mixers.cpp): a handle of the
  // plugin settings.line_mixer names, of the host's own, per line of mixed
  // audio.
  Status can_mix() const override;
  Status start(const std::string& line_id) override;
  void stop(const std::string& line_id) override;

 private:
  Loaded* find_plugin(std::string_view name);
  const Loaded* find_plugin(std::string_view name) const;
  // A new handle of `plugin` (create_handle called): its id, or the
  // plugin's refusal. `session_id` is "" for the host's own.
  Result<pl_handle*> make_handle(Loaded& plugin, const std::string& session_id, const std::string& log_context,
                                 HandleSinks sinks);
  // Seats the handle in request.line_id through the control plane.
  int take_line_seat(pl_handle& handle, GuestJoin request);
  pl_handle* find_handle(std::string_view handle_id, const std::string& session_id);
  // Closes the handle's PeerConnection, then (once the worker destroyed it)
  // destroys the plugin's handle; `wait`: block until then (shutdown).
  void retire_handle(const std::string& handle_id, bool wait);
  void destroy_handle(const std::string& handle_id);
  void media_closed(const std::string& handle_id, const char* reason);
  // The worker a handle's media, line seat and timer live on: picked at its
  // first need (or set by use_media_thread) and kept, so everything of one
  // handle is ordered on one queue (plugin_host_threads.cpp).
  EventLoop& handle_worker(pl_handle& handle);

  EventLoop& loop_;
  PluginSettings settings_;
  std::optional<PluginMediaServices> media_;
  std::vector<std::unique_ptr<Loaded>> plugins_;
  std::shared_ptr<Handles> handles_;  // shared with events in flight
  std::map<std::string, std::string> mixers_;  // line id -> its mixer's handle id
};

}  // namespace partyline::core
