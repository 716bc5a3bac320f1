"""Shared by the fault tests (faults_*.py, issue 14 "Fault tests"):

- ServerResources: the server process's open descriptors (/proc/PID/fd),
  threads (/proc/PID/status Threads) and RSS, sampled, compared with a
  baseline, polled until back to it;
- admin API reads (`/metrics` as a dict of samples, `/admin/v1/sessions/ID`)
  on the admin listener (default 127.0.0.1:7088, docs/admin-api.md);
- ChildOccupant: an aiortc occupant of a line in a child process (so the
  test can SIGKILL, SIGSTOP or SIGCONT it), talking to the parent by lines
  on stdin/stdout;
- SDP helpers: m-sections with their direction and msid, the server's
  127.0.0.1 host candidate port.

Every wait has a deadline and polls for its condition; nothing sleeps in
place of an event.
"""

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

from lines_helpers import check, session_of, wait_occupants

SERVER_PID = int(os.environ.get("PARTYLINE_SERVER_PID", "0"))
ADMIN_URL = os.environ.get("PARTYLINE_ADMIN_URL", "http://127.0.0.1:7088")
SANITIZED = os.environ.get("PARTYLINE_SERVER_SANITIZED") == "1"

# RSS may stay a little above its baseline after a participant left: the
# allocator keeps freed pages for reuse (glibc returns only the top of the
# heap), and the first call on a worker warms caches (GnuTLS, SRTP, the
# forwarding plane's rings) that stay. What must not happen is growth per
# participant: the bound is 10 % or 4 MiB over the baseline, whichever is
# larger (a participant's own buffers are a few hundred KiB).
RSS_TOLERANCE_RATIO = 0.10
RSS_TOLERANCE_KIB = 4096


# ---------------------------------------------------------------- resources

def proc_status(pid=None):
    with open(f"/proc/{pid or SERVER_PID}/status") as status:
        return {line.split(":")[0]: line.split(":", 1)[1].strip() for line in status}


class Resources:
    def __init__(self, fds, threads, rss_kib, fd_targets=(), thread_names=()):
        self.fds, self.threads, self.rss_kib = fds, threads, rss_kib
        self.fd_targets, self.thread_names = sorted(fd_targets), sorted(thread_names)

    def difference(self, other):
        """What this sample has that `other` has not (descriptor targets,
        thread names), for the failure message."""
        def extra(mine, theirs):
            left = list(theirs)
            out = []
            for item in mine:
                if item in left:
                    left.remove(item)
                else:
                    out.append(item)
            return out
        return (f"descriptors {extra(self.fd_targets, other.fd_targets)} / {extra(other.fd_targets, self.fd_targets)}, "
                f"threads {extra(self.thread_names, other.thread_names)} / "
                f"{extra(other.thread_names, self.thread_names)} (new / gone)")

    def __str__(self):
        return f"{self.fds} fds, {self.threads} threads, RSS {self.rss_kib} KiB"


ADMIN_PORT = int(ADMIN_URL.rsplit(":", 1)[1].split("/")[0])


def admin_connection_inodes():
    """`socket:[inode]` of every TCP connection (not the listener) on the
    admin port: the test's own /metrics and admin reads, whose server side
    may close a moment after the answer. They are not the participants'."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as rows:
                next(rows)
                for row in rows:
                    fields = row.split()
                    local_port = int(fields[1].rsplit(":", 1)[1], 16)
                    if local_port == ADMIN_PORT and fields[3] != "0A":  # 0A: LISTEN
                        inodes.add(f"socket:[{fields[9]}]")
        except FileNotFoundError:
            continue
    return inodes


def server_resources(pid=None):
    """Descriptors (but the admin API connections), threads, RSS."""
    pid = pid or SERVER_PID
    status = proc_status(pid)
    targets = []
    admin_connections = admin_connection_inodes()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target in admin_connections:
            continue  # the test's own admin API reads, closing
        # socket:[inode] and anon_inode:[eventfd]: the kind, not the instance
        targets.append(target.split("[")[0] if target.startswith(("socket:", "pipe:")) else target)
    names = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/comm") as comm:
                names.append(comm.read().strip())
        except OSError:
            continue
    return Resources(len(targets), int(status["Threads"]), int(status["VmRSS"].split()[0]), targets, names)


def rss_bound(baseline):
    return baseline.rss_kib + max(int(baseline.rss_kib * RSS_TOLERANCE_RATIO), RSS_TOLERANCE_KIB)


async def back_to_baseline(baseline, what, timeout=10.0):
    """Polls until the server's descriptors and threads equal the baseline's
    and its RSS is within the tolerance; prints the figures; fails with
    them at the deadline."""
    deadline = time.monotonic() + timeout
    started = time.monotonic()
    while True:
        now = server_resources()
        settled = now.fds == baseline.fds and now.threads == baseline.threads and now.rss_kib <= rss_bound(baseline)
        if settled or time.monotonic() >= deadline:
            break
        await asyncio.sleep(0.1)
    print(f"    resources {what}: baseline {baseline}; after {now} "
          f"({time.monotonic() - started:.1f} s later; RSS bound {rss_bound(baseline)} KiB)", flush=True)
    check(now.fds == baseline.fds and now.threads == baseline.threads,
          f"{what}: the server holds {now.fds} descriptors and runs {now.threads} threads, {baseline.fds} and "
          f"{baseline.threads} before: {now.difference(baseline)}")
    check(now.rss_kib <= rss_bound(baseline),
          f"{what}: server RSS {now.rss_kib} KiB, over the bound {rss_bound(baseline)} KiB "
          f"(baseline {baseline.rss_kib} KiB)")
    return now


# ---------------------------------------------------------------- admin API

def admin_get(path, timeout=5.0):
    with urllib.request.urlopen(f"{ADMIN_URL}{path}", timeout=timeout) as response:
        return response.read().decode()


async def admin_json(path):
    return json.loads(await asyncio.to_thread(admin_get, path))


async def metrics():
    """/metrics as {'name{labels}': value}."""
    text = await asyncio.to_thread(admin_get, "/metrics")
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def metric_delta(before, after, name):
    return after.get(name, 0) - before.get(name, 0)


# ---------------------------------------------------------------- SDP

def m_sections(sdp):
    """[(kind, mid, direction, msid stream id or None)] per m-line."""
    sections = []
    for block in re.split(r"\r?\nm=", "\n" + sdp)[1:]:
        kind = block.split(" ", 1)[0]
        mid = re.search(r"^a=mid:(\S+)", block, re.M)
        direction = re.search(r"^a=(sendrecv|sendonly|recvonly|inactive)\s*$", block, re.M)
        msid = re.search(r"^a=msid:(\S+)", block, re.M)
        port = int(block.split(" ", 2)[1])
        sections.append({"kind": kind, "mid": mid.group(1) if mid else None, "port": port,
                         "direction": direction.group(1) if direction else "sendrecv",
                         "msid": msid.group(1) if msid else None})
    return sections


def udp_port_is_free(port):
    """Whether 127.0.0.1:port can be bound (no socket of the server holds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def server_host_port(sdp):
    """The port of the server's `127.0.0.1 ... typ host` UDP candidate."""
    match = re.search(r"a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+) typ host", sdp, re.I)
    check(match is not None, f"no 127.0.0.1 host candidate in the server's SDP:\n{sdp}")
    return int(match.group(1))


# ---------------------------------------------------------------- child occupant

class ChildOccupant:
    """An aiortc occupant (audio and video) of a line in a child process
    running `script --occupant NAME LINE_ID TOKEN [stall]` (see
    run_child_occupant). The child prints `SECURE <session>` once its
    PeerConnection is secure, then answers one line on stdin per command."""

    def __init__(self, script, name, line_id, token, *extra):
        self.name = name
        self.process = subprocess.Popen([sys.executable, script, "--occupant", name, line_id, token, *extra],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.session = None

    async def read_line(self, timeout):
        return (await asyncio.wait_for(asyncio.to_thread(self.process.stdout.readline), timeout)).strip()

    async def wait_secure(self, timeout=30.0):
        line = await self.read_line(timeout)
        check(line.startswith("SECURE "), f"{self.name}: the child's call did not start: {line!r}")
        self.session = line.split()[1]
        return self.session

    def signal(self, number):
        self.process.send_signal(number)

    async def command(self, text, timeout=15.0):
        """Sends one command line, returns the child's JSON reply."""
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()
        line = await self.read_line(timeout)
        check(line, f"{self.name}: no reply to {text!r}")
        return json.loads(line)

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


async def run_child_occupant(name, line_id, token):
    """The child side of ChildOccupant: joins the line with audio and video,
    prints `SECURE <session>` once the server said secure, then runs
    commands from stdin: `report` prints the close code and the state
    events since secure as JSON; `reconnect` connects again, joins the line
    and prints the new session's handshake and join response."""
    from lines_helpers import LinePeer, connect, join_until_secure, session_of
    joined = await join_until_secure(name, line_id, token)
    if joined is None:
        return 1
    client, peer, since = joined
    while True:
        command = (await asyncio.to_thread(sys.stdin.readline)).strip()
        if not command:
            return 0
        if command == "report":
            # What arrived while stopped is read first: the close, if any,
            # waits in the socket.
            await client.wait_until(lambda: True if client.closed.is_set() else None, 5.0)
            told = [e for e in client.events[since:] if e.get("event") in ("webrtc_state", "error", "hangup")]
            print(json.dumps({"closed": client.closed.is_set(), "close_code": client.close_code,
                              "close_reason": client.close_reason, "events": told}), flush=True)
        elif command == "reconnect":
            await peer.close()
            again = await connect(name)
            new_peer = LinePeer(again, audio=True, video=False)
            response = await new_peer.join(line_id, token=token)
            secure = await again.wait_for_event(
                lambda e: e.get("event") == "webrtc_state" and e.get("state") == "secure", 15.0)
            print(json.dumps({"session": session_of(again), "join": response, "secure": secure is not None}),
                  flush=True)
        else:
            print(json.dumps({"error": f"unknown command {command}"}), flush=True)


async def media_line(scenario, names, video=False, frames=50):
    """Clients with aiortc peers in one new line, all connected and each
    receiving `frames` audio frames. Returns (line_id, token, clients, peers)."""
    clients = [await scenario.connect(name) for name in names]
    line = await clients[0].request("create_line")
    peers = []
    for client in clients:
        peer = scenario.peer(client, audio=True, video=video)
        await peer.join(line["line_id"], token=line["token"])
        peers.append(peer)
    sessions = [session_of(client) for client in clients]
    for client in clients:
        await wait_occupants(client, line["line_id"], sessions, timeout=15.0, state="connected")
    for peer in peers:
        check(await peer.wait_received("audio", frames, 15.0),
              f"{peer.client.name} receives no audio: {peer.received}")
    return line["line_id"], line["token"], clients, peers
