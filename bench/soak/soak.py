#!/usr/bin/python3
"""bench/soak: one partyline under churn for a while, watched for growth.

Starts the server (a fresh one, on a free port, ICE on 127.0.0.1: run it
inside a private network namespace with only loopback, as `bench/soak/run`
and ctest do), then for `--duration` seconds:

  - `--workers` signaling clients, each in a loop: two sessions connect,
    one creates a line and joins it (signaling-only), invites the other,
    who declines; the other joins with the line's token; a `message` goes
    from one to the other; both leave and disconnect;
  - every `--media-every` seconds, `loadgen` with 1 publisher and 2
    subscribers (real ICE, DTLS-SRTP, RTP) joins a line of its own for a few
    seconds and leaves;
  - the server's RSS, open descriptors and threads are sampled every second.

Phases: a warm-up (`--warm-up`; a fifth of the duration, at least 10 s), a pause until
the server is quiet (no session left, descriptors steady) where the
descriptor and thread baselines are taken, the measured run, and a final
pause. It fails when
  - RSS (median of the last 10 samples) grew more than `--max-rss-growth`
    (5 %) over its median at the end of the warm-up, both under load;
  - descriptors or threads are not back to their baselines once quiet;
  - any request, event or loadgen run failed (errors: 0).

Prints the figures and writes them as JSON with `--json`. Exit 0 or 1.

    bench/soak/soak.py --server build/signaling/partyline \\
        --loadgen build/bench/loadgen/loadgen --duration 600
"""

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "e2e"))
from partyline_ws import SignalingClient  # noqa: E402  (the e2e tests' client)

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", required=True, help="the partyline binary")
    parser.add_argument("--loadgen", required=True, help="the loadgen binary (bench/loadgen)")
    parser.add_argument("--config", default=os.path.join(HERE, "soak.json"))
    parser.add_argument("--duration", type=float, default=600, help="seconds in all (default 600)")
    parser.add_argument("--workers", type=int, default=8, help="signaling client loops")
    parser.add_argument("--media-every", type=float, default=15, help="seconds between loadgen runs")
    parser.add_argument("--warm-up", type=float, help="seconds before RSS counts (default: a fifth, at least 10)")
    parser.add_argument("--max-rss-growth", type=float, default=0.05)
    parser.add_argument("--json", help="write the figures here")
    return parser.parse_args()


class Server:
    """A partyline process on a free port; its figures from /proc."""

    def __init__(self, binary, config):
        self.log = tempfile.NamedTemporaryFile(prefix="soak-server-", suffix=".log", delete=False)
        env = dict(os.environ, PARTYLINE_HTTP_PORT="0", PARTYLINE_ADMIN_PORT="0", PARTYLINE_ICE_ADDRESSES="127.0.0.1",
                   PARTYLINE_ICE_ALLOWED_NETWORKS="127.0.0.0/8", PARTYLINE_LOG_LEVEL="info")
        self.process = subprocess.Popen([binary, "--config", config], stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self.port = None

    def wait_listening(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.log.name, errors="replace") as log:
                found = re.search(r"partyline listening on http://[0-9.]+:([0-9]+)", log.read())
            if found:
                self.port = int(found.group(1))
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"the server did not start; its log:\n{self.tail()}")

    def sample(self):
        pid = self.process.pid
        with open(f"/proc/{pid}/status") as status:
            fields = dict(line.split(":", 1) for line in status if ":" in line)
        return {"rss_kib": int(fields["VmRSS"].split()[0]), "threads": int(fields["Threads"]),
                "fds": len(os.listdir(f"/proc/{pid}/fd"))}

    def tail(self, lines=40):
        with open(self.log.name, errors="replace") as log:
            return "".join(log.readlines()[-lines:])

    def stop(self):
        self.process.terminate()
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


class Soak:
    def __init__(self, args, server):
        self.args = args
        self.server = server
        self.url = f"ws://127.0.0.1:{server.port}/ws"
        self.samples = []  # (seconds since start, phase, sample)
        self.errors = []
        self.cycles = 0
        self.media_runs = 0
        self.phase = "warm-up"
        self.started = time.monotonic()

    def error(self, what):
        self.errors.append(what)
        print(f"soak: error: {what}", file=sys.stderr, flush=True)

    async def sampler(self, stop):
        while not stop.is_set():
            self.samples.append((time.monotonic() - self.started, self.phase, self.server.sample()))
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except asyncio.TimeoutError:
                pass

    async def one_cycle(self, worker, round_number):
        owner = await SignalingClient.connect(self.url, name=f"soak{worker}a")
        guest = await SignalingClient.connect(self.url, name=f"soak{worker}b")
        try:
            line = await owner.request("create_line")
            line_id = line["line_id"]
            await owner.request("join", line_id=line_id)
            mark = len(guest.events)
            invited = await owner.request("invite", line_id=line_id, user=guest.handshake["user"]["user"])
            ringing = await guest.wait_for_event(lambda e: e.get("event") == "incoming_call", 5.0, since=mark)
            if ringing is None or ringing.get("call_id") != invited.get("call_id"):
                raise AssertionError(f"no incoming_call for {invited}")
            await guest.request("decline", call_id=invited["call_id"])
            await guest.request("join", line_id=line_id, token=line["token"])
            mark = len(guest.events)
            await owner.request("message", line_id=line_id, data={"round": round_number})
            got = await guest.wait_for_event(lambda e: e.get("event") == "message", 5.0, since=mark)
            if got is None or got.get("data") != {"round": round_number}:
                raise AssertionError(f"the message did not arrive: {got}")
            await guest.request("leave", line_id=line_id)
            await owner.request("leave", line_id=line_id)
        finally:
            await guest.close()
            await owner.close()

    async def churn(self, worker, stop):
        round_number = 0
        while not stop.is_set():
            round_number += 1
            try:
                await self.one_cycle(worker, round_number)
                self.cycles += 1
            except Exception as failure:  # every failure counts; the loop goes on
                self.error(f"worker {worker} round {round_number}: {type(failure).__name__}: {failure}")
            # About two cycles a second per worker: each user connects at
            # most twice a second (limits.user_connects_per_second is 5).
            await asyncio.sleep(0.5)

    async def media(self, stop):
        while not stop.is_set():
            command = [self.args.loadgen, "--url", self.url, "--publishers", "1", "--subscribers", "2",
                       "--duration", "3", "--warmup", "1", "--quiet", "--max-loss", "0.05"]
            process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE,
                                                           stderr=asyncio.subprocess.STDOUT)
            output, _ = await process.communicate()
            self.media_runs += 1
            if process.returncode != 0:
                self.error(f"loadgen exited {process.returncode}: {output.decode(errors='replace')[-500:]}")
            try:
                await asyncio.wait_for(stop.wait(), self.args.media_every)
            except asyncio.TimeoutError:
                pass

    async def load(self, seconds):
        stop = asyncio.Event()
        tasks = [asyncio.ensure_future(self.churn(worker, stop)) for worker in range(self.args.workers)]
        tasks.append(asyncio.ensure_future(self.media(stop)))
        await asyncio.sleep(seconds)
        stop.set()
        await asyncio.gather(*tasks)

    async def quiet(self, timeout=40.0):
        """Waits until descriptors and threads stayed the same for 3 s; that sample."""
        deadline = time.monotonic() + timeout
        steady_since, last = time.monotonic(), self.server.sample()
        while time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            now = self.server.sample()
            if (now["fds"], now["threads"]) != (last["fds"], last["threads"]):
                steady_since, last = time.monotonic(), now
            elif time.monotonic() - steady_since >= 3.0:
                return now
        return self.server.sample()

    def rss_median(self, phase, last=10):
        values = [sample["rss_kib"] for _, name, sample in self.samples if name == phase]
        return statistics.median(values[-last:]) if values else None

    async def run(self):
        stop_sampling = asyncio.Event()
        sampler = asyncio.ensure_future(self.sampler(stop_sampling))
        start = self.server.sample()
        warm_up = self.args.warm_up if self.args.warm_up is not None else max(10.0, self.args.duration / 5)
        await self.load(warm_up)
        self.phase = "quiet"
        baseline = await self.quiet()
        self.phase = "measured"
        await self.load(max(10.0, self.args.duration - warm_up))
        self.phase = "end"
        end = await self.quiet()
        stop_sampling.set()
        await sampler
        warm_rss = self.rss_median("warm-up")
        measured_rss = self.rss_median("measured")
        growth = measured_rss / warm_rss - 1
        figures = {
            "duration_s": round(time.monotonic() - self.started, 1), "workers": self.args.workers,
            "cycles": self.cycles, "media_runs": self.media_runs, "errors": len(self.errors),
            "rss_kib": {"start": start["rss_kib"], "end_of_warm_up": warm_rss, "end_of_run": measured_rss,
                        "peak": max(sample["rss_kib"] for _, _, sample in self.samples),
                        "after": end["rss_kib"], "growth": round(growth, 4)},
            "fds": {"start": start["fds"], "baseline": baseline["fds"], "after": end["fds"],
                    "peak": max(sample["fds"] for _, _, sample in self.samples)},
            "threads": {"start": start["threads"], "baseline": baseline["threads"], "after": end["threads"],
                        "peak": max(sample["threads"] for _, _, sample in self.samples)},
            # Every 10th sample: [seconds, phase, RSS KiB, fds, threads].
            "series": [[round(at), phase, sample["rss_kib"], sample["fds"], sample["threads"]]
                       for at, phase, sample in self.samples[::10]],
        }
        failures = []
        if growth > self.args.max_rss_growth:
            failures.append(f"RSS grew {growth:.1%} under load ({warm_rss:.0f} -> {measured_rss:.0f} KiB), "
                            f"more than {self.args.max_rss_growth:.0%}")
        if end["fds"] != baseline["fds"]:
            failures.append(f"descriptors {baseline['fds']} before, {end['fds']} after")
        if end["threads"] != baseline["threads"]:
            failures.append(f"threads {baseline['threads']} before, {end['threads']} after")
        if self.errors:
            failures.append(f"{len(self.errors)} errors, the first: {self.errors[0]}")
        if self.cycles == 0 or self.media_runs == 0:
            failures.append(f"no load ran ({self.cycles} cycles, {self.media_runs} media runs)")
        return figures, failures


async def main():
    args = parse_args()
    server = Server(args.server, args.config)
    try:
        server.wait_listening()
        figures, failures = await Soak(args, server).run()
    finally:
        status = server.stop()
    print(json.dumps(figures, indent=2))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(figures, out, indent=2)
    if status != 0:
        failures.append(f"the server exited with {status} at SIGTERM")
    if failures:
        print("FAIL: " + "; ".join(failures))
        print(server.tail())
        return 1
    print(f"PASS: {figures['duration_s']:.0f} s, {figures['cycles']} signaling cycles, {figures['media_runs']} media "
          f"runs, RSS {figures['rss_kib']['growth']:+.1%}, fds {figures['fds']['baseline']} -> "
          f"{figures['fds']['after']}, threads {figures['threads']['baseline']} -> {figures['threads']['after']}, errors 0")
    os.unlink(server.log.name)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
