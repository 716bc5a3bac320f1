#include "signaling/admin/admin_api.hpp"

#include <microhttpd.h>

#include <array>
#include <fstream>
#include <mutex>
#include <sstream>

#include "core/runtime/epoll_poll.hpp"
#include "core/runtime/log.hpp"
#include "signaling/admin/admin_metrics.hpp"
#include "signaling/admin/admin_session_stats.hpp"
#include "signaling/header_deadline.hpp"
#include "signaling/websocket_connection.hpp"

namespace partyline::signaling::admin {

namespace {

// Error codes of the core are HTTP-like (400, 404, 501, ...).
AdminResponse from_error(const Error& error) {
  const unsigned status = error.code >= 400 && error.code < 600 ? static_cast<unsigned>(error.code) : 500;
  return error_response(status, error.message);
}

AdminResponse ok(core::JsonPtr body) { return json_response(MHD_HTTP_OK, body.get()); }

// The level PL_LOG lines are written at now (log.hpp keeps only the atomic).
core::LogLevel current_log_level() {
  for (auto level : {core::LogLevel::kTrace, core::LogLevel::kDebug, core::LogLevel::kInfo, core::LogLevel::kWarn}) {
    if (core::log_enabled(level)) return level;
  }
  return core::LogLevel::kError;
}

json_t* string_of(std::string_view text) { return json_stringn(text.data(), text.size()); }

// The dashboard's files (web/admin/, docs/admin-api.md "Dashboard"), each a
// route of its own: no pattern, so an unknown path still needs the token.
constexpr std::array<const char*, 6> kDashboardFiles = {"/",          "/dashboard.css", "/dashboard.js",
                                                         "/figures.js", "/sparkline.js",  "/admin_client.js"};

std::optional<StaticFiles> open_dashboard(const std::string& web_root) {
  if (web_root.empty()) return std::nullopt;
  auto files = StaticFiles::open(std::filesystem::path(web_root) / "admin");
  if (!files) {
    PL_LOG(kWarn, "admin") << "no dashboard: " << files.error().message;
    return std::nullopt;
  }
  return std::move(files.value());
}

}  // namespace

AdminApi::AdminApi(AdminContext context) : context_(std::move(context)) {
  // The route table: every endpoint of docs/admin-api.md, in one place.
  auto on_loop = [this](AdminResponse (AdminApi::*read)() const) {
    return [this, read](AdminRequest, AdminReply reply) { on_signaling_loop(std::move(reply), [this, read] { return (this->*read)(); }); };
  };
  auto on_loop_with = [this](AdminResponse (AdminApi::*act)(const AdminRequest&) const) {
    return [this, act](AdminRequest request, AdminReply reply) {
      on_signaling_loop(std::move(reply), [this, act, request = std::make_shared<AdminRequest>(std::move(request))] {
        return (this->*act)(*request);
      });
    };
  };
  router_.add({"GET", "/admin/v1/info", false, on_loop(&AdminApi::info)});
  router_.add({"GET", "/admin/v1/lines", false, on_loop(&AdminApi::lines)});
  router_.add({"GET", "/admin/v1/lines/{id}", false, on_loop_with(&AdminApi::line)});
  router_.add({"DELETE", "/admin/v1/lines/{id}", false, on_loop_with(&AdminApi::close_line)});
  router_.add({"GET", "/admin/v1/sessions", false, on_loop(&AdminApi::sessions)});
  router_.add({"GET", "/admin/v1/sessions/{id}", false,
               [this](AdminRequest request, AdminReply reply) { session(std::move(request), std::move(reply)); }});
  router_.add({"POST", "/admin/v1/sessions/{id}/mute", true, on_loop_with(&AdminApi::mute)});
  router_.add({"DELETE", "/admin/v1/sessions/{id}", false, on_loop_with(&AdminApi::kick)});
  router_.add({"PUT", "/admin/v1/log-level", true, [this](AdminRequest request, AdminReply reply) {
                 reply(put_log_level(request));  // an atomic: no hop needed
               }});
  router_.add({"POST", "/admin/v1/plugins/{name}", true, on_loop_with(&AdminApi::plugin_query)});
  router_.add({"POST", "/admin/v1/plugins/{name}/handles/{handle}", true, on_loop_with(&AdminApi::plugin_query)});
  router_.add({"GET", "/metrics", false, [this](AdminRequest, AdminReply reply) { metrics(std::move(reply)); }});
  // The dashboard carries no data: served without the token (its API calls send it).
  dashboard_ = open_dashboard(context_.config.http.web_root);
  for (const char* file : kDashboardFiles) {
    router_.add({"GET", file, false,
                 [this](AdminRequest request, AdminReply reply) { reply(dashboard_file(request)); }, true});
  }
}

AdminApi::~AdminApi() = default;

void AdminApi::on_signaling_loop(AdminReply reply, std::function<AdminResponse()> work) {
  std::weak_ptr<int> alive = alive_;
  context_.signaling_loop.post([alive, reply = std::move(reply), work = std::move(work)] {
    if (!alive.lock()) return reply(error_response(MHD_HTTP_SERVICE_UNAVAILABLE, "server shutting down"));
    reply(work());
  });
}

AdminResponse AdminApi::info() const {
  const auto uptime =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - context_.started);
  core::JsonPtr body = core::adopt_json(json_object());
  json_object_set_new(body.get(), "name", json_string("partyline"));
  json_object_set_new(body.get(), "version", json_string(PARTYLINE_VERSION));
  json_object_set_new(body.get(), "uptime_ms", json_integer(static_cast<json_int_t>(uptime.count())));
  json_object_set_new(body.get(), "log_level", string_of(core::to_string(current_log_level())));
  json_object_set_new(body.get(), "workers", json_integer(static_cast<json_int_t>(context_.workers.size())));
  // Load as the signaling thread assigns it: PeerConnections per worker.
  json_t* load = json_array();
  const auto peers = context_.calls.admin_peers_per_worker();
  for (size_t worker = 0; worker < peers.size(); ++worker) {
    json_array_append_new(load, json_pack("{s:I, s:I}", "worker", static_cast<json_int_t>(worker), "peer_connections",
                                          static_cast<json_int_t>(peers[worker])));
  }
  json_object_set_new(body.get(), "worker_load", load);
  const auto counts = context_.calls.admin_counts();
  json_object_set_new(body.get(), "sessions", json_integer(static_cast<json_int_t>(counts.sessions)));
  json_object_set_new(body.get(), "lines", json_integer(static_cast<json_int_t>(counts.lines)));
  json_t* plugins = json_array();
  if (context_.plugins) {
    for (const core::PluginInfo& plugin : context_.plugins->plugins()) {
      json_array_append_new(plugins, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "name", plugin.name.c_str(),
                                               "version", plugin.version.c_str(), "description",
                                               plugin.description.c_str(), "path", plugin.path.c_str(),
                                               "api_version", plugin.api_version.c_str(), "handles",
                                               static_cast<json_int_t>(plugin.handles)));
    }
  }
  json_object_set_new(body.get(), "plugins", plugins);
  // The same printing as --print-config: secrets are masked there.
  json_object_set_new(body.get(), "config", core::config_to_json(context_.config).release());
  return ok(std::move(body));
}

AdminResponse AdminApi::put_log_level(const AdminRequest& request) const {
  auto name = core::get_required_string(request.body.get(), "level");
  if (!name) return error_response(MHD_HTTP_BAD_REQUEST, name.error().message);
  auto level = core::parse_log_level(*name);
  if (!level) return error_response(MHD_HTTP_BAD_REQUEST, "field 'level': " + level.error().message);
  const core::LogLevel previous = current_log_level();
  core::set_log_level(*level);
  // At warn, so that the change shows even when it lowers the level.
  PL_LOG(kWarn, "admin") << "log level " << core::to_string(previous) << " -> " << core::to_string(*level);
  core::JsonPtr body = core::adopt_json(json_object());
  json_object_set_new(body.get(), "level", string_of(core::to_string(*level)));
  json_object_set_new(body.get(), "previous", string_of(core::to_string(previous)));
  return ok(std::move(body));
}

AdminResponse AdminApi::plugin_query(const AdminRequest& request) const {
  if (!context_.plugins) return error_response(MHD_HTTP_SERVICE_UNAVAILABLE, "server shutting down");
  std::optional<std::string_view> handle;
  if (request.params.size() > 1) handle = request.params[1];
  auto reply = context_.plugins->admin_query(request.params[0], handle, request.body.get());
  if (!reply) return from_error(reply.error());
  core::JsonPtr body = core::adopt_json(json_object());
  json_object_set_new(body.get(), "plugin", string_of(request.params[0]));
  json_object_set_new(body.get(), "data", reply.value().release());
  return ok(std::move(body));
}

AdminResponse AdminApi::lines() const {
  core::JsonPtr body = core::adopt_json(json_object());
  json_object_set_new(body.get(), "lines", context_.calls.admin_lines().release());
  return ok(std::move(body));
}

AdminResponse AdminApi::line(const AdminRequest& request) const {
  core::JsonPtr line = context_.calls.admin_line(request.params[0]);
  if (!line) return error_response(MHD_HTTP_NOT_FOUND, "no line " + request.params[0]);
  return ok(std::move(line));
}

AdminResponse AdminApi::close_line(const AdminRequest& request) const {
  auto hung_up = context_.calls.admin_close_line(request.params[0]);
  if (!hung_up) return error_response(MHD_HTTP_NOT_FOUND, "no line " + request.params[0]);
  PL_LOG(kInfo, "admin") << "closed line " << request.params[0] << ": " << hung_up->size() << " sessions hung up";
  core::JsonPtr sessions = core::adopt_json(json_array());
  for (const std::string& id : *hung_up) json_array_append_new(sessions.get(), string_of(id));
  core::JsonPtr body = core::adopt_json(json_object());
  json_object_set_new(body.get(), "line_id", string_of(request.params[0]));
  json_object_set_new(body.get(), "hung_up", sessions.release());
  return ok(std::move(body));
}

AdminResponse AdminApi::sessions() const {
  core::JsonPtr body = core::adopt_json(json_object());
  json_object_set_new(body.get(), "sessions", context_.calls.admin_sessions().release());
  return ok(std::move(body));
}

void AdminApi::session(AdminRequest request, AdminReply reply) {
  std::weak_ptr<int> alive = alive_;
  context_.signaling_loop.post([this, alive, id = request.params[0], reply = std::move(reply)] {
    if (!alive.lock()) return reply(error_response(MHD_HTTP_SERVICE_UNAVAILABLE, "server shutting down"));
    core::JsonPtr session = context_.calls.admin_session(id);
    if (!session) return reply(error_response(MHD_HTTP_NOT_FOUND, "no session " + id));
    std::shared_ptr<core::PeerConnectionHandle> peer = context_.calls.admin_peer(id);
    if (!peer) return reply(ok(std::move(session)));
    // The figures belong to the PeerConnection's worker: read there, and
    // answered from the signaling loop where they come back.
    auto shared = std::make_shared<core::JsonPtr>(std::move(session));
    peer->stats([shared, reply](std::optional<core::PeerConnectionStats> stats) {
      if (stats) add_peer_stats(shared->get(), *stats);
      reply(ok(std::move(*shared)));
    });
  });
}

AdminResponse AdminApi::mute(const AdminRequest& request) const {
  auto audio = core::get_optional_bool(request.body.get(), "audio");
  if (!audio) return error_response(MHD_HTTP_BAD_REQUEST, audio.error().message);
  auto video = core::get_optional_bool(request.body.get(), "video");
  if (!video) return error_response(MHD_HTTP_BAD_REQUEST, video.error().message);
  if (!audio->has_value() && !video->has_value()) {
    return error_response(MHD_HTTP_BAD_REQUEST, "field 'audio' or 'video' (a boolean) is needed");
  }
  auto muted = context_.calls.admin_mute(request.params[0], *audio, *video);
  if (!muted) return from_error(muted.error());
  PL_LOG(kInfo, "admin") << "mute of session " << request.params[0] << " changed";
  return ok(std::move(muted.value()));
}

AdminResponse AdminApi::kick(const AdminRequest& request) const {
  if (!context_.calls.admin_kick(request.params[0])) {
    return error_response(MHD_HTTP_NOT_FOUND, "no session " + request.params[0]);
  }
  PL_LOG(kInfo, "admin") << "kicked session " << request.params[0];
  core::JsonPtr body = core::adopt_json(json_object());
  json_object_set_new(body.get(), "session", string_of(request.params[0]));
  json_object_set_new(body.get(), "kicked", json_true());
  return ok(std::move(body));
}

void AdminApi::metrics(AdminReply reply) {
  // One scrape: the signaling loop's counts, then each worker's router
  // counters read on that worker (they are plain integers its thread
  // owns; no lock and no atomic on the packet path). The last part in
  // renders and replies.
  struct Scrape {
    std::mutex mutex;
    size_t remaining = 0;
    MetricsSnapshot snapshot;
    AdminReply reply;
  };
  const size_t workers = context_.workers.size();
  auto scrape = std::make_shared<Scrape>();
  scrape->remaining = workers + 1;
  scrape->snapshot.workers.resize(workers);
  scrape->snapshot.uptime_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - context_.started).count();
  scrape->reply = std::move(reply);
  if (webhooks_ != nullptr) scrape->snapshot.webhooks = webhooks_->counts();  // atomics: read here
  scrape->snapshot.signaling_header_timeouts = header_timeouts(HttpListener::kSignaling);
  scrape->snapshot.admin_header_timeouts = header_timeouts(HttpListener::kAdmin);
  scrape->snapshot.signaling_connections_evicted = connections_evicted(HttpListener::kSignaling);
  auto part_done = [scrape] {
    std::unique_lock lock(scrape->mutex);
    if (--scrape->remaining > 0) return;
    lock.unlock();
    AdminResponse response;
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response.body = render_metrics(scrape->snapshot);
    scrape->reply(std::move(response));
  };
  std::weak_ptr<int> alive = alive_;
  context_.signaling_loop.post([this, alive, scrape, part_done] {
    if (alive.lock()) {
      const auto counts = context_.calls.admin_counts();
      std::lock_guard lock(scrape->mutex);
      scrape->snapshot.sessions = counts.sessions;
      scrape->snapshot.lines = counts.lines;
      scrape->snapshot.occupants = counts.occupants;
      scrape->snapshot.detached = counts.detached;
      scrape->snapshot.slow_reader_closes = slow_reader_closes();
      scrape->snapshot.resumes = resume_totals();
      scrape->snapshot.requests = thread_request_counts().snapshot();
    }
    part_done();
  });
  for (size_t index = 0; index < workers; ++index) {
    core::MediaPlane& media = context_.media;
    context_.workers.worker(index).post([&media, scrape, part_done, index] {
      const core::WorkerRouter& router = media.fabric().router(index);
      WorkerFigures figures;
      figures.forwarded = router.forwarded();
      figures.retransmitted = router.retransmitted();
      figures.legs = router.leg_count();
      for (size_t reason = 0; reason < figures.drops.size(); ++reason) {
        figures.drops[reason] = router.drops(static_cast<core::RouterDrop>(reason));
      }
      // This worker's own thread-local totals, read on it.
      figures.transport = ice::thread_transport_totals();
      figures.media = core::thread_media_totals();
      figures.queued = media.fabric().queued_for(index);
      figures.waiting_s = static_cast<double>(core::thread_poll_wait_us()) / 1e6;
      {
        std::lock_guard lock(scrape->mutex);
        scrape->snapshot.workers[index] = figures;
      }
      part_done();
    });
  }
}

AdminResponse AdminApi::dashboard_file(const AdminRequest& request) const {
  if (!dashboard_) return error_response(MHD_HTTP_NOT_FOUND, "no dashboard: the web root has no admin/ folder");
  auto path = dashboard_->resolve(request.path);
  if (!path) return error_response(MHD_HTTP_NOT_FOUND, path.error().message);
  std::ifstream file(*path, std::ios::binary);
  if (!file) return error_response(MHD_HTTP_NOT_FOUND, "cannot read " + request.path);
  std::ostringstream content;
  content << file.rdbuf();
  AdminResponse response;
  response.content_type = std::string(content_type_for(*path));
  response.body = std::move(content).str();
  return response;
}

}  // namespace partyline::signaling::admin
