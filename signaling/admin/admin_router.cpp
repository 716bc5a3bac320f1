#include "signaling/admin/admin_router.hpp"

namespace partyline::signaling::admin {

namespace {

// "/a/b/c" -> {"a", "b", "c"}. An empty segment ("//", a trailing "/") is
// kept, so "/admin/v1/lines/" never matches "/admin/v1/lines/{id}".
std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> segments;
  if (path.empty() || path.front() != '/') return segments;
  path.remove_prefix(1);
  while (true) {
    const size_t slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return segments;
}

bool is_placeholder(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

bool match_pattern(std::string_view pattern, std::string_view path, std::vector<std::string>& params) {
  const auto expected = split_path(pattern);
  const auto actual = split_path(path);
  if (expected.size() != actual.size() || actual.empty()) return false;
  std::vector<std::string> found;
  for (size_t i = 0; i < expected.size(); ++i) {
    if (is_placeholder(expected[i])) {
      if (actual[i].empty()) return false;
      found.emplace_back(actual[i]);
    } else if (expected[i] != actual[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

}  // namespace

AdminResponse json_response(unsigned status, const json_t* body) {
  AdminResponse response;
  response.status = status;
  response.body = core::dump_json(body) + "\n";
  return response;
}

AdminResponse error_response(unsigned status, std::string_view reason) {
  core::JsonPtr error = core::adopt_json(json_object());
  json_object_set_new(error.get(), "code", json_integer(status));
  json_object_set_new(error.get(), "reason", json_stringn(reason.data(), reason.size()));
  core::JsonPtr body = core::adopt_json(json_object());
  json_object_set_new(body.get(), "error", error.release());
  return json_response(status, body.get());
}

void AdminRouter::add(AdminRoute route) { routes_.push_back(std::move(route)); }

RouteMatch AdminRouter::match(std::string_view method, std::string_view path) const {
  RouteMatch result;
  for (const AdminRoute& route : routes_) {
    std::vector<std::string> params;
    if (!match_pattern(route.pattern, path, params)) continue;
    if (!result.path_known || result.allowed_methods.find(route.method) == std::string::npos) {
      result.allowed_methods += (result.path_known ? ", " : "") + route.method;
    }
    result.path_known = true;
    if (route.method == method && result.route == nullptr) {
      result.route = &route;
      result.params = std::move(params);
    }
  }
  return result;
}

}  // namespace partyline::signaling::admin
