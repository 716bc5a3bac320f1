/*
 * tone: a test plugin that publishes a generated sine tone into a phone line
 * (plugin API 1.2), built in tree against the public header only, with
 * libopus and jansson as its own choices.
 *
 * Its messages ({"request": ...} bodies):
 *   join {line_id, frequency?}  joins the line as an occupant named "tone"
 *       that publishes audio (host->line_join) and, every 20 ms on the
 *       handle's media thread (host->start_timer), sends one Opus packet of
 *       a sine of `frequency` Hz (default 440) into it. Replies
 *       {"joined": line_id}; an error passes line_join's code with a reason.
 *   leave   stops the timer and leaves; replies {"left": line_id}.
 *   stats   replies {"line_id", "frequency", "sent", "refused", "encode_failed"}.
 * When the line ends or the handle is removed from it, the client gets the
 * event {"left": line_id, "reason": reason}. admin_query answers the stats
 * of a handle, or plugin-wide the handles and the packets of all of them.
 *
 * Threads: messages, line_left and destroy_handle run on the signaling
 * thread, `timer` on the handle's media thread. What both touch (the
 * encoder, the RTP state, the buffers) is under the handle's mutex, which
 * the signaling thread holds only for a few assignments and never across a
 * host call (stop_timer may wait for a running timer callback). The
 * counters are atomic. A packet is generated and sent without allocating.
 */
#define _GNU_SOURCE /* clock_gettime, getrandom */
#include <partyline/plugin.h>

#include <jansson.h>
#include <math.h>
#include <opus.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define TONE_SAMPLE_RATE 48000
#define TONE_CHANNELS 2
#define TONE_PERIOD_MS 20
#define TONE_FRAME_SAMPLES (TONE_SAMPLE_RATE / 1000 * TONE_PERIOD_MS) /* 960 per channel */
#define TONE_AMPLITUDE 0.3
#define TONE_TWO_PI 6.283185307179586
#define TONE_DEFAULT_HZ 440.0
#define TONE_MIN_HZ 20.0
#define TONE_MAX_HZ 20000.0
#define RTP_HEADER_BYTES 12
#define OPUS_MAX_PACKET_BYTES 1275
#define LINE_ID_MAX 128

typedef struct tone {
  const pl_host* host;
  int handles;    /* signaling thread only */
  int publishing; /* signaling thread only */
  atomic_uint_fast64_t sent, refused, encode_failed; /* of every handle, ever */
} tone;

typedef struct tone_handle {
  tone* plugin;
  pl_handle* handle;
  /* Signaling thread only: the line the handle is in ("" when none). */
  char line_id[LINE_ID_MAX + 1];
  double frequency;
  /* Shared with the timer on the media thread: under `lock`. */
  pthread_mutex_t lock;
  OpusEncoder* encoder; /* set while publishing */
  double phase, phase_step;
  uint32_t ssrc, timestamp;
  uint16_t sequence;
  int marker;           /* the next packet is the first one sent */
  int refusal_reported; /* one log line per join about a refused packet */
  float pcm[TONE_FRAME_SAMPLES * TONE_CHANNELS];
  uint8_t packet[RTP_HEADER_BYTES + OPUS_MAX_PACKET_BYTES];
  /* Any thread. */
  atomic_uint_fast64_t sent, refused, encode_failed;
} tone_handle;

static void say(const tone* plugin, const pl_handle* handle, pl_log_level level, const char* text) {
  plugin->host->log(plugin->host, handle, level, text, strlen(text));
}

static int reply_text(const tone* plugin, pl_reply* reply, int status, const char* text) {
  plugin->host->reply(reply, text, strlen(text));
  return status;
}

/* Replies with `value` (a JSON object, consumed) and returns PL_OK. */
static int reply_json(const tone* plugin, pl_reply* reply, json_t* value) {
  char* text = value ? json_dumps(value, JSON_COMPACT) : NULL;
  json_decref(value);
  if (text == NULL) return 500;
  int status = plugin->host->reply(reply, text, strlen(text));
  free(text);
  return status;
}

/* The host has the line and timer services of API 1.2. */
static int has_line_services(const pl_host* host) {
  size_t needed = offsetof(pl_host, stop_timer) + sizeof host->stop_timer;
  return host->api_minor >= 2 && host->struct_size >= needed && host->line_join && host->line_leave &&
         host->line_send_rtp && host->start_timer && host->stop_timer;
}

static uint32_t random_u32(void) {
  uint32_t value = 0;
  if (getrandom(&value, sizeof value, GRND_NONBLOCK) != (ssize_t)sizeof value) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    value = (uint32_t)now.tv_nsec * 2654435761u ^ (uint32_t)now.tv_sec;
  }
  return value;
}

static void put_u16(uint8_t* out, uint16_t value) {
  out[0] = (uint8_t)(value >> 8);
  out[1] = (uint8_t)value;
}

static void put_u32(uint8_t* out, uint32_t value) {
  put_u16(out, (uint16_t)(value >> 16));
  put_u16(out + 2, (uint16_t)value);
}

/* The next 20 ms of the sine as an RTP packet in mine->packet (under the
   lock, encoder set); returns its length, 0 when Opus failed. */
static size_t next_packet(tone_handle* mine) {
  for (int i = 0; i < TONE_FRAME_SAMPLES; ++i) {
    float sample = (float)(TONE_AMPLITUDE * sin(mine->phase));
    mine->pcm[TONE_CHANNELS * i] = sample;
    mine->pcm[TONE_CHANNELS * i + 1] = sample;
    mine->phase += mine->phase_step;
    if (mine->phase >= TONE_TWO_PI) mine->phase -= TONE_TWO_PI;
  }
  opus_int32 encoded = opus_encode_float(mine->encoder, mine->pcm, TONE_FRAME_SAMPLES,
                                         mine->packet + RTP_HEADER_BYTES, OPUS_MAX_PACKET_BYTES);
  uint8_t* header = mine->packet;
  header[0] = 0x80; /* version 2, no padding, no extension, no CSRC */
  header[1] = (uint8_t)((mine->marker ? 0x80 : 0) | PL_LINE_OPUS_PAYLOAD_TYPE);
  put_u16(header + 2, mine->sequence);
  put_u32(header + 4, mine->timestamp);
  put_u32(header + 8, mine->ssrc);
  /* A refused or unencodable packet is a loss: the numbering goes on. */
  mine->sequence++;
  mine->timestamp += TONE_FRAME_SAMPLES;
  return encoded > 0 ? RTP_HEADER_BYTES + (size_t)encoded : 0;
}

/* The media thread, every 20 ms while publishing. */
static void on_timer(void* state, void* handle_state) {
  tone* plugin = state;
  tone_handle* mine = handle_state;
  int refused_status = PL_OK;
  pthread_mutex_lock(&mine->lock);
  if (mine->encoder == NULL) { /* a tick that raced with leave */
    pthread_mutex_unlock(&mine->lock);
    return;
  }
  size_t length = next_packet(mine);
  if (length == 0) {
    atomic_fetch_add(&mine->encode_failed, 1);
    atomic_fetch_add(&plugin->encode_failed, 1);
  } else {
    int status = plugin->host->line_send_rtp(mine->handle, mine->packet, length);
    if (status == PL_OK) {
      mine->marker = 0;
      atomic_fetch_add(&mine->sent, 1);
      atomic_fetch_add(&plugin->sent, 1);
    } else {
      atomic_fetch_add(&mine->refused, 1);
      atomic_fetch_add(&plugin->refused, 1);
      if (!mine->refusal_reported) refused_status = status;
      mine->refusal_reported = 1;
    }
  }
  pthread_mutex_unlock(&mine->lock);
  if (refused_status != PL_OK) {
    char text[96];
    snprintf(text, sizeof text, "tone: line_send_rtp refused a packet with %d (reported once per join)",
             refused_status);
    say(plugin, mine->handle, PL_LOG_WARN, text);
  }
}

/* Stops publishing: the timer, then (with `leave_line`) the line, then the
   encoder (taken out under the lock, so a tick still running finds none).
   Returns line_leave's status. Signaling thread. */
static int stop_publishing(tone_handle* mine, int leave_line) {
  const pl_host* host = mine->plugin->host;
  host->stop_timer(mine->handle);
  int status = leave_line ? host->line_leave(mine->handle) : PL_OK;
  pthread_mutex_lock(&mine->lock);
  OpusEncoder* encoder = mine->encoder;
  mine->encoder = NULL;
  pthread_mutex_unlock(&mine->lock);
  opus_encoder_destroy(encoder);
  if (mine->line_id[0] != '\0') mine->plugin->publishing--;
  mine->line_id[0] = '\0';
  return status;
}

static const char* line_join_reason(int status) {
  switch (status) {
    case 400: return "line_join: malformed join";
    case 403: return "line_join: the client is not a member of the line";
    case 404: return "line_join: no such line";
    case 409: return "line_join: the handle is in a line already";
    case 501: return "line_join: this server runs without media";
    case 503: return "line_join: the line is full";
    default: return "line_join failed";
  }
}

static int join(tone* plugin, tone_handle* mine, json_t* body, pl_reply* reply) {
  const pl_host* host = plugin->host;
  if (!has_line_services(host)) return reply_text(plugin, reply, 501, "this server has no phone-line services");
  json_t* line = json_object_get(body, "line_id");
  const char* line_id = json_string_value(line);
  if (line_id == NULL || json_string_length(line) == 0 || json_string_length(line) > LINE_ID_MAX ||
      strlen(line_id) != json_string_length(line)) {
    return reply_text(plugin, reply, 400, "join needs a string 'line_id'");
  }
  json_t* hz = json_object_get(body, "frequency");
  double frequency = hz ? json_number_value(hz) : TONE_DEFAULT_HZ;
  if ((hz && !json_is_number(hz)) || !(frequency >= TONE_MIN_HZ && frequency <= TONE_MAX_HZ)) {
    return reply_text(plugin, reply, 400, "'frequency' must be a number of Hz from 20 to 20000");
  }
  if (mine->line_id[0] != '\0') return reply_text(plugin, reply, 409, "this handle is in a line already");

  int error = OPUS_OK;
  OpusEncoder* encoder = opus_encoder_create(TONE_SAMPLE_RATE, TONE_CHANNELS, OPUS_APPLICATION_AUDIO, &error);
  if (encoder == NULL) return reply_text(plugin, reply, 500, "opus_encoder_create failed");
  pl_line_join request = {.struct_size = sizeof request,
                          .line_id = line_id,
                          .display_name = "tone",
                          .subscribe = 0,
                          .publish_audio = 1};
  int status = host->line_join(mine->handle, &request);
  if (status != PL_OK) {
    opus_encoder_destroy(encoder);
    return reply_text(plugin, reply, status, line_join_reason(status));
  }
  uint32_t ssrc = random_u32();
  pthread_mutex_lock(&mine->lock);
  mine->encoder = encoder;
  mine->phase = 0;
  mine->phase_step = TONE_TWO_PI * frequency / TONE_SAMPLE_RATE;
  mine->ssrc = ssrc ? ssrc : 1;
  mine->sequence = (uint16_t)random_u32();
  mine->timestamp = random_u32();
  mine->marker = 1;
  mine->refusal_reported = 0;
  pthread_mutex_unlock(&mine->lock);
  snprintf(mine->line_id, sizeof mine->line_id, "%s", line_id);
  mine->frequency = frequency;
  plugin->publishing++;

  status = host->start_timer(mine->handle, TONE_PERIOD_MS);
  if (status != PL_OK) {
    stop_publishing(mine, 1);
    return reply_text(plugin, reply, status, "start_timer failed");
  }
  return reply_json(plugin, reply, json_pack("{s:s}", "joined", line_id));
}

static int leave(tone* plugin, tone_handle* mine, pl_reply* reply) {
  if (mine->line_id[0] == '\0') return reply_text(plugin, reply, 404, "not in a line");
  json_t* answer = json_pack("{s:s}", "left", mine->line_id);
  int status = stop_publishing(mine, 1);
  if (status != PL_OK) {
    json_decref(answer);
    return reply_text(plugin, reply, status, "line_leave failed");
  }
  return reply_json(plugin, reply, answer);
}

static json_t* stats_of(const tone_handle* mine) {
  return json_pack("{s:o, s:f, s:I, s:I, s:I}", "line_id",
                   mine->line_id[0] ? json_string(mine->line_id) : json_null(), "frequency",
                   mine->line_id[0] ? mine->frequency : 0.0, "sent", (json_int_t)atomic_load(&mine->sent),
                   "refused", (json_int_t)atomic_load(&mine->refused), "encode_failed",
                   (json_int_t)atomic_load(&mine->encode_failed));
}

static int handle_message(void* state, void* handle_state, const char* body, size_t body_length,
                          const char* jsep_type, const char* jsep_sdp, size_t jsep_sdp_length, pl_reply* reply) {
  tone* plugin = state;
  tone_handle* mine = handle_state;
  (void)jsep_type;
  (void)jsep_sdp;
  (void)jsep_sdp_length;
  json_t* message = json_loadb(body, body_length, 0, NULL);
  const char* request = json_string_value(json_object_get(message, "request"));
  int status;
  if (request == NULL) {
    status = reply_text(plugin, reply, 400, "the body needs a string 'request'");
  } else if (strcmp(request, "join") == 0) {
    status = join(plugin, mine, message, reply);
  } else if (strcmp(request, "leave") == 0) {
    status = leave(plugin, mine, reply);
  } else if (strcmp(request, "stats") == 0) {
    status = reply_json(plugin, reply, stats_of(mine));
  } else {
    status = reply_text(plugin, reply, 400, "unknown request");
  }
  json_decref(message);
  return status;
}

/* The line ended or the handle was removed from it. Signaling thread. */
static void line_left(void* state, void* handle_state, const char* line_id, const char* reason) {
  tone* plugin = state;
  tone_handle* mine = handle_state;
  if (mine->line_id[0] == '\0') return;
  stop_publishing(mine, 0);
  json_t* event = json_pack("{s:s, s:s}", "left", line_id ? line_id : "", "reason", reason ? reason : "");
  char* text = event ? json_dumps(event, JSON_COMPACT) : NULL;
  json_decref(event);
  if (text) plugin->host->push_event(mine->handle, text, strlen(text), NULL, NULL, 0);
  free(text);
}

static int admin_query(void* state, void* handle_state, const char* request, size_t length, pl_reply* reply) {
  tone* plugin = state;
  (void)request;
  (void)length;
  if (handle_state) return reply_json(plugin, reply, stats_of(handle_state));
  return reply_json(plugin, reply,
                    json_pack("{s:i, s:i, s:I, s:I, s:I}", "handles", plugin->handles, "publishing",
                              plugin->publishing, "sent", (json_int_t)atomic_load(&plugin->sent), "refused",
                              (json_int_t)atomic_load(&plugin->refused), "encode_failed",
                              (json_int_t)atomic_load(&plugin->encode_failed)));
}

static int init(const pl_host* host, const char* config, size_t config_length, void** state) {
  (void)config;
  (void)config_length;
  if (host->api_major != PARTYLINE_PLUGIN_API_VERSION_MAJOR) return 500;
  tone* plugin = calloc(1, sizeof *plugin);
  if (plugin == NULL) return 500;
  plugin->host = host;
  *state = plugin;
  /* Loads on an older host too; join then answers 501. */
  say(plugin, NULL, PL_LOG_INFO,
      has_line_services(host) ? "tone: ready" : "tone: ready, but this host has no phone-line services");
  return PL_OK;
}

static void destroy(void* state) { free(state); }

static int create_handle(void* state, pl_handle* handle, void** handle_state) {
  tone* plugin = state;
  tone_handle* mine = calloc(1, sizeof *mine);
  if (mine == NULL) return 500;
  if (pthread_mutex_init(&mine->lock, NULL) != 0) {
    free(mine);
    return 500;
  }
  mine->plugin = plugin;
  mine->handle = handle;
  plugin->handles++;
  *handle_state = mine;
  return PL_OK;
}

/* Nothing may use the handle after this returns: the timer stops before
   the state is freed. */
static void destroy_handle(void* state, void* handle_state) {
  tone* plugin = state;
  tone_handle* mine = handle_state;
  if (mine->line_id[0] != '\0') stop_publishing(mine, 1);
  plugin->handles--;
  pthread_mutex_destroy(&mine->lock);
  free(mine);
}

static const pl_plugin tone_plugin = {
    .api_major = PARTYLINE_PLUGIN_API_VERSION_MAJOR,
    .api_minor = PARTYLINE_PLUGIN_API_VERSION_MINOR,
    .struct_size = sizeof(pl_plugin),
    .name = "tone",
    .version = "1.2.0",
    .description = "publishes a sine tone into a phone line (a test plugin)",
    .init = init,
    .destroy = destroy,
    .create_handle = create_handle,
    .destroy_handle = destroy_handle,
    .handle_message = handle_message,
    .admin_query = admin_query,
    .line_left = line_left,
    .timer = on_timer,
};

PARTYLINE_PLUGIN_EXPORT const pl_plugin* partyline_plugin_entry(void) { return &tone_plugin; }
