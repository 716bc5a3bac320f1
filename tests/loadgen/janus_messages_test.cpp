// The Janus target's pure parts: the Janus API requests the loadgen sends,
// reading Janus's replies and events, answering a Janus subscription offer
// (the server offers first), and the board subscribers wait on.
#include <gtest/gtest.h>

#include "bench/loadgen/janus_messages.hpp"
#include "bench/loadgen/run_context.hpp"
#include "bench/loadgen/sdp_negotiator.hpp"
#include "core/runtime/json.hpp"
#include "rtp/sdp/sdp.hpp"

namespace partyline::loadgen {
namespace {

core::JsonPtr parse(const std::string& text) {
  auto parsed = core::parse_json_object(text);
  EXPECT_TRUE(parsed.ok()) << text;
  return parsed.ok() ? std::move(parsed.value()) : core::adopt_json(json_object());
}

long long integer_at(const json_t* object, const char* name) { return json_integer_value(json_object_get(object, name)); }

std::string string_at(const json_t* object, const char* name) {
  const json_t* value = json_object_get(object, name);
  return json_is_string(value) ? json_string_value(value) : "";
}

TEST(JanusRequests, SessionAndHandleRequestsCarryTheirIds) {
  core::JsonPtr create = janus::create_session("t1");
  EXPECT_EQ("create", string_at(create.get(), "janus"));
  EXPECT_EQ("t1", string_at(create.get(), "transaction"));

  core::JsonPtr attach = janus::attach(4503599627370495ull, "t2");  // Janus ids stay below 2^53
  EXPECT_EQ("attach", string_at(attach.get(), "janus"));
  EXPECT_EQ(4503599627370495ll, integer_at(attach.get(), "session_id"));
  EXPECT_EQ("janus.plugin.videoroom", string_at(attach.get(), "plugin"));

  EXPECT_EQ("keepalive", string_at(janus::keepalive(7, "t3").get(), "janus"));
}

TEST(JanusRequests, PluginMessagesWrapTheBodyAndAnOptionalJsep) {
  core::JsonPtr publish = janus::plugin_message(7, 9, "t4", janus::publish_body(), "offer", "v=0\r\n");
  EXPECT_EQ("message", string_at(publish.get(), "janus"));
  EXPECT_EQ(7, integer_at(publish.get(), "session_id"));
  EXPECT_EQ(9, integer_at(publish.get(), "handle_id"));
  EXPECT_EQ("publish", string_at(json_object_get(publish.get(), "body"), "request"));
  const json_t* jsep = json_object_get(publish.get(), "jsep");
  EXPECT_EQ("offer", string_at(jsep, "type"));
  EXPECT_EQ("v=0\r\n", string_at(jsep, "sdp"));

  core::JsonPtr start = janus::plugin_message(7, 10, "t5", janus::start_body());
  EXPECT_EQ(nullptr, json_object_get(start.get(), "jsep"));
}

TEST(JanusRequests, TheRoomHasNoBitrateCapAndUsesVp8AndOpus) {
  core::JsonPtr body = janus::create_room_body(10);
  EXPECT_EQ("create", string_at(body.get(), "request"));
  EXPECT_EQ(10, integer_at(body.get(), "publishers"));
  EXPECT_EQ(0, integer_at(body.get(), "bitrate"));
  EXPECT_EQ("vp8", string_at(body.get(), "videocodec"));
  EXPECT_EQ("opus", string_at(body.get(), "audiocodec"));
  EXPECT_TRUE(json_is_false(json_object_get(body.get(), "record")));
}

TEST(JanusRequests, OneSubscriptionNamesEveryFeed) {
  core::JsonPtr body = janus::subscribe_body(1234, {11, 22, 33});
  EXPECT_EQ("subscriber", string_at(body.get(), "ptype"));
  EXPECT_EQ(1234, integer_at(body.get(), "room"));
  const json_t* streams = json_object_get(body.get(), "streams");
  ASSERT_EQ(3u, json_array_size(streams));
  EXPECT_EQ(22, integer_at(json_array_get(streams, 1), "feed"));
}

TEST(JanusRequests, TrickleSendsACandidateOrCompleted) {
  core::JsonPtr one = janus::trickle(7, 9, "t6", "candidate:1 1 udp 2130706431 10.99.0.1 5000 typ host");
  const json_t* candidate = json_object_get(one.get(), "candidate");
  EXPECT_EQ("candidate:1 1 udp 2130706431 10.99.0.1 5000 typ host", string_at(candidate, "candidate"));
  EXPECT_EQ("0", string_at(candidate, "sdpMid"));
  core::JsonPtr done = janus::trickle(7, 9, "t7", "");
  EXPECT_TRUE(json_is_true(json_object_get(json_object_get(done.get(), "candidate"), "completed")));
}

TEST(JanusReplies, SuccessCarriesTheNewId) {
  core::JsonPtr raw = parse(R"({"janus":"success","transaction":"t1","data":{"id":5238946101286934}})");
  const janus::Message message = janus::read_message(raw.get());
  EXPECT_EQ(janus::Kind::kSuccess, message.kind);
  EXPECT_EQ("t1", message.transaction);
  EXPECT_EQ(5238946101286934ull, message.data_id.value());
  EXPECT_EQ(0, message.error_code);
}

TEST(JanusReplies, ErrorsFromJanusAndFromThePluginAreBothReported) {
  core::JsonPtr core_error =
      parse(R"({"janus":"error","transaction":"t2","error":{"code":458,"reason":"No such session 1"}})");
  janus::Message message = janus::read_message(core_error.get());
  EXPECT_EQ(janus::Kind::kError, message.kind);
  EXPECT_EQ(458, message.error_code);
  EXPECT_EQ("No such session 1", message.error);

  core::JsonPtr plugin_error = parse(
      R"({"janus":"event","sender":9,"transaction":"t3","plugindata":{"plugin":"janus.plugin.videoroom",)"
      R"("data":{"videoroom":"event","error_code":428,"error":"No such feed 11"}}})");
  message = janus::read_message(plugin_error.get());
  EXPECT_EQ(janus::Kind::kEvent, message.kind);
  EXPECT_EQ(9u, message.sender);
  EXPECT_EQ(428, message.error_code);
  EXPECT_EQ("No such feed 11", message.error);
}

TEST(JanusReplies, AJoinedEventGivesTheFeedIdAndAConfiguredOneTheAnswer) {
  core::JsonPtr joined = parse(
      R"({"janus":"event","sender":9,"transaction":"t4","plugindata":{"plugin":"janus.plugin.videoroom",)"
      R"("data":{"videoroom":"joined","room":1234,"id":777,"private_id":1,"publishers":[]}}})");
  janus::Message message = janus::read_message(joined.get());
  EXPECT_EQ("joined", janus::videoroom_event(message.plugin_data));
  EXPECT_EQ(777u, janus::plugin_integer(message.plugin_data, "id").value());
  EXPECT_TRUE(message.jsep_type.empty());

  core::JsonPtr configured = parse(
      R"({"janus":"event","sender":9,"transaction":"t5","plugindata":{"plugin":"janus.plugin.videoroom",)"
      R"("data":{"videoroom":"event","room":1234,"configured":"ok"}},"jsep":{"type":"answer","sdp":"v=0"}})");
  message = janus::read_message(configured.get());
  EXPECT_TRUE(janus::plugin_ok(message.plugin_data, "configured"));
  EXPECT_EQ("answer", message.jsep_type);
  EXPECT_EQ("v=0", message.sdp);
}

TEST(JanusReplies, AnAttachedEventMapsEachMidToItsFeed) {
  core::JsonPtr attached = parse(
      R"({"janus":"event","sender":10,"transaction":"t6","plugindata":{"plugin":"janus.plugin.videoroom",)"
      R"("data":{"videoroom":"attached","room":1234,"streams":[)"
      R"({"type":"audio","mid":"0","mindex":0,"feed_id":777,"feed_mid":"0"},)"
      R"({"type":"video","mid":"1","mindex":1,"feed_id":777,"feed_mid":"1"},)"
      R"({"type":"audio","mid":"2","mindex":2,"feed_id":888,"feed_mid":"0"}]}},)"
      R"("jsep":{"type":"offer","sdp":"v=0"}})");
  const janus::Message message = janus::read_message(attached.get());
  EXPECT_EQ("attached", janus::videoroom_event(message.plugin_data));
  EXPECT_EQ("offer", message.jsep_type);
  const auto feeds = janus::stream_feeds(message.plugin_data);
  ASSERT_EQ(3u, feeds.size());
  EXPECT_EQ("777", feeds.at("1"));
  EXPECT_EQ("888", feeds.at("2"));
}

TEST(JanusReplies, TrickleHangupAndWebrtcupAreRecognized) {
  janus::Message message = janus::read_message(
      parse(R"({"janus":"trickle","session_id":7,"sender":10,"candidate":{"sdpMid":"0","sdpMLineIndex":0,)"
            R"("candidate":"candidate:1 1 udp 2015363327 10.99.0.1 20001 typ host"}})").get());
  EXPECT_EQ(janus::Kind::kTrickle, message.kind);
  EXPECT_EQ(10u, message.sender);
  EXPECT_EQ("candidate:1 1 udp 2015363327 10.99.0.1 20001 typ host", message.candidate);
  EXPECT_FALSE(message.candidates_completed);

  message = janus::read_message(parse(R"({"janus":"trickle","sender":10,"candidate":{"completed":true}})").get());
  EXPECT_TRUE(message.candidates_completed);

  message = janus::read_message(parse(R"({"janus":"hangup","sender":9,"reason":"DTLS alert"})").get());
  EXPECT_EQ(janus::Kind::kHangup, message.kind);
  EXPECT_EQ("DTLS alert", message.reason);

  EXPECT_EQ(janus::Kind::kWebrtcUp, janus::read_message(parse(R"({"janus":"webrtcup","sender":9})").get()).kind);
  EXPECT_EQ(janus::Kind::kAck, janus::read_message(parse(R"({"janus":"ack","transaction":"t"})").get()).kind);
}

// A Janus 1.1.2 subscription offer for one publisher, as captured from a
// loadgen run (room, ufrag and SSRCs changed): the server offers first,
// actpass, its candidates inside, a=msid that does not name the publisher.
constexpr const char* kJanusSubscriptionOffer =
    "v=0\r\n"
    "o=- 1796406135928907 1 IN IP4 10.99.0.1\r\n"
    "s=VideoRoom 1234\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0 1\r\n"
    "a=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 5F:87:5C:56:04:42:4A:48:63:E0:CF:63:8A:51:CC:BA:83:0C:61:3C:88:1F:48:A4:96:9B:03:04:BD:18:6C:3A\r\n"
    "a=extmap-allow-mixed\r\n"
    "a=msid-semantic: WMS *\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
    "c=IN IP4 10.99.0.1\r\n"
    "a=sendonly\r\n"
    "a=mid:0\r\n"
    "a=rtcp-mux\r\n"
    "a=ice-ufrag:jNsM\r\n"
    "a=ice-pwd:E6falrtKJOGYyiv2BEYnan\r\n"
    "a=ice-options:trickle\r\n"
    "a=setup:actpass\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=rtcp-fb:111 transport-cc\r\n"
    "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
    "a=fmtp:111 useinbandfec=1\r\n"
    "a=msid:janus janus0\r\n"
    "a=ssrc:3121010671 cname:janus\r\n"
    "a=candidate:1 1 udp 2015363839 10.99.0.1 58399 typ host\r\n"
    "a=end-of-candidates\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n"
    "c=IN IP4 10.99.0.1\r\n"
    "a=sendonly\r\n"
    "a=mid:1\r\n"
    "a=rtcp-mux\r\n"
    "a=ice-ufrag:jNsM\r\n"
    "a=ice-pwd:E6falrtKJOGYyiv2BEYnan\r\n"
    "a=ice-options:trickle\r\n"
    "a=setup:actpass\r\n"
    "a=rtpmap:96 VP8/90000\r\n"
    "a=rtcp-fb:96 ccm fir\r\n"
    "a=rtcp-fb:96 nack\r\n"
    "a=rtcp-fb:96 nack pli\r\n"
    "a=rtcp-fb:96 goog-remb\r\n"
    "a=rtcp-fb:96 transport-cc\r\n"
    "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
    "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
    "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
    "a=rtpmap:97 rtx/90000\r\n"
    "a=fmtp:97 apt=96\r\n"
    "a=ssrc-group:FID 1470036352 2766862137\r\n"
    "a=msid:janus janus1\r\n"
    "a=ssrc:1470036352 cname:janus\r\n"
    "a=ssrc:2766862137 cname:janus\r\n"
    "a=candidate:1 1 udp 2015363839 10.99.0.1 58399 typ host\r\n"
    "a=end-of-candidates\r\n";

constexpr const char* kClientFingerprint = "1A:1A:1A:1A:1A:1A:1A:1A:1A:1A:1A:1A:1A:1A:1A:1A:1A:1A:1A:1A:1A:1A:1A:1A:1A:1A:1A:1A:1A:1A:1A:1A";

TEST(SdpNegotiator, AnswersAJanusSubscriptionOfferAsTheDtlsClient) {
  OfferSettings settings;
  settings.publish = false;
  settings.stream_id = "loadgen-3";
  SdpNegotiator sdp(settings, LocalTransport{"cliu", "clientpassword0123456789", "sha-256", kClientFingerprint});
  auto answer = sdp.answer_offer(kJanusSubscriptionOffer);
  ASSERT_TRUE(answer.ok()) << answer.error().message;

  // The server's transport comes from its offer: we connect as the DTLS client.
  EXPECT_EQ("jNsM", answer->remote.ice_ufrag);
  EXPECT_EQ(rtp::DtlsSetup::kActpass, answer->remote.setup);
  EXPECT_TRUE(answer->remote.we_are_dtls_client);
  ASSERT_EQ(1u, answer->remote.candidates.size());
  EXPECT_TRUE(answer->remote.end_of_candidates);

  // Both streams are learned by mid (their msid does not name the publisher).
  ASSERT_EQ(2u, answer->streams.size());
  EXPECT_EQ("0", answer->streams[0].mid);
  EXPECT_EQ(3121010671u, answer->streams[0].ssrc);
  EXPECT_EQ("1", answer->streams[1].mid);
  EXPECT_EQ(1470036352u, answer->streams[1].ssrc);
  EXPECT_EQ(2766862137u, answer->streams[1].rtx_ssrc);
  EXPECT_TRUE(answer->rtx_payload_types.test(97));

  auto parsed = rtp::parse_sdp(answer->answer_sdp);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(2u, parsed->media.size());
  for (const rtp::MediaDescription& section : parsed->media) {
    EXPECT_EQ(rtp::MediaDirection::kRecvOnly, section.effective_direction());
    EXPECT_EQ(rtp::DtlsSetup::kActive, section.setup);
    EXPECT_EQ("cliu", section.ice_ufrag);
  }
}

TEST(SdpNegotiator, AnAnswerCarriesOurCandidatesWhenNotTrickling) {
  OfferSettings settings;
  settings.stream_id = "loadgen-3";
  SdpNegotiator sdp(settings, LocalTransport{"cliu", "clientpassword0123456789", "sha-256", kClientFingerprint});
  auto answer =
      sdp.answer_offer(kJanusSubscriptionOffer, {"candidate:7 1 udp 2130706431 10.99.0.1 40000 typ host"}, true);
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  auto parsed = rtp::parse_sdp(answer->answer_sdp);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message << "\n" << answer->answer_sdp;
  ASSERT_EQ(1u, parsed->media[0].candidates.size());
  EXPECT_TRUE(parsed->media[0].end_of_candidates);
  EXPECT_TRUE(parsed->media[1].candidates.empty());
}

TEST(PublisherBoard, WaitersRunOnceEveryPublisherIsPublishedOrFailed) {
  PublisherBoard board(3);
  int runs = 0;
  board.when_settled([&] { ++runs; });
  board.published(0);
  board.failed(2);
  EXPECT_EQ(0, runs);
  board.published(1);
  EXPECT_EQ(1, runs);
  board.published(1);  // settled already: no second call
  EXPECT_EQ(1, runs);
  EXPECT_TRUE(board.is_published(0));
  EXPECT_FALSE(board.is_published(2));
  board.when_settled([&] { ++runs; });  // late waiters run at once
  EXPECT_EQ(2, runs);
}

}  // namespace
}  // namespace partyline::loadgen
