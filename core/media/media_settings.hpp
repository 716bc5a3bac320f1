// Turns the process configuration into the settings every PeerConnection is
// created with.
#pragma once

#include <memory>

#include "core/runtime/config.hpp"
#include "core/session/peer_connection.hpp"
#include "ice/certificate.hpp"
#include "rtp/result.hpp"

namespace partyline::core {

// Resolves STUN and TURN host names (once, at start-up: libnice wants
// addresses); a name that does not resolve is an error naming it.
Result<PeerConnectionSettings> make_peer_connection_settings(const Config& config,
                                                             std::shared_ptr<const ice::Certificate> certificate);

}  // namespace partyline::core
