"""The admin API (docs/admin-api.md) of a running partyline, against live
state: real signaling clients, two of them in a line with aiortc media, the
example plugin loaded.

  admin_api_test.py --binary PATH --source REPO

Checked: 401 without and with a wrong token; 404, 405 and 400 with JSON
error bodies; info, sessions and lines reflecting the clients; the plugin
query; a live occupant's figures (selected loopback pair, DTLS and SRTP
profile, packets, bytes and bitrate growing); force-mute (the other
occupant's inbound audio stops, the occupants show it, the client cannot
unmute itself; lifted, audio flows again); a log-level change taking
effect; /metrics (promtool check metrics)
agreeing with the API; kick (the client gets `hangup` reason `kicked` and
close code 4004, the other occupant `occupants` without it); closing a line
(everyone in it gets `hangup` reason `line_closed`); the admin routes not
served on the signaling port; a non-loopback admin bind without a token
refused at start. Needs a network namespace with only loopback (ctest runs
in one: scripts/test). Exits non-zero on the first failed check.
"""

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from aiortc_peer import use_loopback_only  # noqa: E402
from lines_helpers import LinePeer, last_occupants, wait_occupants  # noqa: E402
from partyline_ws import RequestError, SignalingClient  # noqa: E402
from server_process import ServerProcess, check, fail  # noqa: E402

TOKEN = "admin-test-token-7f3a9c"
JWT_SECRET = "jwt-secret-that-must-not-show"


def guest_id(name):
    """The user id of the anonymous client `name`: with a JWT secret set, a
    guest's id is in its own space (docs/protocol.md, Identity)."""
    return f"guest:{name}"
DEADLINE_S = 10.0


class Server(ServerProcess):
    def __init__(self, binary, folder, extra_env):
        env = dict(os.environ, PARTYLINE_HTTP_PORT="0", PARTYLINE_HTTP_BIND="127.0.0.1",
                   PARTYLINE_ADMIN_PORT="0", PARTYLINE_PLUGIN_FOLDERS=folder, PARTYLINE_LOG_LEVEL="info",
                   PARTYLINE_ICE_ADDRESSES="127.0.0.1", PARTYLINE_ICE_ALLOWED_NETWORKS="127.0.0.0/8",
                   PARTYLINE_WORKERS="2", PARTYLINE_JWT_SECRET=JWT_SECRET)
        env.update(extra_env)
        super().__init__([binary], env, "partyline-admin-")


def http(method, url, token=TOKEN, body=None, raw_body=None):
    """(status, headers, body text); never raises for an HTTP status."""
    data = raw_body if raw_body is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data, method=method)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=DEADLINE_S) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


class Admin:
    def __init__(self, base):
        self.base = base

    async def call(self, method, path, status=200, **kwargs):
        """The JSON body of a call that must answer `status`."""
        got, headers, text = await asyncio.to_thread(http, method, self.base + path, **kwargs)
        check(got == status, f"{method} {path}: expected {status}, got {got}: {text}")
        check(headers.get("Content-Type", "").startswith("application/json"),
              f"{method} {path}: Content-Type {headers.get('Content-Type')}")
        body = json.loads(text)
        if status >= 400:
            check(set(body) == {"error"} and body["error"].get("code") == status
                  and isinstance(body["error"].get("reason"), str) and body["error"]["reason"],
                  f"{method} {path}: error body {body}")
        return body, headers

    async def get(self, path, **kwargs):
        return (await self.call("GET", path, **kwargs))[0]


def session_of(client):
    return client.handshake["session"]


async def check_errors(admin, signaling_base):
    # 401: no token, a wrong one, one of the same length, another scheme.
    for token in (None, "wrong", TOKEN[:-1] + "x", ""):
        body, headers = await admin.call("GET", "/admin/v1/info", status=401, token=token)
        check("Bearer" in (headers.get("WWW-Authenticate") or ""), f"401 without WWW-Authenticate: {headers}")
    status, _, _ = await asyncio.to_thread(
        lambda: http("GET", admin.base + "/admin/v1/nosuch", token=None))
    check(status == 401, f"an unknown path without a token must be 401 too, got {status}")
    print("ok: 401 without a token, with a wrong one, and before routing")

    await admin.call("GET", "/admin/v1/nosuch", status=404)
    await admin.call("GET", "/admin/v1/sessions/", status=404)
    _, headers = await admin.call("DELETE", "/admin/v1/info", status=405)
    check(headers.get("Allow") == "GET", f"405 Allow header: {headers.get('Allow')}")
    _, headers = await admin.call("POST", "/admin/v1/sessions/abc", status=405)
    check(headers.get("Allow") == "GET, DELETE", f"405 Allow header: {headers.get('Allow')}")
    await admin.call("PUT", "/admin/v1/log-level", status=400, raw_body=b"{not json")
    await admin.call("PUT", "/admin/v1/log-level", status=400, raw_body=b"")
    await admin.call("PUT", "/admin/v1/log-level", status=400, body={"level": 3})
    await admin.call("PUT", "/admin/v1/log-level", status=400, body={"level": "loud"})
    await admin.call("POST", "/admin/v1/plugins/example", status=400, raw_body=b"[1, 2]")
    print("ok: 404, 405 (with Allow), 400 for malformed and wrong bodies, each with a JSON error body")

    # The admin routes are not served on the signaling port, nor the
    # dashboard that its web root holds in admin/.
    for path in ("/admin/v1/info", "/admin/v1/sessions", "/metrics", "/admin/", "/admin/dashboard.js"):
        status, _, _ = await asyncio.to_thread(http, "GET", signaling_base + path)
        check(status == 404, f"signaling port served {path}: {status}")
    print("ok: admin paths are 404 on the signaling port")


async def check_info(admin, clients):
    info = await admin.get("/admin/v1/info")
    check(info["version"] == clients[0].handshake["server"]["version"], f"info version {info['version']}")
    check(info["workers"] == 2 and info["config"]["workers"] == 2, f"info workers {info['workers']}")
    check(info["sessions"] == len(clients), f"info sessions {info['sessions']} != {len(clients)}")
    check(isinstance(info["uptime_ms"], int) and info["uptime_ms"] > 0, f"uptime {info['uptime_ms']}")
    text = json.dumps(info)
    check(TOKEN not in text and JWT_SECRET not in text, "a secret shows in /admin/v1/info")
    check(info["config"]["admin"]["token"] == "********" and info["config"]["auth"]["jwt_secret"] == "********",
          f"secrets not masked: {info['config']['admin']} {info['config']['auth']}")
    check(info["config"]["admin"]["bind"] == "127.0.0.1", f"admin bind {info['config']['admin']}")
    names = [plugin["name"] for plugin in info["plugins"]]
    check(names == ["example"], f"plugins {names}")
    later = await admin.get("/admin/v1/info")
    check(later["uptime_ms"] >= info["uptime_ms"], "uptime went backwards")
    print(f"ok: info: version {info['version']}, 2 workers, {len(clients)} sessions, plugins {names}, secrets masked")


async def check_sessions_and_lines(admin, alice, bob, carol, line_id):
    listed = (await admin.get("/admin/v1/sessions"))["sessions"]
    by_id = {entry["session"]: entry for entry in listed}
    check(set(by_id) == {session_of(c) for c in (alice, bob, carol)}, f"sessions {sorted(by_id)}")
    for client in (alice, bob, carol):
        entry = by_id[session_of(client)]
        check(entry["user"] == guest_id(client.name) and entry["remote_address"] == "127.0.0.1",
              f"{client.name}: {entry}")
        single = await admin.get(f"/admin/v1/sessions/{session_of(client)}")
        # The detail adds the PeerConnection's figures (check_session_figures).
        summary = {k: v for k, v in single.items() if k not in ("transport", "streams")}
        check(summary == entry, f"{client.name}: GET by id {summary} != listed {entry}")
    for client in (alice, bob):
        entry = by_id[session_of(client)]
        check(entry["line_id"] == line_id, f"{client.name} line {entry['line_id']}")
        peer = entry["peer_connection"]
        check(peer and peer["role"] == "line" and peer["state"] == "secure" and peer["worker"] in (0, 1),
              f"{client.name} peer {peer}")
        check(entry["publishing"] == {"audio": True, "video": False}, f"{client.name} publishing {entry}")
        kinds = [(s["kind"], s["codec"]) for s in entry["published_streams"]]
        check(kinds == [("audio", "opus")], f"{client.name} published streams {kinds}")
    check(by_id[session_of(carol)]["line_id"] is None and by_id[session_of(carol)]["peer_connection"] is None,
          f"carol: {by_id[session_of(carol)]}")
    await admin.call("GET", "/admin/v1/sessions/no-such-session", status=404)
    print("ok: sessions: users, remote addresses, lines, PeerConnection states and published streams as live")

    lines = (await admin.get("/admin/v1/lines"))["lines"]
    check([line["line_id"] for line in lines] == [line_id], f"lines {lines}")
    line = await admin.get(f"/admin/v1/lines/{line_id}")
    check(line == lines[0], f"GET line {line} != listed {lines[0]}")
    check(line["creator"] == guest_id("alice") and set(line["members"]) == {guest_id("alice"), guest_id("bob")},
          f"line members {line}")
    # The occupants as the occupants themselves were told, plus the streams.
    seen = last_occupants(alice, line_id)
    stripped = [{k: v for k, v in o.items() if k not in ("published_streams", "worker")} for o in line["occupants"]]
    check(stripped == seen["occupants"], f"admin occupants {stripped} != alice's occupants event {seen}")
    await admin.call("GET", "/admin/v1/lines/no-such-line", status=404)
    await admin.call("DELETE", "/admin/v1/lines/no-such-line", status=404)
    print("ok: lines: the occupants every occupant sees, creator, members, who publishes what")


async def check_session_figures(admin, alice, bob):
    """A live occupant's detail: the loopback pair selected, DTLS connected
    with an SRTP profile, and per-stream figures that move between two reads
    with a bitrate plausible for Opus."""
    path = f"/admin/v1/sessions/{session_of(alice)}"
    first = await admin.get(path)
    transport = first["transport"]
    pair = transport["selected_pair"]
    check(pair and " 127.0.0.1 " in pair["local"] and " 127.0.0.1 " in pair["remote"], f"selected pair {pair}")
    check(transport["state"] == "secure" and transport["dtls"]["state"] == "connected"
          and transport["dtls"]["srtp_profile"].startswith("SRTP_AES128_CM_HMAC_SHA1"), f"transport {transport}")
    check(transport["local_candidates"] and transport["remote_candidates"], f"candidates {transport}")

    async def moved():
        later = await admin.get(path)
        grew = (later["transport"]["received"]["bytes"] > first["transport"]["received"]["bytes"]
                and later["streams"]["published"][0]["packets"] > first["streams"]["published"][0]["packets"]
                and later["streams"]["published"][0]["bitrate_bps"] > 0)
        return later if grew else None
    later = await wait_for_http(moved, "alice's received packets and bytes grow")
    audio = later["streams"]["published"][0]
    check(audio["kind"] == "audio" and audio["codec"] == "opus" and isinstance(audio["ssrc"], int), f"audio {audio}")
    # aiortc's AudioStreamTrack is silence, which Opus codes in a few bytes
    # per 20 ms packet (1-5 kbit/s). Plausible: what 50 packets a second of
    # the stream's average payload make, within a factor of 2.
    expected = audio["bytes"] / audio["packets"] * 8 * 50
    check(expected / 2 < audio["bitrate_bps"] < expected * 2,
          f"alice's audio bitrate {audio['bitrate_bps']} for {expected:.0f} bit/s of 20 ms packets")
    received = (await admin.get(f"/admin/v1/sessions/{session_of(bob)}"))["streams"]["received"]
    from_alice = [leg for leg in received if leg["from_session"] == session_of(alice)]
    check(len(from_alice) == 1 and from_alice[0]["packets"] > 0, f"bob's leg from alice {received}")
    print(f"ok: session figures: pair {pair['local'].split()[4]}:{pair['local'].split()[5]} <-> "
          f"{pair['remote'].split()[4]}:{pair['remote'].split()[5]}, {transport['dtls']['srtp_profile']}, "
          f"alice's audio {audio['packets']} packets at {audio['bitrate_bps']} bit/s, bob's leg {from_alice[0]['packets']}")


async def inbound_audio_packets(peer):
    stats = await peer.pc.getStats()
    return sum(s.packetsReceived for s in stats.values() if s.type == "inbound-rtp" and s.kind == "audio")


async def wait_alice_muted(bob, alice, line_id, muted):
    def settled():
        line = last_occupants(bob, line_id)
        entry = [o for o in (line or {}).get("occupants", []) if o["session"] == session_of(alice)]
        return line if entry and entry[0]["muted"]["audio"] == muted else None
    check(await bob.wait_until(settled, DEADLINE_S) is not None,
          f"bob's occupants never showed alice's audio muted={muted}: {last_occupants(bob, line_id)}")


async def check_force_mute(admin, alice, bob, bob_peer, line_id):
    """Force-muting alice's audio stops it reaching bob (his inbound packet
    count stops), the occupants show her muted, she cannot unmute herself,
    and lifting it lets her audio through again."""
    path = f"/admin/v1/sessions/{session_of(alice)}/mute"
    await admin.call("POST", path, status=400, body={})
    await admin.call("POST", path, status=400, body={"audio": "yes"})
    await admin.call("POST", "/admin/v1/sessions/no-such-session/mute", status=404, body={"audio": True})
    body, _ = await admin.call("POST", path, body={"audio": True})
    check(body["forced_mute"] == {"audio": True, "video": False} and body["muted"]["audio"], f"mute reply {body}")
    await wait_alice_muted(bob, alice, line_id, True)
    # Packets on their way when the mute took effect arrive within a moment;
    # after that bob's count must stand still for a second of audio (50 packets).
    async def settled():
        before = await inbound_audio_packets(bob_peer)
        await asyncio.sleep(0.3)  # the interval a count is compared over, not a wait for an event
        return before if await inbound_audio_packets(bob_peer) == before else None
    standing = await wait_for_http(settled, "bob's inbound audio stops after the force-mute")
    await asyncio.sleep(1.0)  # one second of audio that must not arrive
    check(await inbound_audio_packets(bob_peer) == standing, "alice's audio still reaches bob while force-muted")
    try:
        await alice.request("mute", audio=False)
        fail("alice could unmute herself while force-muted")
    except RequestError as error:
        check(error.code == 403, f"alice unmuting herself: {error}")
    await admin.call("POST", path, body={"audio": False})

    async def flowing():
        return await inbound_audio_packets(bob_peer) > standing + 20
    await wait_for_http(flowing, "alice's audio reaches bob again after the force-mute is lifted")
    await wait_alice_muted(bob, alice, line_id, False)
    print(f"ok: force-mute: bob's inbound audio stood at {standing} packets, alice shown muted and refused "
          f"unmuting (403), flowing again after the lift")


async def check_worker_load(admin):
    """info's worker_load counts the PeerConnections each worker holds, as
    the sessions' own `worker` fields say."""
    info = await admin.get("/admin/v1/info")
    sessions = (await admin.get("/admin/v1/sessions"))["sessions"]
    expected = [0, 0]
    for entry in sessions:
        if entry["peer_connection"] and entry["peer_connection"]["state"] not in ("failed", "closed"):
            expected[entry["peer_connection"]["worker"]] += 1
    got = [entry["peer_connections"] for entry in info["worker_load"]]
    check([entry["worker"] for entry in info["worker_load"]] == [0, 1] and got == expected and sum(got) == 2,
          f"worker_load {info['worker_load']} != PeerConnections per worker {expected}")
    print(f"ok: info worker_load {got} matches the sessions' workers")


async def check_plugin_query(admin, alice):
    reply = await admin.call("POST", "/admin/v1/plugins/example", body={})
    check(reply[0] == {"plugin": "example", "data": {"handles": 0}}, f"plugin query {reply[0]}")
    handle = (await alice.request("attach", plugin="example"))["handle"]
    for text in ("one", "two", "three"):
        await alice.request("message", handle=handle, body={"request": "echo", "text": text})
    reply = await admin.call("POST", "/admin/v1/plugins/example", body={})
    check(reply[0]["data"] == {"handles": 1}, f"after attach: {reply[0]}")
    reply = await admin.call("POST", f"/admin/v1/plugins/example/handles/{handle}", body={})
    check(reply[0]["data"] == {"messages": 3}, f"handle query: {reply[0]}")
    await admin.call("POST", "/admin/v1/plugins/nosuch", status=404, body={})
    await admin.call("POST", "/admin/v1/plugins/example/handles/0000000000000000", status=404, body={})
    await alice.request("detach", handle=handle)
    print("ok: plugin admin queries reach the plugin (plugin-wide and per handle)")


async def check_log_level(admin, server, url):
    body, _ = await admin.call("PUT", "/admin/v1/log-level", body={"level": "warn"})
    check(body == {"level": "warn", "previous": "info"}, f"log-level reply {body}")
    check((await admin.get("/admin/v1/info"))["log_level"] == "warn", "info does not show the new level")
    quiet = await SignalingClient.connect(url, "quiet.user")
    listed = {e["user"] for e in (await admin.get("/admin/v1/sessions"))["sessions"]}
    check(guest_id("quiet.user") in listed, f"quiet.user not listed: {listed}")  # so its connect line was due by now
    check("user=guest:quiet.user" not in server.text(), "an info line was logged at level warn")
    await admin.call("PUT", "/admin/v1/log-level", body={"level": "info"})
    loud = await SignalingClient.connect(url, "loud.user")
    listed = {e["user"] for e in (await admin.get("/admin/v1/sessions"))["sessions"]}
    check(guest_id("loud.user") in listed, f"loud.user not listed: {listed}")
    check(re.search(r"user=guest:loud\.user: connected from 127\.0\.0\.1", server.text()),
          "no info line for loud.user after the level went back to info")
    await quiet.close()
    await loud.close()
    print("ok: PUT log-level takes effect at once (warn hides info lines, info shows them again)")


def parse_metrics(text):
    samples, helps, types = {}, set(), set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helps.add(line.split()[2])
        elif line.startswith("# TYPE "):
            types.add(line.split()[2])
        elif line:
            name_labels, value = line.rsplit(" ", 1)
            samples[name_labels] = float(value)
    for name_labels in samples:
        family = name_labels.split("{")[0]
        check(family in helps and family in types, f"metric {family} lacks HELP or TYPE")
    return samples


async def check_metrics(admin, occupants):
    status, headers, text = await asyncio.to_thread(http, "GET", admin.base + "/metrics")
    check(status == 200 and headers.get("Content-Type", "").startswith("text/plain; version=0.0.4"),
          f"/metrics: {status} {headers.get('Content-Type')}")
    # promtool is a test dependency (scripts/install-deps --test): missing, it fails the test, never skips it.
    promtool = shutil.which("promtool")
    check(promtool is not None, "promtool is not installed (Debian prometheus; scripts/install-deps --test)")
    checked = subprocess.run([promtool, "check", "metrics"], input=text, text=True, capture_output=True)
    check(checked.returncode == 0, f"promtool check metrics: {checked.stdout}{checked.stderr}")
    first = parse_metrics(text)
    sessions = (await admin.get("/admin/v1/sessions"))["sessions"]
    lines = (await admin.get("/admin/v1/lines"))["lines"]
    check(first["partyline_sessions"] == len(sessions), f"metrics sessions {first['partyline_sessions']} != {len(sessions)}")
    check(first["partyline_occupants"] == sum(len(line["occupants"]) for line in lines) == occupants,
          f"metrics occupants {first['partyline_occupants']}")
    check(first["partyline_workers"] == 2, f"metrics workers {first['partyline_workers']}")
    per_worker = sum(v for k, v in first.items() if k.startswith("partyline_worker_forwarded_packets_total{"))
    check(per_worker == first["partyline_forwarded_packets_total"], "the total is not the sum of the workers")
    check(any(k.startswith('partyline_forwarding_drops_total{reason="ring_full"}') for k in first), "no ring_full drops")
    # The transports' totals cover at least what the live sessions' own
    # figures say (closed transports stay counted), per direction.
    live_in = 0
    for entry in sessions:
        if entry["peer_connection"]:
            detail = await admin.get(f"/admin/v1/sessions/{entry['session']}")
            live_in += detail.get("transport", {}).get("received", {}).get("packets", 0)
    totals_in = parse_metrics((await asyncio.to_thread(http, "GET", admin.base + "/metrics"))[2])
    media_in = totals_in['partyline_media_packets_total{direction="in"}']
    check(media_in >= live_in > 0, f"media packets in {media_in} < the sessions' {live_in}")
    check(first['partyline_media_packets_total{direction="out"}'] > 0, "no media packets out")
    for worker in (0, 1):
        busy = first[f'partyline_worker_busy_seconds_total{{worker="{worker}"}}']
        check(0 <= busy <= first["partyline_uptime_seconds"], f"worker {worker} busy {busy} s")
        check(f'partyline_worker_queued_packets{{worker="{worker}"}}' in first, f"no ring depth for worker {worker}")
    # The forwarded total against the per-session figures, within one
    # scrape: every leg's packets were written for it, and all but those the
    # sink refused (sink_not_ready, send_failed, protect_failed) forwarded.
    before = parse_metrics((await asyncio.to_thread(http, "GET", admin.base + "/metrics"))[2])
    legs_total = 0
    for entry in sessions:
        if entry["peer_connection"]:
            detail = await admin.get(f"/admin/v1/sessions/{entry['session']}")
            legs_total += sum(leg["packets"] for leg in detail.get("streams", {}).get("received", []))
    after = parse_metrics((await asyncio.to_thread(http, "GET", admin.base + "/metrics"))[2])
    refused = sum(after[f'partyline_forwarding_drops_total{{reason="{reason}"}}']
                  for reason in ("transport_not_ready", "send_failed", "protect_failed"))
    check(before["partyline_forwarded_packets_total"] <= legs_total
          <= after["partyline_forwarded_packets_total"] + refused,
          f"the sessions' legs carried {legs_total} packets; forwarded {before['partyline_forwarded_packets_total']}"
          f" -> {after['partyline_forwarded_packets_total']} (+{refused} refused by sinks)")
    print(f"ok: /metrics forwarded {before['partyline_forwarded_packets_total']:.0f} .. "
          f"{after['partyline_forwarded_packets_total']:.0f} brackets the sessions' legs ({legs_total})")
    # Requests by name and result: alice's and bob's joins succeeded.
    check(first.get('partyline_signaling_requests_total{request="join",code="200"}', 0) >= 2,
          "no successful joins counted in partyline_signaling_requests_total")
    for layer in ("ice", "dtls"):
        check(f'partyline_transport_failures_total{{layer="{layer}"}}' in first, f"no {layer} failure counter")
    # Two occupants send audio to each other: the forwarded count grows.
    deadline = time.monotonic() + DEADLINE_S
    while True:
        _, _, later_text = await asyncio.to_thread(http, "GET", admin.base + "/metrics")
        later = parse_metrics(later_text)
        if later["partyline_forwarded_packets_total"] > first["partyline_forwarded_packets_total"] > 0:
            break
        check(time.monotonic() < deadline, f"forwarded packets did not grow: {first['partyline_forwarded_packets_total']}"
              f" -> {later['partyline_forwarded_packets_total']}")
        await asyncio.sleep(0.2)  # polling a counter that moves with the media
    print(f"ok: /metrics passes promtool, agrees with the API, "
          f"forwarded {first['partyline_forwarded_packets_total']:.0f} -> {later['partyline_forwarded_packets_total']:.0f}")


async def wait_for_http(check_fn, what):
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        result = await check_fn()
        if result:
            return result
        await asyncio.sleep(0.05)
    fail(f"within {DEADLINE_S} s: {what}")


async def check_kick(admin, alice, bob, line_id):
    since = len(bob.events)
    body, _ = await admin.call("DELETE", f"/admin/v1/sessions/{session_of(bob)}")
    check(body == {"session": session_of(bob), "kicked": True}, f"kick reply {body}")
    hangup = await bob.wait_for_event(lambda e: e.get("event") == "hangup", DEADLINE_S, since)
    check(hangup == {"event": "hangup", "reason": "kicked", "line_id": line_id}, f"bob's hangup {hangup}")
    await asyncio.wait_for(bob.closed.wait(), DEADLINE_S)
    check(bob.close_code == 4004, f"bob's close code {bob.close_code} ({bob.close_reason})")
    await wait_occupants(alice, line_id, [session_of(alice)], timeout=DEADLINE_S)

    async def gone():
        listed = (await admin.get("/admin/v1/sessions"))["sessions"]
        return session_of(bob) not in [e["session"] for e in listed]
    await wait_for_http(gone, "the kicked session leaves /admin/v1/sessions")
    await admin.call("DELETE", f"/admin/v1/sessions/{session_of(bob)}", status=404)
    print("ok: kick: hangup reason kicked, close code 4004, the other occupant's occupants drop it")


async def check_close_line(admin, alice, carol, line_id, token):
    carol_peer = LinePeer(carol, audio=True)
    await carol_peer.join(line_id, token=token)
    await wait_occupants(alice, line_id, [session_of(alice), session_of(carol)], timeout=DEADLINE_S)
    marks = {client.name: len(client.events) for client in (alice, carol)}
    body, _ = await admin.call("DELETE", f"/admin/v1/lines/{line_id}")
    check(body["line_id"] == line_id and sorted(body["hung_up"]) == sorted([session_of(alice), session_of(carol)]),
          f"close reply {body}")
    for client in (alice, carol):
        hangup = await client.wait_for_event(lambda e: e.get("event") == "hangup", DEADLINE_S, marks[client.name])
        check(hangup == {"event": "hangup", "reason": "line_closed", "line_id": line_id}, f"{client.name}: {hangup}")
        closed = await client.wait_for_event(
            lambda e: e.get("event") == "webrtc_state" and e.get("state") == "closed", DEADLINE_S, marks[client.name])
        check(closed is not None, f"{client.name}: no webrtc_state closed")
        await client.request("ping")  # the socket stays open
    check((await admin.get("/admin/v1/lines"))["lines"] == [], "the closed line is still listed")
    line = await admin.get(f"/admin/v1/lines/{line_id}")
    check(line["occupants"] == [], f"closed line still has occupants {line}")
    for entry in (await admin.get("/admin/v1/sessions"))["sessions"]:
        check(entry["line_id"] is None, f"a session is still in the closed line: {entry}")
    await carol_peer.close()
    print("ok: closing a line: every occupant gets hangup reason line_closed and webrtc_state closed")


async def scenario(server, admin_base, signaling_base):
    url = signaling_base.replace("http://", "ws://") + "/ws"
    admin = Admin(admin_base)
    await check_errors(admin, signaling_base)

    alice = await SignalingClient.connect(url, "alice")
    bob = await SignalingClient.connect(url, "bob")
    carol = await SignalingClient.connect(url, "carol")
    await check_info(admin, [alice, bob, carol])

    line = await alice.request("create_line")
    line_id = line["line_id"]
    peers = [LinePeer(alice, audio=True), LinePeer(bob, audio=True)]
    await peers[0].join(line_id)
    await peers[1].join(line_id, token=line["token"])
    for client in (alice, bob):
        await wait_occupants(client, line_id, [session_of(alice), session_of(bob)], timeout=15.0, state="connected")

    async def both_secure():
        listed = (await admin.get("/admin/v1/sessions"))["sessions"]
        states = [(e.get("peer_connection") or {}).get("state") for e in listed if e["line_id"] == line_id]
        return states == ["secure", "secure"]
    await wait_for_http(both_secure, "both occupants' PeerConnections secure")

    await check_sessions_and_lines(admin, alice, bob, carol, line_id)
    await check_session_figures(admin, alice, bob)
    await check_force_mute(admin, alice, bob, peers[1], line_id)
    await check_worker_load(admin)
    await check_plugin_query(admin, alice)
    await check_log_level(admin, server, url)
    await check_metrics(admin, occupants=2)
    await check_kick(admin, alice, bob, line_id)
    await check_close_line(admin, alice, carol, line_id, line["token"])
    for peer in peers:
        await peer.close()
    for client in (alice, carol):
        await client.close()


def check_refused_bind(binary, folder):
    """A non-loopback admin bind without a token: the server does not start."""
    env = dict(os.environ, PARTYLINE_HTTP_PORT="0", PARTYLINE_HTTP_BIND="127.0.0.1", PARTYLINE_ADMIN_PORT="0",
               PARTYLINE_ADMIN_BIND="0.0.0.0", PARTYLINE_PLUGIN_FOLDERS=folder)
    env.pop("PARTYLINE_ADMIN_TOKEN", None)
    done = subprocess.run([binary], env=env, capture_output=True, text=True, timeout=30)
    check(done.returncode != 0, f"started with admin.bind 0.0.0.0 and no token: {done.returncode}")
    check("admin.token" in done.stderr and "0.0.0.0" in done.stderr and "loopback" in done.stderr,
          f"the refusal does not say why: {done.stderr}")
    print(f"ok: admin.bind 0.0.0.0 without a token: exit {done.returncode}: {done.stderr.strip().splitlines()[-1]}")


def build_plugin(source, folder):
    example = os.path.join(source, "tests", "plugins", "example", "example_plugin.c")
    include = os.path.join(source, "core", "include")
    subprocess.run(["cc", "-std=c11", "-shared", "-fPIC", f"-I{include}", "-o",
                    os.path.join(folder, "libexample.so"), example, "-lpthread"], check=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--source", required=True)
    args = parser.parse_args()
    use_loopback_only()
    with tempfile.TemporaryDirectory() as folder:
        build_plugin(args.source, folder)
        check_refused_bind(args.binary, folder)
        server = Server(args.binary, folder, {"PARTYLINE_ADMIN_TOKEN": TOKEN})
        try:
            admin_base = server.wait_for(r"admin API listening on (http://\S+)/").group(1)
            signaling_base = server.wait_for(r"partyline listening on (http://\S+)/").group(1)
            check(admin_base != signaling_base and admin_base.startswith("http://127.0.0.1:"),
                  f"admin {admin_base} vs signaling {signaling_base}")
            asyncio.run(scenario(server, admin_base, signaling_base))
            server.stop()
            print("ok: SIGTERM: exit 0")
        except BaseException:
            server.report_failure()
            raise
    print("admin_api: passed")


if __name__ == "__main__":
    main()
