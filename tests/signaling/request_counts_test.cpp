#include "signaling/request_counts.hpp"

#include <gtest/gtest.h>

#include <string>

namespace partyline::signaling {
namespace {

TEST(RequestCountsTest, CountsByNameAndCode) {
  RequestCounts counts;
  counts.count("join", 200);
  counts.count("join", 200);
  counts.count("join", 403);
  counts.count("ping", 200);
  const auto entries = counts.snapshot();
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].request, "join");
  EXPECT_EQ(entries[0].code, 200);
  EXPECT_EQ(entries[0].count, 2u);
  EXPECT_EQ(entries[1].code, 403);
  EXPECT_EQ(entries[2].request, "ping");
}

TEST(RequestCountsTest, ClientChosenNamesCannotGrowTheLabelSetWithoutBound) {
  RequestCounts counts;
  counts.count("Robert'); DROP", 404);       // not a plain name
  counts.count(std::string(33, 'a'), 404);  // too long
  counts.count("", 400);
  for (size_t i = 0; i < 2 * RequestCounts::kMaxNames; ++i) counts.count("name_" + std::to_string(i), 404);
  counts.count("name_0", 404);  // a name already counted stays itself
  size_t named = 0;
  uint64_t other = 0;
  for (const auto& entry : counts.snapshot()) {
    if (entry.request == "other") {
      other += entry.count;
    } else {
      ++named;
      EXPECT_EQ(entry.count, entry.request == "name_0" ? 2u : 1u) << entry.request;
    }
  }
  EXPECT_EQ(named, RequestCounts::kMaxNames);
  EXPECT_EQ(other, 3u + RequestCounts::kMaxNames);
}

}  // namespace
}  // namespace partyline::signaling
