// CallEvents: what happens in calls, for whoever reports it outside the
// server (the webhooks of docs/admin-api.md). CallHandler calls it on the
// signaling loop, after the change took effect; an implementation must not
// block (the webhook sender queues and returns).
//
// Events and their fields (all strings unless said):
//   session_up    session, user, name, remote_address
//   session_down  session, user
//   line_created  line_id, creator
//   line_closed   line_id, reason ("operator": an admin closed it; "idle":
//                 forgotten after lines.idle_timeout_ms)
//   joined        line_id, session, user, name, plugin (only for a plugin handle)
//   left          line_id, session, user
//   media_failed  session, user, line_id (null outside a line), code
//                 (integer: 495 DTLS fingerprint, 408 ICE or consent, ...), reason
//   kicked        session, user, line_id (null outside a line)
#pragma once

#include <string_view>

#include "core/runtime/json.hpp"

namespace partyline::signaling {

class CallEvents {
 public:
  virtual ~CallEvents() = default;
  // `fields`: a JSON object with the event's own fields (above).
  virtual void on_call_event(std::string_view type, core::JsonPtr fields) = 0;
};

}  // namespace partyline::signaling
