// The admin API's endpoints (docs/admin-api.md) and the one route table that
// lists them (the constructor). Every handler that reads or changes what
// the signaling thread owns (CallHandler, PluginHost) hops to the signaling
// loop and replies from there; AdminHttpServer suspends the connection
// meanwhile.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>

#include "core/media/media_plane.hpp"
#include "core/plugins/plugin_host.hpp"
#include "core/runtime/config.hpp"
#include "core/runtime/event_loop.hpp"
#include "core/runtime/worker_pool.hpp"
#include "signaling/admin/admin_router.hpp"
#include "signaling/admin/webhooks.hpp"
#include "signaling/call_handler.hpp"
#include "signaling/static_files.hpp"

namespace partyline::signaling::admin {

// What the endpoints read and act on; everything must outlive the AdminApi,
// and the admin listener must be stopped before any of it goes.
struct AdminContext {
  core::EventLoop& signaling_loop;
  CallHandler& calls;                       // signaling loop only
  const std::unique_ptr<core::PluginHost>& plugins;  // signaling loop only; reset at shutdown
  core::WorkerPool& workers;
  core::MediaPlane& media;                  // its routers are read on their own workers
  core::Config config;                      // as started (secrets are redacted when shown)
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

class AdminApi {
 public:
  explicit AdminApi(AdminContext context);
  ~AdminApi();
  AdminApi(const AdminApi&) = delete;
  AdminApi& operator=(const AdminApi&) = delete;

  const AdminRouter& router() const { return router_; }
  // The webhook sender /metrics reads (nullptr: none); set before the
  // admin listener starts, and it must outlive the AdminApi.
  void use_webhooks(const WebhookSender* webhooks) { webhooks_ = webhooks; }

 private:
  // Runs `work` on the signaling loop and replies with what it returns.
  void on_signaling_loop(AdminReply reply, std::function<AdminResponse()> work);

  AdminResponse info() const;
  AdminResponse put_log_level(const AdminRequest& request) const;
  AdminResponse plugin_query(const AdminRequest& request) const;
  AdminResponse lines() const;
  AdminResponse line(const AdminRequest& request) const;
  AdminResponse close_line(const AdminRequest& request) const;
  AdminResponse sessions() const;
  // GET a session: its JSON from the signaling loop, then its
  // PeerConnection's figures from its worker.
  void session(AdminRequest request, AdminReply reply);
  AdminResponse mute(const AdminRequest& request) const;
  AdminResponse kick(const AdminRequest& request) const;
  // GET /metrics: gathers every worker's counters on the worker, then answers.
  void metrics(AdminReply reply);
  // The dashboard's page and scripts, read from <http.web_root>/admin now.
  AdminResponse dashboard_file(const AdminRequest& request) const;

  AdminContext context_;
  AdminRouter router_;
  std::optional<StaticFiles> dashboard_;  // none: no web root, or no admin/ in it
  const WebhookSender* webhooks_ = nullptr;
  // Tasks posted to the loops check it: a task running after the AdminApi is
  // gone answers 503 instead of touching it.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace partyline::signaling::admin
