// TransportTotals: what every PeerTransport of one thread (a media worker)
// received, sent and lost, summed as it happens, for /metrics. Thread-local:
// a worker's transports count into its own totals with plain increments (no
// atomic, no lock), and the scrape reads them in a task on that worker.
// Closed transports stay counted: these are counters, not gauges.
#pragma once

#include <cstdint>

namespace partyline::ice {

struct TransportTotals {
  uint64_t packets_received = 0, bytes_received = 0;  // SRTP and SRTCP, unprotected
  uint64_t packets_sent = 0, bytes_sent = 0;          // SRTP and SRTCP, on the wire
  uint64_t srtp_unprotect_failures = 0;               // authentication or replay check failed
  uint64_t send_failures = 0;                         // every SendResult but kSent
  uint64_t ice_failures = 0;                          // transports failed in ICE (checks, consent)
  uint64_t dtls_failures = 0;                         // transports failed in DTLS (fingerprint, handshake)
  uint64_t setup_timeouts = 0;  // of those, failed because set-up outlasted IceConfig::setup_timeout_ms

  TransportTotals& operator+=(const TransportTotals& other) {
    packets_received += other.packets_received;
    bytes_received += other.bytes_received;
    packets_sent += other.packets_sent;
    bytes_sent += other.bytes_sent;
    srtp_unprotect_failures += other.srtp_unprotect_failures;
    send_failures += other.send_failures;
    ice_failures += other.ice_failures;
    dtls_failures += other.dtls_failures;
    setup_timeouts += other.setup_timeouts;
    return *this;
  }
};

// The calling thread's totals.
TransportTotals& thread_transport_totals();

}  // namespace partyline::ice
