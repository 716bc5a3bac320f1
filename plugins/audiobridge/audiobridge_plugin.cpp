// The audio bridge plugin: rooms whose participants each receive one Opus
// stream, the mix of everyone else (plugins/audiobridge/README.md; requests
// and events there). This file is the ABI glue, on the signaling thread:
// rooms and participants as the requests see them. Each room's media (its
// RoomMedia: mixer, outgoing streams, clock) lives on one media thread,
// shared by all its participants' handles (API 1.3 use_media_thread), and
// the signaling thread reaches it only by queuing tasks there
// (run_on_media_thread), so neither side locks. A handle the host made to
// mix a phone line (mix_line, API 1.4) holds a LineMix instead (line_mix.*),
// which only that handle's media callbacks touch.
#include <partyline/plugin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bridge_json.hpp"
#include "bridge_sdp.hpp"
#include "line_mix.hpp"
#include "room_media.hpp"

namespace audiobridge {
namespace {

const pl_host* g_host = nullptr;

constexpr int kBadRequest = 400;
constexpr int kNotFound = 404;
constexpr int kConflict = 409;
constexpr int kUnsupported = 415;
constexpr int kUnavailable = 503;
constexpr int kNotImplemented = 501;

struct Room;

// One attached client (the handle's state). The first group of fields is
// the signaling thread's, `media_room` its media thread's.
struct Participant {
  pl_handle* handle = nullptr;
  Room* room = nullptr;  // while in one (joining or joined)
  uint32_t id = 0;
  std::string display;
  bool muted = false;
  double gain = 1.0;
  bool joined = false;  // negotiated, and the others were told
  std::atomic<bool> talking = false;  // written by the media thread
  // Media thread only: the room its seat is in, and the seat's id there.
  std::shared_ptr<RoomMedia> media_room;
  uint32_t seat = 0;
  // A handle of the host's own mixing a line: set by mix_line, then its
  // media thread's (the host seats the handle after mix_line returned).
  bool mixes_line = false;  // signaling thread
  std::unique_ptr<LineMix> line_mix;
};

struct Room {
  std::string id;
  RoomSettings settings;
  std::shared_ptr<RoomMedia> media;  // shared with tasks queued on its thread
  int media_thread = -1;             // chosen at the first join, kept
  std::vector<Participant*> participants;  // in join order
};

void push(pl_handle* handle, const std::string& json) {
  (void)g_host->push_event(handle, json.data(), json.size(), nullptr, nullptr, 0);
}

// RoomMedia's requests, as host services.
class HostPort : public MediaPort {
 public:
  void send_rtp(const SeatConfig& seat, std::span<const uint8_t> packet) override {
    (void)g_host->send_rtp(seat.handle, seat.mline, packet.data(), packet.size());
  }
  void start_clock(pl_handle* handle, uint32_t period_ms) override { (void)g_host->start_timer(handle, period_ms); }
  void stop_clock(pl_handle* handle) override { (void)g_host->stop_timer(handle); }
  void push_event(pl_handle* handle, const std::string& json) override { push(handle, json); }
};

// A mixed line's: each seat is a listener of the line's handle, which has no
// client to push events to.
class LinePort final : public HostPort {
 public:
  void send_rtp(const SeatConfig& seat, std::span<const uint8_t> packet) override {
    (void)g_host->line_send_rtp_to(seat.handle, seat.id, packet.data(), packet.size());
  }
  void push_event(pl_handle*, const std::string&) override {}
};

struct Plugin {
  BridgeConfig config;
  std::map<std::string, std::unique_ptr<Room>> rooms;
  uint32_t next_participant = 1;
  uint64_t next_room = 1;
  HostPort port;
  LinePort line_port;
};

Micros steady_now() {
  return std::chrono::duration_cast<Micros>(std::chrono::steady_clock::now().time_since_epoch());
}

void log(pl_handle* handle, pl_log_level level, const std::string& message) {
  g_host->log(g_host, handle, level, message.data(), message.size());
}

int reply_text(pl_reply* reply, const std::string& text) { return g_host->reply(reply, text.data(), text.size()); }

// Queues `task` on the handle's media thread; false when the handle is
// being destroyed (its media_thread_released does the cleanup then).
bool on_media_thread(pl_handle* handle, std::function<void()> task) {
  auto owned = std::make_unique<std::function<void()>>(std::move(task));
  auto run = [](void*, void*, void* arg) {
    std::unique_ptr<std::function<void()>> queued(static_cast<std::function<void()>*>(arg));
    (*queued)();
  };
  if (g_host->run_on_media_thread(handle, run, owned.get()) != PL_OK) return false;
  (void)owned.release();  // run() owns it now: it runs exactly once
  return true;
}

ParticipantView view(const Participant& participant, bool details) {
  ParticipantView shown(participant.id, participant.display);
  if (details) {
    shown.muted = participant.muted;
    shown.talking = participant.talking.load(std::memory_order_relaxed);
  }
  return shown;
}

void tell_others(const Room& room, const Participant& except, const std::string& json) {
  for (Participant* other : room.participants) {
    if (other != &except && other->joined) push(other->handle, json);
  }
}

// Takes the participant out of its room: the others are told (if they knew
// it), and its media thread forgets it (unless the handle is going, when
// media_thread_released does).
void remove_from_room(Participant& participant) {
  Room& room = *participant.room;
  room.participants.erase(std::find(room.participants.begin(), room.participants.end(), &participant));
  if (participant.joined) {
    tell_others(room, participant, participant_event("left", room.id, view(participant, false)));
  }
  on_media_thread(participant.handle, [target = &participant] {
    if (!target->media_room) return;
    target->media_room->detach(target->seat);
    target->media_room.reset();
  });
  participant.room = nullptr;
  participant.joined = false;
  participant.talking = false;
}

MixerConfig mixer_config(const RoomSettings& settings) {
  MixerConfig config;
  config.max_participants = settings.max_participants;
  config.talk.threshold = settings.talk_threshold;
  config.talk.hold = Micros(static_cast<int64_t>(settings.talk_hold_ms) * 1000);
  return config;
}

Room& add_room(Plugin& plugin, const std::string& id, const RoomSettings& settings) {
  auto room = std::make_unique<Room>();
  room->id = id;
  room->settings = settings;
  room->media = std::make_shared<RoomMedia>(id, mixer_config(settings), plugin.port);
  return *plugin.rooms.emplace(id, std::move(room)).first->second;
}

// ---- requests ----

int create(Plugin& plugin, const BridgeRequest& request, pl_reply* reply) {
  std::string id = request.room.value_or("");
  if (!id.empty() && plugin.rooms.contains(id)) return reply_text(reply, "room '" + id + "' exists"), kConflict;
  if (plugin.rooms.size() >= plugin.config.max_rooms) {
    return reply_text(reply, "the bridge has its " + std::to_string(plugin.config.max_rooms) + " rooms (max_rooms)"),
           kUnavailable;
  }
  while (id.empty() || plugin.rooms.contains(id)) id = "room-" + std::to_string(plugin.next_room++);
  add_room(plugin, id, request.settings);
  return reply_text(reply, room_reply("created", id));
}

int destroy_room(Plugin& plugin, const std::string& id, pl_reply* reply) {
  auto found = plugin.rooms.find(id);
  if (found == plugin.rooms.end()) return reply_text(reply, "no room '" + id + "'"), kNotFound;
  Room& room = *found->second;
  const std::string destroyed = room_reply("destroyed", id);
  while (!room.participants.empty()) {
    Participant& participant = *room.participants.back();
    participant.joined = false;  // told below, not as "left"
    remove_from_room(participant);
    push(participant.handle, destroyed);
    (void)g_host->close_media(participant.handle);
  }
  plugin.rooms.erase(found);  // its RoomMedia goes once the queued detaches ran
  return reply_text(reply, destroyed);
}

int join(Plugin& plugin, Participant& participant, const BridgeRequest& request, const char* jsep_type,
         std::string_view offer, pl_reply* reply) {
  if (participant.room != nullptr) {
    return reply_text(reply, "this handle is in room '" + participant.room->id + "' already"), kConflict;
  }
  if (participant.mixes_line) return reply_text(reply, "this handle mixes a phone line"), kConflict;
  if (jsep_type == nullptr || std::string_view(jsep_type) != "offer") {
    return reply_text(reply, "join needs a jsep offer"), kBadRequest;
  }
  auto found = plugin.rooms.find(*request.room);
  if (found == plugin.rooms.end()) return reply_text(reply, "no room '" + *request.room + "'"), kNotFound;
  Room& room = *found->second;
  const std::vector<std::string> kinds = media_kinds(offer);
  if (kinds.size() != 1 || kinds.front() != "audio") {
    std::string listed;
    for (const std::string& kind : kinds) listed += (listed.empty() ? "" : ", ") + kind;
    return reply_text(reply, "the offer must have exactly one m-line, audio; it has: " +
                                 (listed.empty() ? std::string("none") : listed)),
           kUnsupported;
  }
  if (room.participants.size() >= room.settings.max_participants) {
    return reply_text(reply, "room '" + room.id + "' is full"), kUnavailable;
  }
  // Every participant of a room on the room's media thread: its mixer is
  // touched there only.
  if (room.media_thread < 0) {
    room.media_thread = g_host->media_thread(participant.handle);
    if (room.media_thread < 0) return reply_text(reply, "this server runs without media"), kNotImplemented;
  } else if (int status = g_host->use_media_thread(participant.handle, room.media_thread); status != PL_OK) {
    return reply_text(reply, "this handle's media runs on another thread than room '" + room.id +
                                 "': join with a new handle"),
           status;
  }
  if (int status = g_host->negotiate(participant.handle, offer.data(), offer.size()); status != PL_OK) {
    return reply_text(reply, "the offer was not negotiated"), status;
  }
  participant.room = &room;
  participant.id = plugin.next_participant++;
  participant.display = request.display.value_or("participant " + std::to_string(participant.id));
  participant.muted = request.muted.value_or(false);
  participant.gain = 1.0;
  room.participants.push_back(&participant);
  return reply_text(reply, room_reply("joining", room.id, participant.id));
}

int configure(Participant& participant, const BridgeRequest& request, pl_reply* reply) {
  if (participant.room == nullptr) return reply_text(reply, "not in a room"), kConflict;
  Room& room = *participant.room;
  const bool mute_changed = request.muted && *request.muted != participant.muted;
  participant.muted = request.muted.value_or(participant.muted);
  participant.gain = request.gain.value_or(participant.gain);
  participant.display = request.display.value_or(participant.display);
  on_media_thread(participant.handle, [target = &participant, muted = participant.muted,
                                       gain = static_cast<float>(participant.gain), display = participant.display] {
    if (target->media_room) target->media_room->configure(target->seat, muted, gain, display);
  });
  if (mute_changed && participant.joined) {
    const std::string event = participant_event("muted", room.id, view(participant, true));
    for (Participant* member : room.participants) {
      if (member->joined) push(member->handle, event);
    }
  }
  ParticipantView shown(participant.id, participant.display);
  shown.muted = participant.muted;
  shown.gain = participant.gain;
  return reply_text(reply, configured_reply(room.id, shown));
}

int leave(Participant& participant, pl_reply* reply) {
  if (participant.room == nullptr) return reply_text(reply, "not in a room"), kConflict;
  const std::string room = participant.room->id;
  remove_from_room(participant);
  (void)g_host->close_media(participant.handle);
  return reply_text(reply, room_reply("left", room, participant.id));
}

int list_rooms(const Plugin& plugin, pl_reply* reply) {
  std::vector<RoomView> rooms;
  for (const auto& [id, room] : plugin.rooms) {
    rooms.push_back(RoomView{id, room->settings.description, room->participants.size(),
                             room->settings.max_participants});
  }
  return reply_text(reply, rooms_reply(rooms));
}

int list_participants(const Plugin& plugin, const std::string& id, pl_reply* reply) {
  auto found = plugin.rooms.find(id);
  if (found == plugin.rooms.end()) return reply_text(reply, "no room '" + id + "'"), kNotFound;
  std::vector<ParticipantView> participants;
  for (const Participant* participant : found->second->participants) {
    ParticipantView shown = view(*participant, true);
    shown.gain = participant->gain;
    participants.push_back(std::move(shown));
  }
  return reply_text(reply, participants_reply(id, participants));
}

// ---- ABI callbacks: signaling thread ----

int init(const pl_host* host, const char* config_json, size_t config_length, void** state) {
  g_host = host;
  if (host->api_major != PARTYLINE_PLUGIN_API_VERSION_MAJOR || host->api_minor < 3) {
    log(nullptr, PL_LOG_ERROR, "needs a host with plugin API 1.3 (handles sharing a media thread)");
    return kNotImplemented;
  }
  auto plugin = std::make_unique<Plugin>();
  if (std::string error = parse_config(std::string_view(config_json, config_length), plugin->config); !error.empty()) {
    log(nullptr, PL_LOG_ERROR, "config: " + error);
    return kBadRequest;
  }
  for (const auto& [id, settings] : plugin->config.rooms) {
    if (!plugin->rooms.contains(id)) add_room(*plugin, id, settings);
  }
  *state = plugin.release();
  return PL_OK;
}

void destroy(void* state) { std::unique_ptr<Plugin> owned(static_cast<Plugin*>(state)); }

int create_handle(void*, pl_handle* handle, void** handle_state) {
  auto participant = std::make_unique<Participant>();
  participant->handle = handle;
  *handle_state = participant.release();
  return PL_OK;
}

void destroy_handle(void*, void* handle_state) {
  std::unique_ptr<Participant> participant(static_cast<Participant*>(handle_state));
  if (participant->room != nullptr) remove_from_room(*participant);
}

int handle_message(void* state, void* handle_state, const char* body, size_t body_length, const char* jsep_type,
                   const char* jsep_sdp, size_t jsep_sdp_length, pl_reply* reply) {
  auto& plugin = *static_cast<Plugin*>(state);
  auto& participant = *static_cast<Participant*>(handle_state);
  BridgeRequest request;
  if (std::string error = parse_request(std::string_view(body, body_length), plugin.config.defaults, request);
      !error.empty()) {
    return reply_text(reply, error), kBadRequest;
  }
  const std::string& name = request.request;
  if (name == "create") return create(plugin, request, reply);
  if (name == "destroy") return destroy_room(plugin, *request.room, reply);
  if (name == "join") {
    return join(plugin, participant, request, jsep_type,
                std::string_view(jsep_sdp != nullptr ? jsep_sdp : "", jsep_sdp != nullptr ? jsep_sdp_length : 0), reply);
  }
  if (name == "configure") return configure(participant, request, reply);
  if (name == "leave") return leave(participant, reply);
  if (name == "list") return list_rooms(plugin, reply);
  return list_participants(plugin, *request.room, reply);  // listparticipants: parse_request knows no other
}

void negotiated(void*, void* handle_state, int status, const char* answer_or_reason, size_t length) {
  auto& participant = *static_cast<Participant*>(handle_state);
  if (participant.room == nullptr) return;  // left (or the room went) while negotiating
  Room& room = *participant.room;
  const std::string_view text(answer_or_reason != nullptr ? answer_or_reason : "", answer_or_reason ? length : 0);
  const std::optional<int> payload_type = status == PL_OK ? opus_payload_type(text) : std::nullopt;
  if (!payload_type) {
    const std::string reason = status == PL_OK ? std::string("the answer has no Opus") : std::string(text);
    push(participant.handle, failed_event(room.id, status == PL_OK ? kUnsupported : status, reason));
    remove_from_room(participant);
    (void)g_host->close_media(participant.handle);
    return;
  }
  SeatConfig seat;
  seat.handle = participant.handle;
  seat.id = participant.id;
  seat.display = participant.display;
  seat.payload_type = static_cast<uint8_t>(*payload_type);
  seat.incoming_payload_type = seat.payload_type;
  seat.level_id = extension_id(text, kAudioLevelUri);
  seat.muted = participant.muted;
  seat.gain = static_cast<float>(participant.gain);
  seat.talking = &participant.talking;
  on_media_thread(participant.handle, [target = &participant, media = room.media, seat] {
    if (media->attach(seat)) {
      target->media_room = media;
      target->seat = seat.id;
    } else {
      log(target->handle, PL_LOG_WARN, "the mixer refused the participant (full, or libopus failed)");
    }
  });
  std::vector<ParticipantView> others;
  for (const Participant* other : room.participants) {
    if (other != &participant && other->joined) others.push_back(view(*other, true));
  }
  const std::string joined = joined_event(room.id, participant.id, others);
  (void)g_host->push_event(participant.handle, joined.data(), joined.size(), "answer", text.data(), text.size());
  participant.joined = true;
  tell_others(room, participant, participant_event("joined", room.id, view(participant, true)));
}

// A participant whose PeerConnection failed or was closed (by its client:
// a leave closes it after taking the participant out) leaves its room: the
// others stop hearing silence from it, and it gets `left` with the reason.
void media_state(void*, void* handle_state, pl_media_state state, const char* reason) {
  auto& participant = *static_cast<Participant*>(handle_state);
  if (state == PL_MEDIA_UP || participant.room == nullptr) return;
  const std::string why = state == PL_MEDIA_FAILED ? std::string("media failed: ") + (reason ? reason : "?")
                                                   : std::string("media closed");
  log(participant.handle, PL_LOG_INFO, why);
  const std::string room = participant.room->id;
  remove_from_room(participant);
  push(participant.handle, left_event(room, participant.id, why));
}

int admin_query(void* state, void*, const char*, size_t, pl_reply* reply) {
  return list_rooms(*static_cast<Plugin*>(state), reply);
}

// The host's own handle for a line with mixed audio (no client, no room of
// the bridge: `list` does not show it). Its LineMix is made here and used
// only on the handle's media thread from the seating on.
int mix_line(void* state, void* handle_state, const char* line_id) {
  auto& plugin = *static_cast<Plugin*>(state);
  auto& participant = *static_cast<Participant*>(handle_state);
  if (participant.room != nullptr || participant.mixes_line) {
    log(participant.handle, PL_LOG_WARN, "mix_line refused: the handle is in a room or mixes a line already");
    return kConflict;
  }
  if (g_host->api_minor < 4) return kNotImplemented;  // no line_send_rtp_to
  RoomSettings settings = plugin.config.defaults;
  settings.max_participants = plugin.config.line_max_listeners;
  participant.line_mix = std::make_unique<LineMix>(line_id != nullptr ? line_id : "", mixer_config(settings),
                                                   plugin.line_port, participant.handle);
  participant.mixes_line = true;
  return PL_OK;
}

// ---- ABI callbacks: the room's media thread ----

void incoming_rtp(void*, void* handle_state, uint32_t, int video, int rtx, uint8_t* packet, size_t length) {
  auto& participant = *static_cast<Participant*>(handle_state);
  if (video || rtx || !participant.media_room) return;
  participant.media_room->receive(participant.seat, std::span<const uint8_t>(packet, length), steady_now());
}

void timer(void*, void* handle_state) {
  auto& participant = *static_cast<Participant*>(handle_state);
  if (participant.line_mix) participant.line_mix->tick(steady_now());
  if (participant.media_room) participant.media_room->tick(participant.handle, steady_now());
}

void media_thread_released(void*, void* handle_state) {
  auto& participant = *static_cast<Participant*>(handle_state);
  participant.line_mix.reset();  // a line's mixer: its line seat and timer have ended
  if (!participant.media_room) return;
  participant.media_room->detach(participant.seat);
  participant.media_room.reset();
}

// ---- ABI callbacks: a mixed line's media thread ----

LineMix* line_of(void* handle_state) { return static_cast<Participant*>(handle_state)->line_mix.get(); }

void line_stream_added(void*, void* handle_state, const pl_line_stream* stream) {
  if (LineMix* line = line_of(handle_state); line != nullptr && stream != nullptr) line->stream_added(*stream);
}

void line_stream_removed(void*, void* handle_state, uint32_t stream) {
  if (LineMix* line = line_of(handle_state)) line->stream_removed(stream);
}

void line_rtp(void*, void* handle_state, uint32_t stream, const uint8_t* packet, size_t length) {
  if (LineMix* line = line_of(handle_state)) line->rtp(stream, std::span<const uint8_t>(packet, length), steady_now());
}

void line_listener_added(void*, void* handle_state, const pl_line_listener* listener) {
  LineMix* line = line_of(handle_state);
  if (line == nullptr || listener == nullptr ||
      listener->struct_size < offsetof(pl_line_listener, display_name) + sizeof(listener->display_name)) {
    return;
  }
  if (!line->listener_added(listener->listener, listener->occupant != nullptr ? listener->occupant : "",
                            listener->display_name != nullptr ? listener->display_name : "")) {
    log(static_cast<Participant*>(handle_state)->handle, PL_LOG_WARN,
        "the line's mixer refused a listener (line_max_listeners reached, or libopus failed): it hears nothing");
  }
}

void line_listener_removed(void*, void* handle_state, uint32_t listener) {
  if (LineMix* line = line_of(handle_state)) line->listener_removed(listener);
}

const pl_plugin kAudioBridge = [] {
  pl_plugin plugin{};
  plugin.api_major = PARTYLINE_PLUGIN_API_VERSION_MAJOR;
  plugin.api_minor = PARTYLINE_PLUGIN_API_VERSION_MINOR;
  plugin.struct_size = sizeof(pl_plugin);
  plugin.name = "audiobridge";
  plugin.version = "1.0.0";
  plugin.description = "audio rooms: each participant receives one Opus stream, the mix of the others";
  plugin.init = init;
  plugin.destroy = destroy;
  plugin.create_handle = create_handle;
  plugin.destroy_handle = destroy_handle;
  plugin.handle_message = handle_message;
  plugin.admin_query = admin_query;
  plugin.negotiated = negotiated;
  plugin.media_state = media_state;
  plugin.incoming_rtp = incoming_rtp;
  plugin.timer = timer;
  plugin.media_thread_released = media_thread_released;
  plugin.mix_line = mix_line;
  plugin.line_stream_added = line_stream_added;
  plugin.line_stream_removed = line_stream_removed;
  plugin.line_rtp = line_rtp;
  plugin.line_listener_added = line_listener_added;
  plugin.line_listener_removed = line_listener_removed;
  return plugin;
}();

}  // namespace
}  // namespace audiobridge

extern "C" PARTYLINE_PLUGIN_EXPORT const pl_plugin* partyline_plugin_entry(void) { return &audiobridge::kAudioBridge; }
