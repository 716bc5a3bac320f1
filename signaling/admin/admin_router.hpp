// The admin API's one route table (docs/admin-api.md): every endpoint is a
// method, a path pattern and a handler, added in one place (AdminApi), so
// the next endpoint has an obvious home. Matching tells "no such path" (404)
// from "this path, another method" (405, with the methods it has).
//
// Pure: no sockets, no threads. Handlers get their reply function and may
// call it later, from any thread (AdminHttpServer's contract).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/runtime/json.hpp"

namespace partyline::signaling::admin {

struct AdminRequest {
  std::string method;               // "GET", "PUT", ...
  std::string path;                 // "/admin/v1/sessions/6f1c..."
  std::vector<std::string> params;  // the {placeholders} of the pattern, in order
  core::JsonPtr body;               // the parsed JSON object for routes that take one; else null
};

struct AdminResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::string allow;  // the Allow header of a 405
};

// A JSON body (serialized with a trailing newline, as curl users expect).
AdminResponse json_response(unsigned status, const json_t* body);
// {"error": {"code": status, "reason": reason}}: every error of the admin API.
AdminResponse error_response(unsigned status, std::string_view reason);

// Called exactly once per request; callable from any thread.
using AdminReply = std::function<void(AdminResponse)>;
using AdminHandler = std::function<void(AdminRequest request, AdminReply reply)>;

struct AdminRoute {
  std::string method;
  // Literal segments and "{name}" segments, e.g. "/admin/v1/lines/{id}". A
  // placeholder matches one non-empty segment.
  std::string pattern;
  // The route reads a JSON object body: a missing or malformed one is 400
  // before the handler runs.
  bool takes_json_body = false;
  AdminHandler handler;
  // Served without the token: only for what carries no data (the
  // dashboard's page and scripts; their API calls send the token).
  bool without_token = false;
};

struct RouteMatch {
  const AdminRoute* route = nullptr;  // set when the method and path match
  std::vector<std::string> params;
  bool path_known = false;            // some route has this path (405 when route is null)
  std::string allowed_methods;        // "GET, DELETE" when path_known
};

class AdminRouter {
 public:
  void add(AdminRoute route);
  RouteMatch match(std::string_view method, std::string_view path) const;
  const std::vector<AdminRoute>& routes() const { return routes_; }

 private:
  std::vector<AdminRoute> routes_;
};

}  // namespace partyline::signaling::admin
