#include "bench/loadgen/loop_tuning.hpp"

#include "core/runtime/source_recursion.hpp"

namespace partyline::loadgen {

unsigned let_sources_recurse(GMainContext* context) {
  return core::SourceRecursionMarker(context).mark_new_sources();
}

}  // namespace partyline::loadgen
