// CallHandler: the application behind the protocol (docs/protocol.md), a
// thin dispatcher: it reads requests, asks the call-control units
// (core/calls/: LineRoster, Invitations, Renegotiation, ChangeSchedule;
// all sans-I/O, tested in virtual time) what follows, and turns their
// answers into responses, events and PeerConnection calls.
//   call_handler.cpp         sessions, dispatch, the one wake-up timer,
//                            PeerConnections, ice_trickle, hangup
//   echo_requests.cpp        the echo test, served by the echotest plugin
//   line_requests.cpp        create_line, get_line, join, leave, mute, ping
//   relay_requests.cpp       message, signal, ready: stamped relays
//   line_occupancy.cpp       what members see of each other: the coalesced
//                            `occupants` and `presence` events and the
//                            media refresh after a line changes
//   line_media_requests.cpp  server offers, `update` answers and offers
//   invitation_requests.cpp  invite, accept, decline, cancel, outgoing_call,
//                            block, unblock, ring timeouts
//   line_guests.cpp          occupants that are plugin handles (LineGuests)
// Shared state (lines, members, invitations, block lists) lives in the
// core::LineStore; what is bound to live sessions on this node lives here
// and in the units.
//
// Runs on the signaling loop thread, like every RequestHandler.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/calls/change_schedule.hpp"
#include "core/calls/invitations.hpp"
#include "core/calls/line_roster.hpp"
#include "core/calls/renegotiation.hpp"
#include "core/runtime/event_loop.hpp"
#include "core/runtime/json.hpp"
#include "core/lines/line_guests.hpp"
#include "signaling/line_admission.hpp"
#include "core/lines/line_store.hpp"
#include "core/session/peer_connection.hpp"
#include "core/session/peer_connection_handle.hpp"
#include "core/runtime/worker_pool.hpp"
#include "signaling/call_events.hpp"
#include "signaling/client_session.hpp"
#include "signaling/request_fields.hpp"

namespace partyline::core {
class PluginHost;
}  // namespace partyline::core

namespace partyline::signaling {

class CallHandler : public RequestHandler, public core::LineGuests, public LineAdmission {
 public:
  struct Options {
    std::chrono::milliseconds ring_timeout{60000};
    std::chrono::milliseconds line_idle_timeout{300000};
    size_t max_occupants_per_line = 100;
    // A line's changes (joins, leaves, states, mute) reach its occupants at
    // most once per this interval, as one `occupants` event with the latest
    // list (lines.occupants_interval_ms); the same for `presence`.
    std::chrono::milliseconds occupants_interval{50};
    // The largest `data` of a `signal`, serialized (limits.max_signal_bytes).
    size_t max_signal_bytes = 16384;
    // Active speaker detection (lines.speech_level_dbov) and last-N
    // (lines.last_n, 0: off).
    core::SpeakerSettings speakers = {};
    size_t last_n = 0;
  };
  // Candidates a client may trickle before its offer arrives.
  static constexpr size_t kMaxEarlyCandidates = 64;

  CallHandler(core::EventLoop& signaling_loop, core::WorkerPool& workers, core::PeerConnectionSettings settings,
              core::LineStore& lines, Options options);
  ~CallHandler() override;

  void on_session_open(const std::shared_ptr<ClientSession>& session) override;
  void on_request(const std::shared_ptr<ClientSession>& session, Request request) override;
  void on_session_closed(const std::shared_ptr<ClientSession>& session) override;
  // session_resume.cpp: a detached session keeps its line, PeerConnection
  // and invitations; on resume it gets the current state.
  void on_session_detached(const std::shared_ptr<ClientSession>& session) override;
  void on_session_resumed(const std::shared_ptr<ClientSession>& session) override;

  // LineAdmission, in line_requests.cpp.
  Status may_join(const std::string& line_id, const std::string& user) const override;
  Status token_admits(const std::string& line_id, const std::string& token) const override;
  // The configured rooms (lines.rooms), made once at start.
  Status add_rooms(const std::vector<core::RoomSpec>& rooms);

  // Server shutdown, before the WebSockets close with 1001: every client
  // session in a line or with a PeerConnection gets `hangup` (reason
  // "shutdown"), in call_handler_admin.cpp.
  void announce_shutdown();
  // Closes every PeerConnection (server shutdown).
  void close_all();

  // Where the echo test runs (its echotest plugin); without it `echo`
  // answers 501. Set once, before sessions arrive.
  void use_plugins(core::PluginHost* plugins);
  // Who mixes lines of mixed audio (use_plugins sets the plugin host; a
  // test may set another). Null: create_line with "audio": "mixed" gets 501.
  void use_mixers(core::LineMixers* mixers) { mixers_ = mixers; }
  // Where call events go (webhooks); null: nowhere. Set before sessions arrive.
  void use_events(CallEvents* events) { events_ = events; }

  // core::LineGuests, in line_guests.cpp: a plugin handle occupies a line
  // as a session without a client or a PeerConnection.
  Result<std::vector<core::PublishedStream>> join_guest(core::GuestJoin join) override;
  void leave_guest(const std::string& guest_id) override;

  // For operators (signaling/admin/, docs/admin-api.md), in
  // call_handler_admin.cpp. Signaling loop only, like everything here.
  struct AdminCounts {
    size_t sessions = 0;   // sessions this handler knows
    size_t lines = 0;      // lines in the LineStore
    size_t occupants = 0;  // sessions occupying a line
    size_t detached = 0;   // sessions whose connection was lost, awaiting a resume
  };
  AdminCounts admin_counts() const;
  // PeerConnections open (not failed or closed) on each media worker.
  std::vector<size_t> admin_peers_per_worker() const;
  core::JsonPtr admin_sessions() const;                             // an array
  core::JsonPtr admin_session(const std::string& session_id) const;  // null: unknown
  core::JsonPtr admin_lines() const;                                // lines with occupants, an array
  core::JsonPtr admin_line(const std::string& line_id) const;        // null: unknown
  // The session gets `hangup` (reason kicked), leaves its line, and its
  // WebSocket closes with 4004. False: no such session.
  bool admin_kick(const std::string& session_id);
  // The session's line PeerConnection, for its figures (null: none).
  std::shared_ptr<core::PeerConnectionHandle> admin_peer(const std::string& session_id) const;
  // An operator's force-mute (true) or its lifting (false) of the session's
  // published audio and/or video: the forwarding plane stops forwarding it,
  // the others' `occupants` show it muted, and the client cannot unmute it
  // (403). The session's JSON after the change; 404 no session, 409 not
  // publishing in a line.
  Result<core::JsonPtr> admin_mute(const std::string& session_id, std::optional<bool> audio,
                                   std::optional<bool> video);
  // Every occupant gets `hangup` (reason line_closed) and leaves the line;
  // returns the sessions hung up, nullopt for an unknown line.
  std::optional<std::vector<std::string>> admin_close_line(const std::string& line_id);

 private:
  // What one client session has going on. How the others see it in its
  // line (its occupant entry) is in roster_.
  struct SessionState {
    std::weak_ptr<ClientSession> session;
    std::string id, user, name;
    std::string email;  // from the identity; empty when unknown
    // Authenticated by name, not token (Identity::anonymous): "guest": true
    // in `occupants` and `presence` entries.
    bool anonymous = false;
    // Its line PeerConnection, if any.
    std::shared_ptr<core::PeerConnectionHandle> peer;
    // Its echo test: a handle on the echotest plugin ("" when none).
    std::string echo_handle;
    bool peer_finished = false;  // failed or closed: a new one may start
    const char* peer_state = "new";  // the last webrtc_state (admin API)
    uint64_t negotiation = 0;    // which negotiation a late answer belongs to
    // The request (join, echo, an `update` offer) waiting for its answer;
    // a leave or hangup meanwhile answers it with 409.
    std::function<void(const Error&)> abandon_waiting;
    // Its PeerConnection is paired (MediaRole::kPairedLineParticipant): the
    // line's streams go on its own m-lines, no server offers.
    bool paired = false;
    // A `media_offer` was answered with the server's offer, which awaits the
    // client's answer in a join.
    bool first_offer_out = false;
    std::vector<std::string> early_candidates;  // trickled before the offer
    bool early_end_of_candidates = false;
    // The mid the server's trickled candidates name (the client's first m-line).
    std::string candidate_mid = "0";
    // The line it occupies or is joining ("" when none).
    std::string line_id;
    // Forwarding: the worker of its PeerConnection, who offers next, and
    // what the last server offer carried.
    size_t worker_index = 0;
    core::Renegotiation renegotiation;
    std::vector<core::StreamKey> offered_keys;
    // The last server `update` offer event, sent again on a resume while it
    // awaits its answer.
    std::string server_offer_event;
    // A guest (a plugin handle in a line): no client session, no
    // PeerConnection; its streams go to `guest`. Gone when it leaves.
    core::LineGuest* guest = nullptr;
    bool guest_subscribes = false;
    // line_speakers.cpp: the active speaker it was told of last ("" none),
    // and the last-N selection its PeerConnection has (nullopt: everyone's).
    std::string told_speaker;
    std::optional<std::vector<std::string>> video_from;
  };
  using Handler = void (CallHandler::*)(SessionState&, const Request&);
  // Runs once with the answer (nullopt: joined signaling-only) or the error.
  using JoinDone = std::function<void(SessionState&, Result<std::optional<std::string>>)>;

  SessionState* state_of(const std::string& session_id);
  const core::Occupant* occupant_of(const SessionState& state) const;
  core::Occupant* occupant_of(const SessionState& state);
  void respond(SessionState& state, const Request& request, Result<core::JsonPtr> result);
  void send_event(const std::string& session_id, core::JsonPtr event);
  // One text to many sessions (serialized once).
  void send_text(const std::vector<std::string>& session_ids, const std::string& text);
  // To events_, if any (signaling/call_events.hpp lists the types and fields).
  void report(std::string_view type, core::JsonPtr fields);
  core::JsonPtr admin_session_json(const SessionState& state) const;
  bool user_online(const std::string& user) const { return sessions_by_user_.count(user) != 0; }

  // The one timer of the units' deadlines (ring timeouts, coalesced line
  // changes): wake_by() brings it forward to a new deadline; when it fires,
  // everything due runs and it is re-armed to the earliest next_wakeup().
  void wake_by(int64_t due_ms);
  void on_wakeup();

  // echo_requests.cpp
  void handle_echo(SessionState& state, const Request& request);
  void end_echo(SessionState& state);  // detaches its handle
  void trickle_to_echo(SessionState& state, const Request& request, TrickledCandidate candidate);
  // call_handler.cpp: media
  void handle_ice_trickle(SessionState& state, const Request& request);
  void handle_hangup(SessionState& state, const Request& request);
  // A new PeerConnection on a worker, replacing any (no negotiation yet).
  void create_peer(SessionState& state);
  // Whether a join bringing `start` must be refused: the session is in a
  // line, runs an echo test, or has a PeerConnection that `start` does not answer.
  bool busy_for_join(const SessionState& state, const std::optional<MediaStart>& start) const;
  void handle_media_offer(SessionState& state, const Request& request);
  // Creates the session's PeerConnection and negotiates the offer of
  // `start` (or applies its answer to the session's media_offer); `done`
  // gets the answer (on the signaling loop; empty for an answer) unless the
  // session went away; when the PeerConnection was closed or replaced
  // first, the request waiting for it is answered 409 (abandon_waiting) and
  // `done` never runs.
  void start_peer(SessionState& state, MediaStart start,
                  std::function<void(SessionState&, Result<core::Negotiation>)> done);
  void close_peer(SessionState& state);
  // A request waits for this session's negotiation (see abandon_waiting).
  void wait_for_answer(SessionState& state, const Request& request);
  void abandon_waiting(SessionState& state);
  void on_peer_state(const std::string& session_id, ice::TransportState state, const std::optional<Error>& error);
  core::PeerConnectionHandle::Events peer_events(const std::string& session_id);
  // Leaves its line (if any), closes its PeerConnection, says `closed`.
  void end_line_call(SessionState& state);

  // line_requests.cpp
  void handle_create_line(SessionState& state, const Request& request);
  void handle_get_line(SessionState& state, const Request& request);
  void handle_join(SessionState& state, const Request& request);
  void handle_leave(SessionState& state, const Request& request);
  void handle_mute(SessionState& state, const Request& request);
  void handle_ping(SessionState& state, const Request& request);
  // Checks membership (a valid token admits) and room, then negotiates
  // `offer` (none: signaling-only) and makes the session an occupant.
  // A member, or anyone for an open room.
  bool admits(const core::LineRecord& line, const std::string& user) const;
  void join_line(SessionState& state, const std::string& line_id, const std::optional<std::string>& token,
                 std::optional<MediaStart> start, JoinDone done);
  // Adds the session to the roster (after its negotiation, if any).
  void become_occupant(SessionState& state, const std::string& line_id, const core::Negotiation* negotiation);
  void leave_line(SessionState& state);
  void sweep_idle_lines();
  // relay_requests.cpp
  void handle_message(SessionState& state, const Request& request);
  void handle_signal(SessionState& state, const Request& request);
  void handle_ready(SessionState& state, const Request& request);
  // line_occupancy.cpp
  core::JsonPtr line_json(const std::string& line_id) const;
  core::JsonPtr members_json(const std::string& line_id) const;
  // The line's occupants or their media changed: schedules one coalesced
  // `occupants` event and media refresh; its members' presence changed:
  // one coalesced `presence` event.
  void line_changed(const std::string& line_id);
  void presence_changed(const std::string& line_id);
  // Every line the user is a member of (the user came or went).
  void user_presence_changed(const std::string& user);
  // What a scheduled change does when due: `occupants` to every occupant,
  // then new server offers where the streams changed.
  void publish_line_change(const std::string& line_id);
  // line_mixing.cpp: a line of mixed audio has its mixer while it has
  // occupants (started, stopped), and the mixer a stream to each occupant.
  void update_mixer(const std::string& line_id);
  core::LineAudio line_audio(const std::string& line_id) const;
  void broadcast_occupants(const std::string& line_id);
  void broadcast_presence(const std::string& line_id);
  void send_member_lines(SessionState& state);
  // line_media_requests.cpp: every occupant of the line receives every
  // other occupant's published streams, through a server offer when that
  // set changed.
  void handle_update(SessionState& state, const Request& request);
  void handle_configure(SessionState& state, const Request& request);
  void refresh_media(const std::string& line_id);
  // line_speakers.cpp: a participant's audio level from its worker; the
  // `active_speaker` event to whoever was not told the current one yet;
  // each occupant's last-N selection to its PeerConnection when it changed.
  void on_audio_level(const std::string& session_id, uint8_t level);
  void announce_speaker(const std::string& line_id);
  void apply_last_n(const std::string& line_id);
  // line_media_requests.cpp: streams a client's answer did not take (codec).
  void cannot_receive(SessionState& state, const std::vector<core::UnreceivedStream>& streams);
  void offer_streams(SessionState& state);
  void send_server_offer(SessionState& state, std::vector<core::LegRequest> streams);
  void apply_update_answer(SessionState& state, const Request& request, std::string answer_sdp);
  void apply_client_offer(SessionState& state, const Request& request, std::string offer_sdp);
  // The session's own streams changed (a client offer was answered).
  void published_changed(SessionState& state, const core::Negotiation& negotiation);
  // line_guests.cpp: the guest is out of its line for `reason` (it is told).
  void remove_guest(const std::string& guest_id, const std::string& reason);

  // invitation_requests.cpp
  void handle_invite(SessionState& state, const Request& request);
  void handle_accept(SessionState& state, const Request& request);
  void handle_decline(SessionState& state, const Request& request);
  void handle_cancel(SessionState& state, const Request& request);
  void handle_outgoing_call(SessionState& state, const Request& request);
  void handle_block(SessionState& state, const Request& request);
  void handle_unblock(SessionState& state, const Request& request);
  // Invites `callee` to the line; the response fields (call_id, delivered,
  // the sessions it rings on).
  Result<core::JsonPtr> invite(SessionState& caller, const std::string& line_id, const std::string& callee);
  // The user a request names by "user" or by "email" (exactly one of them,
  // 400 otherwise). An email names the user of a connected session with
  // that address, compared without case; nullopt when none is connected
  // (no directory of users exists beyond the sessions).
  Result<std::optional<std::string>> named_user(const Request& request) const;
  // The call a callee answers, by "call_id" or by "caller_session" (the
  // call ringing for the callee's user from that session: seed 000 names
  // calls by the caller's connection); 404 when none rings.
  Result<std::string> incoming_call_named(const SessionState& callee, const Request& request) const;
  // The call a caller cancels, by "call_id" or by the callee ("user" or
  // "email": the call this session placed to that user that still rings).
  Result<std::string> outgoing_call_named(const SessionState& caller, const Request& request) const;
  // Tells the parties how a ringing call ended.
  void tell_call_end(const core::CallEnd& end);
  void tell_call_ends(const std::vector<core::CallEnd>& ends);

  core::EventLoop& loop_;
  core::WorkerPool& workers_;
  core::PeerConnectionSettings settings_;
  core::LineStore& lines_;
  Options options_;
  core::PluginHost* plugins_ = nullptr;
  core::LineMixers* mixers_ = nullptr;  // the plugin host, when there is one
  CallEvents* events_ = nullptr;
  std::unordered_map<std::string, Handler> handlers_;

  std::unordered_map<std::string, SessionState> sessions_;                      // by session id
  std::unordered_map<std::string, std::vector<std::string>> sessions_by_user_;  // user -> session ids
  core::LineRoster roster_;
  core::Invitations invitations_;
  core::ChangeSchedule line_changes_;     // `occupants` + media refresh, per line
  core::ChangeSchedule presence_changes_; // `presence`, per line
  core::Timer wakeup_;
  std::optional<int64_t> wakeup_at_ms_;   // when wakeup_ fires (nullopt: not armed)
  core::Timer idle_sweep_;
  uint64_t negotiation_counter_ = 0;
};

// Milliseconds on the monotonic clock, for the LineStore's notion of time.
int64_t monotonic_ms();

}  // namespace partyline::signaling
