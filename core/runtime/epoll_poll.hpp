// An epoll-backed poll function for a GMainContext that one thread iterates.
//
// Why: on every iteration GLib hands its poll function every descriptor of
// the context, and poll() makes the kernel look at each one. A worker with a
// hundred PeerConnections has a hundred libnice sockets, and its loop runs
// for every received packet and every cross-worker wake-up; under the
// loadgen, poll() was about a tenth of the server's CPU. epoll keeps the
// registrations between iterations, so a wait costs in proportion to what is
// ready, not to what is watched.
//
// GLib's array does not say whether a descriptor was closed and its number
// reused between two iterations (epoll forgets a closed descriptor by
// itself). A number that leaves the array is deregistered at once; one that
// stays in the array while being closed and reopened within a single
// iteration would go unwatched, so every registration is renewed every
// kResyncInterval: such a socket is served late by at most that, never lost.
// Its peers retransmit (ICE checks, DTLS) in the meantime.
#pragma once

#include <glib.h>

#include <chrono>
#include <cstdint>

namespace partyline::core {

// Makes `context` wait through epoll. The context must only ever be
// iterated by the calling thread (each thread has its own epoll set).
// Returns false, leaving GLib's poll(), if epoll is unavailable.
bool install_epoll_poll(GMainContext* context);

// Microseconds the calling thread has spent waiting in the poll function
// installed above (a loop's idle time; wall time minus it is busy time).
uint64_t thread_poll_wait_us();

inline constexpr std::chrono::milliseconds kEpollResyncInterval{500};

}  // namespace partyline::core
