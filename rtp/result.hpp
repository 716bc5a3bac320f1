// Result<T>: the value-or-error type used for everything that handles
// untrusted input (the rule is stated in docs/architecture.md).
//
// It lives in rtp/ because rtp/ is the bottom of the dependency graph; every
// other folder includes it from here.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace partyline {

// An error as a value: a stable numeric code (the protocol's error codes are
// documented in docs/protocol.md) and a precise, human-readable message.
struct Error {
  int code = 0;
  std::string message;
};

// Codes shared by every layer. Layers may use more specific codes from the
// same numeric space (documented where they are defined).
namespace error_code {
inline constexpr int kBadRequest = 400;      // malformed input
inline constexpr int kForbidden = 403;
inline constexpr int kNotFound = 404;
inline constexpr int kConflict = 409;
inline constexpr int kTooLarge = 413;
inline constexpr int kUnsupported = 415;     // well-formed but not supported
inline constexpr int kRateLimited = 429;
inline constexpr int kInternal = 500;
inline constexpr int kNotImplemented = 501;
inline constexpr int kUnavailable = 503;
}  // namespace error_code

inline Error make_error(int code, std::string message) {
  return Error{code, std::move(message)};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(implicit)
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(implicit)

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT(implicit)

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool failed_ = false;
};

using Status = Result<void>;

}  // namespace partyline
