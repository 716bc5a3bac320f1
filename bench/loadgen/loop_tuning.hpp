// Two changes to how the loadgen's GMainContext runs, so that the loop's own
// bookkeeping, not the packets, stops being most of the client's CPU: with
// hundreds of participants in one context, GLib walks every descriptor and
// every source on each iteration.
//
// 1. An epoll-backed poll function. GLib hands its poll function every
//    descriptor on every iteration; poll() made the kernel walk all of them
//    (a quarter of the CPU at 50 subscribers). epoll keeps registrations
//    between iterations, so a wait costs in proportion to what is ready.
//    GLib's array does not say whether a descriptor was closed and its
//    number reused since the last call (epoll forgets a closed one), so all
//    registrations are redone every 200 ms: such a descriptor is served
//    late (no wait lasts longer than that), never lost for good.
// 2. Sources that may recurse. GLib blocks a source while dispatching it:
//    it removes its descriptors from the poll set and adds them back, each
//    time writing the context's wake-up eventfd, which also makes the next
//    wait return at once. Marking every source of the context "can recurse"
//    skips that; it is safe because nothing here runs the context
//    recursively.
#pragma once

#include <glib.h>

namespace partyline::loadgen {

// Makes `context` poll through epoll. At most one context per process.
// Returns false (and leaves GLib's poll in place) if epoll is unavailable.
bool install_epoll_poll(GMainContext* context);

// Marks every source now attached to `context` as allowed to recurse (see
// above); sources attached later keep GLib's default. Returns how many changed.
unsigned let_sources_recurse(GMainContext* context);

}  // namespace partyline::loadgen
