// The load generator's sans-I/O parts: the payload trailer, the delay
// histogram, per-stream reception counting, the synthetic publisher, and
// its SDP checked against partyline's own answerer and re-offerer.
#include <gtest/gtest.h>

#include <vector>

#include <glib-unix.h>
#include <unistd.h>

#include "bench/loadgen/delay_histogram.hpp"
#include "bench/loadgen/loop_tuning.hpp"
#include "bench/loadgen/payload.hpp"
#include "bench/loadgen/sdp_negotiator.hpp"
#include "bench/loadgen/stream_reception.hpp"
#include "bench/loadgen/synthetic_publisher.hpp"
#include "rtp/packet/codec_keyframe.hpp"
#include "rtp/packet/rtp_packet.hpp"
#include "rtp/sdp/sdp_answer.hpp"
#include "rtp/sdp/sdp_offer.hpp"

namespace partyline::loadgen {
namespace {

TEST(PayloadTrailer, RoundTripsAtTheEndOfThePayload) {
  std::vector<uint8_t> payload(64, 0xAB);
  const PayloadTrailer written{7, StreamKind::kVideo, true, 123456, 0x0102030405060708ull};
  write_trailer(written, payload);
  EXPECT_EQ(0xAB, payload[64 - kPayloadTrailerSize - 1]);  // nothing before the trailer touched
  const auto read = read_trailer(payload);
  ASSERT_TRUE(read);
  EXPECT_EQ(7, read->publisher);
  EXPECT_EQ(StreamKind::kVideo, read->kind);
  EXPECT_TRUE(read->keyframe);
  EXPECT_EQ(123456u, read->sequence);
  EXPECT_EQ(0x0102030405060708ull, read->send_time_ns);
}

TEST(PayloadTrailer, RejectsShortPayloadsAndForeignBytes) {
  EXPECT_FALSE(read_trailer(std::vector<uint8_t>(kPayloadTrailerSize - 1, 0)));
  EXPECT_FALSE(read_trailer(std::vector<uint8_t>(100, 0x47)));
}

TEST(DelayHistogram, PercentilesAreExactBelowOneMillisecondAndCloseAbove) {
  DelayHistogram histogram;
  for (uint64_t value = 1; value <= 1000; ++value) histogram.record(value);
  EXPECT_EQ(500u, histogram.percentile_us(0.50));
  EXPECT_EQ(990u, histogram.percentile_us(0.99));
  EXPECT_EQ(1000u, histogram.max_us());

  DelayHistogram slow;
  for (int i = 0; i < 99; ++i) slow.record(5'000);
  slow.record(200'000);
  EXPECT_NEAR(5'000.0, static_cast<double>(slow.percentile_us(0.50)), 5'000 * 0.02);
  EXPECT_NEAR(5'000.0, static_cast<double>(slow.percentile_us(0.99)), 5'000 * 0.02);
  EXPECT_EQ(200'000u, slow.percentile_us(1.0));
  EXPECT_EQ(0u, DelayHistogram().percentile_us(0.5));
}

TEST(StreamReception, CountsOnlyTheWindowAndSpotsDuplicatesReorderingAndStrangers) {
  StreamReception reception;
  reception.announce(1111, 2222);
  DelayHistogram delays;
  const MeasurementWindow window{1'000'000, 2'000'000};
  auto packet = [](uint32_t sequence, uint64_t sent_ns) {
    return PayloadTrailer{0, StreamKind::kVideo, false, sequence, sent_ns};
  };
  reception.on_packet(packet(0, 900'000), 1111, false, 950'000, window, delays);     // before the window
  reception.on_packet(packet(1, 1'000'000), 1111, false, 1'200'000, window, delays);  // 200 us
  reception.on_packet(packet(3, 1'100'000), 1111, false, 1'400'000, window, delays);
  reception.on_packet(packet(2, 1'050'000), 1111, false, 1'450'000, window, delays);  // late: reordered
  reception.on_packet(packet(3, 1'100'000), 1111, false, 1'500'000, window, delays);  // duplicate
  reception.on_packet(packet(4, 1'150'000), 2222, true, 1'600'000, window, delays);   // RTX
  reception.on_packet(packet(5, 1'200'000), 9999, false, 1'600'000, window, delays);  // unannounced SSRC
  reception.on_packet(packet(6, 2'000'000), 1111, false, 2'100'000, window, delays);  // after the window
  const ReceptionCounters& counters = reception.counters();
  EXPECT_EQ(5u, counters.received);
  EXPECT_EQ(1u, counters.duplicates);
  EXPECT_EQ(1u, counters.reordered);
  EXPECT_EQ(1u, counters.retransmissions);
  EXPECT_EQ(1u, counters.wrong_ssrc);
  EXPECT_EQ(8u, reception.total_packets());
  EXPECT_EQ(5u, delays.count());
  EXPECT_EQ(200u, delays.percentile_us(0.0));
}

class CapturingSink : public PacketSink {
 public:
  bool send_rtp(std::span<uint8_t> buffer, size_t length) override {
    packets.emplace_back(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(length));
    return true;
  }
  std::vector<std::vector<uint8_t>> packets;
};

uint64_t fake_now_ns = 0;

PublisherSettings publisher_settings() {
  PublisherSettings settings;
  settings.clock = [] { return fake_now_ns; };
  settings.index = 3;
  settings.video_kbps = 1000;
  settings.audio_ssrc = 0xA0;
  settings.video_ssrc = 0xB0;
  settings.video_rtx_ssrc = 0xC0;
  return settings;
}

TEST(SyntheticPublisher, SendsAudioAndVideoAtTheConfiguredRatesAndSizes) {
  SyntheticPublisher publisher(publisher_settings());
  CapturingSink sink;
  const MeasurementWindow window{0, 2'000'000'000};
  publisher.start(0, 0);
  for (uint64_t now = 0; now < 1'000'000'000; now += 5'000'000) {
    fake_now_ns = now;
    publisher.poll(now, window, sink);
  }
  size_t audio = 0, video = 0, video_bytes = 0, markers = 0;
  for (const auto& bytes : sink.packets) {
    auto packet = rtp::parse_rtp_packet(bytes);
    ASSERT_TRUE(packet);
    EXPECT_LE(bytes.size(), SyntheticPublisher::kMaxPacketSize);
    auto trailer = read_trailer(packet->payload);
    ASSERT_TRUE(trailer);
    EXPECT_EQ(3, trailer->publisher);
    if (packet->ssrc == 0xA0) {
      ++audio;
      EXPECT_EQ(111, packet->payload_type);
      EXPECT_EQ(100u, packet->payload.size());
    } else {
      ASSERT_EQ(0xB0u, packet->ssrc);
      ++video;
      video_bytes += packet->payload.size();
      markers += packet->marker ? 1 : 0;
    }
  }
  EXPECT_EQ(50u, audio);
  EXPECT_EQ(30u, markers);  // one per frame, on its last packet
  EXPECT_EQ(30u * publisher.packets_per_frame(), video);
  EXPECT_NEAR(1000.0 * 1000 / 8, static_cast<double>(video_bytes), 1000.0 * 1000 / 8 * 0.01);
  EXPECT_EQ(audio + video, publisher.counters().sent_in_window[0] + publisher.counters().sent_in_window[1]);
}

TEST(SyntheticPublisher, FirstFrameAndTheFrameAfterAKeyframeRequestAreKeyframes) {
  SyntheticPublisher publisher(publisher_settings());
  CapturingSink sink;
  const MeasurementWindow window;
  publisher.start(0, 0);
  auto frame_starts = [&] {
    std::vector<bool> keyframes;
    for (const auto& bytes : sink.packets) {
      auto packet = rtp::parse_rtp_packet(bytes);
      if (packet->ssrc != 0xB0 || (packet->payload[0] & 0x10) == 0) continue;  // S bit: a frame's first packet
      keyframes.push_back(rtp::is_vp8_keyframe_start(packet->payload));
    }
    sink.packets.clear();
    return keyframes;
  };
  publisher.poll(40'000'000, window, sink);  // frames 0 and 1
  EXPECT_EQ((std::vector<bool>{true, false}), frame_starts());
  publisher.request_keyframe();
  publisher.poll(70'000'000, window, sink);  // frame 2
  EXPECT_EQ((std::vector<bool>{true}), frame_starts());
  EXPECT_EQ(2u, publisher.counters().keyframes);
}

TEST(SyntheticPublisher, AnswersNacksWithRtxCarryingTheOriginalSequenceNumber) {
  SyntheticPublisher publisher(publisher_settings());
  CapturingSink sink;
  publisher.start(0, 0);
  publisher.poll(0, MeasurementWindow{}, sink);
  std::vector<uint8_t> original;
  for (const auto& bytes : sink.packets) {
    if (rtp::parse_rtp_packet(bytes)->ssrc == 0xB0) original = bytes;
  }
  ASSERT_FALSE(original.empty());
  const uint16_t sequence = rtp::parse_rtp_packet(original)->sequence_number;
  sink.packets.clear();
  const uint16_t lost[] = {sequence, static_cast<uint16_t>(sequence + 500)};  // the second was never sent
  publisher.on_nack(lost, sink);
  ASSERT_EQ(1u, sink.packets.size());
  auto rtx = rtp::parse_rtp_packet(sink.packets[0]);
  ASSERT_TRUE(rtx);
  EXPECT_EQ(97, rtx->payload_type);
  EXPECT_EQ(0xC0u, rtx->ssrc);
  EXPECT_EQ(sequence, (rtx->payload[0] << 8) | rtx->payload[1]);
  auto original_payload = rtp::parse_rtp_packet(original)->payload;
  EXPECT_TRUE(std::equal(original_payload.begin(), original_payload.end(), rtx->payload.begin() + 2));
  EXPECT_EQ(1u, publisher.counters().retransmissions);
  EXPECT_EQ(2u, publisher.counters().nacked_packets);
}

// A sha-256 fingerprint: 32 colon-separated bytes.
std::string fingerprint(const char* byte) {
  std::string value = byte;
  for (int i = 1; i < 32; ++i) value += std::string(":") + byte;
  return value;
}

// partyline's answerer and re-offerer, as the server runs them.
struct ServerSide {
  rtp::Answer answer;
  rtp::NegotiatedSession session;
};

ServerSide server_answers(const std::string& offer_sdp) {
  auto offer = rtp::parse_sdp(offer_sdp);
  EXPECT_TRUE(offer.ok()) << offer.error().message;
  rtp::AnswerOptions options;
  options.ice_ufrag = "srvu";
  options.ice_pwd = "serverpassword0123456789";
  options.fingerprint = {"sha-256", fingerprint("AA")};
  options.cname = "partyline";
  options.stream_id = "partyline";
  uint32_t next_ssrc = 5000;
  options.generate_ssrc = [&] { return next_ssrc++; };
  options.send_media = false;  // a line participant, as core/session/peer_connection.cpp does
  options.candidates = {"candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host"};
  options.candidates_complete = true;
  auto answer = rtp::build_answer(*offer, options);
  EXPECT_TRUE(answer.ok()) << answer.error().message;
  auto session = rtp::start_session(*offer, *answer);
  EXPECT_TRUE(session.ok()) << session.error().message;
  return {std::move(answer.value()), std::move(session.value())};
}

SdpNegotiator negotiator(bool publish) {
  OfferSettings settings;
  settings.publish = publish;
  settings.audio_ssrc = 11;
  settings.video_ssrc = 22;
  settings.video_rtx_ssrc = 33;
  settings.stream_id = "loadgen-1";
  return SdpNegotiator(settings, LocalTransport{"cliu", "clientpassword0123456789", "sha-256", fingerprint("11")});
}

TEST(SdpNegotiator, PartylineAcceptsAPublisherOfferAndMakesUsTheDtlsClient) {
  SdpNegotiator sdp = negotiator(true);
  ServerSide server = server_answers(sdp.create_offer());
  ASSERT_EQ(2u, server.answer.media.size());
  for (const rtp::NegotiatedMedia& media : server.answer.media) {
    EXPECT_TRUE(media.accepted) << media.rejection_reason;
    EXPECT_EQ(rtp::MediaDirection::kRecvOnly, media.direction);  // the server receives what we send
  }
  EXPECT_EQ(11u, server.answer.media[0].remote_ssrcs.at(0).ssrc);
  EXPECT_EQ(22u, server.answer.media[1].remote_ssrcs.at(0).ssrc);
  EXPECT_EQ(33u, server.answer.media[1].remote_ssrcs.at(0).rtx_ssrc);
  EXPECT_EQ(97, server.answer.media[1].rtx_payload_type);

  auto info = sdp.accept_answer(server.answer.sdp);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_TRUE(info->we_are_dtls_client);
  EXPECT_EQ("srvu", info->ice_ufrag);
  EXPECT_EQ(fingerprint("AA"), info->fingerprint);
  ASSERT_EQ(1u, info->candidates.size());
  EXPECT_TRUE(info->end_of_candidates);
}

TEST(SdpNegotiator, ASubscriberAnswersTheServerOfferAndLearnsEveryForwardedStream) {
  SdpNegotiator sdp = negotiator(false);
  ServerSide server = server_answers(sdp.create_offer());
  ASSERT_TRUE(sdp.accept_answer(server.answer.sdp).ok());
  const std::vector<rtp::OutgoingStream> streams = {
      {rtp::MediaKind::kAudio, "publisher-session", "audio-publishe", 7001, std::nullopt, "publisher-session"},
      {rtp::MediaKind::kVideo, "publisher-session", "video-publishe", 7002, 7003, "publisher-session"}};
  auto offer = rtp::build_update_offer(server.session, streams);
  ASSERT_TRUE(offer.ok()) << offer.error().message;

  auto answer = sdp.answer_offer(offer->sdp);
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  ASSERT_EQ(2u, answer->streams.size());
  EXPECT_EQ("publisher-session", answer->streams[0].stream_id);
  EXPECT_EQ(7001u, answer->streams[0].ssrc);
  EXPECT_EQ(rtp::MediaKind::kVideo, answer->streams[1].kind);
  EXPECT_EQ(7002u, answer->streams[1].ssrc);
  EXPECT_EQ(7003u, answer->streams[1].rtx_ssrc);
  EXPECT_TRUE(answer->rtx_payload_types.test(97));

  auto parsed = rtp::parse_sdp(answer->answer_sdp);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  auto next = rtp::apply_update_answer(server.session, *offer, *parsed);
  ASSERT_TRUE(next.ok()) << next.error().message;
  size_t receiving = 0;
  for (const rtp::NegotiatedMedia& media : next->media) {
    receiving += media.accepted && media.direction == rtp::MediaDirection::kSendOnly ? 1 : 0;
  }
  EXPECT_EQ(2u, receiving);  // the server now sends both streams
}

TEST(SdpNegotiator, APublisherKeepsItsSsrcsWhenAnsweringTheServerOffer) {
  SdpNegotiator sdp = negotiator(true);
  ServerSide server = server_answers(sdp.create_offer());
  ASSERT_TRUE(sdp.accept_answer(server.answer.sdp).ok());
  const std::vector<rtp::OutgoingStream> streams = {
      {rtp::MediaKind::kVideo, "other", "video-other", 8002, 8003, "other"}};
  auto offer = rtp::build_update_offer(server.session, streams);
  ASSERT_TRUE(offer.ok()) << offer.error().message;
  auto answer = sdp.answer_offer(offer->sdp);
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  auto parsed = rtp::parse_sdp(answer->answer_sdp);
  ASSERT_TRUE(parsed.ok());
  auto next = rtp::apply_update_answer(server.session, *offer, *parsed);
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_EQ(rtp::MediaDirection::kRecvOnly, next->media[0].direction);  // still receives our audio
  EXPECT_EQ(22u, next->media[1].remote_ssrcs.at(0).ssrc);
  EXPECT_EQ(rtp::MediaDirection::kSendOnly, next->media[2].direction);
}

// The epoll poll function dispatches what is readable, leaves alone what is
// not, follows descriptors that come and go, and sources marked recursive
// keep working.
TEST(LoopTuning, EpollPollDispatchesReadableDescriptorsOnly) {
  GMainContext* context = g_main_context_new();
  ASSERT_TRUE(install_epoll_poll(context));
  int first[2];
  int second[2];
  ASSERT_EQ(0, pipe(first));
  ASSERT_EQ(0, pipe(second));
  struct Hits {
    int first = 0;
    int second = 0;
  } hits;
  auto watch = [&](int fd, int* counter) {
    GSource* source = g_unix_fd_source_new(fd, G_IO_IN);
    g_source_set_callback(source, reinterpret_cast<GSourceFunc>(reinterpret_cast<void (*)()>(
                                      +[](gint fd, GIOCondition, gpointer counter) -> gboolean {
                                        char byte;
                                        EXPECT_EQ(1, read(fd, &byte, 1));
                                        ++*static_cast<int*>(counter);
                                        return G_SOURCE_CONTINUE;
                                      })),
                          counter, nullptr);
    g_source_attach(source, context);
    return source;
  };
  GSource* first_source = watch(first[0], &hits.first);
  GSource* second_source = watch(second[0], &hits.second);
  EXPECT_FALSE(g_main_context_iteration(context, FALSE));  // nothing readable
  ASSERT_EQ(1, write(second[1], "x", 1));
  EXPECT_TRUE(g_main_context_iteration(context, TRUE));
  EXPECT_EQ(0, hits.first);
  EXPECT_EQ(1, hits.second);

  EXPECT_EQ(2u, let_sources_recurse(context));
  ASSERT_EQ(1, write(first[1], "y", 1));
  EXPECT_TRUE(g_main_context_iteration(context, TRUE));
  EXPECT_EQ(1, hits.first);

  // A source removed and its descriptor closed, a new one on the same number:
  // epoll forgot the old one silently; the periodic resync serves the new
  // one within core::kEpollResyncInterval.
  g_source_destroy(second_source);
  g_source_unref(second_source);
  close(second[0]);
  close(second[1]);
  int third[2];
  ASSERT_EQ(0, pipe(third));
  int third_hits = 0;
  GSource* third_source = watch(third[0], &third_hits);
  ASSERT_EQ(1, write(third[1], "z", 1));
  const gint64 deadline = g_get_monotonic_time() + 1'000'000;
  while (third_hits == 0 && g_get_monotonic_time() < deadline) g_main_context_iteration(context, TRUE);
  EXPECT_EQ(1, third_hits);

  for (GSource* source : {first_source, third_source}) {
    g_source_destroy(source);
    g_source_unref(source);
  }
  for (int fd : {first[0], first[1], third[0], third[1]}) close(fd);
  g_main_context_unref(context);
}

}  // namespace
}  // namespace partyline::loadgen
