#include "bench/loadgen/loop_tuning.hpp"

namespace partyline::loadgen {

unsigned let_sources_recurse(GMainContext* context) {
  // Source ids are handed out in order per context: attaching a probe gives
  // the newest id, and every live source has a smaller one.
  GSource* probe = g_idle_source_new();
  const guint newest = g_source_attach(probe, context);
  g_source_destroy(probe);
  g_source_unref(probe);
  unsigned changed = 0;
  for (guint id = 1; id < newest; ++id) {
    GSource* source = g_main_context_find_source_by_id(context, id);
    if (source != nullptr && !g_source_get_can_recurse(source)) {
      g_source_set_can_recurse(source, TRUE);
      ++changed;
    }
  }
  return changed;
}

}  // namespace partyline::loadgen
