#include "bench/loadgen/signaling_dialect.hpp"

#include "bench/loadgen/janus_dialect.hpp"
#include "bench/loadgen/partyline_dialect.hpp"

namespace partyline::loadgen {

std::unique_ptr<SignalingDialect> make_dialect(std::string_view target, ParticipantControl& participant) {
  if (target == "partyline") return std::make_unique<PartylineDialect>(participant);
  if (target == "janus") return std::make_unique<JanusDialect>(participant);
  return nullptr;
}

}  // namespace partyline::loadgen
