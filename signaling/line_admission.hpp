// LineAdmission: whether a user may join a line, asked before the request
// handlers know the session: by endpoints that refuse outsiders at the
// HTTP upgrade (seed 001's chat rooms answer 403 there) and by in-band
// logins (seed 004's verto channel password). CallHandler answers it from
// the LineStore; the SignalingServer asks it on the signaling loop.
#pragma once

#include <string>

#include "rtp/result.hpp"

namespace partyline::signaling {

class LineAdmission {
 public:
  virtual ~LineAdmission() = default;
  // 403 when `user` is neither a member of line `line_id` nor admitted by
  // an open room, and likewise for a line that does not exist.
  virtual Status may_join(const std::string& line_id, const std::string& user) const = 0;
  // 403 unless `token` is line `line_id`'s token: a channel password, asked
  // at every login whoever logged in before (membership proves nothing about
  // the one who presents it now).
  virtual Status token_admits(const std::string& line_id, const std::string& token) const = 0;
};

}  // namespace partyline::signaling
