#include "core/plugins/plugin_library.hpp"

#include <dlfcn.h>

#include <cstddef>

namespace partyline::core {

namespace {

// The size of version 1.0's pl_plugin: everything up to its last member.
constexpr size_t kMinimumPluginStructSize = offsetof(pl_plugin, admin_query) + sizeof(pl_plugin::admin_query);

bool valid_name(const char* name) {
  if (name == nullptr) return false;
  const std::string text(name);
  if (text.empty() || text.size() > 64) return false;
  for (char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string plugin_api_version(uint32_t major, uint32_t minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

void PluginLibrary::Closer::operator()(void* library) const { dlclose(library); }

PluginLibrary::PluginLibrary(std::string path, std::unique_ptr<void, Closer> library, const pl_plugin* plugin)
    : path_(std::move(path)), library_(std::move(library)), plugin_(plugin) {}

Result<PluginLibrary> PluginLibrary::open(const std::string& path) {
  // RTLD_LOCAL: two plugins' symbols never resolve to each other.
  std::unique_ptr<void, Closer> library(dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL));
  if (!library) {
    const char* why = dlerror();
    return make_error(error_code::kBadRequest, std::string("cannot load: ") + (why ? why : "unknown error"));
  }
  void* symbol = dlsym(library.get(), PARTYLINE_PLUGIN_ENTRY_SYMBOL);
  if (symbol == nullptr) {
    return make_error(error_code::kBadRequest, "not a partyline plugin: no " PARTYLINE_PLUGIN_ENTRY_SYMBOL "()");
  }
  const auto entry = reinterpret_cast<pl_plugin_entry_fn>(symbol);
  const pl_plugin* plugin = entry();
  if (plugin == nullptr) return make_error(error_code::kBadRequest, PARTYLINE_PLUGIN_ENTRY_SYMBOL "() returned NULL");
  const std::string host_version =
      plugin_api_version(PARTYLINE_PLUGIN_API_VERSION_MAJOR, PARTYLINE_PLUGIN_API_VERSION_MINOR);
  if (plugin->api_major != PARTYLINE_PLUGIN_API_VERSION_MAJOR) {
    return make_error(error_code::kUnsupported, "built against plugin API " +
                                                    plugin_api_version(plugin->api_major, plugin->api_minor) +
                                                    ", this server has " + host_version +
                                                    " (the major versions differ)");
  }
  if (plugin->struct_size < kMinimumPluginStructSize) {
    return make_error(error_code::kUnsupported, "its pl_plugin is " + std::to_string(plugin->struct_size) +
                                                    " bytes, smaller than API 1.0's " +
                                                    std::to_string(kMinimumPluginStructSize));
  }
  if (!valid_name(plugin->name)) {
    return make_error(error_code::kBadRequest, "its name must be 1-64 characters of [a-z0-9_.-]");
  }
  if (plugin->init == nullptr || plugin->destroy == nullptr || plugin->create_handle == nullptr ||
      plugin->destroy_handle == nullptr || plugin->handle_message == nullptr) {
    return make_error(error_code::kBadRequest, "plugin '" + std::string(plugin->name) +
                                                   "' leaves a required callback NULL (init, destroy, "
                                                   "create_handle, destroy_handle, handle_message)");
  }
  return PluginLibrary(path, std::move(library), plugin);
}

}  // namespace partyline::core
