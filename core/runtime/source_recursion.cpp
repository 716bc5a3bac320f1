#include "core/runtime/source_recursion.hpp"

namespace partyline::core {

unsigned SourceRecursionMarker::mark_new_sources() {
  // Attaching a probe yields the newest id; every live source has a smaller one.
  GSource* probe = g_idle_source_new();
  const guint newest = g_source_attach(probe, context_);
  g_source_destroy(probe);
  g_source_unref(probe);
  unsigned changed = 0;
  for (guint id = scanned_below_; id < newest; ++id) {
    // Sources already gone (finished timers, posted tasks) are not found.
    // Timed sources are left blocked: one that re-arms itself while it may
    // recurse (g_source_set_ready_time) signals the context's wake-up every
    // time, the very churn this avoids. Descriptor sources have no ready time.
    GSource* source = g_main_context_find_source_by_id(context_, id);
    if (source != nullptr && g_source_get_ready_time(source) == -1 && !g_source_get_can_recurse(source)) {
      g_source_set_can_recurse(source, TRUE);
      ++changed;
    }
  }
  scanned_below_ = newest + 1;
  return changed;
}

}  // namespace partyline::core
