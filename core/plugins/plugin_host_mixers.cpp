// The plugin host's line mixers (plugin API 1.4): a handle of the host's
// own that mixes a phone line's audio for its occupants.
#include "core/plugins/plugin_handle.hpp"

namespace partyline::core {

int host_line_send_rtp_to(pl_handle* handle, uint32_t, const uint8_t* packet, size_t) {
  if (handle == nullptr || packet == nullptr) return error_code::kBadRequest;
  return error_code::kConflict;  // no handle mixes a line yet
}

}  // namespace partyline::core
