// SpeakerDetector: which occupant of a line is its active speaker, for the
// `active_speaker` event and last-N (docs/protocol.md).
//
// Its input is one figure per occupant per interval, measured on the
// occupant's media worker from the levels its packets declare (RFC 6464,
// rtp::AudioLevelMeter): the mean level in -dBov, 127 for silence. A worker
// reports while its occupant makes any sound and once more when it falls
// silent, so a level holds until the next report.
//
// Each occupant's loudness (127 - level, dB above silence) is smoothed with a
// time constant, so a word's pauses do not drop a speaker and a cough does
// not make one. The active speaker changes to a challenger only when the
// challenger's smoothed loudness is above the speech threshold and louder
// than the active speaker's by a margin, without a break, for a hold time:
// this hysteresis keeps two people talking at once from flapping the
// choice. Silence changes nothing: the last speaker stays active, as in
// Jitsi's and LiveKit's rooms, until someone else speaks.
//
// Sans-I/O: time comes with each call (milliseconds, any epoch).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace partyline::core {

struct SpeakerSettings {
  // Louder than this (-dBov, lower is louder) counts as speech
  // (lines.speech_level_dbov).
  uint8_t speech_level = 50;
  double margin_db = 6.0;      // how much louder a challenger must be
  int64_t hold_ms = 600;       // ... without a break, to take over
  int64_t smoothing_ms = 300;  // time constant of the smoothed loudness
};

class SpeakerDetector {
 public:
  explicit SpeakerDetector(SpeakerSettings settings = {}) : settings_(settings) {}

  // `id`'s mean level over its latest interval, at `now_ms`. Returns the new
  // active speaker when this report made one.
  std::optional<std::string> on_level(const std::string& id, uint8_t level, int64_t now_ms);
  // `id` left the line: forgotten, also as the active speaker (there is then
  // none until someone speaks).
  void remove(const std::string& id);

  const std::optional<std::string>& active() const { return active_; }
  // Everyone who has been the active speaker and is still here, the most
  // recent first (active() is the first).
  const std::vector<std::string>& recent() const { return recent_; }
  // The smoothed loudness of `id` at `now_ms` (dB above silence); 0 for
  // someone never heard.
  double loudness(const std::string& id, int64_t now_ms) const;

 private:
  struct Speaker {
    std::string id;
    double smoothed = 0;  // at updated_ms
    double latest = 0;    // the level reported last, held since, as loudness
    int64_t updated_ms = 0;
  };
  Speaker* find(const std::string& id);
  const Speaker* find(const std::string& id) const;
  double smoothed_at(const Speaker& speaker, int64_t now_ms) const;

  SpeakerSettings settings_;
  std::vector<Speaker> speakers_;  // a line's occupants: a scan is cheap
  std::optional<std::string> active_;
  std::vector<std::string> recent_;
  std::optional<std::string> challenger_;
  int64_t challenger_since_ms_ = 0;
};

// The occupants whose video `viewer` receives in a line with last-N `n`:
// whoever it pinned (still in the line), and `n` others: the most recent
// speakers first (`recent`, SpeakerDetector::recent()), then the others in
// join order (`occupants`). The viewer itself is never among them. In the
// order of `occupants`.
std::vector<std::string> last_n_selection(size_t n, const std::string& viewer, const std::vector<std::string>& occupants,
                                          const std::vector<std::string>& recent,
                                          const std::vector<std::string>& pinned);

}  // namespace partyline::core
