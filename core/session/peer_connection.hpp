// PeerConnection: the server's end of one participant's WebRTC connection.
// It negotiates the participant's offer into an answer, owns the transport
// (ICE, DTLS, SRTP) and hands decrypted media to the media logic.
//
// Lives on one worker thread: create, use and destroy it there.
#pragma once

#include <glib.h>

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "core/runtime/event_loop.hpp"
#include "core/media/answered_streams.hpp"
#include "core/media/line_media.hpp"
#include "core/media/media_handler.hpp"
#include "core/media/media_router.hpp"
#include "core/runtime/shared_ports.hpp"
#include "ice/certificate.hpp"
#include "ice/ice_config.hpp"
#include "ice/peer_transport.hpp"
#include "ice/shared_udp_port.hpp"
#include "rtp/result.hpp"
#include "rtp/sdp/sdp_answer.hpp"
#include "rtp/sdp/sdp_first_offer.hpp"
#include "rtp/sdp/sdp_offer.hpp"
#include "rtp/srtp/srtp_session.hpp"

namespace partyline::core {

struct PeerConnectionSettings {
  ice::IceConfig ice;
  std::shared_ptr<const ice::Certificate> certificate;
  // How long the answer waits for local candidates, so clients that do not
  // trickle (aiortc) find them in the SDP. Host candidates take microseconds;
  // STUN and TURN can take longer and are trickled when late.
  std::chrono::milliseconds gathering_wait{1000};
  // The forwarding plane line participants publish into (null: plugins only).
  MediaFabric* fabric = nullptr;
  // Where a participant's send-side bandwidth estimate starts
  // (media.start_bitrate_kbps; x-google-start-bitrate in our answers); 0:
  // the browser's own.
  uint32_t video_start_bitrate_kbps = 0;
  // The video codecs publishers are answered in (media.video_codecs); empty: VP8, else H264.
  std::vector<std::string> video_codecs = {};
  // Single-port mode (ice.udp_port): each worker's socket on the shared
  // port; null: every PeerConnection gets a libnice agent of its own.
  SharedPorts* shared_ports = nullptr;
};

// How long an ICE-lite PeerConnection keeps its path without a check from
// the participant: libnice's consent timeout in the default mode (10 s), so
// both modes drop a vanished participant alike. Browsers, aiortc and werift
// check at least every 6 s (RFC 7675's 5 s, randomised).
inline constexpr int64_t kSinglePortConsentTimeoutUs = 10'000'000;

// What the server does with a participant's media.
enum class MediaRole {
  kLineParticipant,  // publishes into a phone line (forwarding: the SFU router)
  // The same, for a client that cannot renegotiate (a one-to-one call of
  // seed 003's lines protocol): each m-line it publishes on also carries,
  // sendrecv, one stream of the line's (pair_streams()); no server offers.
  kPairedLineParticipant,
  kPlugin,  // a plugin handle's: the handler comes from a MediaHandlerFactory
};

// Makes the media handler of a PeerConnection that sends back on the
// server's own SSRCs (kPlugin), on its worker, once the answer is built.
using MediaHandlerFactory =
    std::function<std::unique_ptr<MediaHandler>(std::vector<AnsweredStream> streams, MediaTransport& transport)>;

// The outcome of negotiating an offer.
struct Negotiation {
  std::string answer_sdp;
  bool publishes_audio = false;  // the participant sends audio to the server
  bool publishes_video = false;
  std::vector<PublishedStream> published;  // line participants: what enters the router
};

// A copy of what an operator sees of one PeerConnection
// (docs/admin-api.md, a session's `transport` and `streams`), taken on its worker.
struct PeerConnectionStats {
  ice::TransportSnapshot transport;
  std::vector<std::string> local_candidates;   // every one gathered
  std::vector<std::string> remote_candidates;  // every one accepted
  std::array<uint64_t, static_cast<size_t>(ice::PeerTransport::ReceiveDrop::kCount)> receive_drops{};
  ice::SendCounters sends;
  // Line participants:
  std::optional<LineMediaStats> line;
  std::vector<PublishedStreamStats> published;
  std::vector<LegStats> legs;
};

class PeerConnection : private MediaTransport {
 public:
  struct Events {
    std::function<void(std::string candidate)> on_local_candidate;  // after the answer; "candidate:..."
    std::function<void()> on_end_of_candidates;
    std::function<void(ice::TransportState state, const Error* error)> on_state;
    std::function<void(uint8_t level)> on_audio_level;  // line participants: LineMedia::on_audio_level
  };
  using AnswerCallback = std::function<void(Result<Negotiation> negotiation)>;
  using OfferCallback = std::function<void(Result<std::string> offer_sdp)>;

  // `router`: the worker's router, for line participants (null: plugins
  // only). `shared_port`: the worker's socket in single-port mode (null: a
  // libnice agent of its own).
  PeerConnection(GMainContext* context, const PeerConnectionSettings& settings, std::string log_context,
                 Events events, WorkerRouter* router = nullptr, ice::SharedUdpPort* shared_port = nullptr);
  ~PeerConnection() override;
  PeerConnection(const PeerConnection&) = delete;
  PeerConnection& operator=(const PeerConnection&) = delete;

  // Negotiates the participant's offer: `on_answer` runs once, with the
  // answer or why the offer was refused (400 malformed, 415 unsupported).
  // kPlugin needs `factory`.
  void negotiate(std::string_view offer_sdp, MediaRole role, AnswerCallback on_answer,
                 MediaHandlerFactory factory = nullptr);

  // A paired line participant whose client only answers: the server's first
  // offer (rtp::build_first_offer: one sendrecv m-line per kind), after
  // gathering as an answer waits for it. `on_offer` runs once. 409 when
  // this PeerConnection was negotiated already, 500 without a router.
  void offer_first(std::vector<rtp::MediaKind> kinds, OfferCallback on_offer);
  // The participant's answer to offer_first(): the transport starts and
  // what it publishes enters the router (`answer_sdp` of the result is
  // empty). 409 when no first offer awaits an answer, 400/415 as
  // rtp::apply_first_answer(); a refused answer leaves the offer waiting.
  Result<Negotiation> accept_first_answer(std::string_view answer_sdp);
  // Paired line participants: the streams the line has for this one. The
  // first of each kind goes out on the participant's first m-line of that
  // kind that has a reserved sender, the one already there staying as long
  // as it is offered; others are not sent (one-to-one calls have none). No
  // offer: the SDP already declared the sender. Ignored for other roles.
  void pair_streams(std::vector<LegRequest> streams);

  // Line participants, after negotiate(): the server's next offer carrying
  // exactly `streams` (SSRCs are chosen here and kept per stream). The offer
  // replaces one still unanswered. 409 before the first negotiation.
  Result<std::string> offer_streams(std::vector<LegRequest> streams);
  // The participant's answer to the last offer_streams(): legs follow it.
  // 409 when no offer awaits an answer; 400/415 as apply_update_answer().
  // Returns the offered streams it does not receive (a rejected m-line, a
  // leg of another codec), which the control plane tells the participant.
  Result<std::vector<UnreceivedStream>> apply_answer(std::string_view answer_sdp);
  // Line participants: the answer to the participant's own re-offer
  // (docs/protocol.md, "Client offers"), at once, with the candidates
  // gathered so far on the BUNDLE m-line. What it publishes follows
  // (LineMedia::republish: `published` is the full list); the legs it
  // receives stay as they are. 409 before the first answer or while a
  // server offer awaits its answer (glare: the server is impolite); 400,
  // 415, 501 as rtp::answer_reoffer(). A refused offer changes nothing.
  Result<Negotiation> answer_offer(std::string_view offer_sdp);
  // Ok(false) when the candidate was ignored by the remote network filter.
  Result<bool> add_remote_candidate(std::string_view candidate);
  void end_of_remote_candidates();
  void close();
  PeerConnectionStats stats() const;
  // Line participants: an operator's force-mute of the published `kind`.
  void set_forwarding(rtp::MediaKind kind, bool forwarding);
  // Line participants: a limit on the layers of a stream it receives
  // (LineMedia::set_max_height).
  void set_max_height(const std::string& stream_id, const std::string& track_id, std::optional<uint32_t> max_height);
  // Line participants: last-N, the occupants whose video it receives
  // (LineMedia::set_video_from); kept for line media that starts later.
  void set_video_from(std::optional<std::vector<std::string>> publishers);

  const std::string& log_context() const { return log_context_; }

 private:
  Status create_transport();
  Result<std::unique_ptr<ice::IceLink>> make_ice_lite_link(ice::IceLink::Callbacks callbacks);
  void on_local_candidate(std::string candidate);
  void on_gathering_done();
  void on_state(ice::TransportState state, const Error* error);
  void on_rtp(std::span<uint8_t> packet);
  void on_rtcp(std::span<uint8_t> compound);
  void send_answer();
  void send_first_offer();
  bool awaiting_local_description() const { return pending_answer_ || pending_first_offer_; }
  // Both ways the session starts: the line media on `session_`.
  void start_line_media();
  // Drives the media handler's timer on the worker's aligned 100 ms tick.
  void start_media_timer();
  void log_transport_counts() const;
  void log_republished(const std::vector<PublishedStream>& before, size_t failed_legs) const;
  ice::SendResult send_rtp(std::span<uint8_t> buffer, size_t length) override;
  ice::SendResult send_rtcp(std::span<uint8_t> buffer, size_t length) override;

  GMainContext* context_;
  PeerConnectionSettings settings_;
  std::string log_context_;
  Events events_;
  std::mt19937 ssrc_random_;

  // Negotiation: the answer waits for gathering (or the timer).
  std::optional<rtp::Answer> answer_;
  AnswerCallback pending_answer_;
  // offer_first(): what it offers, then the offer awaiting its answer.
  std::vector<rtp::MediaKind> first_offer_kinds_;
  OfferCallback pending_first_offer_;
  std::optional<rtp::UpdateOffer> first_offer_;
  std::vector<std::string> early_remote_candidates_;  // before the first answer
  bool early_end_of_candidates_ = false;
  bool paired_ = false;
  std::vector<std::string> local_candidates_;  // for the answer
  std::vector<std::string> gathered_candidates_, accepted_remote_candidates_;  // for stats()
  bool gathering_done_ = false;
  Timer gathering_timer_;

  // Line participants: the negotiated state, the offer awaiting its answer
  // (with the streams it carries) and the media.
  WorkerRouter* router_;
  ice::SharedUdpPort* shared_port_;  // single-port mode's socket; null: libnice
  std::optional<rtp::NegotiatedSession> session_;
  std::optional<rtp::UpdateOffer> pending_offer_;
  std::vector<LegRequest> pending_streams_;
  std::vector<LegRequest> current_streams_;  // what the last applied answer carries
  // SSRCs chosen for each received stream ("stream_id track_id"), kept
  // across offers so a stream never changes SSRC under the subscriber.
  std::vector<std::pair<std::string, rtp::OutgoingStream>> outgoing_;
  std::vector<PublishedStream> published_;
  // What happens to the participant's media (a plugin's, or a line occupant's);
  // line_media_ is the same object when it is a LineMedia.
  std::unique_ptr<MediaHandler> media_;
  LineMedia* line_media_ = nullptr;
  std::optional<std::vector<std::string>> video_from_;  // set_video_from, for start_line_media
  Timer media_timer_;

  std::unique_ptr<ice::PeerTransport> transport_;  // last: destroyed first
};

}  // namespace partyline::core
