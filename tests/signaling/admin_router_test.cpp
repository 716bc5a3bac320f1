#include "signaling/admin/admin_router.hpp"

#include <gtest/gtest.h>

#include <string>

#include "signaling/admin/admin_http_server.hpp"
#include "signaling/admin/admin_metrics.hpp"

namespace partyline::signaling::admin {
namespace {

AdminRouter table() {
  AdminRouter router;
  auto none = [](AdminRequest, AdminReply) {};
  router.add({"GET", "/admin/v1/info", false, none});
  router.add({"GET", "/admin/v1/sessions/{id}", false, none});
  router.add({"DELETE", "/admin/v1/sessions/{id}", false, none});
  router.add({"POST", "/admin/v1/plugins/{name}/handles/{handle}", true, none});
  return router;
}

TEST(AdminRouterTest, MatchesMethodAndPathAndTakesThePlaceholders) {
  const AdminRouter router = table();
  RouteMatch match = router.match("DELETE", "/admin/v1/sessions/6f1c");
  ASSERT_NE(match.route, nullptr);
  EXPECT_EQ(match.route->method, "DELETE");
  EXPECT_EQ(match.params, std::vector<std::string>{"6f1c"});
  match = router.match("POST", "/admin/v1/plugins/example/handles/9f2c");
  ASSERT_NE(match.route, nullptr);
  EXPECT_EQ(match.params, (std::vector<std::string>{"example", "9f2c"}));
  EXPECT_TRUE(match.route->takes_json_body);
}

TEST(AdminRouterTest, TellsAnUnknownPathFromAWrongMethod) {
  const AdminRouter router = table();
  struct Case {
    const char* method;
    const char* path;
    bool path_known;
    const char* allowed;
  } cases[] = {
      {"GET", "/admin/v1/nosuch", false, ""},
      {"GET", "/admin/v1/sessions/", false, ""},      // an empty id is no id
      {"GET", "/admin/v1/sessions", false, ""},
      {"GET", "/admin/v1/sessions/a/b", false, ""},
      {"GET", "/admin/v1/info/", false, ""},
      {"GET", "", false, ""},
      {"GET", "admin/v1/info", false, ""},
      {"PUT", "/admin/v1/info", true, "GET"},
      {"POST", "/admin/v1/sessions/x", true, "GET, DELETE"},
  };
  for (const auto& test : cases) {
    RouteMatch match = router.match(test.method, test.path);
    EXPECT_EQ(match.route, nullptr) << test.method << " " << test.path;
    EXPECT_EQ(match.path_known, test.path_known) << test.method << " " << test.path;
    EXPECT_EQ(match.allowed_methods, test.allowed) << test.method << " " << test.path;
  }
}

// The dashboard's files: literal routes served without the token, so that
// no other path (a one-segment unknown one included) becomes open.
TEST(AdminRouterTest, OnlyTheDashboardsOwnPathsAreOpen) {
  AdminRouter router = table();
  auto none = [](AdminRequest, AdminReply) {};
  router.add({"GET", "/", false, none, true});
  router.add({"GET", "/dashboard.js", false, none, true});
  struct Case {
    const char* method;
    const char* path;
    bool open;
  } cases[] = {
      {"GET", "/", true},
      {"GET", "/dashboard.js", true},
      {"GET", "/dashboard.js/", false},
      {"GET", "//", false},
      {"GET", "/nosuch", false},
      {"GET", "/admin/v1/info", false},
      {"POST", "/", false},  // 405, after the token check
  };
  for (const Case& test : cases) {
    const RouteMatch match = router.match(test.method, test.path);
    const bool open = match.route != nullptr && match.route->without_token;
    EXPECT_EQ(open, test.open) << test.method << " " << test.path;
  }
  EXPECT_TRUE(router.match("POST", "/").path_known);
}

TEST(AdminRouterTest, ErrorBodiesAreJsonWithCodeAndReason) {
  AdminResponse response = error_response(404, "no session \"x\"");
  EXPECT_EQ(response.status, 404u);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(response.body, "{\"error\":{\"code\":404,\"reason\":\"no session \\\"x\\\"\"}}\n");
}

TEST(AdminTokenTest, OnlyTheExactTokenMatches) {
  EXPECT_TRUE(token_matches("s3cret", "s3cret"));
  EXPECT_FALSE(token_matches("s3cres", "s3cret"));
  EXPECT_FALSE(token_matches("s3cret ", "s3cret"));
  EXPECT_FALSE(token_matches("s3cre", "s3cret"));
  EXPECT_FALSE(token_matches("", "s3cret"));
  EXPECT_FALSE(token_matches("", ""));  // no token configured is never "matched"
  EXPECT_FALSE(token_matches(std::string("s3cret\0x", 8), "s3cret"));
}

TEST(AdminMetricsTest, TotalsAreTheSumOfTheWorkersAndEveryFamilyIsDeclared) {
  MetricsSnapshot snapshot;
  snapshot.sessions = 3;
  snapshot.lines = 1;
  snapshot.occupants = 2;
  snapshot.admin_header_timeouts = 4;
  snapshot.workers.resize(2);
  snapshot.workers[0].forwarded = 10;
  snapshot.workers[1].forwarded = 32;
  snapshot.workers[1].drops[static_cast<size_t>(core::RouterDrop::kRingFull)] = 5;
  snapshot.workers[0].drops[static_cast<size_t>(core::RouterDrop::kRingFull)] = 2;
  const std::string text = render_metrics(snapshot);
  EXPECT_NE(text.find("\npartyline_forwarded_packets_total 42\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\npartyline_forwarding_drops_total{reason=\"ring_full\"} 7\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\npartyline_worker_forwarded_packets_total{worker=\"1\"} 32\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\npartyline_sessions 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\npartyline_occupants 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\npartyline_http_header_timeouts_total{listener=\"admin\"} 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\npartyline_http_header_timeouts_total{listener=\"signaling\"} 0\n"), std::string::npos);
  // Each sample's family has its HELP and TYPE lines before it.
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.starts_with("#")) continue;
    const std::string family = line.substr(0, line.find_first_of("{ "));
    const size_t help = text.find("# HELP " + family + " ");
    const size_t type = text.find("# TYPE " + family + " ");
    EXPECT_TRUE(help != std::string::npos && type != std::string::npos && type < start) << line;
  }
}

}  // namespace
}  // namespace partyline::signaling::admin
