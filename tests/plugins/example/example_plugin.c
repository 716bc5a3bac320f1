/*
 * A complete minimal partyline plugin, in C, built out of tree against the
 * installed header only:
 *
 *   cc -shared -fPIC $(pkg-config --cflags partyline-plugin) -o libexample.so example_plugin.c
 *
 * Its messages ({"request": ...} bodies):
 *   echo {text}  replies {"echo": text, "messages": N} (N: this handle's count)
 *   handles      replies {"handles": live handles of this plugin}
 *   notify       replies nothing now; a thread of the plugin's own pushes the
 *                event {"notified": true} to the handle's client
 *   anything else: error 400 "unknown request"
 * docs/plugins.md walks through it.
 *
 * EXAMPLE_API_MAJOR and EXAMPLE_NAME let the tests build the same plugin as
 * if it were made for another major API version; EXAMPLE_API_1_0 as if it
 * were built against API 1.0's header (a pl_plugin that ends after
 * admin_query), which a newer server must still load.
 */
#include <partyline/plugin.h>

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef EXAMPLE_API_MAJOR
#define EXAMPLE_API_MAJOR PARTYLINE_PLUGIN_API_VERSION_MAJOR
#endif
#ifndef EXAMPLE_NAME
#define EXAMPLE_NAME "example"
#endif
#ifdef EXAMPLE_API_1_0
#define EXAMPLE_API_MINOR 0
#define EXAMPLE_STRUCT_SIZE (offsetof(pl_plugin, admin_query) + sizeof(((pl_plugin*)0)->admin_query))
#else
#define EXAMPLE_API_MINOR PARTYLINE_PLUGIN_API_VERSION_MINOR
#define EXAMPLE_STRUCT_SIZE sizeof(pl_plugin)
#endif

typedef struct example {
  const pl_host* host;
  int handles;
} example;

typedef struct example_handle {
  example* plugin;
  pl_handle* handle;
  int messages;
  pthread_t notifier;
  int notifying;
} example_handle;

static void say(const example* plugin, const pl_handle* handle, const char* text) {
  plugin->host->log(plugin->host, handle, PL_LOG_INFO, text, strlen(text));
}

static int init(const pl_host* host, const char* config, size_t config_length, void** state) {
  (void)config;
  (void)config_length;
  /* This plugin needs only what API 1.0 offers. */
  if (host->api_major != PARTYLINE_PLUGIN_API_VERSION_MAJOR) return 500;
  example* plugin = calloc(1, sizeof *plugin);
  if (plugin == NULL) return 500;
  plugin->host = host;
  *state = plugin;
  say(plugin, NULL, "example: initialized");
  return PL_OK;
}

static void destroy(void* state) {
  example* plugin = state;
  say(plugin, NULL, "example: destroyed");
  free(plugin);
}

static int create_handle(void* state, pl_handle* handle, void** handle_state) {
  example* plugin = state;
  example_handle* mine = calloc(1, sizeof *mine);
  if (mine == NULL) return 500;
  mine->plugin = plugin;
  mine->handle = handle;
  plugin->handles++;
  *handle_state = mine;
  return PL_OK;
}

static void destroy_handle(void* state, void* handle_state) {
  example* plugin = state;
  example_handle* mine = handle_state;
  /* The contract: nothing may use the handle after this returns. */
  if (mine->notifying) pthread_join(mine->notifier, NULL);
  plugin->handles--;
  say(plugin, mine->handle, "example: handle destroyed");
  free(mine);
}

/* The event comes from another thread than the signaling thread. */
static void* notify(void* argument) {
  example_handle* mine = argument;
  static const char event[] = "{\"notified\": true}";
  mine->plugin->host->push_event(mine->handle, event, sizeof event - 1, NULL, NULL, 0);
  return NULL;
}

/* The value of "key" in a flat JSON object, as a string, into `out`. Enough
   for this example's bodies; a real plugin uses a JSON library. */
static int string_field(const char* body, size_t length, const char* key, char* out, size_t room) {
  char pattern[64];
  snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
  const char* start = NULL;
  for (size_t i = 0; i + strlen(pattern) <= length; ++i) {
    if (memcmp(body + i, pattern, strlen(pattern)) == 0) {
      start = body + i + strlen(pattern);
      break;
    }
  }
  if (start == NULL) return 0;
  size_t n = 0;
  while (start + n < body + length && start[n] != '"' && start[n] != '\\' && n + 1 < room) {
    out[n] = start[n];
    n++;
  }
  out[n] = '\0';
  return 1;
}

static int handle_message(void* state, void* handle_state, const char* body, size_t body_length,
                          const char* jsep_type, const char* jsep_sdp, size_t jsep_sdp_length, pl_reply* reply) {
  example* plugin = state;
  example_handle* mine = handle_state;
  (void)jsep_sdp;
  (void)jsep_sdp_length;
  char request[32], text[256], json[512];
  if (!string_field(body, body_length, "request", request, sizeof request)) {
    static const char reason[] = "the body needs a string 'request'";
    plugin->host->reply(reply, reason, sizeof reason - 1);
    return 400;
  }
  mine->messages++;
  if (strcmp(request, "echo") == 0) {
    if (!string_field(body, body_length, "text", text, sizeof text)) text[0] = '\0';
    int n = snprintf(json, sizeof json, "{\"echo\": \"%s\", \"messages\": %d, \"jsep\": \"%s\"}", text,
                     mine->messages, jsep_type ? jsep_type : "");
    return plugin->host->reply(reply, json, (size_t)n);
  }
  if (strcmp(request, "handles") == 0) {
    int n = snprintf(json, sizeof json, "{\"handles\": %d}", plugin->handles);
    return plugin->host->reply(reply, json, (size_t)n);
  }
  if (strcmp(request, "notify") == 0) {
    if (mine->notifying) pthread_join(mine->notifier, NULL);
    mine->notifying = pthread_create(&mine->notifier, NULL, notify, mine) == 0;
    return mine->notifying ? PL_OK : 500;
  }
  static const char unknown[] = "unknown request";
  plugin->host->reply(reply, unknown, sizeof unknown - 1);
  return 400;
}

static int admin_query(void* state, void* handle_state, const char* request, size_t length, pl_reply* reply) {
  example* plugin = state;
  (void)request;
  (void)length;
  char json[128];
  int n = handle_state ? snprintf(json, sizeof json, "{\"messages\": %d}", ((example_handle*)handle_state)->messages)
                       : snprintf(json, sizeof json, "{\"handles\": %d}", plugin->handles);
  return plugin->host->reply(reply, json, (size_t)n);
}

static const pl_plugin example_plugin = {
    .api_major = EXAMPLE_API_MAJOR,
    .api_minor = EXAMPLE_API_MINOR,
    .struct_size = EXAMPLE_STRUCT_SIZE,
    .name = EXAMPLE_NAME,
    .version = "1.0.0",
    .description = "answers messages: the plugin authors' example",
    .init = init,
    .destroy = destroy,
    .create_handle = create_handle,
    .destroy_handle = destroy_handle,
    .handle_message = handle_message,
    .admin_query = admin_query,
};

const pl_plugin* partyline_plugin_entry(void) { return &example_plugin; }
