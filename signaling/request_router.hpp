// RequestRouter: one RequestHandler in front of several. Each request goes
// to the handler that claimed its name (and, for a name two parts share,
// the field it carries: `message` with a `handle` is a plugin's, without one
// a line's), anything else to the fallback (which answers unknown names with
// 404); every handler hears of every session opening and closing. The application's parts (calls and lines, plugins,
// later the seed adapters' translations) stay separate behind one seam.
#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "signaling/client_session.hpp"

namespace partyline::signaling {

class RequestRouter : public RequestHandler {
 public:
  struct Route {
    RequestHandler* handler;
    std::vector<std::string> requests;  // the request names it answers
    std::string when_field;             // non-empty: only requests carrying this field
  };
  // Sessions open in `routes` order then at the fallback, and close in the
  // reverse order.
  RequestRouter(RequestHandler& fallback, std::vector<Route> routes);

  void on_session_open(const std::shared_ptr<ClientSession>& session) override;
  void on_request(const std::shared_ptr<ClientSession>& session, Request request) override;
  void on_session_closed(const std::shared_ptr<ClientSession>& session) override;
  void on_session_detached(const std::shared_ptr<ClientSession>& session) override;
  void on_session_resumed(const std::shared_ptr<ClientSession>& session) override;

 private:
  RequestHandler& fallback_;
  std::vector<RequestHandler*> handlers_;  // routes, then the fallback
  std::unordered_multimap<std::string, std::pair<std::string, RequestHandler*>> by_name_;  // name -> (field, handler)
};

}  // namespace partyline::signaling
