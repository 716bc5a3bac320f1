// PluginLibrary: one plugin shared object, loaded and checked against the
// plugin ABI (core/include/partyline/plugin.h) before anything in it runs
// beyond its entry function. A library that cannot be used says why, in a
// sentence naming its path and both API versions where they matter.
#pragma once

#include <memory>
#include <string>

#include "partyline/plugin.h"
#include "rtp/result.hpp"

namespace partyline::core {

class PluginLibrary {
 public:
  // dlopen + partyline_plugin_entry() + the checks: same major version, a
  // pl_plugin at least as large as version 1.0's, a valid name, and the
  // callbacks every plugin must have.
  static Result<PluginLibrary> open(const std::string& path);

  const std::string& path() const { return path_; }
  const pl_plugin& plugin() const { return *plugin_; }
  std::string name() const { return plugin_->name; }

 private:
  struct Closer {
    void operator()(void* library) const;
  };
  PluginLibrary(std::string path, std::unique_ptr<void, Closer> library, const pl_plugin* plugin);

  std::string path_;
  std::unique_ptr<void, Closer> library_;
  const pl_plugin* plugin_;  // inside library_
};

// "1.0"
std::string plugin_api_version(uint32_t major, uint32_t minor);

}  // namespace partyline::core
