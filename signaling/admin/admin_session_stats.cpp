#include "signaling/admin/admin_session_stats.hpp"

namespace partyline::signaling::admin {

namespace {

json_t* integer(uint64_t value) { return json_integer(static_cast<json_int_t>(value)); }

json_t* strings(const std::vector<std::string>& values) {
  json_t* array = json_array();
  for (const std::string& value : values) json_array_append_new(array, json_string(value.c_str()));
  return array;
}

const char* kind_name(rtp::MediaKind kind) { return kind == rtp::MediaKind::kVideo ? "video" : "audio"; }

json_t* transport_json(const core::PeerConnectionStats& stats) {
  using Drop = ice::PeerTransport::ReceiveDrop;
  const ice::TransportSnapshot& transport = stats.transport;
  json_t* object = json_object();
  json_object_set_new(object, "state", json_string(std::string(ice::to_string(transport.state)).c_str()));
  json_object_set_new(object, "local_candidates", strings(stats.local_candidates));
  json_object_set_new(object, "remote_candidates", strings(stats.remote_candidates));
  json_object_set_new(object, "selected_pair",
                      transport.selected_local.empty()
                          ? json_null()
                          : json_pack("{s:s, s:s}", "local", transport.selected_local.c_str(), "remote",
                                      transport.selected_remote.c_str()));
  json_object_set_new(object, "dtls",
                      json_pack("{s:s, s:s, s:s, s:s}", "state", transport.dtls_state.c_str(), "role",
                                transport.dtls_role.c_str(), "cipher", transport.dtls_cipher.c_str(),
                                "srtp_profile", transport.srtp_profile.c_str()));
  json_object_set_new(object, "received", json_pack("{s:o, s:o}", "packets", integer(transport.media_packets_received),
                                                    "bytes", integer(transport.media_bytes_received)));
  json_object_set_new(object, "sent", json_pack("{s:o, s:o}", "packets", integer(transport.media_packets_sent),
                                                "bytes", integer(transport.media_bytes_sent)));
  auto drop = [&](Drop reason) { return integer(stats.receive_drops[static_cast<size_t>(reason)]); };
  json_object_set_new(object, "receive_drops",
                      json_pack("{s:o, s:o, s:o, s:o}", "dtls_before_offer", drop(Drop::kDtlsBeforeOffer),
                                "unknown_kind", drop(Drop::kUnknownKind), "media_before_keys",
                                drop(Drop::kMediaBeforeKeys), "srtp_unprotect_failed", drop(Drop::kUnprotectFailed)));
  json_t* unsent = json_object();
  for (auto result : {ice::SendResult::kNoPath, ice::SendResult::kNotSecure, ice::SendResult::kProtectFailed,
                      ice::SendResult::kSocketRefused}) {
    json_object_set_new(unsent, std::string(ice::to_string(result)).c_str(), integer(stats.sends[result]));
  }
  json_object_set_new(object, "send_failures", unsent);
  return object;
}

json_t* published_json(const core::PublishedStreamStats& stream) {
  json_t* object = json_pack("{s:I, s:s, s:s, s:i}", "key", static_cast<json_int_t>(stream.key), "kind",
                             kind_name(stream.format.kind), "codec", stream.format.codec_name.c_str(),
                             "payload_type", static_cast<int>(stream.format.payload_type));
  if (!stream.rid.empty()) json_object_set_new(object, "rid", json_string(stream.rid.c_str()));
  json_object_set_new(object, "ssrc", stream.ssrc ? integer(*stream.ssrc) : json_null());
  json_object_set_new(object, "packets", integer(stream.packets));
  json_object_set_new(object, "bytes", integer(stream.bytes));
  json_object_set_new(object, "bitrate_bps", integer(stream.bitrate_bps));
  json_object_set_new(object, "lost", json_integer(static_cast<json_int_t>(stream.cumulative_lost)));
  json_object_set_new(object, "jitter", integer(stream.jitter));
  json_object_set_new(object, "keyframe_requests_sent", integer(stream.keyframe_requests_sent));
  json_object_set_new(object, "forwarding", json_boolean(stream.forwarding));
  return object;
}

json_t* leg_json(const core::LegStats& leg) {
  json_t* object = json_pack("{s:I, s:s, s:s}", "key", static_cast<json_int_t>(leg.key), "from_session",
                             leg.stream_id.c_str(), "track", leg.track_id.c_str());
  json_object_set_new(object, "ssrc", integer(leg.report.ssrc));
  json_object_set_new(object, "packets", integer(leg.packets));
  json_object_set_new(object, "bytes", integer(leg.bytes));
  json_object_set_new(object, "bitrate_bps", integer(leg.bitrate_bps));
  json_object_set_new(object, "retransmissions", integer(leg.retransmissions));
  json_object_set_new(object, "nacked_packets", integer(leg.nacked_packets));
  json_object_set_new(object, "keyframe_requests", integer(leg.keyframe_requests));
  json_object_set_new(object, "fraction_lost", json_real(leg.report.fraction_lost / 256.0));
  json_object_set_new(object, "lost", json_integer(leg.report.cumulative_lost));
  json_object_set_new(object, "jitter", integer(leg.report.jitter));
  json_object_set_new(object, "round_trip_ms",
                      leg.report.round_trip_us ? json_real(static_cast<double>(*leg.report.round_trip_us) / 1000.0)
                                               : json_null());
  json_object_set_new(object, "paused", json_boolean(leg.paused));
  return object;
}

}  // namespace

void add_peer_stats(json_t* session, const core::PeerConnectionStats& stats) {
  json_object_set_new(session, "transport", transport_json(stats));
  json_t* published = json_array();
  for (const auto& stream : stats.published) json_array_append_new(published, published_json(stream));
  json_t* received = json_array();
  for (const auto& leg : stats.legs) json_array_append_new(received, leg_json(leg));
  json_t* streams = json_pack("{s:o, s:o}", "published", published, "received", received);
  if (stats.line) {
    json_object_set_new(streams, "unknown_ssrc_drops", integer(stats.line->unknown_ssrc_drops));
    json_object_set_new(streams, "malformed_drops", integer(stats.line->malformed_drops));
    json_object_set_new(streams, "muted_drops", integer(stats.line->muted_drops));
    json_object_set_new(streams, "nacks_sent_upstream", integer(stats.line->nacks_sent));
    json_object_set_new(streams, "downlink_estimate_bps", stats.line->downlink_estimate_bps
                                                             ? integer(*stats.line->downlink_estimate_bps)
                                                             : json_null());
  }
  json_object_set_new(session, "streams", streams);
}

}  // namespace partyline::signaling::admin
