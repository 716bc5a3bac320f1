#include "bench/loadgen/options.hpp"

#include <charconv>
#include <cmath>
#include <functional>
#include <map>

namespace partyline::loadgen {

namespace {

Error bad(const std::string& message) { return make_error(error_code::kBadRequest, message); }

Result<long> integer(const std::string& name, const std::string& text, long min, long max) {
  long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return bad(name + " must be an integer from " + std::to_string(min) + " to " + std::to_string(max) + ", not '" +
               text + "'");
  }
  return value;
}

Result<double> number(const std::string& name, const std::string& text, double min, double max) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value) || value < min || value > max) {
    return bad(name + " must be a number from " + std::to_string(min) + " to " + std::to_string(max) + ", not '" +
               text + "'");
  }
  return value;
}

}  // namespace

std::string usage() {
  return R"(usage: loadgen --url ws://127.0.0.1:PORT/ws [options]

Loads a WebRTC server with P publishers and S subscribers in one room, each a
full PeerConnection (ICE, DTLS-SRTP), and measures what arrives.

  --url URL              the server's WebSocket (ws:// only)
  --target NAME          signaling dialect: partyline (default), or janus
                         (Janus 1.1 VideoRoom over its WebSocket API)
  --publishers P         publishing participants, >= 1 (default 1)
  --subscribers S        receive-only participants (default 10)
  --duration SECONDS     length of the measured steady window (default 10)
  --warmup SECONDS       wait after everyone is up, before the window (default 2)
  --setup-timeout SECONDS  deadline for everyone to be up, counted from the
                         last participant's start (default 30)
  --ramp N               start N participants a second (publishers first)
                         instead of all at once
  --video-kbps N         video bitrate per publisher, 0 = no video (default 1000)
  --audio / --no-audio   Opus-sized audio, 50 packets/s (default on)
  --server-pid PID       read the server's CPU time and peak RSS from /proc
  --json FILE            write the results as JSON
  --csv FILE             append the results as one CSV row (header if new)
  --label TEXT           copied into the JSON and CSV (e.g. the server's name)
  --max-loss RATIO       exit 1 when the loss ratio exceeds RATIO (e.g. 0)
  --no-trickle           put our ICE candidates in the offer instead of
                         trickling them (ice_trickle) after it
  --quiet                no progress line every second
  --help

Exit status: 0 when every participant came up and stayed up (and the loss is
within --max-loss), 1 otherwise (the report says which step failed for how
many), 2 for bad usage, 3 when the run overran its own deadline.
)";
}

Result<Options> parse_options(const std::vector<std::string>& arguments) {
  Options options;
  using Setter = std::function<Status(const std::string&)>;
  auto set_int = [](int& field, const char* name, long min, long max) -> Setter {
    return [&field, name, min, max](const std::string& text) -> Status {
      auto value = integer(name, text, min, max);
      if (!value) return value.error();
      field = static_cast<int>(*value);
      return {};
    };
  };
  auto set_seconds = [](double& field, const char* name, double min, double max) -> Setter {
    return [&field, name, min, max](const std::string& text) -> Status {
      auto value = number(name, text, min, max);
      if (!value) return value.error();
      field = *value;
      return {};
    };
  };
  auto set_string = [](std::string& field) -> Setter {
    return [&field](const std::string& text) -> Status {
      field = text;
      return {};
    };
  };
  int video_kbps = static_cast<int>(options.video_kbps);
  int server_pid = 0;
  double max_loss = -1;
  const std::map<std::string, Setter> with_value = {
      {"--url", set_string(options.url)},
      {"--target", set_string(options.target)},
      {"--publishers", set_int(options.publishers, "--publishers", 1, 1000)},
      {"--subscribers", set_int(options.subscribers, "--subscribers", 0, 5000)},
      {"--duration", set_seconds(options.duration_seconds, "--duration", 0.5, 86400)},
      {"--warmup", set_seconds(options.warmup_seconds, "--warmup", 0, 3600)},
      {"--setup-timeout", set_seconds(options.setup_timeout_seconds, "--setup-timeout", 1, 3600)},
      {"--ramp", set_seconds(options.ramp_per_second, "--ramp", 0, 100000)},
      {"--video-kbps", set_int(video_kbps, "--video-kbps", 0, 50000)},
      {"--server-pid", set_int(server_pid, "--server-pid", 1, 1 << 22)},
      {"--json", set_string(options.json_path)},
      {"--csv", set_string(options.csv_path)},
      {"--label", set_string(options.label)},
      {"--max-loss", set_seconds(max_loss, "--max-loss", 0, 1)},
  };
  for (size_t i = 0; i < arguments.size(); ++i) {
    const std::string& argument = arguments[i];
    if (argument == "--help" || argument == "-h") return make_error(0, usage());
    if (argument == "--audio") {
      options.audio = true;
    } else if (argument == "--no-audio") {
      options.audio = false;
    } else if (argument == "--no-trickle") {
      options.trickle = false;
    } else if (argument == "--quiet") {
      options.progress = false;
    } else if (auto setter = with_value.find(argument); setter != with_value.end()) {
      if (i + 1 >= arguments.size()) return bad(argument + " needs a value");
      if (Status status = setter->second(arguments[++i]); !status) return status.error();
    } else {
      return bad("unknown argument '" + argument + "' (see --help)");
    }
  }
  if (options.url.empty()) return bad("--url is required (e.g. --url ws://127.0.0.1:8088/ws)");
  if (options.target != "partyline" && options.target != "janus") {
    return bad("--target must be 'partyline' or 'janus', not '" + options.target + "'");
  }
  if (video_kbps == 0 && !options.audio) return bad("--video-kbps 0 with --no-audio leaves nothing to send");
  options.video_kbps = static_cast<unsigned>(video_kbps);
  if (server_pid > 0) options.server_pid = server_pid;
  if (max_loss >= 0) options.max_loss = max_loss;
  return options;
}

}  // namespace partyline::loadgen
