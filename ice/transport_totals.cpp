#include "ice/transport_totals.hpp"

namespace partyline::ice {

TransportTotals& thread_transport_totals() {
  thread_local TransportTotals totals;
  return totals;
}

}  // namespace partyline::ice
