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
 *   - Host services marked [any thread] may be called from any thread,
 *     including the plugin's own; the others only from the signaling thread,
 *     inside or outside a callback.
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
#define PARTYLINE_PLUGIN_API_VERSION_MINOR 0

/* The symbol every plugin exports (extern "C" in C++). */
#define PARTYLINE_PLUGIN_ENTRY_SYMBOL "partyline_plugin_entry"

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
} pl_host;

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
} pl_plugin;

/* What a plugin defines:
 *   extern "C" const pl_plugin* partyline_plugin_entry(void) { return &my_plugin; }
 */
typedef const pl_plugin* (*pl_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* PARTYLINE_PLUGIN_H */
