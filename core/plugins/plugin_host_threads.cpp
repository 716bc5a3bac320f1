// The plugin host's media threads (plugin API 1.3): which worker a handle's
// media runs on, handles sharing one (a room's participants, whose mixer
// lives on that thread), and tasks a plugin runs there. Everything of one
// handle is ordered on its worker's queue, which is what retire_handle's
// guarantees (no media callback after destroy_handle) rest on.
#include "core/plugins/plugin_handle.hpp"

namespace partyline::core {

int host_media_thread(pl_handle* handle) {
  if (handle == nullptr) return -1;
  return handle->host->media_thread(*handle);
}

int host_use_media_thread(pl_handle* handle, int index) {
  if (handle == nullptr) return error_code::kBadRequest;
  return handle->host->use_media_thread(*handle, index);
}

int host_run_on_media_thread(pl_handle* handle, void (*fn)(void*, void*, void*), void* arg) {
  if (handle == nullptr || fn == nullptr) return error_code::kBadRequest;
  return handle->host->run_on_media_thread(*handle, fn, arg);
}

EventLoop& PluginHost::handle_worker(pl_handle& handle) {
  if (!handle.worker_index) handle.worker_index = media_->workers->pick_index();
  handle.worker = &media_->workers->worker(*handle.worker_index);
  return *handle.worker;
}

int PluginHost::media_thread(pl_handle& handle) {
  if (!media_ || media_->workers == nullptr) return -1;
  if (handle.retiring) return -1;
  handle_worker(handle);
  return static_cast<int>(*handle.worker_index);
}

int PluginHost::use_media_thread(pl_handle& handle, int index) {
  if (!media_ || media_->workers == nullptr) return error_code::kNotImplemented;
  if (index < 0 || static_cast<size_t>(index) >= media_->workers->size()) return error_code::kBadRequest;
  if (handle.retiring) return error_code::kConflict;
  if (handle.worker_index) return *handle.worker_index == static_cast<size_t>(index) ? PL_OK : error_code::kConflict;
  handle.worker_index = static_cast<size_t>(index);
  handle_worker(handle);
  return PL_OK;
}

int PluginHost::run_on_media_thread(pl_handle& handle, void (*fn)(void*, void*, void*), void* arg) {
  if (!media_ || media_->workers == nullptr) return error_code::kNotImplemented;
  // Once retiring, the marker that ends the handle's life on the worker is
  // queued already: a task posted after it would outlive the handle.
  if (handle.retiring) return error_code::kConflict;
  handle_worker(handle).post([target = &handle, fn, arg] { fn(target->plugin->state, target->state, arg); });
  return PL_OK;
}

}  // namespace partyline::core
