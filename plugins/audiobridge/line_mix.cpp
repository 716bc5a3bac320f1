#include "line_mix.hpp"

#include <algorithm>
#include <cctype>

namespace audiobridge {

namespace {

bool is_opus(const char* codec) {  // SDP codec names are case-insensitive
  const std::string_view name = codec != nullptr ? codec : "";
  constexpr std::string_view kOpus = "opus";
  return name.size() == kOpus.size() && std::equal(name.begin(), name.end(), kOpus.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

}  // namespace

LineMix::LineMix(std::string line_id, const MixerConfig& config, MediaPort& port, pl_handle* handle)
    : handle_(handle), media_(std::move(line_id), config, port), ssrcs_(std::random_device{}()) {}

void LineMix::stream_added(const pl_line_stream& announced) {
  if (announced.video || !is_opus(announced.codec) || announced.clock_rate != static_cast<uint32_t>(kSampleRate)) {
    ++counters_.streams_refused;
    return;
  }
  stream_removed(announced.stream);  // announced again (never, by the ABI): as new
  Stream stream;
  stream.publisher = announced.publisher != nullptr ? announced.publisher : "";
  stream.payload_type = announced.payload_type;
  stream.order = next_order_++;
  Stream& added = streams_.emplace(announced.stream, std::move(stream)).first->second;
  if (added.publisher.empty()) return;
  for (auto& [listener, seat] : seats_) {
    if (seat.occupant == added.publisher) return bind(announced.stream, added, listener, seat);
  }
}

void LineMix::stream_removed(uint32_t number) {
  auto found = streams_.find(number);
  if (found == streams_.end()) return;
  const std::optional<uint32_t> listener = found->second.seat;
  streams_.erase(found);
  if (!listener) return;
  auto seat = seats_.find(*listener);
  if (seat == seats_.end()) return;
  // Its voice stops (the jitter buffer conceals, then idles); another
  // stream of the occupant's, if any, takes the seat.
  seat->second.stream.reset();
  bind_newest(*listener, seat->second);
}

void LineMix::rtp(uint32_t number, std::span<const uint8_t> packet, Micros now) {
  auto found = streams_.find(number);
  if (found == streams_.end()) {
    ++counters_.unknown_stream;
    return;
  }
  if (!found->second.seat) {
    ++counters_.unbound;
    return;
  }
  media_.receive(*found->second.seat, packet, now);
}

bool LineMix::listener_added(uint32_t listener, std::string_view occupant, std::string_view display) {
  if (seats_.contains(listener)) return true;
  SeatConfig config;
  config.handle = handle_;
  config.id = listener;
  config.display = std::string(display);
  config.payload_type = PL_LINE_OPUS_PAYLOAD_TYPE;
  do {
    config.ssrc = static_cast<uint32_t>(ssrcs_());
  } while (config.ssrc == 0);
  if (!media_.attach(config)) {
    ++counters_.listeners_refused;
    return false;
  }
  Seat& seat = seats_.emplace(listener, Seat{std::string(occupant), std::nullopt}).first->second;
  bind_newest(listener, seat);
  return true;
}

void LineMix::listener_removed(uint32_t listener) {
  auto found = seats_.find(listener);
  if (found == seats_.end()) return;
  if (found->second.stream) {
    auto stream = streams_.find(*found->second.stream);
    if (stream != streams_.end()) stream->second.seat.reset();
  }
  seats_.erase(found);
  media_.detach(listener);
}

void LineMix::tick(Micros now) { media_.tick(handle_, now); }

void LineMix::bind(uint32_t number, Stream& stream, uint32_t listener, Seat& seat) {
  // One stream per seat, one seat per stream: whatever either held goes.
  if (seat.stream && *seat.stream != number) {
    auto previous = streams_.find(*seat.stream);
    if (previous != streams_.end()) previous->second.seat.reset();
  }
  if (stream.seat && *stream.seat != listener) {
    auto previous = seats_.find(*stream.seat);
    if (previous != seats_.end()) previous->second.stream.reset();
  }
  stream.seat = listener;
  seat.stream = number;
  media_.set_incoming_payload_type(listener, stream.payload_type);
}

void LineMix::bind_newest(uint32_t listener, Seat& seat) {
  if (seat.occupant.empty()) return;
  auto newest = streams_.end();
  for (auto it = streams_.begin(); it != streams_.end(); ++it) {
    if (it->second.publisher != seat.occupant) continue;
    if (newest == streams_.end() || it->second.order > newest->second.order) newest = it;
  }
  if (newest != streams_.end()) bind(newest->first, newest->second, listener, seat);
}

}  // namespace audiobridge
