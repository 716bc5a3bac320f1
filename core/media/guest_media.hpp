// GuestMedia: the media of a line occupant that is not a WebRTC participant
// (a plugin handle in a phone line, plugin API 1.2), on its worker. It uses
// the forwarding plane exactly as LineMedia does, without a transport:
//   - subscriber: one SubscriberLeg per stream the control plane gives it,
//     with the same rewrite (its own SSRC, continuous sequence numbers), the
//     same keyframe request on a new leg and the same NACK answering from
//     the worker's cache; the leg's sink hands the clear packet to the
//     guest's GuestMediaSink instead of protecting and sending it;
//   - publisher: what the guest sends enters the router as a source, so
//     every other occupant's LineMedia forwards it like any participant's.
// Sans-I/O like every media handler: no clock, no thread; time comes in.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/media/line_media.hpp"
#include "core/media/media_router.hpp"

namespace partyline::core {

// The format of a guest's published audio: Opus 48 kHz stereo on payload
// type 111 (plugin.h PL_LINE_OPUS_PAYLOAD_TYPE), no RTX, no header extensions.
rtp::StreamFormat guest_audio_format();
constexpr uint8_t kGuestAudioPayloadType = 111;

// A stream the guest receives, as it is told of it.
struct GuestStream {
  uint32_t number = 0;  // the guest's own number for it: never reused
  rtp::StreamFormat format;
  std::string publisher;       // the publisher's occupant id: its streams share it
  std::string publisher_name;  // its display name
};

// A stream the guest sends to one occupant only: a line mixer's mix for
// that listener (plugin API 1.4), as the control plane hands it out.
struct ListenerStream {
  StreamKey key = 0;
  std::string occupant;  // the listener's occupant id (session)
  std::string name;      // its display name
};

// ... and as the guest is told of it.
struct GuestListener {
  uint32_t number = 0;  // the guest's own number for it: never reused
  std::string occupant, name;
};

// Where a guest's streams go (on the worker).
class GuestMediaSink {
 public:
  virtual ~GuestMediaSink() = default;
  // Before any packet of the stream; one set_streams() announces every new
  // stream of it before it returns, so one publisher's streams come together.
  virtual void on_stream_added(const GuestStream& stream) = 0;
  virtual void on_stream_removed(uint32_t number) = 0;
  // One clear RTP packet of the stream, rewritten for the guest's leg.
  virtual void on_stream_rtp(uint32_t number, std::span<const uint8_t> packet) = 0;
  // A mixer's listeners (set_listeners), before / after its stream is in the router.
  virtual void on_listener_added(const GuestListener&) {}
  virtual void on_listener_removed(uint32_t) {}
};

// kInsideDelivery: sent from inside on_stream_rtp, which could loop through
// another guest on this worker back to itself; send from a timer instead.
enum class GuestSendResult { kSent, kBadPacket, kNotPublishing, kInsideDelivery, kNoSuchListener };

struct GuestMediaStats {
  uint64_t packets_received = 0;   // delivered to the sink (retransmissions included)
  uint64_t packets_published = 0;  // sent into the router
  uint64_t retransmissions_unanswered = 0;  // asked of it as a publisher: it keeps no history
};

class GuestMedia final : public SourceOwner {
 public:
  // `seed` picks the legs' SSRCs and first sequence numbers.
  GuestMedia(WorkerRouter& router, GuestMediaSink& sink, uint32_t seed);
  ~GuestMedia() override;  // leaves the router; announces nothing
  GuestMedia(const GuestMedia&) = delete;
  GuestMedia& operator=(const GuestMedia&) = delete;

  // Publishes stream `key` in `format` (one stream; a second call replaces it).
  void publish(StreamKey key, const rtp::StreamFormat& format);
  // The streams to receive from now on: a leg for each new one (announced,
  // then its publisher asked for a keyframe by the router), and the legs of
  // those no longer listed removed (announced after they left the router).
  // Returns how many could not be built (a codec without a leg config).
  size_t set_streams(const std::vector<LegRequest>& streams);
  // Removes every leg, announcing each (the guest leaves its line).
  void remove_all_streams();
  // The listeners it sends to from now on (a line mixer's): a source for
  // each new one, announced after it is in the router; those no longer
  // listed leave the router, then are announced gone. Their format is
  // guest_audio_format().
  void set_listeners(const std::vector<ListenerStream>& listeners);

  // One RTP packet of the published stream (copied by the router). The
  // packet an on_stream_rtp() in progress was given is not valid after a
  // nack() (its answer is written to the same buffer).
  GuestSendResult send_rtp(std::span<const uint8_t> packet, int64_t now_us);
  // One RTP packet of listener `number`'s stream.
  GuestSendResult send_rtp_to(uint32_t number, std::span<const uint8_t> packet, int64_t now_us);
  // False: no such stream.
  bool request_keyframe(uint32_t number);
  bool nack(uint32_t number, std::span<const uint16_t> sequence_numbers, int64_t now_us);

  // SourceOwner: a keyframe of the published (audio) stream means nothing;
  // a retransmission cannot be answered, only counted.
  void on_keyframe_request(StreamKey key, rtp::KeyframeRequestReason reason) override;
  void on_retransmission_request(StreamKey key, std::span<const uint16_t> sequence_numbers) override;

  const GuestMediaStats& stats() const { return stats_; }
  size_t stream_count() const { return legs_.size(); }
  size_t listener_count() const { return listeners_.size(); }

 private:
  // One received stream: the router's leg, whose sink is this object.
  struct Leg final : LegSink {
    Leg(GuestMedia& owner, uint32_t number, const LegRequest& request, const rtp::LegConfig& config)
        : owner(owner),
          stream{number, request.source_format, request.stream_id, request.publisher_name},
          leg(request.key, request.source_worker, config, this, request.layers,
              rtp::video_codec(request.source_format.codec_name)) {}
    ice::SendResult send_leg_rtp(std::span<uint8_t> buffer, size_t length) override;
    GuestMedia& owner;
    GuestStream stream;  // as the sink was told
    SubscriberLeg leg;
  };
  Leg* leg_by_number(uint32_t number);
  struct Listener {
    GuestListener told;
    StreamKey key = 0;
  };
  // kSent when `packet` may enter the router as a source of `payload_type`.
  GuestSendResult check_packet(std::span<const uint8_t> packet, uint8_t payload_type,
                               std::optional<rtp::RtpPacketView>& parsed) const;

  WorkerRouter& router_;
  GuestMediaSink& sink_;
  uint32_t seed_;
  uint32_t next_number_ = 1;
  std::vector<std::unique_ptr<Leg>> legs_;
  std::optional<StreamKey> published_key_;
  std::vector<Listener> listeners_;
  uint8_t published_payload_type_ = 0;
  GuestMediaStats stats_;
  bool delivering_ = false;  // inside the sink's on_stream_rtp
};

}  // namespace partyline::core
