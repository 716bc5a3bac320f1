"""Minimal asyncio client of the partyline signaling protocol (docs/protocol.md).

Used by the aiortc end-to-end tests; needs Debian's python3-websockets.
"""

import asyncio
import itertools
import json
import time

import websockets


class RequestError(Exception):
    """An error response: carries the server's code and reason."""

    def __init__(self, request, code, reason):
        super().__init__(f"{request}: {code} {reason}")
        self.request = request
        self.code = code
        self.reason = reason


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
        self.closed = asyncio.Event()
        self.close_code = None
        self._pending = {}
        self._listeners = []
        self._changed = asyncio.Condition()
        self._transactions = itertools.count(1)
        self._reader = asyncio.ensure_future(self._read_loop())
        interval_ms = handshake.get("keepalive_interval") or 30000
        self._keepalive = asyncio.ensure_future(self._keepalive_loop(interval_ms / 2000))

    @classmethod
    async def connect(cls, url, name="client", timeout=10.0):
        socket = await asyncio.wait_for(websockets.connect(url, max_size=2**20), timeout)
        raw = await asyncio.wait_for(socket.recv(), timeout)
        handshake = json.loads(raw)
        if handshake.get("handshake") != "state" or not handshake.get("session"):
            await socket.close()
            raise AssertionError(f"{name}: first message is not the handshake state: {raw}")
        return cls(socket, handshake, name)

    def on_event(self, listener):
        self._listeners.append(listener)

    async def request(self, name, timeout=10.0, **fields):
        transaction = f"{self.name}-{next(self._transactions)}"
        message = dict(fields, request=name, transaction=transaction)
        response = await self._exchange(transaction, message, timeout)
        if response.get("response") == "error":
            raise RequestError(name, response.get("code"), response.get("reason"))
        if response.get("response") != "success" or response.get("request") != name:
            raise AssertionError(f"{self.name}: malformed response to {name}: {response}")
        return response

    async def wait_for_event(self, predicate, timeout):
        """Returns the first event (past or future) matching predicate."""
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                for event in self.events:
                    if predicate(event):
                        return event
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
        while True:
            await asyncio.sleep(period_s)
            transaction = f"{self.name}-k{next(self._transactions)}"
            await self._exchange(transaction, {"handshake": "keepalive", "transaction": transaction}, 10)

    async def _read_loop(self):
        try:
            async for raw in self.socket:
                message = json.loads(raw)
                await self._dispatch(message)
        except websockets.ConnectionClosed:
            pass
        finally:
            self.close_code = self.socket.close_code
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
            self._pending[transaction].set_result(message)
