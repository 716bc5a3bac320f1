#include "signaling/request_counts.hpp"

#include <algorithm>
#include <limits>

namespace partyline::signaling {

namespace {

bool is_plain_name(std::string_view name) {
  return !name.empty() && name.size() <= 32 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

}  // namespace

void RequestCounts::count(std::string_view request, int code) {
  std::string name = is_plain_name(request) ? std::string(request) : "other";
  const auto first_of_name = counts_.lower_bound({name, std::numeric_limits<int>::min()});
  const bool known = first_of_name != counts_.end() && first_of_name->first.first == name;
  if (!known && name != "other") {
    if (names_ >= kMaxNames) {
      name = "other";
    } else {
      ++names_;
    }
  }
  ++counts_[{std::move(name), code}];
}

std::vector<RequestCounts::Entry> RequestCounts::snapshot() const {
  std::vector<Entry> entries;
  entries.reserve(counts_.size());
  for (const auto& [key, count] : counts_) entries.push_back(Entry{key.first, key.second, count});
  return entries;
}

RequestCounts& thread_request_counts() {
  thread_local RequestCounts counts;
  return counts;
}

}  // namespace partyline::signaling
