// The running server: certificate, media workers, signaling loop and HTTP
// server, started in dependency order and stopped in reverse.
#pragma once

#include <signal.h>

#include "core/runtime/config.hpp"

namespace partyline::signaling {

// Runs until one of `shutdown_signals` (blocked in every thread by the
// caller) arrives; returns the process exit code.
int run_server(const core::Config& config, const sigset_t& shutdown_signals);

}  // namespace partyline::signaling
