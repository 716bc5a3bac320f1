// The outcome of a step that can fail for a reason worth telling someone (a
// file that cannot be opened or written): empty when it went well.
#pragma once

#include <string>
#include <utility>

namespace recorder {

class Status {
 public:
  Status() = default;
  static Status failure(std::string why) { return Status(std::move(why)); }
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

 private:
  explicit Status(std::string error) : error_(std::move(error)) {}
  std::string error_;
};

}  // namespace recorder
