// Counts every heap allocation the process makes, on any thread, so a
// benchmark can show how many allocations one forwarded packet costs.
//
// forwarding_allocation_counter.cpp replaces the global operator new/delete
// (every variant) and interposes malloc, calloc, realloc, memalign,
// aligned_alloc and posix_memalign for the whole process (shared libraries
// such as libsrtp2 included: the executable's definitions win at dynamic
// symbol resolution). Each one counts, then forwards to glibc's own allocator
// (__libc_malloc and friends), so memory from either side can be freed by the
// other. Link it only into a benchmark binary, never under sanitizers (they
// interpose the same functions).
#pragma once

#include <cstdint>

namespace partyline::bench {

struct AllocationCounts {
  uint64_t operator_new = 0;  // operator new / new[] in every variant
  uint64_t malloc_family = 0;  // malloc, calloc, realloc, memalign, aligned_alloc, posix_memalign
  uint64_t total() const { return operator_new + malloc_family; }
  AllocationCounts operator-(const AllocationCounts& earlier) const {
    return {operator_new - earlier.operator_new, malloc_family - earlier.malloc_family};
  }
};

// Allocations made so far by all threads.
AllocationCounts allocation_counts();

// True when an allocation made inside a shared library (libsrtp2 creating a
// session) is seen by the counter, i.e. the interposition works. A zero count
// means nothing unless this holds.
bool allocation_counter_sees_shared_libraries();

}  // namespace partyline::bench
