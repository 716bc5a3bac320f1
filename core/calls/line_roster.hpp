// LineRoster: who occupies which line on this node, how the others see each
// occupant (media, publishing, mute, state), who receives what, and the
// presence of a line's members. The control plane (CallHandler) and the seed
// adapters built on it keep no second copy of this.
//
// Sans-I/O and clock-free: plain state and the decisions over it.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/calls/speaker_detector.hpp"
#include "core/lines/line_store.hpp"
#include "core/media/line_media.hpp"
#include "rtp/result.hpp"

namespace partyline::core {

// How an occupant's media reaches the line.
enum class OccupantMedia {
  kNone,    // signaling only: no PeerConnection with the server
  kServer,  // a PeerConnection with the server (the SFU)
  kPlugin,  // a plugin handle in the line (in-process media)
};

// Another occupant's stream one cannot receive in the codec it is sent in
// (its answer rejected it, or took another codec): not offered to it again
// while that publisher sends it in that codec; `occupants` lists it.
struct UnreceivableStream {
  std::string session, track, codec;  // the publisher's session, the track id, its codec
  bool operator==(const UnreceivableStream&) const = default;
};

struct Occupant {
  std::string session, user, name;
  OccupantMedia media = OccupantMedia::kNone;
  bool mixer = false;       // kPlugin: the line's audio mixer (not listed to the occupants)
  std::string plugin;       // kPlugin: the plugin's name
  bool connected = false;   // media secure (kNone, kPlugin: at once)
  bool muted_audio = false, muted_video = false;
  bool forced_mute_audio = false, forced_mute_video = false;  // by an operator
  // What it publishes into the router (in its m-line order), on which worker.
  std::vector<PublishedStream> published;
  size_t worker_index = 0;
  // Whose video it receives whatever last-N chooses (`configure`'s `pin`), by session.
  std::vector<std::string> pinned = {};
  std::vector<UnreceivableStream> cannot_receive = {};

  bool publishes(rtp::MediaKind kind) const;
};

// A stream one occupant should receive: another occupant's, in join order.
struct ReceivedStream {
  const Occupant* publisher = nullptr;
  const PublishedStream* stream = nullptr;
  std::string track_id;  // a=msid's track (docs/protocol.md, `update`)
};

// One member of a line as the `presence` event shows it.
struct MemberPresence {
  std::string user;
  std::optional<std::string> name;  // while online
  bool online = false;
  bool in_line = false;
  bool operator==(const MemberPresence&) const = default;
};

class LineRoster {
 public:
  explicit LineRoster(size_t max_occupants_per_line, SpeakerSettings speakers = {})
      : max_occupants_per_line_(max_occupants_per_line), speaker_settings_(speakers) {}

  // 503 when the line holds max_occupants_per_line occupants (its mixer
  // not counted).
  Status check_room(const std::string& line_id) const;
  // Appends (join order). The occupant's session must not be in a line.
  // `audio` is taken from the line's first occupant and kept while it is
  // occupied.
  Occupant& add(const std::string& line_id, Occupant occupant, LineAudio audio = LineAudio::kForwarded);
  // False: the session did not occupy the line. An emptied line is dropped.
  // The occupant leaves the line's speakers and the others' pins too.
  bool remove(const std::string& line_id, const std::string& session);
  Occupant* find(const std::string& line_id, const std::string& session);
  const Occupant* find(const std::string& line_id, const std::string& session) const;
  // In join order (a mixer among them); empty for a line nobody occupies.
  const std::vector<Occupant>& occupants(const std::string& line_id) const;
  // The line's active speaker detection; null for a line nobody occupies.
  SpeakerDetector* speakers(const std::string& line_id);
  const SpeakerDetector* speakers(const std::string& line_id) const;
  // Last-N (`n` > 0): the sessions whose video `session` receives
  // (core::last_n_selection over the line's people, its mixer never among
  // them); nullopt when n is 0 or the session occupies no line.
  std::optional<std::vector<std::string>> video_for(const std::string& line_id, const std::string& session,
                                                    size_t n) const;
  // kForwarded for a line nobody occupies.
  LineAudio audio(const std::string& line_id) const;
  // The line's mixer, while it has one.
  Occupant* mixer(const std::string& line_id);
  // Occupants other than the mixer.
  size_t people(const std::string& line_id) const;
  bool occupied(const std::string& line_id) const { return lines_.count(line_id) != 0; }
  std::vector<std::string> occupied_lines() const;
  size_t occupant_count() const;

  // The occupant's own mute flags (`mute`): 404 not an occupant, 403 to
  // unmute what an operator muted.
  Status mute(const std::string& line_id, const std::string& session, std::optional<bool> audio,
              std::optional<bool> video);

  // Every other occupant's published streams, in join order, each stream
  // with its track id: "<kind>-<first 8 of the session>" for a publisher's
  // first stream of a kind, "-<mid>" appended for further ones. A stream
  // with an audience goes to that occupant only, and one it cannot receive
  // (Occupant::cannot_receive) is left out. In a line of mixed audio,
  // the occupants' audio goes to the mixer only, and the mixer receives no
  // video.
  std::vector<ReceivedStream> received_by(const std::string& line_id, const std::string& session) const;
  static std::string track_id(const Occupant& publisher, const PublishedStream& stream);

  // The line's members, sorted by user id. `online_name(user)`: the display
  // name of an online user, nullopt when offline.
  std::vector<MemberPresence> presence(
      const std::string& line_id, std::vector<std::string> members,
      const std::function<std::optional<std::string>(const std::string& user)>& online_name) const;

 private:
  struct Line {
    std::vector<Occupant> occupants;  // in join order
    LineAudio audio = LineAudio::kForwarded;
    SpeakerDetector speakers;
  };
  size_t max_occupants_per_line_;
  SpeakerSettings speaker_settings_;
  std::unordered_map<std::string, Line> lines_;
};

}  // namespace partyline::core
