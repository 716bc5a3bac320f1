#include "core/calls/line_roster.hpp"

#include <algorithm>

namespace partyline::core {

namespace {

std::string_view kind_name(rtp::MediaKind kind) { return kind == rtp::MediaKind::kVideo ? "video" : "audio"; }

}  // namespace

bool Occupant::publishes(rtp::MediaKind kind) const {
  return std::any_of(published.begin(), published.end(),
                     [kind](const PublishedStream& stream) { return stream.format.kind == kind; });
}

Status LineRoster::check_room(const std::string& line_id) const {
  if (people(line_id) < max_occupants_per_line_) return {};
  return make_error(error_code::kUnavailable, "line " + line_id + " is full (" +
                                                  std::to_string(max_occupants_per_line_) + " occupants)");
}

Occupant& LineRoster::add(const std::string& line_id, Occupant occupant, LineAudio audio) {
  auto [it, first] = lines_.try_emplace(line_id, Line{{}, audio, SpeakerDetector(speaker_settings_)});
  it->second.occupants.push_back(std::move(occupant));
  return it->second.occupants.back();
}

bool LineRoster::remove(const std::string& line_id, const std::string& session) {
  auto it = lines_.find(line_id);
  if (it == lines_.end()) return false;
  auto& occupants = it->second.occupants;
  auto position = std::find_if(occupants.begin(), occupants.end(),
                               [&](const Occupant& occupant) { return occupant.session == session; });
  if (position == occupants.end()) return false;
  occupants.erase(position);
  if (occupants.empty()) {
    lines_.erase(it);
    return true;
  }
  it->second.speakers.remove(session);
  for (Occupant& other : occupants) {
    std::erase(other.pinned, session);
    std::erase_if(other.cannot_receive, [&](const UnreceivableStream& stream) { return stream.session == session; });
  }
  return true;
}

SpeakerDetector* LineRoster::speakers(const std::string& line_id) {
  auto it = lines_.find(line_id);
  return it == lines_.end() ? nullptr : &it->second.speakers;
}

const SpeakerDetector* LineRoster::speakers(const std::string& line_id) const {
  auto it = lines_.find(line_id);
  return it == lines_.end() ? nullptr : &it->second.speakers;
}

std::optional<std::vector<std::string>> LineRoster::video_for(const std::string& line_id, const std::string& session,
                                                              size_t n) const {
  auto it = lines_.find(line_id);
  if (n == 0 || it == lines_.end()) return std::nullopt;
  const Occupant* viewer = find(line_id, session);
  if (viewer == nullptr) return std::nullopt;
  std::vector<std::string> people;
  for (const Occupant& occupant : it->second.occupants) {
    if (!occupant.mixer) people.push_back(occupant.session);
  }
  return last_n_selection(n, session, people, it->second.speakers.recent(), viewer->pinned);
}

Occupant* LineRoster::find(const std::string& line_id, const std::string& session) {
  return const_cast<Occupant*>(static_cast<const LineRoster*>(this)->find(line_id, session));
}

const Occupant* LineRoster::find(const std::string& line_id, const std::string& session) const {
  auto it = lines_.find(line_id);
  if (it == lines_.end()) return nullptr;
  for (const Occupant& occupant : it->second.occupants) {
    if (occupant.session == session) return &occupant;
  }
  return nullptr;
}

const std::vector<Occupant>& LineRoster::occupants(const std::string& line_id) const {
  static const std::vector<Occupant> kNobody;
  auto it = lines_.find(line_id);
  return it == lines_.end() ? kNobody : it->second.occupants;
}

LineAudio LineRoster::audio(const std::string& line_id) const {
  auto it = lines_.find(line_id);
  return it == lines_.end() ? LineAudio::kForwarded : it->second.audio;
}

Occupant* LineRoster::mixer(const std::string& line_id) {
  auto it = lines_.find(line_id);
  if (it == lines_.end()) return nullptr;
  for (Occupant& occupant : it->second.occupants) {
    if (occupant.mixer) return &occupant;
  }
  return nullptr;
}

size_t LineRoster::people(const std::string& line_id) const {
  const std::vector<Occupant>& here = occupants(line_id);
  return static_cast<size_t>(std::count_if(here.begin(), here.end(), [](const Occupant& occupant) { return !occupant.mixer; }));
}

std::vector<std::string> LineRoster::occupied_lines() const {
  std::vector<std::string> ids;
  ids.reserve(lines_.size());
  for (const auto& [line_id, line] : lines_) ids.push_back(line_id);
  return ids;
}

size_t LineRoster::occupant_count() const {
  size_t count = 0;
  for (const auto& [line_id, line] : lines_) count += line.occupants.size();
  return count;
}

Status LineRoster::mute(const std::string& line_id, const std::string& session, std::optional<bool> audio,
                        std::optional<bool> video) {
  Occupant* occupant = find(line_id, session);
  if (occupant == nullptr) return make_error(error_code::kNotFound, "this session is not in a line");
  if ((occupant->forced_mute_audio && audio && !*audio) || (occupant->forced_mute_video && video && !*video)) {
    return make_error(error_code::kForbidden, "muted by an operator");
  }
  occupant->muted_audio = audio.value_or(occupant->muted_audio);
  occupant->muted_video = video.value_or(occupant->muted_video);
  return {};
}

std::string LineRoster::track_id(const Occupant& publisher, const PublishedStream& stream) {
  std::string name = std::string(kind_name(stream.format.kind)) + "-" + publisher.session.substr(0, 8);
  if (!stream.audience.empty()) return name;  // its listener receives no other of the publisher's
  for (const PublishedStream& other : publisher.published) {
    if (&other == &stream) break;
    if (other.format.kind == stream.format.kind) return name + "-" + stream.mid;
  }
  return name;
}

std::vector<ReceivedStream> LineRoster::received_by(const std::string& line_id, const std::string& session) const {
  std::vector<ReceivedStream> streams;
  const Occupant* receiver = find(line_id, session);
  const bool mixed = audio(line_id) == LineAudio::kMixed;
  const bool mixer = receiver != nullptr && receiver->mixer;
  for (const Occupant& publisher : occupants(line_id)) {
    if (publisher.session == session) continue;
    for (const PublishedStream& stream : publisher.published) {
      if (!stream.audience.empty() && stream.audience != session) continue;
      const bool audio_stream = stream.format.kind == rtp::MediaKind::kAudio;
      // The mixer hears every occupant and sees no one; the others hear the mixer only.
      if (mixer && !audio_stream) continue;
      if (mixed && audio_stream && !publisher.mixer && !mixer) continue;
      std::string track = track_id(publisher, stream);
      if (receiver != nullptr &&
          std::find(receiver->cannot_receive.begin(), receiver->cannot_receive.end(),
                    UnreceivableStream{publisher.session, track, stream.format.codec_name}) !=
              receiver->cannot_receive.end()) {
        continue;
      }
      streams.push_back(ReceivedStream{&publisher, &stream, std::move(track)});
    }
  }
  return streams;
}

std::vector<MemberPresence> LineRoster::presence(
    const std::string& line_id, std::vector<std::string> members,
    const std::function<std::optional<std::string>(const std::string& user)>& online_name) const {
  std::sort(members.begin(), members.end());
  members.erase(std::unique(members.begin(), members.end()), members.end());
  const std::vector<Occupant>& here = occupants(line_id);
  std::vector<MemberPresence> presence;
  presence.reserve(members.size());
  for (std::string& user : members) {
    MemberPresence entry;
    entry.name = online_name(user);
    entry.online = entry.name.has_value();
    entry.in_line = std::any_of(here.begin(), here.end(), [&](const Occupant& occupant) { return occupant.user == user; });
    entry.user = std::move(user);
    presence.push_back(std::move(entry));
  }
  return presence;
}

}  // namespace partyline::core
