"""Shared pieces of the phone-line end-to-end tests (docs/protocol.md,
sections "Identity" and "Phone lines").

- connect(name): an anonymous SignalingClient (`?name=`), or with a JWT;
- make_jwt(): HS256 tokens made with the standard library only;
- EventCursor: reads one client's events in order, filtered to one kind of
  traffic (call events or line events), and asserts them one by one;
- LinePeer: an aiortc PeerConnection that joins a line with a real offer
  (or adds media to a signaling-only occupant with a client `update`
  offer), answers the server's offers (or holds them, for glare tests) and
  counts the frames it receives;
- run_scenarios(): runs the test functions of one file, each with its own
  clients, and prints PASS/FAIL per scenario. A scenario also fails when
  aiortc could not apply a server `update` offer or trickled candidate (or
  the server refused the answer), so every scenario with peers checks the
  server's renegotiation against a real client.

Every wait has a deadline; nothing sleeps in place of an event. The only
fixed waits are QUIET_S windows that assert that something does NOT happen.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import os
import sys
import time
import traceback
import urllib.parse

import websockets

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from aiortc_peer import FrameCounter, add_server_candidate, configure_logging, use_loopback_only
from partyline_ws import RequestError, SignalingClient

WS_URL = os.environ.get("PARTYLINE_WS_URL", "ws://127.0.0.1:8088/ws")
# Must match tests/e2e/lines.json.
JWT_SECRET = b"partyline-e2e-secret"
RING_TIMEOUT_S = 1.5
KEEPALIVE_INTERVAL_S = 2.0
RESUME_GRACE_S = 1.0  # signaling.resume_grace_ms
REQUESTS_PER_SECOND = 50
REQUEST_BURST = 100
MAX_MESSAGE_BYTES = 65536
MAX_LINES = 40
MAX_OCCUPANTS_PER_LINE = 3

EVENT_DEADLINE_S = 5.0
# How long "nothing more arrives" is watched for.
QUIET_S = 0.4

CALL_EVENTS = {"incoming_call", "ringing", "declined", "busy", "cancelled", "timeout", "answered_elsewhere"}


def is_call_event(event):
    """Events of invitations; the call's `accepted` carries a call_id, the
    join's `accepted` (the SDP answer) does not."""
    kind = event.get("event")
    return kind in CALL_EVENTS or (kind == "accepted" and "call_id" in event)


def is_line_event(event):
    """Events of occupancy: the join's answer, `occupants`, `message`."""
    kind = event.get("event")
    return kind in ("occupants", "message") or (kind == "accepted" and "call_id" not in event)


def is_presence_event(event):
    return event.get("event") == "presence"


def is_signaling_event(event):
    """Everything but the PeerConnection's own chatter."""
    return event.get("event") not in ("ice_candidate", "webrtc_state", "update")


class TestFailure(AssertionError):
    pass


def check(condition, message):
    if not condition:
        raise TestFailure(message)


# ---------------------------------------------------------------- identity

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(claims, secret=JWT_SECRET, header=None):
    header = header or {"alg": "HS256", "typ": "JWT"}
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def guest_id(name):
    """The user id of the anonymous client `?name=NAME`: lines.json accepts
    tokens too, so it is in the guests' own id space (docs/protocol.md,
    "Identity"), never the id of a token whose `sub` is NAME."""
    return f"guest:{name}"


def anonymous_url(name):
    return f"{WS_URL}?name={urllib.parse.quote(name)}"


def token_url(token):
    return f"{WS_URL}?token={urllib.parse.quote(token)}"


async def connect(name, token=None):
    """A connected client; `name` is the anonymous name (user id
    guest_id(name)) unless a token is given."""
    url = token_url(token) if token is not None else anonymous_url(name)
    return await SignalingClient.connect(url, name=name)


async def expect_error(awaitable, code, mentions=None):
    """Awaits a request that must fail with `code`; returns the RequestError."""
    try:
        response = await awaitable
    except RequestError as error:
        check(error.code == code, f"{error.request}: expected error {code}, got {error.code} ({error.reason})")
        if mentions:
            check(mentions in (error.reason or ""),
                  f"{error.request}: error {code} reason should name '{mentions}', got '{error.reason}'")
        return error
    raise TestFailure(f"expected error {code}, got success {response}")


def user_of(client):
    return client.handshake.get("user") or {}


def session_of(client):
    return client.handshake["session"]


# ---------------------------------------------------------------- events

class EventCursor:
    """Reads a client's events in arrival order, skipping those `accept`
    does not take; starts at the events that have not arrived yet."""

    def __init__(self, client, accept=is_call_event, start=None):
        self.client = client
        self.accept = accept
        self.index = len(client.events) if start is None else start

    async def next(self, timeout=EVENT_DEADLINE_S):
        def find():
            for position in range(self.index, len(self.client.events)):
                if self.accept(self.client.events[position]):
                    return position
            return None

        position = await self.client.wait_until(find, timeout)
        if position is None:
            return None
        self.index = position + 1
        return self.client.events[position]

    async def expect(self, kind, timeout=EVENT_DEADLINE_S, **fields):
        """The next accepted event must be `kind` with these field values."""
        event = await self.next(timeout)
        where = f"{self.client.name}"
        check(event is not None,
              f"{where}: expected event '{kind}' {fields or ''} within {timeout:g} s, got nothing"
              f"{' (socket closed ' + str(self.client.close_code) + ')' if self.client.closed.is_set() else ''}")
        check(event.get("event") == kind, f"{where}: expected event '{kind}' {fields or ''}, got {event}")
        for name, value in fields.items():
            check(event.get(name) == value,
                  f"{where}: event '{kind}': expected {name}={value!r}, got {event.get(name)!r} in {event}")
        return event

    async def expect_quiet(self, seconds=QUIET_S):
        """No further accepted event for `seconds`."""
        event = await self.next(seconds)
        check(event is None, f"{self.client.name}: expected no more events, got {event}")

    def pending(self):
        return [event for event in self.client.events[self.index:] if self.accept(event)]


async def barrier(*clients):
    """A ping on each client: what the server did before answering has been
    sent to that client before the answer (one socket, in order)."""
    for client in clients:
        await client.request("ping")


def last_occupants(client, line_id=None):
    """The `line` of the client's last `occupants` event (for line_id)."""
    for event in reversed(client.events):
        if event.get("event") == "occupants" and (line_id is None or (event.get("line") or {}).get("line_id") == line_id):
            return event["line"]
    return None


def sessions_in(line):
    return [occupant.get("session") for occupant in (line or {}).get("occupants", [])]


async def wait_occupants(client, line_id, sessions, timeout=10.0, state=None):
    """Waits until the client's last `occupants` event for the line has
    exactly these sessions (as a set) and, if given, all in `state`."""

    def settled():
        line = last_occupants(client, line_id)
        if line is None or set(sessions_in(line)) != set(sessions):
            return None
        if state and any(occupant.get("state") != state for occupant in line["occupants"]):
            return None
        return line

    line = await client.wait_until(settled, timeout)
    check(line is not None,
          f"{client.name}: within {timeout:g} s, the last occupants event should list sessions "
          f"{sorted(sessions)}{' all ' + state if state else ''}; last one is {last_occupants(client, line_id)}")
    return line


def check_occupant_form(occupant, where):
    """Every field of an occupant, as the doc shows it."""
    expected_keys = {"session", "user", "name", "media", "publishing", "muted", "state"}
    # A guest (an anonymous user) says so; nobody else has the field.
    if occupant.get("user", "").startswith("guest:"):
        expected_keys.add("guest")
        check(occupant.get("guest") is True, f"{where}: a guest occupant should have guest true: {occupant}")
    check(set(occupant) == expected_keys, f"{where}: occupant keys {sorted(occupant)} != {sorted(expected_keys)}")
    check(occupant["media"] in ("server", "none"), f"{where}: occupant media {occupant['media']!r}")
    for flags in ("publishing", "muted"):
        value = occupant[flags]
        check(isinstance(value, dict) and set(value) == {"audio", "video"}
              and all(isinstance(flag, bool) for flag in value.values()),
              f"{where}: occupant '{flags}' should be {{audio: bool, video: bool}}, got {value}")
    check(occupant["state"] in ("connecting", "connected"), f"{where}: occupant state {occupant['state']!r}")


def check_occupant_media_form(occupant, where, media):
    """check_occupant_form, and `media` is `media` ("server" or "none")."""
    check_occupant_form(occupant, where)
    check(occupant.get("media") == media, f"{where}: occupant should have media {media!r}: {occupant}")


async def join_without_media(client, line_id, token=None):
    """`join` without `jsep` (a signaling-only occupant); returns the
    response, which must say `media: "none"`."""
    fields = {"line_id": line_id}
    if token is not None:
        fields["token"] = token
    response = await client.request("join", **fields)
    check(response.get("line_id") == line_id and response.get("media") == "none",
          f"{client.name}: join without jsep: expected line_id {line_id} and media 'none', got {response}")
    return response


# ---------------------------------------------------------------- media

class LinePeer:
    """An aiortc PeerConnection of one client: offers real SDP (`join`,
    `accept` with jsep, `outgoing_call`), applies the answer from the
    `accepted` event and the server's trickled candidates, and answers the
    server's renegotiation offers (`update`)."""

    def __init__(self, client, audio=True, video=False):
        self.client = client
        self.publishing = {"audio": audio, "video": video}
        self.pc = RTCPeerConnection()
        # What aiortc refused of the server's SDP and candidates (or the
        # server refused of the answers): the runner fails the scenario on
        # any, so every lines test also checks the server's offers.
        self.errors = []
        self._tasks = set()
        self._answer_applied = False
        self._pending_candidates = []
        # docs/protocol.md, `update`: a server offer may arrive before the
        # answer to our own offer; it waits until that answer is applied,
        # and offers are answered strictly one after another.
        self._pending_updates = []
        # Held while an offer (the server's or our own) is being handled.
        self.negotiating = asyncio.Lock()
        # hold_updates: server offers are kept in `held` instead of being
        # answered (a test of glare answers them with answer_held()).
        self.hold_updates = False
        self.held = []
        self.updates_answered = 0
        # Frames received per kind on the tracks the server sends.
        self.frames = FrameCounter(self.pc)
        self.received = self.frames.received
        if audio:
            self.pc.addTrack(AudioStreamTrack())
        if video:
            self.pc.addTrack(VideoStreamTrack())
        client.on_event(self._on_event)

    async def offer(self, mangle=None):
        """Creates and sets the local offer; `mangle(sdp)` rewrites it before
        it is set (aiortc then keeps the rewritten mids)."""
        offer = await self.pc.createOffer()
        if mangle is not None:
            offer = RTCSessionDescription(sdp=mangle(offer.sdp), type="offer")
        await self.pc.setLocalDescription(offer)
        return {"type": "offer", "sdp": self.pc.localDescription.sdp}

    async def answer(self, offer):
        """Answers the server's first offer (`media_offer`): sets it, creates
        and sets the answer, and returns it as a jsep."""
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer["sdp"], type="offer"))
        self._answer_applied_now()  # the server's candidates may now be added
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return {"type": "answer", "sdp": self.pc.localDescription.sdp}

    async def client_update(self, timeout=10.0):
        """A client offer in an `update` request (docs/protocol.md, `update`,
        "Client offers"): adds media to a signaling-only occupant, or changes
        what an occupant with media publishes. Applies the answer from the
        response; returns (transaction, response). A server offer arriving
        meanwhile waits until the answer is applied."""
        async with self.negotiating:
            jsep = await self.offer()
            transaction, future = await self.client.send_request("update", jsep=jsep)
            response = await asyncio.wait_for(future, timeout)
            if response.get("response") != "success":
                raise RequestError("update", response.get("code"), response.get("reason"))
            answer = response.get("jsep") or {}
            check(answer.get("type") == "answer" and answer.get("sdp"),
                  f"{self.client.name}: update offer answered without an answer: {response}")
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
        self._answer_applied_now()
        return transaction, response

    async def answer_held(self):
        """Answers the server offers held while hold_updates was set, one
        after another; returns how many."""
        self.hold_updates = False
        held, self.held = self.held, []
        for event in held:
            await self._answer_update(event)
        return len(held)

    async def join(self, line_id, token=None, timeout=10.0):
        """`join` with a real offer; applies the answer. Returns the response."""
        fields = {"line_id": line_id, "jsep": await self.offer()}
        if token is not None:
            fields["token"] = token
        since = len(self.client.events)
        response = await self.client.request("join", **fields)
        check(response.get("line_id") == line_id, f"{self.client.name}: join response {response} lacks line_id")
        await self.apply_answer(line_id, since, timeout)
        return response

    async def apply_answer(self, line_id, since, timeout=10.0):
        """Applies the answer of the join's `accepted` event (arrived after
        events index `since`)."""
        event = await self.client.wait_for_event(
            lambda e: e.get("event") == "accepted" and e.get("line_id") == line_id and "jsep" in e,
            timeout, since=since)
        check(event is not None, f"{self.client.name}: no 'accepted' event with the answer within {timeout:g} s")
        jsep = event["jsep"]
        check(jsep.get("type") == "answer" and jsep.get("sdp"), f"{self.client.name}: bad answer {event}")
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=jsep["sdp"], type="answer"))
        self._answer_applied_now()
        return event

    def _answer_applied_now(self):
        """The answer to the first offer is set: what waited for it goes on."""
        if self._answer_applied:
            return
        self._answer_applied = True
        for candidate in self._pending_candidates:
            self._start(self._add_candidate(candidate), "candidate")
        self._pending_candidates.clear()
        for update in self._pending_updates:
            self._on_event(update)
        self._pending_updates.clear()

    async def settle(self, timeout=EVENT_DEADLINE_S):
        """Waits for the update answers and candidates in progress, so that
        their failures are in `errors`; one still running counts as one."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in pending:
            task.cancel()
            self.errors.append(f"{task.get_name()}: still running after {timeout:g} s")

    async def close(self):
        self.client.off_event(self._on_event)
        await self.settle()
        await self.pc.close()
        self.frames.cancel()

    async def wait_received(self, kind, count, timeout):
        """Polls until `count` frames of `kind` arrived (media has no event
        to wait on); returns whether they did."""
        deadline = time.monotonic() + timeout
        while self.received[kind] < count and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return self.received[kind] >= count

    def _on_event(self, event):
        kind = event.get("event")
        if kind == "ice_candidate":
            if self._answer_applied:
                self._start(self._add_candidate(event.get("candidate")), "candidate")
            else:
                self._pending_candidates.append(event.get("candidate"))
        elif kind == "update":
            if not self._answer_applied:
                self._pending_updates.append(event)
            elif self.hold_updates:
                self.held.append(event)
            else:
                self._start(self._answer_update(event), "update")

    def _start(self, coroutine, what):
        task = asyncio.ensure_future(coroutine)
        task.set_name(what)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer_update(self, event):
        jsep = event.get("jsep") or {}
        since = max((index for index, seen in enumerate(self.client.events) if seen is event), default=0)
        try:
            async with self.negotiating:
                await self.pc.setRemoteDescription(RTCSessionDescription(sdp=jsep["sdp"], type=jsep["type"]))
                await self.pc.setLocalDescription(await self.pc.createAnswer())
                await self.client.request("update", jsep={"type": "answer", "sdp": self.pc.localDescription.sdp})
                self.updates_answered += 1
        except RequestError as error:
            # docs/protocol.md, `update`: 409 when the PeerConnection was
            # closed or replaced meanwhile (the scenario left the line while
            # this answer was on its way); the server then says so with
            # webrtc_state closed. Without that, the 409 is an error.
            closed = error.code == 409 and await self.client.wait_for_event(
                lambda e: e.get("event") == "webrtc_state" and e.get("state") in ("closed", "failed"),
                EVENT_DEADLINE_S, since=since)
            if not closed:
                self.errors.append(f"update: {error!r}")
        except (ConnectionError, websockets.ConnectionClosed) as error:
            # The server closed the session (replaced by a newer one, 4005,
            # or kicked, 4004) while this answer was on its way: nothing of
            # the server's SDP was refused. Anything else is an error.
            if not (self.client.closed.is_set() and self.client.close_code in (4004, 4005)):
                self.errors.append(f"update: {error!r}")
        except Exception as error:  # recorded here, failed on by the runner
            self.errors.append(f"update: {error!r}")

    async def _add_candidate(self, candidate):
        try:
            await add_server_candidate(self.pc, candidate)
        except Exception as error:
            self.errors.append(f"candidate: {error!r}")


# ---------------------------------------------------------------- runner

class Scenario:
    """Owns the clients and peers of one scenario and closes them all."""

    def __init__(self):
        self.clients = []
        self.peers = []

    async def connect(self, name, token=None):
        client = await connect(name, token)
        self.clients.append(client)
        return client

    def peer(self, client, audio=True, video=False):
        peer = LinePeer(client, audio=audio, video=video)
        self.peers.append(peer)
        return peer

    async def peer_errors(self):
        """What aiortc could not apply of the server's offers and candidates,
        per client, once the answers in progress are done."""
        errors = []
        for peer in self.peers:
            await peer.settle()
            errors += [f"{peer.client.name}: {error}" for error in peer.errors]
        return errors

    async def close(self):
        for peer in self.peers:
            try:
                await asyncio.wait_for(peer.close(), 5)
            except Exception:
                pass
        for client in self.clients:
            try:
                await asyncio.wait_for(client.close(), 5)
            except Exception:
                pass


def run_scenarios(scenarios, title, timeout_s=60.0):
    """Runs `scenarios` (async functions taking a Scenario) one after the
    other, or those named on the command line; exit status 1 if any failed."""
    configure_logging()
    use_loopback_only()
    wanted = sys.argv[1:]
    chosen = [scenario for scenario in scenarios if not wanted or scenario.__name__ in wanted]
    if wanted and len(chosen) != len(wanted):
        print(f"unknown scenario in {wanted}; known: {[s.__name__ for s in scenarios]}")
        return 2

    async def run_all():
        failures = []
        for scenario_function in chosen:
            scenario = Scenario()
            started = time.monotonic()
            try:
                done, _ = await asyncio.wait([asyncio.ensure_future(scenario_function(scenario))], timeout=timeout_s)
                if not done:
                    raise TestFailure(f"scenario exceeded {timeout_s:g} s")
                done.pop().result()
                errors = await scenario.peer_errors()
                check(not errors, f"aiortc could not apply the server's SDP or candidates: {'; '.join(errors)}")
                print(f"  ok   {scenario_function.__name__} ({time.monotonic() - started:.1f} s)", flush=True)
            except Exception as error:
                if isinstance(error, asyncio.TimeoutError):
                    error = TestFailure(f"a response did not come in time: {error!r}")
                print(f"  FAIL {scenario_function.__name__}: {error}", flush=True)
                for peer in scenario.peers:
                    if peer.errors:
                        print(f"    {peer.client.name}'s aiortc errors: {'; '.join(peer.errors)}", flush=True)
                if not isinstance(error, (TestFailure, RequestError)):
                    traceback.print_exc()
                failures.append(scenario_function.__name__)
            finally:
                await scenario.close()
        return failures

    failures = asyncio.run(run_all())
    if failures:
        print(f"FAIL: {title}: {len(failures)} of {len(chosen)} scenarios failed: {', '.join(failures)}")
        return 1
    print(f"PASS: {title} ({len(chosen)} scenarios)")
    return 0


async def join_until_secure(name, line_id, token):
    """The child side of a test that stops or kills an occupant: connects as
    `name`, joins the line with audio and video and waits for `secure`;
    prints `SECURE <session>` then (the parent's cue) and returns (client,
    its LinePeer, index of the first event after secure), or prints
    `NOT SECURE ...` and returns None."""
    client = await connect(name)
    peer = LinePeer(client, audio=True, video=True)
    await peer.join(line_id, token=token)
    secure = await client.wait_for_event(
        lambda e: e.get("event") == "webrtc_state" and e.get("state") == "secure", 15.0)
    if secure is None:
        print(f"NOT SECURE {[e for e in client.events if e.get('event') == 'webrtc_state']}", flush=True)
        return None
    print(f"SECURE {session_of(client)}", flush=True)
    return client, peer, client.events.index(secure) + 1
