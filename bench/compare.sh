#!/usr/bin/env bash
# partyline against Janus 1.1.2 (Debian, VideoRoom) under the same load, on
# this machine, in one command:
#
#   bench/compare.sh [--quick] [--out DIR] [--duration SECONDS] [--repeat N] [--report-only]
#
#   --quick            S = 10 and 50 (and the all-publishing line), 3 s windows
#   --out DIR          where results go (default /tmp/partyline-compare-TIME)
#   --duration SECONDS the measured window of each run (default 10; quick 3)
#   --repeat N         run the whole matrix N times (default 1)
#   --report-only      only (re)write the table and plot from --out DIR
#
# What it does: installs janus and gnuplot-nox from Debian if missing (needs
# root), builds partyline and loadgen (scripts/build, in
# $PARTYLINE_BUILD_DIR, default build-compare/), then inside ONE private
# network namespace (nothing can leave it: loopback and a veth pair with no
# route out) runs the matrix
#     1 publisher + S subscribers, S = 10, 50, 100, 200   (1000 kbps VP8 + Opus)
#     10 participants all publishing (each receives the 9 others)
# against each server in turn, alternating which goes first run by run, a
# fresh server process per run, every run bounded in time. Every run uses
# the same loadgen options (ramp, warm-up, window) for both servers.
#
# Outputs in DIR: comparison.csv (one row per run), comparison.md (a
# markdown table: medians over the repeats, with min-max), comparison.png
# (server CPU per forwarded packet and loss against S, medians), json/ (the
# loadgen's JSON per run), logs/ (servers, loadgen). Every row also says
# how much CPU other processes took during the window: on a shared machine
# that is the noise in the figures.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
address=10.99.0.1          # the veth address inside the namespace; bench/janus/ uses it too
janus_port=8188            # bench/janus/janus.transport.websockets.jcfg
partyline_port=8088
ramp=25                    # participants started per second, both servers

quick=0
report_only=0
out=""
duration=""
repeat=1
while (($#)); do
  case "$1" in
    --quick) quick=1 ;;
    --out) out="$2"; shift ;;
    --duration) duration="$2"; shift ;;
    --repeat) repeat="$2"; shift ;;
    --report-only) report_only=1 ;;
    -h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "compare: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ -n "$duration" ]] || duration=$([[ $quick == 1 ]] && echo 3 || echo 10)
warmup=$([[ $quick == 1 ]] && echo 1 || echo 2)
[[ -n "$out" ]] || out="${TMPDIR:-/tmp}/partyline-compare-$(date -u +%Y%m%d-%H%M%S)"
build_dir="${PARTYLINE_BUILD_DIR:-$repo/build-compare}"

# --- Report: CSV (every run), markdown table and plot (the median of the
# repeats of each cell; with --repeat 1, the run itself).
write_report() {
/usr/bin/python3 - "$out" <<'PY'
import csv, json, os, statistics, sys
out = sys.argv[1]
rows = []
for run in csv.DictReader(open(os.path.join(out, "runs.csv"))):
    path = os.path.join(out, run["json"]) if run["json"] else ""
    r = json.load(open(path)) if path and os.path.exists(path) else None
    row = {k: run[k] for k in ("server", "publishers", "subscribers", "order", "loadavg_before", "loadgen_status")}
    row["publishers"], row["subscribers"] = int(row["publishers"]), int(row["subscribers"])
    if r and r["window_ran"]:
        row.update({
            "ready": r["participants"]["ready"], "failed": r["participants"]["failed"],
            "sent": r["packets"]["sent"], "expected": r["packets"]["expected"],
            "received": r["packets"]["received"], "loss_ratio": r["packets"]["loss_ratio"],
            "delay_p50_us": r["delay_us"]["all"]["p50"], "delay_p99_us": r["delay_us"]["all"]["p99"],
            "server_cpu_us": r["server"]["cpu_us"],
            "server_cpu_us_per_packet": r["server"]["cpu_us_per_forwarded_packet"],
            "server_peak_rss_kib": r["server"]["peak_rss_kib"],
            "loadgen_cpu_us_per_packet": r["loadgen"]["cpu_us_per_received_packet"],
            "other_cpu_cores": r.get("machine", {}).get("other_cpu_cores"),
        })
    rows.append(row)
fields = ["server", "publishers", "subscribers", "order", "ready", "failed", "sent", "expected", "received",
          "loss_ratio", "delay_p50_us", "delay_p99_us", "server_cpu_us", "server_cpu_us_per_packet",
          "server_peak_rss_kib", "loadgen_cpu_us_per_packet", "other_cpu_cores", "loadavg_before", "loadgen_status"]
with open(os.path.join(out, "comparison.csv"), "w", newline="") as f:
    writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)

def median(runs, key):
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None

def spread(runs, key, spec):
    values = [r[key] for r in runs if r.get(key) is not None]
    if not values:
        return "n/a"
    text = format(statistics.median(values), spec)
    return text if len(values) == 1 else f"{text} ({format(min(values), spec)}-{format(max(values), spec)})"

cells = sorted({(r["publishers"], r["subscribers"]) for r in rows}, key=lambda c: (c[0] > 1, c[1]))
lines = ["| P | S | server | runs | received | loss | delay p50 / p99 | server CPU per forwarded packet | "
         "server peak RSS | loadgen CPU per packet | other processes' CPU |",
         "|---|---|---|---|---|---|---|---|---|---|---|"]
plot = {"partyline": [], "janus": []}
for publishers, subscribers in cells:
    for server in ("partyline", "janus"):
        runs = [r for r in rows if (r["server"], r["publishers"], r["subscribers"]) == (server, publishers, subscribers)]
        measured = [r for r in runs if "received" in r]
        if not measured:
            status = ", ".join(r["loadgen_status"] for r in runs)
            lines.append(f"| {publishers} | {subscribers} | {server} | {len(runs)} | no measurement (exit {status}) | | | | | | |")
            continue
        for r in measured:
            r["loss_percent"] = r["loss_ratio"] * 100
        worst = max(r["loss_percent"] for r in measured)
        loss = "0" if worst == 0 else f"{spread(measured, 'loss_percent', '.2f')} %"
        failed = sum(r["failed"] for r in measured)
        if failed:
            loss += f", {failed} participants failed"
        lines.append(
            f"| {publishers} | {subscribers} | {server} | {len(measured)} | {int(median(measured, 'received')):,} | "
            f"{loss} | {median(measured, 'delay_p50_us') / 1000:.1f} / {median(measured, 'delay_p99_us') / 1000:.1f} ms | "
            f"**{spread(measured, 'server_cpu_us_per_packet', '.1f')} µs** | "
            f"{max(r['server_peak_rss_kib'] or 0 for r in measured) / 1024:.0f} MiB | "
            f"{spread(measured, 'loadgen_cpu_us_per_packet', '.1f')} µs | "
            f"{spread(measured, 'other_cpu_cores', '.2f')} cores |")
        if publishers == 1:
            plot[server].append((subscribers, median(measured, "server_cpu_us_per_packet") or 0,
                                 median(measured, "loss_ratio") * 100))
with open(os.path.join(out, "comparison.md"), "w") as f:
    f.write("\n".join(lines) + "\n")
with open(os.path.join(out, "plot.gp"), "w") as f:  # the loss axis: at least 0-1 %
    f.write("loss_max = %g\n" % max([1.0] + [p[2] * 1.1 for points in plot.values() for p in points]))
with open(os.path.join(out, "plot.dat"), "w") as f:
    for server in ("partyline", "janus"):
        f.write(f"# {server}: S cpu_us_per_packet loss_percent (medians)\n")
        for point in plot[server]:
            f.write("%d %s %s\n" % point)
        f.write("\n\n")
PY

gnuplot <<GNUPLOT
set terminal pngcairo size 1100,440 font "sans,10"
set output "$out/comparison.png"
set multiplot layout 1,2 title "partyline vs Janus 1.1.2 VideoRoom, 1 publisher (1000 kbps VP8 + Opus) to S subscribers, $(nproc)-vCPU VM"
set xlabel "subscribers S"
set grid
set key top left
set ylabel "server CPU per forwarded packet (µs)"
set yrange [0:*]
plot "$out/plot.dat" index 0 using 1:2 with linespoints lw 2 pt 7 title "partyline", \
     "$out/plot.dat" index 1 using 1:2 with linespoints lw 2 pt 5 title "Janus"
set ylabel "loss (%)"
load "$out/plot.gp"
set yrange [0:loss_max]
plot "$out/plot.dat" index 0 using 1:3 with linespoints lw 2 pt 7 title "partyline", \
     "$out/plot.dat" index 1 using 1:3 with linespoints lw 2 pt 5 title "Janus"
unset multiplot
GNUPLOT

}

if [[ $report_only == 1 ]]; then
  [[ -f "$out/runs.csv" ]] || { echo "compare: --report-only needs --out DIR of an earlier run" >&2; exit 2; }
  write_report
  cat "$out/comparison.md"
  exit 0
fi

if [[ "${PARTYLINE_COMPARE_IN_NAMESPACE:-}" != 1 ]]; then
  # --- Outside: packages, build, then the same script inside a namespace.
  missing=()
  command -v janus >/dev/null || missing+=(janus)
  command -v gnuplot >/dev/null || missing+=(gnuplot-nox)
  if ((${#missing[@]})); then
    echo "compare: installing ${missing[*]} from Debian"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  fi
  echo "compare: building partyline and loadgen in $build_dir"
  PARTYLINE_BUILD_DIR="$build_dir" nice "$repo/scripts/build" partyline loadgen
  mkdir -p "$out"
  unshare_flags=(-n)
  [[ $(id -u) == 0 ]] || unshare_flags=(-r -n)
  exec unshare "${unshare_flags[@]}" -- env PARTYLINE_COMPARE_IN_NAMESPACE=1 PARTYLINE_BUILD_DIR="$build_dir" \
    "$0" --out "$out" --duration "$duration" --repeat "$repeat" $([[ $quick == 1 ]] && echo --quick)
fi

# --- Inside the namespace.
partyline="$build_dir/signaling/partyline"
loadgen="$build_dir/bench/loadgen/loadgen"
mkdir -p "$out/json" "$out/logs"
runs="$out/runs.csv"
echo "server,publishers,subscribers,order,loadavg_before,loadgen_status,json" >"$runs"

# Janus skips loopback interfaces when gathering ICE candidates: a veth pair
# gives it an interface; the address exists only in this namespace.
ip link set lo up
ip link add veth-bench type veth peer name veth-bench-peer
ip addr add "$address/24" dev veth-bench
ip link set veth-bench up
ip link set veth-bench-peer up

echo '{"limits": {"max_occupants_per_line": 1000, "max_sessions": 2000}}' >"$out/partyline.json"

server_pid=""
stop_server() {
  [[ -n "$server_pid" ]] || return 0
  kill -TERM "$server_pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}
trap stop_server EXIT

wait_for_port() {  # wait_for_port PORT: until the server listens (10 s at most)
  for _ in $(seq 1 100); do
    ss -ltn "sport = :$1" | grep -q LISTEN && return 0
    kill -0 "$server_pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

start_server() {  # start_server NAME LOG: sets server_pid and url
  case "$1" in
    partyline)
      PARTYLINE_HTTP_BIND="$address" PARTYLINE_HTTP_PORT="$partyline_port" PARTYLINE_ICE_ADDRESSES="$address" \
        PARTYLINE_ICE_ALLOWED_NETWORKS="$address/32" PARTYLINE_LOG_LEVEL=warn \
        "$partyline" --config "$out/partyline.json" >"$2" 2>&1 &
      server_pid=$!
      url="ws://$address:$partyline_port/ws"
      wait_for_port "$partyline_port" ;;
    janus)
      janus -C "$repo/bench/janus/janus.jcfg" -F "$repo/bench/janus" -L "$2" -N >/dev/null 2>&1 &
      server_pid=$!
      url="ws://$address:$janus_port/"
      wait_for_port "$janus_port" ;;
  esac
}

run_one() {  # run_one SERVER P S ROUND
  local server="$1" publishers="$2" subscribers="$3" round="$4"
  local name="$server-p$publishers-s$subscribers-$round"
  local json="$out/json/$name.json"
  if ! start_server "$server" "$out/logs/$name.server.log"; then
    echo "compare: $server did not start (see $out/logs/$name.server.log)" >&2
    stop_server
    echo "$server,$publishers,$subscribers,$round,,start-failed," >>"$runs"
    return
  fi
  local load status=0
  load="$(cut -d' ' -f1 /proc/loadavg)"
  local participants=$((publishers + subscribers))
  local limit=$((30 + participants / ramp + warmup + ${duration%.*} + 30))
  timeout --kill-after=5 "$limit" "$loadgen" --target "$server" --url "$url" --publishers "$publishers" \
    --subscribers "$subscribers" --duration "$duration" --warmup "$warmup" --ramp "$ramp" \
    --server-pid "$server_pid" --label "$server" --json "$json" --csv "$out/loadgen.csv" \
    2>"$out/logs/$name.loadgen.log" || status=$?
  stop_server
  echo "$server,$publishers,$subscribers,$round,$load,$status,json/$name.json" >>"$runs"
  echo "compare: $server P=$publishers S=$subscribers (round $round): exit $status, load average before $load"
  grep -E "^  (window|server:|machine:)|FAILED" "$out/logs/$name.loadgen.log" | sed 's/^/    /' || true
}

if [[ $quick == 1 ]]; then matrix=("1 10" "1 50" "10 0"); else matrix=("1 10" "1 50" "1 100" "1 200" "10 0"); fi
echo "compare: results in $out; matrix: ${matrix[*]} (P S); window $duration s, warm-up $warmup s, ramp $ramp/s"
run=0
for ((round = 1; round <= repeat; round++)); do
  for cell in "${matrix[@]}"; do
    read -r publishers subscribers <<<"$cell"
    if ((run % 2 == 0)); then order=(partyline janus); else order=(janus partyline); fi
    for server in "${order[@]}"; do run_one "$server" "$publishers" "$subscribers" "$round"; done
    run=$((run + 1))
  done
done

write_report
echo "compare: done"
cat "$out/comparison.md"
echo "files: $out/comparison.csv $out/comparison.md $out/comparison.png"
