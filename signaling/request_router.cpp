#include "signaling/request_router.hpp"

namespace partyline::signaling {

RequestRouter::RequestRouter(RequestHandler& fallback, std::vector<Route> routes) : fallback_(fallback) {
  for (Route& route : routes) {
    handlers_.push_back(route.handler);
    for (std::string& name : route.requests) by_name_.emplace(std::move(name), std::pair(route.when_field, route.handler));
  }
  handlers_.push_back(&fallback_);
}

void RequestRouter::on_session_open(const std::shared_ptr<ClientSession>& session) {
  for (RequestHandler* handler : handlers_) {
    // A handler may have refused the session (closed it): the others never see it.
    if (!session->is_open()) return;
    handler->on_session_open(session);
  }
}

void RequestRouter::on_request(const std::shared_ptr<ClientSession>& session, Request request) {
  RequestHandler* handler = &fallback_;
  auto [first, last] = by_name_.equal_range(request.name);
  for (auto it = first; it != last; ++it) {
    const std::string& field = it->second.first;
    if (field.empty() || json_object_get(request.message.get(), field.c_str()) != nullptr) {
      handler = it->second.second;
      break;
    }
  }
  handler->on_request(session, std::move(request));
}

void RequestRouter::on_session_detached(const std::shared_ptr<ClientSession>& session) {
  for (RequestHandler* handler : handlers_) handler->on_session_detached(session);
}

void RequestRouter::on_session_resumed(const std::shared_ptr<ClientSession>& session) {
  for (RequestHandler* handler : handlers_) handler->on_session_resumed(session);
}

void RequestRouter::on_session_closed(const std::shared_ptr<ClientSession>& session) {
  for (auto it = handlers_.rbegin(); it != handlers_.rend(); ++it) (*it)->on_session_closed(session);
}

}  // namespace partyline::signaling
