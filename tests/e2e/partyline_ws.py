"""Minimal asyncio client of the partyline signaling protocol (docs/protocol.md).

Used by the aiortc end-to-end tests; needs Debian's python3-websockets.
"""

import asyncio
import itertools
import json
import time
import urllib.parse

import websockets
from websockets.frames import Frame, Opcode


class RequestError(Exception):
    """An error response: carries the server's code and reason."""

    def __init__(self, request, code, reason):
        super().__init__(f"{request}: {code} {reason}")
        self.request = request
        self.code = code
        self.reason = reason


def with_identity(url, name):
    """`url` with `?name=NAME` added unless it already names its user."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
    if "token" in query or "name" in query:
        return url
    extra = urllib.parse.urlencode({"name": name})
    return urllib.parse.urlunsplit(parts._replace(query=f"{parts.query}&{extra}" if parts.query else extra))


class SignalingClient:
    """One WebSocket session: requests with transactions, keepalives, events.

    Events (messages with an "event" field) are kept in `events` in arrival
    order and also passed to every listener added with `on_event`.
    """

    def __init__(self, socket, handshake, name):
        self.socket = socket
        self.handshake = handshake
        self.name = name
        self.events = []
        # Responses no request is waiting for: a null transaction (malformed
        # input), or a second response to the same transaction.
        self.unmatched = []
        self.closed = asyncio.Event()
        self.close_code = None
        self.close_reason = None
        # transaction -> len(events) when its response arrived: where the
        # response stands among the events (one socket, in order).
        self.response_positions = {}
        self.response_order = []  # transactions, as their responses arrived
        self._pending = {}
        self._listeners = []
        self._changed = asyncio.Condition()
        self._transactions = itertools.count(1)
        self._reader = asyncio.ensure_future(self._read_loop())
        interval_ms = handshake.get("keepalive_interval") or 30000
        self._keepalive = asyncio.ensure_future(self._keepalive_loop(interval_ms / 2000))

    @classmethod
    async def connect(cls, url, name="client", timeout=10.0, ssl=None):
        """Connects and waits for the handshake state. A URL without an
        identity (`token` or `name`, docs/protocol.md "Identity") connects
        anonymously as `name`. `ssl`: the ssl.SSLContext of a wss:// URL
        (default: the system's trusted certificates)."""
        url = with_identity(url, name)
        tls = {"ssl": ssl} if ssl is not None else {}
        socket = await asyncio.wait_for(websockets.connect(url, max_size=2**20, **tls), timeout)
        raw = await asyncio.wait_for(socket.recv(), timeout)
        handshake = json.loads(raw)
        if handshake.get("handshake") != "state" or not handshake.get("session"):
            await socket.close()
            raise AssertionError(f"{name}: first message is not the handshake state: {raw}")
        return cls(socket, handshake, name)

    @staticmethod
    async def expect_refused(url, timeout=10.0):
        """Connects and expects the server to close the WebSocket before any
        handshake. Returns (close code, close reason, messages received)."""
        socket = await asyncio.wait_for(websockets.connect(url, max_size=2**20), timeout)
        received = []
        try:
            while True:
                received.append(await asyncio.wait_for(socket.recv(), timeout))
        except websockets.ConnectionClosed:
            pass
        finally:
            await socket.close()
        return socket.close_code, socket.close_reason, received

    def on_event(self, listener):
        self._listeners.append(listener)

    def off_event(self, listener):
        if listener in self._listeners:
            self._listeners.remove(listener)

    async def request(self, name, timeout=10.0, **fields):
        transaction = f"{self.name}-{next(self._transactions)}"
        message = dict(fields, request=name, transaction=transaction)
        response = await self._exchange(transaction, message, timeout)
        if response.get("response") == "error":
            raise RequestError(name, response.get("code"), response.get("reason"))
        if response.get("response") != "success" or response.get("request") != name:
            raise AssertionError(f"{self.name}: malformed response to {name}: {response}")
        return response

    async def request_raw(self, message, timeout=10.0):
        """Sends `message` (a dict with its own transaction) as it is and
        returns the response, success or error, without checking it."""
        return await self._exchange(message["transaction"], message, timeout)

    async def send_request(self, name, **fields):
        """Sends a request without waiting for its response: returns
        (transaction, future of the response message, success or error)."""
        transaction = f"{self.name}-{next(self._transactions)}"
        future = asyncio.get_running_loop().create_future()
        self._pending[transaction] = future
        future.add_done_callback(lambda _: self._pending.pop(transaction, None))
        await self.socket.send(json.dumps(dict(fields, request=name, transaction=transaction)))
        return transaction, future

    async def send_together(self, *requests):
        """Sends several requests, each `(name, fields)`, as WebSocket frames
        written to the socket at once (one TCP write), so the server reads
        them back to back. Returns a list of (transaction, future of the
        response message), as send_request does."""
        framed = [self.frame_request(name, fields) for name, fields in requests]
        self.socket.transport.write(b"".join(data for _, _, data in framed))
        return [(transaction, future) for transaction, future, _ in framed]

    def frame_request(self, name, fields):
        """A request as a WebSocket frame, not sent yet: (transaction,
        future of its response, the frame's bytes)."""
        transaction = f"{self.name}-{next(self._transactions)}"
        future = asyncio.get_running_loop().create_future()
        self._pending[transaction] = future
        future.add_done_callback(lambda _: self._pending.pop(transaction, None))
        text = json.dumps(dict(fields, request=name, transaction=transaction))
        # Uncompressed text frames (rsv1 clear) are valid with or without
        # permessage-deflate; a client masks its frames.
        return transaction, future, Frame(Opcode.TEXT, text.encode()).serialize(mask=True)

    @staticmethod
    def send_at_once(*requests):
        """Requests of several clients, each `(client, name, fields)`,
        written one right after the other without yielding to the event
        loop, so they reach the server together. Returns (transaction,
        future) per request."""
        sent = []
        for client, name, fields in requests:
            transaction, future, data = client.frame_request(name, fields)
            client.socket.transport.write(data)
            sent.append((transaction, future))
        return sent

    async def send_text(self, text):
        """Sends one raw text message (malformed input, oversized messages)."""
        await self.socket.send(text)

    def stop_keepalives(self):
        self._keepalive.cancel()

    async def wait_for_event(self, predicate, timeout, since=0):
        """Returns the first event (past or future, from index `since` of
        `events` on) matching predicate."""
        return await self.wait_until(
            lambda: next((event for event in self.events[since:] if predicate(event)), None), timeout)

    async def wait_until(self, check, timeout):
        """Calls check() at once and after every message or close until it
        returns something other than None; returns that, or None at the
        deadline or when the socket has closed."""
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                result = check()
                if result is not None:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.closed.is_set():
                    return None
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except asyncio.TimeoutError:
                    pass

    async def close(self):
        self._keepalive.cancel()
        await self.socket.close()
        try:
            await asyncio.wait_for(self._reader, 5)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            self._reader.cancel()

    async def _exchange(self, transaction, message, timeout):
        future = asyncio.get_running_loop().create_future()
        self._pending[transaction] = future
        try:
            await self.socket.send(json.dumps(message))
            return await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(transaction, None)

    async def _keepalive_loop(self, period_s):
        # The protocol requires a keepalive at least every keepalive_interval;
        # half of it leaves a margin.
        while not self.closed.is_set():
            await asyncio.sleep(period_s)
            transaction = f"{self.name}-k{next(self._transactions)}"
            try:
                await self._exchange(transaction, {"handshake": "keepalive", "transaction": transaction}, 10)
            except (ConnectionError, asyncio.TimeoutError, websockets.ConnectionClosed):
                return  # the socket closed: nothing left to keep alive

    async def _read_loop(self):
        try:
            async for raw in self.socket:
                message = json.loads(raw)
                await self._dispatch(message)
        except websockets.ConnectionClosed:
            pass
        finally:
            self.close_code = self.socket.close_code
            self.close_reason = self.socket.close_reason
            self.closed.set()
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError(f"{self.name}: socket closed ({self.close_code})"))
            async with self._changed:
                self._changed.notify_all()

    async def _dispatch(self, message):
        transaction = message.get("transaction")
        if "event" in message:
            self.events.append(message)
            for listener in self._listeners:
                listener(message)
            async with self._changed:
                self._changed.notify_all()
        elif transaction in self._pending and not self._pending[transaction].done():
            self.response_positions[transaction] = len(self.events)
            self.response_order.append(transaction)
            self._pending[transaction].set_result(message)
        else:
            self.unmatched.append(message)
            async with self._changed:
                self._changed.notify_all()
