// What the plugin host's two files share (plugin_host.cpp: loading,
// handles, messages; plugin_host_media.cpp: a handle's PeerConnection): the
// ABI's opaque types as the host defines them, and the host services each
// file gives the pl_host. Private to core/plugins.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <unordered_map>

#include "core/lines/line_guests.hpp"
#include "core/media/guest_media.hpp"
#include "core/media/plugin_media.hpp"
#include "core/plugins/plugin_host.hpp"
#include "core/session/peer_connection_handle.hpp"

namespace partyline::core {

// The pl_host one plugin is given. The ABI struct comes first and the whole
// is standard-layout, so a service handed `const pl_host*` finds the plugin
// it belongs to without a lookup.
struct PluginContext {
  pl_host api;
  const char* name;  // the plugin's own static name, valid while it is loaded
};
static_assert(std::is_standard_layout_v<PluginContext>);

struct PluginHost::Loaded {
  explicit Loaded(PluginLibrary opened) : library(std::move(opened)) {}
  PluginLibrary library;
  PluginContext context{};
  void* state = nullptr;
  size_t handles = 0;
};

// A callback of API 1.1 or later, or null when the plugin's pl_plugin is
// older than that member (it was built against an earlier minor version).
#define PL_CALLBACK(abi, member) \
  ((abi).struct_size >= offsetof(pl_plugin, member) + sizeof((abi).member) ? (abi).member : nullptr)

// Hands a handle's media from its PluginMedia (on the worker) to the plugin.
class HandleMedia final : public PluginMediaSink {
 public:
  explicit HandleMedia(pl_handle& handle) : handle_(handle) {}
  void on_media_rtp(size_t mline, bool video, bool rtx, std::span<uint8_t> packet) override;
  void on_media_rtcp(std::span<const uint8_t> compound) override;
  void on_keyframe_requested(size_t mline) override;
  void on_media_gone(PluginMedia* media) override;

 private:
  pl_handle& handle_;
};

// A handle's seat in a phone line (API 1.2): the control plane's LineGuest
// (signaling thread) and its GuestMedia's sink (the handle's worker), which
// hands the line's streams to the plugin.
class HandleLine final : public LineGuest, public GuestMediaSink {
 public:
  explicit HandleLine(pl_handle& handle) : handle_(handle) {}
  void receive_streams(std::vector<LegRequest> streams) override;
  void removed(const std::string& line_id, const std::string& reason) override;
  void on_stream_added(const GuestStream& stream) override;
  void on_stream_removed(uint32_t number) override;
  void on_stream_rtp(uint32_t number, std::span<const uint8_t> packet) override;
  // API 1.4: a line mixer's listeners.
  void set_listeners(std::vector<ListenerStream> listeners) override;
  void on_listener_added(const GuestListener& listener) override;
  void on_listener_removed(uint32_t number) override;

 private:
  pl_handle& handle_;
};

}  // namespace partyline::core

// The ABI's opaque types, defined where the host needs them (global
// namespace: plugin.h declares them in C).
struct pl_handle {
  std::string id;
  std::string session_id;
  std::string log_context;  // "plugin=NAME handle=ID session=..."
  partyline::core::PluginHost::Loaded* plugin = nullptr;
  partyline::core::PluginHost* host = nullptr;
  void* state = nullptr;
  partyline::core::HandleSinks sinks;
  // API 1.1: the handle's PeerConnection, driven from the signaling thread;
  // `retiring` once it is being closed for detach. `media` is the live
  // PluginMedia, set and read on the PeerConnection's worker only.
  std::shared_ptr<partyline::core::PeerConnectionHandle> peer;
  partyline::core::EventLoop* worker = nullptr;
  std::optional<size_t> worker_index;
  std::atomic<bool> retiring = false;  // written on the signaling thread, read on the worker too
  partyline::core::PluginMedia* media = nullptr;
  partyline::core::HandleMedia media_sink{*this};
  // API 1.2: the line it occupies as the signaling thread knows it ("" for
  // none), and its seat there. On the worker only: its GuestMedia (while in
  // a line) and its timer.
  std::string line_id;
  partyline::core::HandleLine line_seat{*this};
  // API 1.4: the line whose audio this handle of the host's own mixes ("":
  // a client's handle).
  std::string mixed_line;
  std::unique_ptr<partyline::core::GuestMedia> guest_media;
  std::unique_ptr<partyline::core::Timer> timer;
  // What push_event needs from any thread: where to post, and the handle
  // table to find the handle in once there (gone with the host).
  partyline::core::EventLoop* loop = nullptr;
  std::weak_ptr<partyline::core::PluginHost::Handles> handles;
};

struct pl_reply {
  std::string text;
  bool given = false;
};

namespace partyline::core {

struct PluginHost::Handles {
  std::unordered_map<std::string, std::unique_ptr<pl_handle>> by_id;
};

// A plugin's error code as the client sees it: a protocol code, else 500.
int client_code(int code);

// The host services of API 1.1 (plugin_host_media.cpp).
int host_negotiate(pl_handle* handle, const char* offer, size_t length);
int host_send_rtp(pl_handle* handle, uint32_t mline, const uint8_t* packet, size_t length);
int host_send_rtcp(pl_handle* handle, const uint8_t* compound, size_t length);
int host_request_keyframe(pl_handle* handle, uint32_t mline);
int host_close_media(pl_handle* handle);

// The host services of API 1.2 (plugin_host_lines.cpp).
int host_line_join(pl_handle* handle, const pl_line_join* join);
int host_line_leave(pl_handle* handle);
int host_line_send_rtp(pl_handle* handle, const uint8_t* packet, size_t length);
int host_line_request_keyframe(pl_handle* handle, uint32_t stream);
int host_line_nack(pl_handle* handle, uint32_t stream, const uint16_t* sequence_numbers, size_t count);
int host_start_timer(pl_handle* handle, uint32_t period_ms);
int host_stop_timer(pl_handle* handle);

// The host services of API 1.3 (plugin_host_threads.cpp).
int host_media_thread(pl_handle* handle);
int host_use_media_thread(pl_handle* handle, int index);
int host_run_on_media_thread(pl_handle* handle, void (*fn)(void*, void*, void*), void* arg);

// The host services of API 1.4 (plugin_host_mixers.cpp).
int host_line_send_rtp_to(pl_handle* handle, uint32_t listener, const uint8_t* packet, size_t length);

}  // namespace partyline::core
