// ParseResult<T, E>: the allocation-free value-or-error type of the packet hot
// path. Result<T> (rtp/result.hpp) carries a std::string message, which would
// allocate for every malformed packet an attacker sends; here the error is a
// small enum (or enum + offset) whose text is produced only when a caller at
// the edge wants to log or report it (see to_error()).
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "rtp/result.hpp"

namespace partyline::rtp {

template <typename T, typename E>
class [[nodiscard]] ParseResult {
 public:
  ParseResult(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(implicit)
  ParseResult(E error) : state_(std::in_place_index<1>, error) {}  // NOLINT(implicit)

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  E error() const { return std::get<1>(state_); }

 private:
  std::variant<T, E> state_;
};

// Converts a hot-path error into the allocating Error of the outer layers.
// Works for any error type with a to_string() found by argument lookup.
template <typename E>
Error to_error(E error) {
  return make_error(error_code::kBadRequest, std::string(to_string(error)));
}

}  // namespace partyline::rtp
