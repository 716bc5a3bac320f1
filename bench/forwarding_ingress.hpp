// What the server does with each packet a publisher sends before forwarding
// it, beyond parsing and routing (issue 19): recording its transport-wide
// sequence number for transport-cc feedback, with the feedback written
// every 100 ms, and reading its audio level for active-speaker detection.
// Per received packet, not per forwarded one: at N subscribers a forwarded
// packet carries 1/N of it.
#pragma once

namespace partyline::bench {

void register_ingress_benchmarks();

}  // namespace partyline::bench
