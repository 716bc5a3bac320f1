#include "bench/loadgen/run_result.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/runtime/json.hpp"

namespace partyline::loadgen {

namespace {

std::string fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

json_t* delay_json(const DelaySummary& delay) {
  json_t* object = json_object();
  json_object_set_new(object, "samples", json_integer(static_cast<json_int_t>(delay.samples)));
  json_object_set_new(object, "p50", json_integer(static_cast<json_int_t>(delay.p50_us)));
  json_object_set_new(object, "p99", json_integer(static_cast<json_int_t>(delay.p99_us)));
  json_object_set_new(object, "max", json_integer(static_cast<json_int_t>(delay.max_us)));
  return object;
}

json_t* integer(uint64_t value) { return json_integer(static_cast<json_int_t>(value)); }

template <typename T>
json_t* optional_number(const std::optional<T>& value) {
  if (!value) return json_null();
  if constexpr (std::is_floating_point_v<T>) return json_real(*value);
  return integer(*value);
}

std::string csv_quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

template <typename T>
std::string csv_optional(const std::optional<T>& value, int decimals = 0) {
  if (!value) return "";
  if constexpr (std::is_floating_point_v<T>) return fixed(*value, decimals);
  return std::to_string(*value);
}

}  // namespace

bool RunResult::ok() const {
  if (failed > 0 || !window_ran || measured != participants || missing_streams > 0) return false;
  return !options.max_loss || loss_ratio <= *options.max_loss;
}

void print_summary(const RunResult& r) {
  std::ostringstream out;
  out << "loadgen: " << r.participants << " participants (" << r.options.publishers << " publishing, "
      << r.options.subscribers << " subscribing), " << r.ready << " up in " << fixed(r.setup_seconds, 1) << " s, "
      << r.failed << " failed\n";
  for (const auto& [step, failure] : r.failures) {
    out << "  FAILED at " << step << ": " << failure.count << " participant(s); first: " << failure.example << "\n";
  }
  if (!r.window_ran) {
    out << "  no measurement: the steady window never started\n";
  } else {
    out << "  window " << fixed(r.window_seconds, 1) << " s: sent " << r.sent << ", expected " << r.expected
        << ", received " << r.received << ", lost " << r.lost << " (" << fixed(r.loss_ratio * 100, 3) << " %), "
        << r.duplicates << " duplicates, " << r.reordered << " reordered, " << r.missing_streams << " of "
        << r.stream_pairs << " receiver-streams empty\n";
    out << "  one-way delay: p50 " << r.delay_all.p50_us << " us, p99 " << r.delay_all.p99_us << " us, max "
        << r.delay_all.max_us << " us (audio p50/p99 " << r.delay[0].p50_us << "/" << r.delay[0].p99_us
        << ", video " << r.delay[1].p50_us << "/" << r.delay[1].p99_us << ")\n";
    out << "  server: ";
    if (r.server_cpu_us) {
      out << fixed(static_cast<double>(*r.server_cpu_us) / 1000, 0) << " ms CPU";
      if (r.server_cpu_us_per_packet) out << " = " << fixed(*r.server_cpu_us_per_packet, 2) << " us per forwarded packet";
      if (r.server_peak_rss_kib) out << ", peak RSS " << *r.server_peak_rss_kib / 1024 << " MiB";
    } else {
      out << "not measured (no --server-pid)";
    }
    out << "\n  loadgen: " << fixed(static_cast<double>(r.loadgen_cpu_us) / 1000, 0) << " ms CPU";
    if (r.loadgen_cpu_us_per_packet) out << " = " << fixed(*r.loadgen_cpu_us_per_packet, 2) << " us per received packet";
    if (r.other_cpu_cores) {
      out << "\n  machine: other processes used " << fixed(*r.other_cpu_cores, 2) << " cores, steal "
          << fixed(r.steal_cpu_cores.value_or(0), 2) << " cores";
    }
    out << "\n";
  }
  out << "  publishers: " << r.keyframes << " keyframes (" << r.keyframe_requests << " requested), " << r.nacked_packets
      << " NACKed, " << r.rtx_sent << " RTX, " << r.send_failures << " send failures, " << r.skipped_late
      << " skipped late; receivers: " << r.srtp_drops << " SRTP drops, " << r.unrecognized_packets
      << " unrecognized\n";
  out << "  result: " << (r.ok() ? "OK" : "FAILED") << "\n";
  std::fputs(out.str().c_str(), stderr);
}

Status write_json(const RunResult& r, const std::string& path) {
  core::JsonPtr root = core::adopt_json(json_object());
  json_t* top = root.get();
  json_object_set_new(top, "label", json_string(r.options.label.c_str()));
  json_object_set_new(top, "target", json_string(r.options.target.c_str()));
  json_object_set_new(top, "started_at", json_string(r.started_at.c_str()));
  json_t* config = json_object();
  json_object_set_new(config, "url", json_string(r.options.url.c_str()));
  json_object_set_new(config, "publishers", json_integer(r.options.publishers));
  json_object_set_new(config, "subscribers", json_integer(r.options.subscribers));
  json_object_set_new(config, "duration_s", json_real(r.options.duration_seconds));
  json_object_set_new(config, "warmup_s", json_real(r.options.warmup_seconds));
  json_object_set_new(config, "video_kbps", json_integer(r.options.video_kbps));
  json_object_set_new(config, "audio", json_boolean(r.options.audio));
  json_object_set_new(config, "trickle", json_boolean(r.options.trickle));
  json_object_set_new(config, "ramp_per_second", json_real(r.options.ramp_per_second));
  json_object_set_new(top, "config", config);

  json_t* participants = json_object();
  json_object_set_new(participants, "total", integer(r.participants));
  json_object_set_new(participants, "ready", integer(r.ready));
  json_object_set_new(participants, "measured", integer(r.measured));
  json_object_set_new(participants, "failed", integer(r.failed));
  json_t* failures = json_object();
  for (const auto& [step, failure] : r.failures) {
    json_t* entry = json_object();
    json_object_set_new(entry, "count", integer(failure.count));
    json_object_set_new(entry, "example", json_string(failure.example.c_str()));
    json_object_set_new(failures, step.c_str(), entry);
  }
  json_object_set_new(participants, "failures", failures);
  json_object_set_new(top, "participants", participants);
  json_object_set_new(top, "setup_s", json_real(r.setup_seconds));
  json_object_set_new(top, "window_ran", json_boolean(r.window_ran));
  json_object_set_new(top, "window_s", json_real(r.window_seconds));

  json_t* packets = json_object();
  json_object_set_new(packets, "sent", integer(r.sent));
  json_object_set_new(packets, "expected", integer(r.expected));
  json_object_set_new(packets, "received", integer(r.received));
  json_object_set_new(packets, "lost", json_integer(r.lost));
  json_object_set_new(packets, "loss_ratio", json_real(r.loss_ratio));
  json_object_set_new(packets, "duplicates", integer(r.duplicates));
  json_object_set_new(packets, "reordered", integer(r.reordered));
  json_object_set_new(packets, "retransmissions", integer(r.retransmissions));
  json_object_set_new(packets, "wrong_ssrc", integer(r.wrong_ssrc));
  json_object_set_new(top, "packets", packets);
  json_t* streams = json_object();
  json_object_set_new(streams, "pairs", integer(r.stream_pairs));
  json_object_set_new(streams, "missing", integer(r.missing_streams));
  json_object_set_new(top, "streams", streams);
  json_t* delay = json_object();
  json_object_set_new(delay, "all", delay_json(r.delay_all));
  json_object_set_new(delay, "audio", delay_json(r.delay[0]));
  json_object_set_new(delay, "video", delay_json(r.delay[1]));
  json_object_set_new(top, "delay_us", delay);

  json_t* publishers = json_object();
  json_object_set_new(publishers, "send_failures", integer(r.send_failures));
  json_object_set_new(publishers, "keyframes", integer(r.keyframes));
  json_object_set_new(publishers, "keyframe_requests", integer(r.keyframe_requests));
  json_object_set_new(publishers, "nacked_packets", integer(r.nacked_packets));
  json_object_set_new(publishers, "rtx_sent", integer(r.rtx_sent));
  json_object_set_new(publishers, "skipped_late", integer(r.skipped_late));
  json_object_set_new(top, "publishers", publishers);
  json_t* receivers = json_object();
  json_object_set_new(receivers, "srtp_drops", integer(r.srtp_drops));
  json_object_set_new(receivers, "unrecognized_packets", integer(r.unrecognized_packets));
  json_object_set_new(top, "receivers", receivers);

  json_t* server = json_object();
  json_object_set_new(server, "pid", r.options.server_pid ? json_integer(*r.options.server_pid) : json_null());
  json_object_set_new(server, "cpu_us", optional_number(r.server_cpu_us));
  json_object_set_new(server, "cpu_us_per_forwarded_packet", optional_number(r.server_cpu_us_per_packet));
  json_object_set_new(server, "peak_rss_kib", optional_number(r.server_peak_rss_kib));
  json_object_set_new(top, "server", server);
  json_t* loadgen = json_object();
  json_object_set_new(loadgen, "cpu_us", integer(r.loadgen_cpu_us));
  json_object_set_new(loadgen, "cpu_us_per_received_packet", optional_number(r.loadgen_cpu_us_per_packet));
  json_object_set_new(loadgen, "peak_rss_kib", integer(r.loadgen_peak_rss_kib));
  json_object_set_new(top, "loadgen", loadgen);
  json_t* machine = json_object();
  json_object_set_new(machine, "other_cpu_cores", optional_number(r.other_cpu_cores));
  json_object_set_new(machine, "steal_cpu_cores", optional_number(r.steal_cpu_cores));
  json_object_set_new(top, "machine", machine);
  json_object_set_new(top, "ok", json_boolean(r.ok()));

  if (json_dump_file(top, path.c_str(), JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6)) != 0) {
    return make_error(error_code::kInternal, "cannot write --json file " + path);
  }
  return {};
}

Status append_csv(const RunResult& r, const std::string& path) {
  bool needs_header = true;
  {
    std::ifstream existing(path);
    needs_header = !existing || existing.peek() == std::ifstream::traits_type::eof();
  }
  std::ofstream file(path, std::ios::app);
  if (!file) return make_error(error_code::kInternal, "cannot write --csv file " + path);
  if (needs_header) {
    file << "label,target,started_at,publishers,subscribers,video_kbps,audio,window_s,participants,ready,failed,"
            "sent,expected,received,lost,loss_ratio,duplicates,reordered,missing_streams,delay_p50_us,delay_p99_us,"
            "delay_max_us,server_cpu_us,server_cpu_us_per_packet,server_peak_rss_kib,loadgen_cpu_us,"
            "loadgen_cpu_us_per_packet,ok,other_cpu_cores,steal_cpu_cores\n";
  }
  file << csv_quote(r.options.label) << ',' << r.options.target << ',' << r.started_at << ',' << r.options.publishers
       << ',' << r.options.subscribers << ',' << r.options.video_kbps << ',' << (r.options.audio ? 1 : 0) << ','
       << fixed(r.window_seconds, 2) << ',' << r.participants << ',' << r.ready << ',' << r.failed << ',' << r.sent
       << ',' << r.expected << ',' << r.received << ',' << r.lost << ',' << fixed(r.loss_ratio, 6) << ','
       << r.duplicates << ',' << r.reordered << ',' << r.missing_streams << ',' << r.delay_all.p50_us << ','
       << r.delay_all.p99_us << ',' << r.delay_all.max_us << ',' << csv_optional(r.server_cpu_us) << ','
       << csv_optional(r.server_cpu_us_per_packet, 3) << ',' << csv_optional(r.server_peak_rss_kib) << ','
       << r.loadgen_cpu_us << ',' << csv_optional(r.loadgen_cpu_us_per_packet, 3) << ',' << (r.ok() ? 1 : 0)
       << ',' << csv_optional(r.other_cpu_cores, 3) << ',' << csv_optional(r.steal_cpu_cores, 3) << '\n';
  if (!file) return make_error(error_code::kInternal, "cannot write --csv file " + path);
  return {};
}

}  // namespace partyline::loadgen
