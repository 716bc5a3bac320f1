#include "bench/forwarding_allocation_counter.hpp"

#include <array>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <new>

#include "rtp/srtp/srtp_session.hpp"

// glibc's allocator under its internal names: what malloc() is when nobody
// interposes it.
extern "C" {
void* __libc_malloc(size_t size);
void* __libc_calloc(size_t count, size_t size);
void* __libc_realloc(void* pointer, size_t size);
void* __libc_memalign(size_t alignment, size_t size);
void __libc_free(void* pointer);
}

namespace {

// Relaxed increments: the count is read only between measured loops, after
// the threads that allocate are joined or quiet.
std::atomic<uint64_t> operator_new_count{0};
std::atomic<uint64_t> malloc_family_count{0};

void* counted_new(size_t size) {
  operator_new_count.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(size == 0 ? 1 : size);
}

void* counted_aligned_new(size_t size, std::align_val_t alignment) {
  operator_new_count.fetch_add(1, std::memory_order_relaxed);
  return __libc_memalign(static_cast<size_t>(alignment), size == 0 ? 1 : size);
}

void* throwing(void* pointer) {
  if (pointer == nullptr) throw std::bad_alloc();
  return pointer;
}

}  // namespace

// ---- the malloc family, for every shared library of the process ----

extern "C" {

void* malloc(size_t size) noexcept {
  malloc_family_count.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(size);
}

void* calloc(size_t count, size_t size) noexcept {
  malloc_family_count.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(count, size);
}

void* realloc(void* pointer, size_t size) noexcept {
  malloc_family_count.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(pointer, size);
}

void free(void* pointer) noexcept { __libc_free(pointer); }

void* memalign(size_t alignment, size_t size) noexcept {
  malloc_family_count.fetch_add(1, std::memory_order_relaxed);
  return __libc_memalign(alignment, size);
}

void* aligned_alloc(size_t alignment, size_t size) noexcept {
  malloc_family_count.fetch_add(1, std::memory_order_relaxed);
  return __libc_memalign(alignment, size);
}

int posix_memalign(void** out, size_t alignment, size_t size) noexcept {
  malloc_family_count.fetch_add(1, std::memory_order_relaxed);
  if (alignment < sizeof(void*) || (alignment & (alignment - 1)) != 0) return EINVAL;
  void* pointer = __libc_memalign(alignment, size);
  if (pointer == nullptr) return ENOMEM;
  *out = pointer;
  return 0;
}

}  // extern "C"

// ---- operator new and delete, every replaceable variant ----

void* operator new(size_t size) { return throwing(counted_new(size)); }
void* operator new[](size_t size) { return throwing(counted_new(size)); }
void* operator new(size_t size, const std::nothrow_t&) noexcept { return counted_new(size); }
void* operator new[](size_t size, const std::nothrow_t&) noexcept { return counted_new(size); }
void* operator new(size_t size, std::align_val_t alignment) { return throwing(counted_aligned_new(size, alignment)); }
void* operator new[](size_t size, std::align_val_t alignment) {
  return throwing(counted_aligned_new(size, alignment));
}
void* operator new(size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept {
  return counted_aligned_new(size, alignment);
}
void* operator new[](size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept {
  return counted_aligned_new(size, alignment);
}

void operator delete(void* pointer) noexcept { __libc_free(pointer); }
void operator delete[](void* pointer) noexcept { __libc_free(pointer); }
void operator delete(void* pointer, size_t) noexcept { __libc_free(pointer); }
void operator delete[](void* pointer, size_t) noexcept { __libc_free(pointer); }
void operator delete(void* pointer, const std::nothrow_t&) noexcept { __libc_free(pointer); }
void operator delete[](void* pointer, const std::nothrow_t&) noexcept { __libc_free(pointer); }
void operator delete(void* pointer, std::align_val_t) noexcept { __libc_free(pointer); }
void operator delete[](void* pointer, std::align_val_t) noexcept { __libc_free(pointer); }
void operator delete(void* pointer, size_t, std::align_val_t) noexcept { __libc_free(pointer); }
void operator delete[](void* pointer, size_t, std::align_val_t) noexcept { __libc_free(pointer); }
void operator delete(void* pointer, std::align_val_t, const std::nothrow_t&) noexcept { __libc_free(pointer); }
void operator delete[](void* pointer, std::align_val_t, const std::nothrow_t&) noexcept { __libc_free(pointer); }

namespace partyline::bench {

AllocationCounts allocation_counts() {
  return {operator_new_count.load(std::memory_order_relaxed), malloc_family_count.load(std::memory_order_relaxed)};
}

bool allocation_counter_sees_shared_libraries() {
  // srtp_create allocates its context inside libsrtp2.so with the C
  // allocator; the operator new of SrtpSession's own bookkeeping (if any) is
  // counted separately, so look at the malloc family alone.
  const std::array<uint8_t, rtp::kSrtpKeyingLength> keying{};
  const uint64_t before = allocation_counts().malloc_family;
  auto session = rtp::SrtpSession::create(rtp::SrtpProfile::kAes128CmHmacSha1_80, rtp::SrtpDirection::kOutbound,
                                          keying);
  return session.ok() && allocation_counts().malloc_family > before;
}

}  // namespace partyline::bench
