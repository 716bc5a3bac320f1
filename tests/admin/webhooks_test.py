"""Event webhooks (docs/admin-api.md, "Webhooks") of a running partyline,
against a local HTTP receiver this test runs on 127.0.0.1.

  webhooks_test.py --binary PATH

First server (max_attempts 2): real signaling clients, two of them in a
line with aiortc media, one kicked through the admin API; the receiver gets
session_up, line_created, joined, joined, kicked, left, session_down in
order, each signed (the HMAC is recomputed here), with increasing ids and
matching headers; an event the receiver answers 500 once is delivered on
its retry, in its place. Then the receiver stops: the next events are
retried, dropped and counted in /metrics (promtool check metrics) while
signaling `ping`s stay prompt. Second server (queue_size 1): with the
receiver stalled on the first event, later events are dropped as
queue-full and counted, and SIGTERM still stops the server at once.
Needs a network namespace with only loopback (ctest runs in one:
scripts/test). Exits non-zero on the first failed check.
"""

import argparse
import asyncio
import hashlib
import hmac
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from aiortc_peer import use_loopback_only  # noqa: E402
from lines_helpers import LinePeer, wait_occupants  # noqa: E402
from partyline_ws import SignalingClient  # noqa: E402
from server_process import ServerProcess, check  # noqa: E402

SECRET = "webhook-secret-5d1e"
DEADLINE_S = 10.0
PROMPT_PING_S = 0.5  # a signaling round trip on loopback takes milliseconds


class Receiver:
    """A webhook receiver: records every POST (headers, body, the status it
    answered). `fail_once` holds event types to answer 500 the first time;
    `stall()` makes every request wait until `release()`."""

    def __init__(self):
        self.lock = threading.Lock()
        self.posts = []
        self.fail_once = set()
        self.stalled = threading.Event()  # set when a request is being held
        self._hold = None
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                hold = receiver._hold
                if hold is not None:
                    receiver.stalled.set()
                    hold.wait(60)
                event_type = self.headers.get("X-Partyline-Event")
                with receiver.lock:
                    status = 500 if event_type in receiver.fail_once else 204
                    receiver.fail_once.discard(event_type)
                    receiver.posts.append({"headers": dict(self.headers.items()), "body": body, "status": status})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stall(self):
        self._hold = threading.Event()

    def release(self):
        if self._hold is not None:
            self._hold.set()

    def stop(self):
        """Stops listening: connections are refused from now on."""
        self.server.shutdown()
        self.server.server_close()

    def accepted(self):
        """The bodies answered 2xx, parsed, in arrival order."""
        with self.lock:
            return [json.loads(post["body"]) for post in self.posts if post["status"] < 300]

    def all_posts(self):
        with self.lock:
            return list(self.posts)


class Server(ServerProcess):
    def __init__(self, binary, webhooks):
        self.folder = tempfile.TemporaryDirectory(prefix="partyline-webhooks-")
        config_path = os.path.join(self.folder.name, "config.json")
        with open(config_path, "w") as config:
            json.dump({"webhooks": webhooks}, config)
        plugins = os.path.join(self.folder.name, "plugins")  # none
        os.mkdir(plugins)
        env = dict(os.environ, PARTYLINE_HTTP_PORT="0", PARTYLINE_HTTP_BIND="127.0.0.1",
                   PARTYLINE_ADMIN_PORT="0", PARTYLINE_PLUGIN_FOLDERS=plugins, PARTYLINE_LOG_LEVEL="info",
                   PARTYLINE_ICE_ADDRESSES="127.0.0.1", PARTYLINE_ICE_ALLOWED_NETWORKS="127.0.0.0/8",
                   PARTYLINE_WORKERS="2")
        for proxy in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
            env.pop(proxy, None)  # the webhook POSTs go straight to the receiver
        super().__init__([binary, "--config", config_path], env, "partyline-webhooks-")
        self.admin_base = self.wait_for(r"admin API listening on (http://\S+)/").group(1)
        signaling_base = self.wait_for(r"partyline listening on (http://\S+)/").group(1)
        self.ws_url = signaling_base.replace("http://", "ws://") + "/ws"

    def close(self):
        self.log_file.close()
        self.folder.cleanup()


def http_request(method, url):
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=DEADLINE_S) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def webhook_metrics(admin_base):
    """The webhook samples of /metrics, after promtool accepted the page."""
    status, text = http_request("GET", admin_base + "/metrics")
    check(status == 200, f"/metrics: {status}")
    promtool = shutil.which("promtool")
    check(promtool is not None, "promtool is not installed (Debian prometheus; scripts/install-deps --test)")
    checked = subprocess.run([promtool, "check", "metrics"], input=text, text=True, capture_output=True)
    check(checked.returncode == 0, f"promtool check metrics: {checked.stdout}{checked.stderr}")
    samples = {}
    for line in text.splitlines():
        found = re.match(r'partyline_webhook_events_total\{outcome="(\w+)"\} (\d+)$', line)
        if found:
            samples[found.group(1)] = int(found.group(2))
        found = re.match(r"partyline_webhook_retries_total (\d+)$", line)
        if found:
            samples["retries"] = int(found.group(1))
    check(set(samples) == {"queued", "delivered", "dropped_queue_full", "dropped_after_retries", "retries"},
          f"webhook metrics missing: {samples}")
    return samples


async def metrics_until(admin_base, condition, what):
    deadline = time.monotonic() + DEADLINE_S
    while True:
        samples = await asyncio.to_thread(webhook_metrics, admin_base)
        if condition(samples):
            return samples
        check(time.monotonic() < deadline, f"within {DEADLINE_S} s: {what}; metrics {samples}")
        await asyncio.sleep(0.05)  # polling a counter with a deadline


async def until(condition, what, timeout=DEADLINE_S):
    deadline = time.monotonic() + timeout
    while not condition():
        check(time.monotonic() < deadline, f"within {timeout} s: {what}")
        await asyncio.sleep(0.02)  # polling the receiver's records with a deadline


async def prompt_ping(client):
    started = time.monotonic()
    await client.request("ping", timeout=DEADLINE_S)
    took = time.monotonic() - started
    check(took < PROMPT_PING_S, f"{client.name}: ping took {took:.3f} s while webhooks were failing")
    return took


def session_of(client):
    return client.handshake["session"]


def check_signed(post):
    """Signature, event and delivery headers of one POST; returns its body."""
    headers, body = post["headers"], post["body"]
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    check(hmac.compare_digest(headers.get("X-Partyline-Signature", ""), expected),
          f"bad signature {headers.get('X-Partyline-Signature')} (expected {expected}) on {body!r}")
    event = json.loads(body)
    check(headers.get("Content-Type") == "application/json", f"Content-Type {headers.get('Content-Type')}")
    check(headers.get("X-Partyline-Event") == event["event"], f"X-Partyline-Event {headers} vs {event}")
    check(headers.get("X-Partyline-Delivery") == str(event["id"]), f"X-Partyline-Delivery {headers} vs {event}")
    check(isinstance(event["timestamp"], int) and abs(event["timestamp"] / 1000 - time.time()) < 120,
          f"timestamp {event['timestamp']}")
    return event


async def check_sequence(server, receiver):
    admin = server.admin_base
    alice = await SignalingClient.connect(server.ws_url, "alice")
    bob = await SignalingClient.connect(server.ws_url, "bob")
    receiver.fail_once.add("line_created")  # answered 500 once: delivered on the retry, in its place
    line = await alice.request("create_line")
    line_id = line["line_id"]
    peers = [LinePeer(alice, audio=True), LinePeer(bob, audio=True)]
    await peers[0].join(line_id)
    await peers[1].join(line_id, token=line["token"])
    for client in (alice, bob):
        await wait_occupants(client, line_id, [session_of(alice), session_of(bob)], timeout=15.0, state="connected")
    status, body = await asyncio.to_thread(http_request, "DELETE", f"{admin}/admin/v1/sessions/{session_of(bob)}")
    check(status == 200, f"kick: {status} {body}")
    await asyncio.wait_for(bob.closed.wait(), DEADLINE_S)

    expected = [
        ("session_up", {"session": session_of(alice), "user": "alice", "name": "alice", "remote_address": "127.0.0.1"}),
        ("session_up", {"session": session_of(bob), "user": "bob"}),
        ("line_created", {"line_id": line_id, "creator": "alice"}),
        ("joined", {"line_id": line_id, "session": session_of(alice), "user": "alice"}),
        ("joined", {"line_id": line_id, "session": session_of(bob), "user": "bob"}),
        ("kicked", {"session": session_of(bob), "user": "bob", "line_id": line_id}),
        ("left", {"line_id": line_id, "session": session_of(bob), "user": "bob"}),
        ("session_down", {"session": session_of(bob), "user": "bob"}),
    ]
    await until(lambda: len(receiver.accepted()) >= len(expected),
                f"{len(expected)} events delivered (got {[e['event'] for e in receiver.accepted()]})")
    events = receiver.accepted()
    check([e["event"] for e in events] == [kind for kind, _ in expected],
          f"events {[e['event'] for e in events]} != {[kind for kind, _ in expected]}")
    for event, (kind, fields) in zip(events, expected):
        for name, value in fields.items():
            check(event.get(name) == value, f"{kind}: {name} {event.get(name)!r} != {value!r} in {event}")
    check([e["id"] for e in events] == list(range(1, len(events) + 1)), f"ids {[e['id'] for e in events]}")

    posts = receiver.all_posts()
    signed = [check_signed(post) for post in posts]
    refused = [post for post in posts if post["status"] >= 300]
    check(len(refused) == 1 and json.loads(refused[0]["body"])["event"] == "line_created",
          f"the receiver refused {[p['body'] for p in refused]}")
    retried = [post["body"] for post in posts if post["headers"].get("X-Partyline-Event") == "line_created"]
    check(len(retried) == 2 and retried[0] == retried[1], f"line_created not resent byte for byte: {retried}")
    print(f"ok: {len(events)} events in order with valid signatures, ids 1..{len(events)}, "
          f"headers matching; {len(signed)} POSTs (line_created refused once, resent)")

    samples = await metrics_until(admin, lambda s: s["delivered"] == len(expected), "delivered counted")
    check(samples == {"queued": len(expected), "delivered": len(expected), "retries": 1,
                      "dropped_queue_full": 0, "dropped_after_retries": 0}, f"metrics {samples}")
    print(f"ok: /metrics (promtool) counts them: {samples}")
    return alice, peers, line_id


async def check_receiver_down(server, receiver, alice):
    admin = server.admin_base
    before = await asyncio.to_thread(webhook_metrics, admin)
    receiver.stop()
    carol = await SignalingClient.connect(server.ws_url, "carol")  # session_up: cannot be delivered
    pings = []
    deadline = time.monotonic() + DEADLINE_S
    while True:
        pings.append(await prompt_ping(alice))
        pings.append(await prompt_ping(carol))
        samples = await asyncio.to_thread(webhook_metrics, admin)
        if samples["dropped_after_retries"] > before["dropped_after_retries"]:
            break
        check(time.monotonic() < deadline, f"within {DEADLINE_S} s: an event dropped after retries; {samples}")
    await carol.close()  # session_down: dropped too
    samples = await metrics_until(admin, lambda s: s["dropped_after_retries"] >= before["dropped_after_retries"] + 2,
                                  "both undeliverable events dropped")
    check(samples["retries"] >= before["retries"] + 2, f"no retries counted: {before} -> {samples}")
    check(samples["queued"] == before["queued"] + 2 and samples["delivered"] == before["delivered"],
          f"{before} -> {samples}")
    check(re.search(r"webhooks: event \d+ \(session_up\) to URL #1 dropped after 2 attempts", server.text()),
          "no log line for the dropped event")
    await prompt_ping(alice)
    print(f"ok: receiver down: retried and dropped ({before} -> {samples}); "
          f"{len(pings)} pings meanwhile, slowest {max(pings) * 1000:.1f} ms")


async def first_server(binary, receiver):
    server = Server(binary, {"urls": [receiver.url], "secret": SECRET, "queue_size": 100, "max_attempts": 2,
                             "retry_delay_ms": 100, "timeout_ms": 2000})
    try:
        check(re.search(r"webhooks: call events go to 1 URL", server.text()), "no start line for the webhooks")
        alice, peers, _ = await check_sequence(server, receiver)
        await check_receiver_down(server, receiver, alice)
        for peer in peers:
            await peer.close()
        await alice.close()
        server.stop()
        print("ok: SIGTERM: exit 0")
    except BaseException:
        server.report_failure()
        raise
    finally:
        server.close()


async def second_server(binary):
    receiver = Receiver()
    receiver.stall()
    server = Server(binary, {"urls": [receiver.url], "secret": SECRET, "queue_size": 1, "max_attempts": 1,
                             "retry_delay_ms": 100, "timeout_ms": 20000})
    try:
        dave = await SignalingClient.connect(server.ws_url, "dave")
        await until(receiver.stalled.is_set, "the receiver holding the first event")
        others = [await SignalingClient.connect(server.ws_url, name) for name in ("erin", "frank")]
        for client in [dave] + others:
            await prompt_ping(client)
        samples = await metrics_until(server.admin_base, lambda s: s["dropped_queue_full"] >= 2,
                                      "events dropped with the queue full")
        check(samples["queued"] == 1 and samples["delivered"] == 0, f"metrics {samples}")
        check("webhooks: queue full (queue_size 1): dropping events" in server.text(), "no log line for the full queue")
        print(f"ok: queue_size 1, receiver stalled: later events dropped as queue-full ({samples}), pings prompt")
        for client in [dave] + others:
            await client.close()
        took = server.stop(within_s=15.0)
        check(took < 5.0, f"SIGTERM with a webhook request in flight took {took:.1f} s")
        print(f"ok: SIGTERM with a request in flight (timeout 20 s): stopped in {took:.2f} s")
    except BaseException:
        server.report_failure()
        raise
    finally:
        receiver.release()
        receiver.stop()
        server.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    args = parser.parse_args()
    use_loopback_only()
    asyncio.run(first_server(args.binary, Receiver()))
    asyncio.run(second_server(args.binary))
    print("webhooks: passed")


if __name__ == "__main__":
    main()
