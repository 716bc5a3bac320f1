#include "core/calls/speaker_detector.hpp"

#include <algorithm>
#include <cmath>

#include "rtp/packet/audio_level.hpp"

namespace partyline::core {

namespace {

double loudness_of(uint8_t level) {
  return static_cast<double>(rtp::kSilentAudioLevel - std::min(level, rtp::kSilentAudioLevel));
}

bool contains(const std::vector<std::string>& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

}  // namespace

SpeakerDetector::Speaker* SpeakerDetector::find(const std::string& id) {
  auto it = std::find_if(speakers_.begin(), speakers_.end(), [&](const Speaker& speaker) { return speaker.id == id; });
  return it == speakers_.end() ? nullptr : &*it;
}

const SpeakerDetector::Speaker* SpeakerDetector::find(const std::string& id) const {
  auto it = std::find_if(speakers_.begin(), speakers_.end(), [&](const Speaker& speaker) { return speaker.id == id; });
  return it == speakers_.end() ? nullptr : &*it;
}

// The smoothed loudness converges on the level held since the last report.
double SpeakerDetector::smoothed_at(const Speaker& speaker, int64_t now_ms) const {
  const double elapsed = static_cast<double>(std::max<int64_t>(0, now_ms - speaker.updated_ms));
  const double keep = std::exp(-elapsed / static_cast<double>(std::max<int64_t>(1, settings_.smoothing_ms)));
  return speaker.latest + (speaker.smoothed - speaker.latest) * keep;
}

double SpeakerDetector::loudness(const std::string& id, int64_t now_ms) const {
  const Speaker* speaker = find(id);
  return speaker ? smoothed_at(*speaker, now_ms) : 0.0;
}

std::optional<std::string> SpeakerDetector::on_level(const std::string& id, uint8_t level, int64_t now_ms) {
  Speaker* speaker = find(id);
  if (speaker == nullptr) {
    speakers_.push_back(Speaker{id, 0.0, 0.0, now_ms});
    speaker = &speakers_.back();
  }
  speaker->smoothed = smoothed_at(*speaker, now_ms);
  speaker->latest = loudness_of(level);
  speaker->updated_ms = now_ms;

  // The loudest of the others is the one challenger; anyone else's streak ends.
  const Speaker* loudest = nullptr;
  double loudest_loudness = 0;
  for (const Speaker& candidate : speakers_) {
    if (active_ && candidate.id == *active_) continue;
    const double value = smoothed_at(candidate, now_ms);
    if (loudest == nullptr || value > loudest_loudness) {
      loudest = &candidate;
      loudest_loudness = value;
    }
  }
  const double active_loudness = active_ ? loudness(*active_, now_ms) : 0.0;
  const bool takes_over = loudest != nullptr && loudest_loudness >= loudness_of(settings_.speech_level) &&
                          loudest_loudness >= active_loudness + settings_.margin_db;
  if (!takes_over) {
    challenger_.reset();
    return std::nullopt;
  }
  if (challenger_ != loudest->id) {
    challenger_ = loudest->id;
    challenger_since_ms_ = now_ms;
  }
  if (now_ms - challenger_since_ms_ < settings_.hold_ms) return std::nullopt;
  active_ = loudest->id;
  challenger_.reset();
  std::erase(recent_, *active_);
  recent_.insert(recent_.begin(), *active_);
  return active_;
}

void SpeakerDetector::remove(const std::string& id) {
  std::erase_if(speakers_, [&](const Speaker& speaker) { return speaker.id == id; });
  std::erase(recent_, id);
  if (active_ == id) active_.reset();
  if (challenger_ == id) challenger_.reset();
}

std::vector<std::string> last_n_selection(size_t n, const std::string& viewer, const std::vector<std::string>& occupants,
                                          const std::vector<std::string>& recent,
                                          const std::vector<std::string>& pinned) {
  std::vector<std::string> chosen;
  auto take = [&](const std::string& id) {
    if (id != viewer && contains(occupants, id) && !contains(chosen, id)) chosen.push_back(id);
  };
  for (const std::string& id : recent) {
    if (chosen.size() >= n) break;
    take(id);
  }
  for (const std::string& id : occupants) {
    if (chosen.size() >= n) break;
    take(id);
  }
  for (const std::string& id : pinned) take(id);
  std::vector<std::string> in_join_order;
  for (const std::string& id : occupants) {
    if (contains(chosen, id)) in_join_order.push_back(id);
  }
  return in_join_order;
}

}  // namespace partyline::core
