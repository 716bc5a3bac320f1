// Shared by the fuzz targets: the invariant check and span containment.
#pragma once

#include <cstdint>
#include <cstdio>
#include <span>
#include <string_view>

// An invariant violation is a bug in the code under test: say which one, then
// trap so libFuzzer (and the replay driver under ASan) report it with a stack.
#define FUZZ_REQUIRE(condition)                                                              \
  do {                                                                                       \
    if (!(condition)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #condition); \
      __builtin_trap();                                                                      \
    }                                                                                        \
  } while (false)

namespace partyline::fuzz {

// True when `part` lies within `whole` (an empty part may point anywhere in
// or just past it, or be null).
inline bool inside(std::span<const uint8_t> part, std::span<const uint8_t> whole) {
  const auto begin = reinterpret_cast<uintptr_t>(whole.data());
  const auto end = begin + whole.size();
  const auto part_begin = reinterpret_cast<uintptr_t>(part.data());
  if (part.empty()) return part.data() == nullptr || (part_begin >= begin && part_begin <= end);
  return part_begin >= begin && part_begin + part.size() <= end;
}

inline bool inside(std::string_view part, std::span<const uint8_t> whole) {
  return inside(std::span(reinterpret_cast<const uint8_t*>(part.data()), part.size()), whole);
}

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace partyline::fuzz
