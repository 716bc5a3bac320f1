/*
 * partyline plugin API: the C ABI between the partyline server (the host)
 * and the plugins it loads from shared objects.
 *
 * A plugin exports one function, partyline_plugin_entry(), returning a
 * pointer to a static pl_plugin: its name, the API version it was built
 * against, and the callbacks it implements. The host gives it a pl_host at
 * init: the services it may call. Nothing else crosses: no GLib, jansson,
 * libnice or libsrtp type is in this header, JSON crosses as UTF-8 text with
 * a length (not NUL-terminated unless said), handles are opaque pointers.
 *
 * Versions. PARTYLINE_PLUGIN_API_VERSION_MAJOR changes when anything here
 * changes incompatibly; the host refuses a plugin built against another
 * major version (it logs the plugin's path and both versions, and serves
 * on without it). The minor version grows when something is appended:
 * both structs carry their own size (struct_size), so a newer host reads
 * only what an older plugin's struct has, and a plugin built against a newer
 * minor version checks host->api_minor (or host->struct_size) before calling
 * a service the host may not have.
 *
 * Threading contract (what runs where):
 *   - init, destroy, create_handle, destroy_handle, handle_message and
 *     admin_query run on the host's signaling thread, one at a time, never
 *     concurrently with each other. They must not block: no disk or network
 *     I/O that can wait, no sleeping, no waiting on another thread. Work
 *     that takes long runs on a thread of the plugin's own, which answers
 *     later through push_event.
 *   - negotiated, media_state and line_left also run on the signaling
 *     thread. incoming_rtp, incoming_rtcp, keyframe_requested,
 *     line_stream_added, line_stream_removed, line_rtp, timer,
 *     media_thread_released and run_on_media_thread's function run on the
 *     handle's media thread: one of the server's media workers, chosen when
 *     the handle first needs one (negotiate, line_join, start_timer, or
 *     use_media_thread for one of another handle) and kept for the handle's
 *     life, concurrently with the signaling thread's callbacks (the plugin
 *     protects what both touch). They must return in microseconds: they are
 *     on the packet path.
 *   - Host services marked [any thread] may be called from any thread,
 *     including the plugin's own; those marked [media thread] only from
 *     inside a media callback running on the handle's media thread (its
 *     own, or, API 1.3, one of another handle sharing that thread); the
 *     others only from the signaling thread, inside or outside a callback.
 *   - A handle's PeerConnection is closed, and no media callback of it runs
 *     any more, before destroy_handle is called.
 *   - A handle is valid from create_handle until destroy_handle returns.
 *     After destroy_handle the plugin must not use that pl_handle again,
 *     from any thread (push_event on it is then undefined behaviour): a
 *     plugin thread that may still hold it must be stopped or told first.
 *   - The pl_host pointer and the strings the host passes are valid for the
 *     duration of the call that passes them (the pl_host: until destroy
 *     returns).
 */
#ifndef PARTYLINE_PLUGIN_H
#define PARTYLINE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PARTYLINE_PLUGIN_API_VERSION_MAJOR 1
#define PARTYLINE_PLUGIN_API_VERSION_MINOR 4

/* The symbol every plugin exports (extern "C" in C++), and what marks it
   exported when the plugin builds with hidden visibility. */
#define PARTYLINE_PLUGIN_ENTRY_SYMBOL "partyline_plugin_entry"
#if defined(__GNUC__)
#define PARTYLINE_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define PARTYLINE_PLUGIN_EXPORT
#endif

/* One client attached to a plugin (one `attach`). Owned by the host. */
typedef struct pl_handle pl_handle;

/* Where a synchronous reply is written (handle_message, admin_query). */
typedef struct pl_reply pl_reply;

typedef enum pl_log_level {
  PL_LOG_ERROR = 0,
  PL_LOG_WARN = 1,
  PL_LOG_INFO = 2,
  PL_LOG_DEBUG = 3
} pl_log_level;

/*
 * Status codes returned by plugin callbacks and host services. Errors use
 * the signaling protocol's codes (docs/protocol.md), which the client sees
 * in the error response: 400 malformed request, 403 forbidden, 404 unknown
 * thing, 409 conflict, 413 too large, 415 unsupported, 500 internal,
 * 503 at capacity.
 */
#define PL_OK 0

/* ---- API 1.2: phone lines ---- */

/* The payload type of the Opus stream a plugin publishes into a line
   (48 kHz, 2 channels, as RTP carries Opus: RFC 7587). */
#define PL_LINE_OPUS_PAYLOAD_TYPE 111

/* How a handle takes part in a phone line (host->line_join). */
typedef struct pl_line_join {
  size_t struct_size;       /* sizeof(pl_line_join) */
  const char* line_id;      /* NUL-terminated */
  const char* display_name; /* how the occupants see it, e.g. "recorder" (1-64 bytes, NUL-terminated) */
  int subscribe;            /* receive every publisher's streams: line_stream_added, line_rtp */
  int publish_audio;        /* publish one Opus stream into the line: line_send_rtp */
} pl_line_join;

/*
 * One stream of one of the line's publishers, as the handle receives it.
 * The strings are valid during the callback that passes them.
 */
typedef struct pl_line_stream {
  uint32_t stream;            /* the host's number for it: unique within the handle, never reused */
  int video;                  /* 1 video, 0 audio */
  const char* codec;          /* "opus", "VP8" or "H264" */
  uint32_t clock_rate;        /* of its RTP timestamps */
  uint8_t payload_type;       /* of the packets line_rtp delivers */
  const char* publisher;      /* the publisher's occupant id: one publisher's streams share it */
  const char* publisher_name; /* its display name */
} pl_line_stream;

/* ---- API 1.4: mixing a phone line's audio ---- */

/*
 * An occupant of a line whose audio the handle mixes (mix_line): the host's
 * stream to it, which carries what the plugin sends with line_send_rtp_to
 * and reaches that occupant only. The strings are valid during the
 * callback that passes them.
 */
typedef struct pl_line_listener {
  size_t struct_size;        /* sizeof(pl_line_listener) */
  uint32_t listener;         /* the host's number for it: unique within the handle, never reused */
  const char* occupant;      /* its occupant id: pl_line_stream.publisher of its own streams */
  const char* display_name;  /* how the occupants see it */
} pl_line_listener;

typedef struct pl_host {
  uint32_t api_major; /* PARTYLINE_PLUGIN_API_VERSION_MAJOR of the host */
  uint32_t api_minor;
  size_t struct_size; /* sizeof(pl_host) of the host */

  /*
   * Logs one line, tagged with the plugin's name (from `host`, the pl_host
   * the plugin was given) and, when `handle` is not NULL, the handle's id
   * and its client's session. [any thread]
   */
  void (*log)(const struct pl_host* host, const pl_handle* handle, pl_log_level level, const char* message_utf8,
              size_t length);

  /*
   * Sends an event to the handle's client: `json` must be a JSON object
   * (copied; it arrives as the "data" of {"event":"plugin", "handle":..}).
   * `jsep_type` ("offer" or "answer") and `jsep_sdp` are optional (NULL).
   * Returns PL_OK (queued for the client) or 400 when `json` is not a JSON
   * object or the jsep is incomplete. An event for a client that has gone
   * meanwhile (detached, disconnected) is dropped. [any thread] Events of
   * one handle arrive in the order they were pushed.
   */
  int (*push_event)(pl_handle* handle, const char* json, size_t json_length, const char* jsep_type,
                    const char* jsep_sdp, size_t jsep_sdp_length);

  /*
   * Writes the synchronous reply of handle_message or admin_query: a JSON
   * object (copied). On success it becomes the response's "data"; on an
   * error return it may instead be plain text, the response's "reason".
   * Only inside the callback that was given `reply`. Returns PL_OK or 400
   * (not a JSON object where one is needed). [signaling thread]
   */
  int (*reply)(pl_reply* reply, const char* text, size_t length);

  /* The handle's id as the client sees it (NUL-terminated, valid while the
     handle is). [any thread] */
  const char* (*handle_id)(const pl_handle* handle);

  /* ---- API 1.1: a PeerConnection per handle ---- */

  /*
   * Negotiates a PeerConnection between the handle's client and the server
   * from the client's SDP offer: the host does ICE, DTLS-SRTP, SRTP and the
   * answer (audio Opus, video VP8 or H264, RTX; the server's own SSRCs on
   * every m-line it sends back on). The outcome arrives later, once, in the
   * plugin's `negotiated` callback. Candidates are trickled between client
   * and host without the plugin. Returns PL_OK (started), 409 when the
   * handle has a PeerConnection already, 501 when this server runs without
   * media. [signaling thread]
   */
  int (*negotiate)(pl_handle* handle, const char* offer_sdp, size_t length);

  /*
   * Sends one RTP packet to the client on m-line `mline` (its index in the
   * offer): the host puts the server's SSRC of that m-line in it (its RTX
   * SSRC for a packet of the m-line's RTX payload type), removes header
   * extensions the m-line did not negotiate, protects and sends it. The
   * packet is copied. Returns PL_OK, 400 (malformed packet, no such m-line,
   * RTX not negotiated), 409 (no PeerConnection) or 503 (not secure yet, or
   * the socket refused it). [the handle's media thread]
   */
  int (*send_rtp)(pl_handle* handle, uint32_t mline, const uint8_t* packet, size_t length);
  /* One RTCP compound packet to the client, as is (copied, protected).
     [the handle's media thread, as send_rtp] */
  int (*send_rtcp)(pl_handle* handle, const uint8_t* compound, size_t length);
  /* Asks the client for a keyframe of what it sends on m-line `mline` (a
     PLI). [the handle's media thread, as send_rtp] */
  int (*request_keyframe)(pl_handle* handle, uint32_t mline);
  /* Closes the handle's PeerConnection (DTLS close_notify); media_state
     follows with PL_MEDIA_CLOSED. 404 without one. [signaling thread] */
  int (*close_media)(pl_handle* handle);

  /* ---- API 1.2: phone lines and timers ---- */

  /*
   * Makes the handle an occupant of a phone line, through the core's own
   * forwarding plane (no PeerConnection needed). The handle's client must
   * be a member of the line (its identity is the session's, never the
   * message's). The occupants see the handle in their `occupants` event
   * under `display_name`, with "plugin" set to the plugin's name.
   *   subscribe: every stream every other occupant publishes, now and
   *     later, is announced by line_stream_added and then arrives by
   *     line_rtp, rewritten as for any subscriber (its own SSRC, continuous
   *     sequence numbers: a gap is a loss, repaired by line_nack; a
   *     keyframe is asked for at the start of each video stream).
   *   publish_audio: what the plugin sends with line_send_rtp reaches every
   *     other occupant (through their `update` offers) as the handle's audio.
   * Returns PL_OK, 400 (malformed `join`), 403 (the client is not a member
   * of the line), 404 (no such line), 409 (the handle is in a line already),
   * 501 (this server runs without media), 503 (the line is full).
   * [signaling thread]
   */
  int (*line_join)(pl_handle* handle, const pl_line_join* join);
  /* Leaves the line: the occupants see it go; on the media thread, each
     stream it received is then removed with line_stream_removed (packets
     may arrive until then). 404 when not in one. [signaling thread] */
  int (*line_leave)(pl_handle* handle);
  /*
   * One RTP packet of the handle's published audio: payload type
   * PL_LINE_OPUS_PAYLOAD_TYPE, the plugin's own SSRC, sequence numbers and
   * timestamps (48 kHz). Copied. Returns PL_OK, 400 (malformed, another
   * payload type), 409 (not publishing into a line, or called inside
   * line_rtp: a plugin forwarding what it receives sends from its timer).
   * [the handle's media thread]
   */
  int (*line_send_rtp)(pl_handle* handle, const uint8_t* packet, size_t length);
  /* Asks the publisher of `stream` for a keyframe (coalesced with other
     subscribers' requests). 404 for an unknown stream. [media thread] */
  int (*line_request_keyframe)(pl_handle* handle, uint32_t stream);
  /* Asks for `stream`'s packets with these sequence numbers again (as a
     NACK): they arrive by line_rtp once more. 404 for an unknown stream.
     [media thread] */
  int (*line_nack)(pl_handle* handle, uint32_t stream, const uint16_t* sequence_numbers, size_t count);
  /* Calls the plugin's `timer` on the handle's media thread every
     `period_ms` (1-10000) until stop_timer, replacing a running one; the
     first call comes one period from now. 400 for a bad period. [any
     thread but a plugin's own: the signaling thread or the media thread] */
  int (*start_timer)(pl_handle* handle, uint32_t period_ms);
  int (*stop_timer)(pl_handle* handle);

  /* ---- API 1.3: handles sharing a media thread ---- */

  /*
   * The media thread the handle's media runs on, as an index (0 to the
   * number of media threads - 1), choosing one for it now if it has none yet
   * (the host spreads handles over its threads). -1 on a server without
   * media. [signaling thread]
   */
  int (*media_thread)(pl_handle* handle);
  /*
   * Puts the handle's media (its PeerConnection's callbacks, its line seat,
   * its timer, run_on_media_thread) on media thread `index`, a value
   * media_thread returned for another handle. Handles on one thread never
   * run their media callbacks at the same time, so a plugin may keep state
   * that several handles' media touches (a room's mixer) on that thread
   * without locks, and call send_rtp, line_send_rtp, start_timer and
   * stop_timer for any of them from any media callback running there. Call
   * it before the handle's first need of a thread (negotiate, line_join,
   * start_timer, media_thread, run_on_media_thread). Returns PL_OK, 400 (no
   * such thread), 409 (the handle runs on another thread already), 501 (no
   * media). [signaling thread]
   */
  int (*use_media_thread)(pl_handle* handle, int index);
  /*
   * Calls fn(plugin_state, handle_state, arg) once on the handle's media
   * thread, after what was queued there before (choosing a thread for the
   * handle if it has none). When it returns PL_OK, fn runs exactly once,
   * before media_thread_released and destroy_handle (so `arg` is never
   * lost); 409 (the handle is being destroyed: fn never runs), 501 (no
   * media). [signaling thread]
   */
  int (*run_on_media_thread)(pl_handle* handle, void (*fn)(void* plugin_state, void* handle_state, void* arg),
                             void* arg);

  /* ---- API 1.4: mixing a phone line's audio ---- */

  /*
   * One RTP packet of the mix for `listener` (line_listener_added): payload
   * type PL_LINE_OPUS_PAYLOAD_TYPE, the plugin's own SSRC, sequence numbers
   * and timestamps (48 kHz), one numbering per listener. Copied; it reaches
   * that listener only. Returns PL_OK, 400 (malformed, another payload
   * type), 404 (no such listener: removed meanwhile), 409 (the handle mixes
   * no line, or called inside line_rtp). [the handle's media thread]
   */
  int (*line_send_rtp_to)(pl_handle* handle, uint32_t listener, const uint8_t* packet, size_t length);
} pl_host;

/* States of a handle's PeerConnection, as media_state reports them. */
typedef enum pl_media_state {
  PL_MEDIA_UP = 0,     /* DTLS-SRTP is done: media flows */
  PL_MEDIA_FAILED = 1, /* ICE or DTLS failed (reason says which) */
  PL_MEDIA_CLOSED = 2  /* closed by either side */
} pl_media_state;

typedef struct pl_plugin {
  uint32_t api_major; /* set to PARTYLINE_PLUGIN_API_VERSION_MAJOR */
  uint32_t api_minor; /* set to PARTYLINE_PLUGIN_API_VERSION_MINOR */
  size_t struct_size; /* set to sizeof(pl_plugin) */

  const char* name;        /* unique among loaded plugins: [a-z0-9_.-], 1-64 bytes */
  const char* version;     /* free text, e.g. "1.2.0" */
  const char* description; /* one line */

  /*
   * Called once after loading. `config_json` is the plugin's own section of
   * the server's config file (plugins.config.NAME), "{}" when there is none.
   * Returns PL_OK, or anything else to be skipped (logged with the code).
   * `*plugin_state` is passed back to every later callback.
   */
  int (*init)(const pl_host* host, const char* config_json, size_t config_length, void** plugin_state);
  /* Called once at shutdown, after every handle was destroyed. */
  void (*destroy)(void* plugin_state);

  /* A client attached: `handle` identifies it to the host from now on.
     Returns PL_OK, or an error code the client gets instead of a handle. */
  int (*create_handle)(void* plugin_state, pl_handle* handle, void** handle_state);
  /* The client detached or disconnected, or the server is stopping. */
  void (*destroy_handle)(void* plugin_state, void* handle_state);

  /*
   * A `message` from the handle's client: `body` is a JSON object, `jsep_type`
   * and `jsep_sdp` are NULL when the message carried no jsep. Return PL_OK
   * after host->reply (the response carries the reply as "data"), PL_OK
   * without a reply (the response is a plain success: an answer may follow
   * as an event), or an error code (the response is that error, with the
   * reply's text, if any, as its reason).
   */
  int (*handle_message)(void* plugin_state, void* handle_state, const char* body, size_t body_length,
                        const char* jsep_type, const char* jsep_sdp, size_t jsep_sdp_length, pl_reply* reply);

  /*
   * An operator's query through the admin API: plugin-wide when
   * `handle_state` is NULL, about one handle otherwise. Reply with a JSON
   * object through host->reply. May be NULL (the plugin answers nothing).
   */
  int (*admin_query)(void* plugin_state, void* handle_state, const char* request_json, size_t request_length,
                     pl_reply* reply);

  /* ---- API 1.1: media. Each may be NULL; a plugin that never calls
     host->negotiate needs none of them. ---- */

  /* The outcome of host->negotiate: PL_OK and the SDP answer (which the
     plugin sends its client, usually in an event with jsep type "answer"),
     or an error code and its reason. [signaling thread] */
  void (*negotiated)(void* plugin_state, void* handle_state, int status, const char* answer_or_reason,
                     size_t length);
  /* The handle's PeerConnection changed state; `reason` (may be NULL) says
     why it failed. [signaling thread] */
  void (*media_state)(void* plugin_state, void* handle_state, pl_media_state state, const char* reason);
  /*
   * One decrypted RTP packet from the client, on m-line `mline` (`video`
   * set for a video m-line, `rtx` for a retransmission on its RTX SSRC). The
   * packet may be modified in place; it is not valid after the call. Runs on
   * the handle's media thread (a worker, not the signaling thread: the
   * plugin synchronizes what it shares with its other callbacks), and must
   * not block, allocate per packet in a hot loop, or log per packet.
   */
  void (*incoming_rtp)(void* plugin_state, void* handle_state, uint32_t mline, int video, int rtx, uint8_t* packet,
                       size_t length);
  /* One decrypted RTCP compound packet from the client. [media thread] */
  void (*incoming_rtcp)(void* plugin_state, void* handle_state, const uint8_t* compound, size_t length);
  /* The client asked (PLI or FIR) for a keyframe of what the plugin sends it
     on m-line `mline`. [media thread] */
  void (*keyframe_requested)(void* plugin_state, void* handle_state, uint32_t mline);

  /* ---- API 1.2: phone lines and timers. Each may be NULL. ---- */

  /* A publisher's stream is now forwarded to the handle. The streams of one
     publisher are announced together, before any packet of them. [media
     thread] */
  void (*line_stream_added)(void* plugin_state, void* handle_state, const pl_line_stream* stream);
  /* The stream's publisher left (or the handle did): no packet of it
     follows. [media thread] */
  void (*line_stream_removed)(void* plugin_state, void* handle_state, uint32_t stream);
  /* One clear RTP packet of `stream`; not valid after the call, nor after
     a line_nack made inside it (the answer reuses the buffer): copy it
     first. Not a place to call line_send_rtp (409). [media thread: return
     in microseconds, do no I/O] */
  void (*line_rtp)(void* plugin_state, void* handle_state, uint32_t stream, const uint8_t* packet, size_t length);
  /* The handle is no longer in the line because the line ended or the
     handle was removed from it (`reason`: "line_closed", "kicked"); not
     called after the plugin's own line_leave. [signaling thread] */
  void (*line_left)(void* plugin_state, void* handle_state, const char* line_id, const char* reason);
  /* host->start_timer's period elapsed. [media thread] */
  void (*timer)(void* plugin_state, void* handle_state);

  /* ---- API 1.3. May be NULL. ---- */

  /*
   * The handle is being destroyed (detached, its client gone, the server
   * stopping): the last call of the handle on its media thread, after its
   * PeerConnection, line seat and timer ended there and before
   * destroy_handle runs on the signaling thread. A plugin whose handles
   * share a thread (use_media_thread) forgets the handle here, so no other
   * handle's callback on that thread uses it afterwards. Only for handles
   * that had a media thread. [media thread]
   */
  void (*media_thread_released)(void* plugin_state, void* handle_state);

  /* ---- API 1.4: mixing a phone line's audio. May be NULL (the plugin
     mixes no line). ---- */

  /*
   * The host asks the plugin to mix the audio of phone line `line_id`, one
   * created with "audio": "mixed" (docs/protocol.md): instead of every
   * occupant receiving every other occupant's audio, each receives one
   * stream from the plugin. `handle` is the host's own (no client: no
   * handle_message, push_event goes nowhere), made for this line with
   * create_handle just before; the host destroys it (destroy_handle) when
   * the line empties or ends. Return PL_OK to accept: the host then seats
   * the handle in the line, where, on its media thread,
   *   - every occupant's audio stream arrives as for a subscribing handle
   *     (line_stream_added, line_rtp, line_stream_removed; video does not),
   *   - every occupant (publishing or not, the plugin's own handle aside)
   *     is announced by line_listener_added, with the stream the plugin
   *     sends it its mix on (line_send_rtp_to), and line_listener_removed
   *     when it left.
   * The handle is not listed among the line's occupants. Any other return
   * refuses (the occupants then hear nothing; the host logs the code).
   * [signaling thread]
   */
  int (*mix_line)(void* plugin_state, void* handle_state, const char* line_id);
  /* An occupant to send a mix to, from now on. [media thread] */
  void (*line_listener_added)(void* plugin_state, void* handle_state, const pl_line_listener* listener);
  /* The occupant left: line_send_rtp_to answers 404 for it from now on. [media thread] */
  void (*line_listener_removed)(void* plugin_state, void* handle_state, uint32_t listener);
} pl_plugin;

/* What a plugin defines:
 *   extern "C" const pl_plugin* partyline_plugin_entry(void) { return &my_plugin; }
 */
typedef const pl_plugin* (*pl_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* PARTYLINE_PLUGIN_H */
