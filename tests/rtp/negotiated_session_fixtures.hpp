// Negotiated sessions for tests: a captured client offer, the server's
// answer to it (rtp::build_answer as the SFU answers: the participant's
// m-lines only publish), and what a browser answers to a server offer.
// And what a browser re-offers on a session. Shared by the SDP
// renegotiation tests and the forwarding tests.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "rtp/sdp/sdp.hpp"
#include "rtp/sdp/sdp_answer.hpp"
#include "rtp/sdp/sdp_offer.hpp"

namespace partyline::rtp::test_sessions {

inline const char kLocalFingerprint[] =
    "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99";
inline const char kLocalCandidate[] = "candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host";

inline SessionDescription capture(const std::string& name) {
  std::ifstream in(std::string(PARTYLINE_TEST_DATA) + "/sdp/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing capture " << name;
  std::ostringstream text;
  text << in.rdbuf();
  auto parsed = parse_sdp(text.str());
  EXPECT_TRUE(parsed.ok()) << name << ": " << parsed.error().message;
  return parsed.ok() ? parsed.value() : SessionDescription{};
}

inline NegotiatedSession start(const SessionDescription& offer, bool ice_lite = false) {
  AnswerOptions options;
  options.ice_lite = ice_lite;
  options.ice_ufrag = "pLy1";
  options.ice_pwd = "partylinepartylinepass";
  options.fingerprint = Fingerprint{"sha-256", kLocalFingerprint};
  options.cname = "partyline-cname";
  options.stream_id = "partyline-stream";
  options.send_media = false;  // SFU: the participant's m-lines only publish
  options.candidates = {kLocalCandidate};
  options.candidates_complete = true;
  auto answer = build_answer(offer, options);
  EXPECT_TRUE(answer.ok()) << answer.error().message;
  if (!answer.ok()) return {};
  auto session = start_session(offer, *answer);
  EXPECT_TRUE(session.ok()) << session.error().message;
  return session.ok() ? session.value() : NegotiatedSession{};
}

inline UpdateOffer offer_ok(const NegotiatedSession& session, const std::vector<OutgoingStream>& streams) {
  auto offer = build_update_offer(session, streams);
  EXPECT_TRUE(offer.ok()) << offer.error().message;
  if (!offer.ok()) return {};
  auto reparsed = parse_sdp(offer->sdp);
  EXPECT_TRUE(reparsed.ok()) << reparsed.error().message << "\n" << offer->sdp;
  if (reparsed.ok()) {
    EXPECT_EQ(*reparsed, offer->description) << offer->sdp;
  }
  return offer.value();
}

// What a browser answers: the offer mirrored, with the participant's own
// transport and senders (taken from its first offer).
inline SessionDescription client_answer(const UpdateOffer& offer, const SessionDescription& client_offer) {
  SessionDescription answer = offer.description;
  answer.origin = client_offer.origin;
  answer.origin.session_version += 1;
  for (MediaDescription& section : answer.media) {
    section.setup = DtlsSetup::kActive;
    section.ice_ufrag = client_offer.media[0].ice_ufrag;
    section.ice_pwd = client_offer.media[0].ice_pwd;
    section.fingerprints = client_offer.media[0].fingerprints;
    section.candidates.clear();
    section.end_of_candidates = false;
    section.msids.clear();
    section.ssrcs.clear();
    section.ssrc_groups.clear();
    if (section.port == 0) continue;
    section.direction = reverse(section.effective_direction());
    for (const MediaDescription& original : client_offer.media) {
      if (original.mid == section.mid && (section.direction == MediaDirection::kSendOnly)) {
        section.msids = original.msids;
        section.ssrcs = original.ssrcs;
        section.ssrc_groups = original.ssrc_groups;
      }
    }
  }
  answer.msid_semantic = "WMS";
  return answer;
}

inline NegotiatedSession applied(const NegotiatedSession& session, const UpdateOffer& offer,
                          const SessionDescription& answer) {
  auto next = apply_update_answer(session, offer, answer);
  EXPECT_TRUE(next.ok()) << next.error().message;
  return next.ok() ? next.value() : NegotiatedSession{};
}

// What a browser offers next on `session`: its own m-lines as it first
// offered them, the server's as receiving transceivers (recvonly, no
// senders), rejected ones with port 0; o= version + 1, a=setup:actpass.
inline SessionDescription client_reoffer(const NegotiatedSession& session, const SessionDescription& first) {
  SessionDescription offer = first;
  offer.origin.session_version += 1;
  offer.media.clear();
  BundleGroup bundle{"BUNDLE", {}};
  for (const MediaSlot& slot : session.slots) {
    auto own = std::find_if(first.media.begin(), first.media.end(), [&](const MediaDescription& m) {
      return slot.origin == MediaOrigin::kParticipant ? m.mid == slot.mid : m.kind == slot.kind;
    });
    MediaDescription section = *own;
    section.mid = slot.mid;
    if (slot.origin == MediaOrigin::kServer) {
      section.direction = MediaDirection::kRecvOnly;
      section.msids.clear();
      section.ssrcs.clear();
      section.ssrc_groups.clear();
      section.candidates.clear();
    }
    if (slot.rejected) {
      section.port = 0;
    } else {
      bundle.mids.push_back(slot.mid);
    }
    offer.media.push_back(std::move(section));
  }
  offer.groups = {bundle};
  return offer;
}

// A browser's addTransceiver(track, {direction: "sendonly"}): a new m-line
// of `kind` copied from its first one of that kind.
inline void add_sending_mline(SessionDescription& offer, MediaKind kind, const std::string& mid, uint32_t ssrc,
            std::optional<uint32_t> rtx = std::nullopt) {
  auto model = std::find_if(offer.media.begin(), offer.media.end(),
                            [&](const MediaDescription& m) { return m.kind == kind && m.port != 0; });
  MediaDescription section = *model;
  section.mid = mid;
  section.direction = MediaDirection::kSendOnly;
  section.candidates.clear();
  section.msids = {Msid{"screen-stream", std::string("screen-track")}};
  section.ssrcs = {SsrcAttribute{ssrc, "cname", std::string("browser")}};
  section.ssrc_groups.clear();
  if (rtx) {
    section.ssrcs.push_back(SsrcAttribute{*rtx, "cname", std::string("browser")});
    section.ssrc_groups = {SsrcGroup{"FID", {ssrc, *rtx}}};
  }
  offer.media.push_back(std::move(section));
  offer.groups[0].mids.push_back(mid);
}

}  // namespace partyline::rtp::test_sessions
