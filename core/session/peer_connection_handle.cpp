#include "core/session/peer_connection_handle.hpp"

#include <atomic>

namespace partyline::core {

struct PeerConnectionHandle::Shared {
  std::unique_ptr<PeerConnection> connection;  // worker thread only
  std::atomic<bool> closed{false};             // read on the reply loop too
  Events events;                               // reply loop only
};

std::shared_ptr<PeerConnectionHandle> PeerConnectionHandle::create(EventLoop& worker, size_t worker_index,
                                                                   EventLoop& reply_loop,
                                                                   const PeerConnectionSettings& settings,
                                                                   std::string log_context, Events events) {
  auto shared = std::make_shared<Shared>();
  shared->events = std::move(events);
  std::weak_ptr<Shared> weak = shared;
  // Worker-side events hop to the reply loop, and are dropped there once the
  // handle was closed.
  auto deliver = [weak, &reply_loop](std::function<void(Events&)> call) {
    reply_loop.post([weak, call = std::move(call)] {
      auto alive = weak.lock();
      if (alive && !alive->closed.load()) call(alive->events);
    });
  };
  PeerConnection::Events worker_events;
  worker_events.on_local_candidate = [deliver](std::string candidate) {
    deliver([candidate = std::move(candidate)](Events& events) {
      if (events.on_local_candidate) events.on_local_candidate(candidate);
    });
  };
  worker_events.on_end_of_candidates = [deliver] {
    deliver([](Events& events) {
      if (events.on_end_of_candidates) events.on_end_of_candidates();
    });
  };
  worker_events.on_state = [deliver](ice::TransportState state, const Error* error) {
    std::optional<Error> copied = error ? std::optional<Error>(*error) : std::nullopt;
    deliver([state, copied](Events& events) {
      if (events.on_state) events.on_state(state, copied);
    });
  };
  if (shared->events.on_audio_level) {
    worker_events.on_audio_level = [deliver](uint8_t level) {
      deliver([level](Events& events) {
        if (events.on_audio_level) events.on_audio_level(level);
      });
    };
  }
  worker.post([shared, context = worker.context(), settings, worker_index, log_context = std::move(log_context),
               worker_events = std::move(worker_events)]() mutable {
    if (shared->closed.load()) return;
    WorkerRouter* router = settings.fabric ? &settings.fabric->router(worker_index) : nullptr;
    ice::SharedUdpPort* shared_port = settings.shared_ports ? &settings.shared_ports->worker_port(worker_index) : nullptr;
    shared->connection = std::make_unique<PeerConnection>(context, settings, std::move(log_context),
                                                          std::move(worker_events), router, shared_port);
  });
  return std::make_shared<PeerConnectionHandle>(ConstructionTag{}, worker, reply_loop, std::move(shared));
}

PeerConnectionHandle::PeerConnectionHandle(ConstructionTag, EventLoop& worker, EventLoop& reply_loop, std::shared_ptr<Shared> shared)
    : worker_(worker), reply_loop_(reply_loop), shared_(std::move(shared)) {}

PeerConnectionHandle::~PeerConnectionHandle() { close(); }

void PeerConnectionHandle::on_worker(std::function<void(PeerConnection&)> task) {
  worker_.post([shared = shared_, task = std::move(task)] {
    if (shared->connection) task(*shared->connection);
  });
}

void PeerConnectionHandle::negotiate(std::string offer_sdp, MediaRole role,
                                     std::function<void(Result<Negotiation>)> on_answer,
                                     MediaHandlerFactory factory) {
  EventLoop& reply_loop = reply_loop_;
  on_worker([offer_sdp = std::move(offer_sdp), role, on_answer = std::move(on_answer), &reply_loop,
             factory = std::move(factory)](PeerConnection& pc) {
    pc.negotiate(
        offer_sdp, role,
        [on_answer, &reply_loop](Result<Negotiation> answer) {
          reply_loop.post([on_answer, answer = std::move(answer)]() mutable { on_answer(std::move(answer)); });
        },
        factory);
  });
}

void PeerConnectionHandle::offer_first(std::vector<rtp::MediaKind> kinds,
                                       std::function<void(Result<std::string>)> on_offer) {
  EventLoop& reply_loop = reply_loop_;
  on_worker([kinds = std::move(kinds), on_offer = std::move(on_offer), &reply_loop](PeerConnection& pc) mutable {
    pc.offer_first(std::move(kinds), [on_offer, &reply_loop](Result<std::string> offer) {
      reply_loop.post([on_offer, offer = std::move(offer)]() mutable { on_offer(std::move(offer)); });
    });
  });
}

void PeerConnectionHandle::accept_first_answer(std::string answer_sdp,
                                               std::function<void(Result<Negotiation>)> on_done) {
  EventLoop& reply_loop = reply_loop_;
  on_worker([answer_sdp = std::move(answer_sdp), on_done = std::move(on_done), &reply_loop](PeerConnection& pc) {
    auto negotiation = pc.accept_first_answer(answer_sdp);
    reply_loop.post([on_done, negotiation = std::move(negotiation)]() mutable { on_done(std::move(negotiation)); });
  });
}

void PeerConnectionHandle::pair_streams(std::vector<LegRequest> streams) {
  on_worker([streams = std::move(streams)](PeerConnection& pc) mutable { pc.pair_streams(std::move(streams)); });
}

void PeerConnectionHandle::offer_streams(std::vector<LegRequest> streams,
                                         std::function<void(Result<std::string>)> on_offer) {
  EventLoop& reply_loop = reply_loop_;
  on_worker([streams = std::move(streams), on_offer = std::move(on_offer), &reply_loop](PeerConnection& pc) mutable {
    auto offer = pc.offer_streams(std::move(streams));
    reply_loop.post([on_offer, offer = std::move(offer)]() mutable { on_offer(std::move(offer)); });
  });
}

void PeerConnectionHandle::apply_answer(std::string answer_sdp,
                                        std::function<void(Result<std::vector<UnreceivedStream>>)> on_done) {
  EventLoop& reply_loop = reply_loop_;
  on_worker([answer_sdp = std::move(answer_sdp), on_done = std::move(on_done), &reply_loop](PeerConnection& pc) {
    auto result = pc.apply_answer(answer_sdp);
    reply_loop.post([on_done, result = std::move(result)]() mutable { on_done(std::move(result)); });
  });
}

void PeerConnectionHandle::answer_offer(std::string offer_sdp, std::function<void(Result<Negotiation>)> on_answer) {
  EventLoop& reply_loop = reply_loop_;
  on_worker([offer_sdp = std::move(offer_sdp), on_answer = std::move(on_answer), &reply_loop](PeerConnection& pc) {
    auto answer = pc.answer_offer(offer_sdp);
    reply_loop.post([on_answer, answer = std::move(answer)]() mutable { on_answer(std::move(answer)); });
  });
}

void PeerConnectionHandle::add_remote_candidate(std::string candidate, std::function<void(Result<bool>)> on_done) {
  EventLoop& reply_loop = reply_loop_;
  on_worker([candidate = std::move(candidate), on_done = std::move(on_done), &reply_loop](PeerConnection& pc) {
    auto added = pc.add_remote_candidate(candidate);
    if (on_done) reply_loop.post([on_done, added = std::move(added)]() mutable { on_done(std::move(added)); });
  });
}

void PeerConnectionHandle::stats(std::function<void(std::optional<PeerConnectionStats>)> on_stats) {
  // Not on_worker(): the answer comes even when the PeerConnection is gone.
  EventLoop& reply_loop = reply_loop_;
  worker_.post([shared = shared_, on_stats = std::move(on_stats), &reply_loop] {
    std::optional<PeerConnectionStats> stats;
    if (shared->connection) stats = shared->connection->stats();
    reply_loop.post([on_stats, stats = std::move(stats)]() mutable { on_stats(std::move(stats)); });
  });
}

void PeerConnectionHandle::set_forwarding(rtp::MediaKind kind, bool forwarding) {
  on_worker([kind, forwarding](PeerConnection& pc) { pc.set_forwarding(kind, forwarding); });
}

void PeerConnectionHandle::set_max_height(std::string stream_id, std::string track_id,
                                          std::optional<uint32_t> max_height) {
  on_worker([stream_id = std::move(stream_id), track_id = std::move(track_id), max_height](PeerConnection& pc) {
    pc.set_max_height(stream_id, track_id, max_height);
  });
}

void PeerConnectionHandle::set_video_from(std::optional<std::vector<std::string>> publishers) {
  on_worker([publishers = std::move(publishers)](PeerConnection& pc) mutable { pc.set_video_from(std::move(publishers)); });
}

void PeerConnectionHandle::end_of_remote_candidates() {
  on_worker([](PeerConnection& pc) { pc.end_of_remote_candidates(); });
}

void PeerConnectionHandle::close() {
  if (shared_->closed.exchange(true)) return;
  worker_.post([shared = shared_] {
    if (!shared->connection) return;
    shared->connection->close();
    shared->connection.reset();
  });
}

}  // namespace partyline::core
