// Lets the sources of a worker's context recurse, so that GLib stops
// blocking them around each dispatch.
//
// Why: GLib blocks a source that may not recurse while it dispatches it: it
// takes the source's descriptors out of the poll set and puts them back
// afterwards, and each of those writes the context's wake-up descriptor,
// which makes the next wait return at once for an empty iteration. For a
// libnice socket that is two writes and one extra walk over every source of
// the worker (a few hundred with fifty PeerConnections) per received packet.
// Blocking only matters when a context is iterated recursively, from inside
// one of its own callbacks; nothing iterates a worker's context that way.
//
// libnice attaches its sources itself and does not hand them out, so they
// are found by id: ids are given out in increasing order per context, and
// each call looks only at the ids given out since the previous one.
#pragma once

#include <glib.h>

namespace partyline::core {

class SourceRecursionMarker {
 public:
  explicit SourceRecursionMarker(GMainContext* context) : context_(context) {}

  // Marks every untimed source (a socket's, say) attached since the last
  // call (all of them, the first time) as allowed to recurse; returns how
  // many it changed. Call it on the thread that iterates the context.
  unsigned mark_new_sources();

 private:
  GMainContext* context_;
  guint scanned_below_ = 1;  // ids below this were looked at
};

}  // namespace partyline::core
