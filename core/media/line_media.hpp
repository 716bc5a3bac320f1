// LineMedia: the media of one phone-line occupant's PeerConnection, on its
// worker. It is both ends of the SFU for that participant:
//   - publisher: the participant's own audio and video enter the worker's
//     router as sources (StreamKeys given by the control plane); RTX from
//     the participant is unwrapped first; the server sends it receiver
//     reports, coalesced keyframe requests (rtp::KeyframeRequester), the
//     NACKs no cache could answer and, when negotiated, transport-cc
//     feedback on every packet that arrived (rtp::TransportCcRecorder);
//   - subscriber: one rtp::ForwardingLeg per other occupant's stream that
//     the last negotiated SDP carries; its PLI/FIR and NACKs go to the router,
//     and it gets a sender report per leg.
// A MediaHandler: it sends through a MediaTransport (the PeerConnection's,
// or a test's) and reads no clock. Time comes with each call; requests that
// reach it from the router between calls (a subscriber's keyframe request,
// NACK misses) are handled at the time of its latest call.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/media/media_handler.hpp"
#include "core/media/media_router.hpp"
#include "rtp/packet/audio_level.hpp"
#include "rtp/packet/codec_keyframe.hpp"
#include "rtp/forward/forwarding_leg.hpp"
#include "rtp/forward/keyframe_requester.hpp"
#include "rtp/rtcp/receive_statistics.hpp"
#include "rtp/rtcp/loss_based_estimate.hpp"
#include "rtp/rtcp/rtcp_dispatch.hpp"
#include "rtp/rtcp/transport_cc_recorder.hpp"
#include "rtp/sdp/sdp_offer.hpp"
#include "rtp/forward/ssrc_directory.hpp"

namespace partyline::core {

// A stream this participant publishes, for the control plane to hand out.
struct PublishedStream {
  StreamKey key = 0;
  rtp::StreamFormat format;
  std::string mid;  // the participant's m-line it arrives on ("" for a plugin guest's)
  // The one occupant (session id) it is for: a line mixer's stream of one
  // listener's mix. Empty: every other occupant receives it.
  std::string audience;
  // A simulcast stream's layers, one key each in the publisher's order
  // (`key` is the first); empty for one layer.
  std::vector<StreamKey> layers = {};
};

// An offered stream the participant does not receive, and why: its answer
// rejected the m-line offering it, or took another codec than the
// publisher's (docs/protocol.md, `stream_unavailable`).
struct UnreceivedStream {
  std::string stream_id, track_id;  // the publisher's session, its track
  rtp::MediaKind kind = rtp::MediaKind::kVideo;
  std::string codec;                // the publisher's
  std::string reason;
};

// A stream this participant should receive: another occupant's.
struct LegRequest {
  StreamKey key = 0;
  size_t source_worker = 0;
  rtp::StreamFormat source_format;
  std::string stream_id;  // a=msid stream: the publisher's session id
  std::string track_id;   // a=msid track
  std::string cname;
  std::string publisher_name;  // the publisher's display name (told to plugin guests)
  std::vector<StreamKey> layers = {};  // PublishedStream::layers: the leg picks one
};

struct LineMediaStats {
  uint64_t received_packets = 0;
  uint64_t muted_drops = 0;  // published packets not forwarded: an operator muted the stream
  uint64_t unknown_ssrc_drops = 0;
  uint64_t malformed_drops = 0;
  uint64_t keyframe_requests_sent = 0;
  uint64_t nacks_sent = 0;
  uint64_t reports_sent = 0;
  uint64_t transport_feedbacks_sent = 0;  // transport-cc feedback packets
  // What the participant's downlink carries, from its receiver reports'
  // loss (rtp::LossBasedEstimate); nullopt: no limit known.
  std::optional<uint64_t> downlink_estimate_bps = std::nullopt;
};

// What a subscriber's receiver reports say about one leg.
struct LegReport {
  uint32_t ssrc = 0;
  uint8_t fraction_lost = 0;   // of 256, over the subscriber's last interval
  int32_t cumulative_lost = 0;
  uint32_t jitter = 0;         // RTP clock units
  std::optional<int64_t> round_trip_us;  // from LSR/DLSR echoing our SR
};

// What an operator sees of one stream the participant publishes.
struct PublishedStreamStats {
  StreamKey key = 0;
  std::string rid;  // a simulcast layer's; empty: not one
  rtp::StreamFormat format;
  std::optional<uint32_t> ssrc;  // once known (announced or learned)
  uint64_t packets = 0, bytes = 0;  // received from the participant (RTX unwrapped)
  int64_t cumulative_lost = 0;
  uint32_t jitter = 0;           // RTP clock units
  uint64_t keyframe_requests_sent = 0;
  uint64_t bitrate_bps = 0;      // payload bits per second over the last report interval
  bool forwarding = true;        // false: muted by an operator
};

// ... and of one leg it receives (another occupant's stream).
struct LegStats {
  StreamKey key = 0;
  std::string stream_id, track_id;  // the publisher's session, its track
  uint64_t packets = 0, bytes = 0, retransmissions = 0;  // sent to the participant
  uint64_t nacked_packets = 0, keyframe_requests = 0;    // the participant asked for
  uint64_t bitrate_bps = 0;  // payload bits per second over the last report interval
  LegReport report;          // from its receiver reports
  bool paused = false;       // video left out by last-N (LineMedia::set_video_from)
};

class LineMedia final : public MediaHandler, public SourceOwner, public LegSink, private rtp::RtcpHandler {
 public:
  static constexpr int64_t kReportIntervalUs = 1'000'000;
  static constexpr int64_t kLevelIntervalUs = 200'000;

  // `seed`: the sender SSRC of our feedback and reports; `ntp`: the wall
  // clock for reports.
  LineMedia(WorkerRouter& router, MediaTransport& transport, uint32_t seed, NtpClock ntp = {});
  ~LineMedia() override;  // leaves the router
  LineMedia(const LineMedia&) = delete;
  LineMedia& operator=(const LineMedia&) = delete;

  // Every audio and video m-line the participant sends on becomes a source,
  // keyed by `next_key()` in m-line order.
  std::vector<PublishedStream> publish(const rtp::NegotiatedSession& session,
                                       const std::function<StreamKey()>& next_key);
  // After the participant's re-offer was answered (rtp::answer_reoffer): a
  // stream whose m-line (by mid) still sends with the same format keeps its
  // key, SSRCs (the offer's, when it changed them), statistics and keyframe
  // state; one whose m-line stopped sending, or changed codec, payload type
  // or extension ids (its subscribers' legs were built for the old format),
  // leaves the router; new ones become sources keyed by `next_key()`.
  // Subscribers' legs of a removed source stay until their own
  // renegotiation and get no packets meanwhile. Returns every published
  // stream, in m-line order.
  std::vector<PublishedStream> republish(const rtp::NegotiatedSession& next,
                                         const std::function<StreamKey()>& next_key);
  // After each completed negotiation: one leg per slot that carries a
  // requested stream (matched by stream and track id); legs no slot carries
  // any more leave the router. Returns the legs that could not be built
  // (codec mismatch), which are left out.
  std::vector<UnreceivedStream> set_legs(const rtp::NegotiatedSession& session, const std::vector<LegRequest>& requests);

  // MediaHandler. Decrypted packets from the participant (`packet` may be
  // modified); on_timer: keyframe requests that waited out their hold-off,
  // transport-cc feedback every 100 ms, reports every second. on_transport_secure: anything asked or forwarded
  // before was lost, so every leg asks its publisher for a keyframe (its
  // first picture), and the participant's own video is asked for one.
  void on_rtp(std::span<uint8_t> packet, int64_t now_us) override;
  void on_rtcp(std::span<const uint8_t> compound, int64_t now_us) override;
  void on_transport_secure(int64_t now_us) override;
  int64_t on_timer(int64_t now_us) override;

  void on_keyframe_request(StreamKey key, rtp::KeyframeRequestReason reason) override;
  void on_retransmission_request(StreamKey key, std::span<const uint16_t> sequence_numbers) override;
  ice::SendResult send_leg_rtp(std::span<uint8_t> buffer, size_t length) override;

  // For active-speaker detection (core::SpeakerDetector): every
  // kLevelIntervalUs while the participant's audio makes any sound, and once
  // when it falls silent, the mean level its packets declared over the
  // interval (RFC 6464 audio level: -dBov, 127 silence), of its loudest
  // audio stream. Never without the extension negotiated; a stream an
  // operator muted counts as silent.
  using AudioLevelListener = std::function<void(uint8_t level)>;
  void on_audio_level(AudioLevelListener listener) { audio_level_listener_ = std::move(listener); }

  const LineMediaStats& stats() const { return stats_; }
  size_t leg_count() const { return legs_.size(); }
  // One per leg, in m-line order.
  std::vector<LegReport> leg_reports() const;
  std::vector<PublishedStreamStats> published_stats() const;
  std::vector<LegStats> leg_stats() const;
  // An operator's force-mute: packets of the participant's published streams
  // of `kind` are no longer forwarded (still counted and reported on), also
  // those of a stream a later re-offer adds.
  void set_forwarding(rtp::MediaKind kind, bool forwarding);
  // What the participant asked of a stream it receives (docs/protocol.md,
  // `configure`): of a simulcast publisher's layers, the highest no taller
  // than `max_height` (nullopt: no limit). For the legs of that publisher's
  // stream (`stream_id`, the publisher's session) with `track_id`, or with
  // any track when it is empty; held for legs a later negotiation adds.
  void set_max_height(const std::string& stream_id, const std::string& track_id, std::optional<uint32_t> max_height);
  // Last-N (docs/protocol.md): of the other occupants' video, only that of
  // `publishers` (their session ids, LegRequest::stream_id) is forwarded;
  // nullopt: everyone's. A paused leg leaves the router, so its publisher's
  // worker stops sending its packets here unless another leg wants them; a
  // resumed one rejoins it, which asks the publisher for a keyframe, and
  // goes on with its numbering as after a layer switch
  // (rtp::ForwardingLeg::restart). Held for legs a later negotiation adds.
  void set_video_from(std::optional<std::vector<std::string>> publishers);

 private:
  // What the participant publishes; its SSRCs are in incoming_, same index.
  struct Published {
    StreamKey key = 0;
    std::string mid;  // the participant's m-line
    std::string rid;  // a simulcast layer's (one Published per layer); empty: none
    rtp::StreamFormat format;
    rtp::VideoCodec codec = rtp::VideoCodec::kOther;
    std::optional<rtp::ReceiveStatistics> statistics;
    rtp::KeyframeRequester keyframes;
    uint64_t bytes = 0;
    uint64_t keyframe_requests_sent = 0;
    bool forwarding = true;
    uint64_t bytes_at_last_report = 0, bitrate_bps = 0;
    rtp::AudioLevelMeter level = {};  // audio: the current level interval
  };
  struct Leg {
    std::unique_ptr<SubscriberLeg> leg;
    std::string stream_id, track_id;
    LegReport report;
    uint64_t nacked_packets = 0, keyframe_requests = 0;
    uint64_t bytes_at_last_report = 0, bitrate_bps = 0;
    rtp::MediaKind kind = rtp::MediaKind::kAudio;
    bool paused = false;  // last-N: not in the router (set_video_from)
    bool fresh_report = false;  // a receiver report block since the last interval
  };
  // rtp::RtcpHandler: one RTCP packet of the participant's compound.
  void on_sender_report(const rtp::SenderReportView& report) override;
  void on_receiver_report(const rtp::ReceiverReportView& report) override;
  void on_pli(const rtp::PliView& pli) override;
  void on_fir(const rtp::FirView& fir) override;
  void on_nack(const rtp::NackView& nack, std::span<const uint16_t> lost) override;

  Published* published_by_key(StreamKey key);
  static Published make_published(StreamKey key, const std::string& mid, const std::string& rid,
                                  const rtp::StreamFormat& format, std::optional<uint32_t> ssrc);
  // The rid (or repaired rid) a packet carries, when negotiated; empty else.
  std::string_view header_rid(const rtp::RtpPacketView& packet, std::optional<uint8_t> id) const;
  std::optional<uint32_t> height_limit(const std::string& stream_id, const std::string& track_id) const;
  bool receives_video_from(const std::string& stream_id) const;
  void report_audio_level();
  std::vector<PublishedStream> published_streams() const;
  std::optional<uint32_t> ssrc_of(const Published& stream) const { return incoming_[&stream - published_.data()].ssrc; }
  Leg* leg_by_ssrc(uint32_t ssrc);
  void on_report_blocks(const rtp::ReportBlockList& blocks);
  // RTX (RFC 4588) back to the original packet, in place; its new length or 0.
  size_t unwrap_rtx(std::span<uint8_t> packet, const rtp::RtpPacketView& view, const Published& stream);
  void send_keyframe_request(Published& stream);
  // The transport-wide sequence number of a packet, when it carries one.
  void record_transport_sequence(const rtp::RtpPacketView& packet, int64_t now_us);
  void send_transport_feedback(int64_t now_us);
  void send_reports(int64_t now_us);
  // Bitrates over the interval since the last reports (`elapsed_us`).
  void update_bitrates(int64_t elapsed_us);
  // Once per report interval: the downlink estimate from the receiver
  // reports' loss, and each simulcast leg's share of it.
  void update_downlink(int64_t now_us);
  bool send_rtcp(size_t length);  // false: not sent (transport not secure)

  WorkerRouter& router_;
  MediaTransport& transport_;
  uint32_t rtcp_ssrc_;  // the sender SSRC of our feedback and receiver reports
  NtpClock ntp_;
  int64_t now_us_ = 0;  // the time of the latest call
  std::vector<Published> published_;
  bool forward_audio_ = true, forward_video_ = true;  // set_forwarding, per kind
  rtp::SsrcDirectory incoming_;  // the SSRCs of published_, same order
  // The BUNDLE's id of the transport-wide sequence number, when negotiated
  // (one id for every m-line of a BUNDLE, RFC 8843).
  std::optional<uint8_t> transport_cc_id_;
  std::optional<uint8_t> rid_id_, repaired_rid_id_;  // the simulcast layers' names (RFC 8852)
  std::optional<uint8_t> audio_level_id_;             // RFC 6464
  AudioLevelListener audio_level_listener_;
  int64_t next_level_us_ = 0;
  uint8_t last_reported_level_ = rtp::kSilentAudioLevel;
  std::optional<std::vector<std::string>> video_from_;  // set_video_from
  rtp::LossBasedEstimate downlink_;
  rtp::TransportCcRecorder transport_cc_;
  uint32_t transport_cc_media_ssrc_ = 0;  // the latest packet's, for the feedback's media SSRC field
  std::vector<Leg> legs_;
  struct HeightLimit {
    std::string stream_id, track_id;  // track_id empty: all of the stream's
    std::optional<uint32_t> max_height;  // nullopt: none (lifts a stream-wide one for the track)
  };
  std::vector<HeightLimit> height_limits_;  // set_max_height, latest last
  int64_t next_report_us_ = 0;
  LineMediaStats stats_;
  std::array<uint8_t, 1500 + rtp::kSrtpMaxTrailer> rtcp_out_{};
};

}  // namespace partyline::core
