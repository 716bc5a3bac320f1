// Turns the process configuration into the settings every PeerConnection is
// created with.
#pragma once

#include <memory>

#include "core/config.hpp"
#include "core/peer_connection.hpp"
#include "ice/certificate.hpp"

namespace partyline::core {

PeerConnectionSettings make_peer_connection_settings(const Config& config,
                                                     std::shared_ptr<const ice::Certificate> certificate);

}  // namespace partyline::core
