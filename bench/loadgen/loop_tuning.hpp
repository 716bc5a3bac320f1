// Two changes to how the loadgen's GMainContext runs, so that the loop's own
// bookkeeping, not the packets, stops being most of the client's CPU: with
// hundreds of participants in one context, GLib walks every descriptor and
// every source on each iteration.
//
// 1. An epoll-backed poll function: core::install_epoll_poll, the one the
//    server's workers use (core/runtime/epoll_poll.hpp).
// 2. Sources that may recurse (core::SourceRecursionMarker, as the server's
//    workers do: core/runtime/source_recursion.hpp says why).
#pragma once

#include <glib.h>

#include "core/runtime/epoll_poll.hpp"

namespace partyline::loadgen {

using core::install_epoll_poll;

// Marks every source now attached to `context` as allowed to recurse (see
// above); sources attached later keep GLib's default. Returns how many changed.
unsigned let_sources_recurse(GMainContext* context);

}  // namespace partyline::loadgen
