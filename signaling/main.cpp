// partyline: the process. Reads the configuration, starts the media workers
// and the signaling server, and shuts everything down cleanly on SIGINT or
// SIGTERM (every PeerConnection is closed, exit status 0).
#include <getopt.h>
#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "core/runtime/config.hpp"
#include "core/runtime/log.hpp"
#include "signaling/server_main.hpp"

namespace {

constexpr const char* kUsage =
    "Usage: partyline [--config FILE] [--print-config] [--help] [--version]\n"
    "\n"
    "A WebRTC conferencing media server (SFU). Without --config it runs on its\n"
    "embedded defaults: HTTP and WebSocket on 0.0.0.0:8088, the demo page at /.\n"
    "\n"
    "  -c, --config FILE   read settings from a JSON file (docs/configuration.md)\n"
    "  -p, --print-config  print the effective configuration as JSON and exit\n"
    "  -h, --help          show this help and exit\n"
    "  -v, --version       print the version and exit\n"
    "\n"
    "Environment overrides (applied after the file): PARTYLINE_HTTP_BIND,\n"
    "PARTYLINE_HTTP_PORT, PARTYLINE_WEB_ROOT, PARTYLINE_LOG_LEVEL, PARTYLINE_WORKERS,\n"
    "PARTYLINE_JWT_SECRET, PARTYLINE_PUBLIC_IP, PARTYLINE_ICE_ADDRESSES, PARTYLINE_ICE_UDP_PORT,\n"
    "PARTYLINE_ICE_ALLOWED_NETWORKS, PARTYLINE_PLUGIN_FOLDERS, PARTYLINE_ADMIN_BIND,\n"
    "PARTYLINE_ADMIN_PORT, PARTYLINE_ADMIN_TOKEN.\n";

struct Options {
  std::string config_file;
  bool print_config = false;
};

// Returns an exit code when the process should stop now.
std::optional<int> parse_arguments(int argc, char** argv, Options& options) {
  static const option kLongOptions[] = {{"config", required_argument, nullptr, 'c'},
                                        {"print-config", no_argument, nullptr, 'p'},
                                        {"help", no_argument, nullptr, 'h'},
                                        {"version", no_argument, nullptr, 'v'},
                                        {nullptr, 0, nullptr, 0}};
  int option_char;
  while ((option_char = getopt_long(argc, argv, "c:phv", kLongOptions, nullptr)) != -1) {
    switch (option_char) {
      case 'c': options.config_file = optarg; break;
      case 'p': options.print_config = true; break;
      case 'h': std::fputs(kUsage, stdout); return 0;
      case 'v': std::printf("partyline %s\n", PARTYLINE_VERSION); return 0;
      default: std::fputs(kUsage, stderr); return 2;
    }
  }
  if (optind < argc) {
    std::fprintf(stderr, "partyline: unexpected argument '%s'\n%s", argv[optind], kUsage);
    return 2;
  }
  return std::nullopt;
}

// The folder of the page when neither the config nor the environment names
// one: next to an installed binary (<prefix>/bin/partyline serves
// <prefix>/share/partyline/web), else the source tree's web/ (a build-tree
// binary).
std::string default_web_root() {
  std::error_code error;
  const std::filesystem::path binary = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) {
    const std::filesystem::path installed = binary.parent_path().parent_path() / PARTYLINE_INSTALLED_WEB_SUBDIR;
    if (std::filesystem::is_regular_file(installed / "index.html", error)) return installed.string();
  }
  return PARTYLINE_DEFAULT_WEB_ROOT;
}

// Every connection and every participant's sockets are descriptors: the
// soft limit (often 1024) is raised to the hard one, which the administrator
// set for the service.
void raise_open_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  const rlim_t before = limit.rlim_cur;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) == 0) {
    PL_LOG(kDebug, "server") << "open file limit raised from " << before << " to " << limit.rlim_cur;
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (auto exit_code = parse_arguments(argc, argv, options)) return *exit_code;

  partyline::core::Config config;
  config.http.web_root = default_web_root();
  if (!options.config_file.empty()) {
    if (auto status = partyline::core::apply_config_file(config, options.config_file); !status) {
      std::fprintf(stderr, "partyline: %s\n", status.error().message.c_str());
      return 2;
    }
  }
  if (auto status = partyline::core::apply_config_environment(config, [](const char* name) -> const char* {
        return std::getenv(name);
      });
      !status) {
    std::fprintf(stderr, "partyline: %s\n", status.error().message.c_str());
    return 2;
  }
  if (auto status = partyline::core::validate_config(config); !status) {
    std::fprintf(stderr, "partyline: %s\n", status.error().message.c_str());
    return 2;
  }
  if (options.print_config) {
    std::printf("%s\n", partyline::core::dump_json(partyline::core::config_to_json(config).get()).c_str());
    return 0;
  }
  partyline::core::set_log_level(partyline::core::parse_log_level(config.log_level).value());

  // Block the shutdown signals in every thread; the main thread waits for them.
  sigset_t shutdown_signals;
  sigemptyset(&shutdown_signals);
  sigaddset(&shutdown_signals, SIGINT);
  sigaddset(&shutdown_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &shutdown_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  raise_open_file_limit();
  // Their default action kills the process without a close frame or a
  // hangup to anyone; a service manager's or a stray `kill -HUP` must not
  // end every call. The server logs to stderr, so there is no log to reopen.
  signal(SIGHUP, SIG_IGN);
  signal(SIGUSR1, SIG_IGN);
  signal(SIGUSR2, SIG_IGN);

  return partyline::signaling::run_server(config, shutdown_signals);
}
