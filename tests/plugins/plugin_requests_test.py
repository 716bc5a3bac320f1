"""A running partyline with plugins built out of tree: loading, the version
check, attach / message / detach, events pushed from a plugin's own thread,
and every documented error (docs/protocol.md, "Plugins").

  plugin_requests_test.py --binary PATH --folder PLUGIN_FOLDER

The folder holds libexample.so (this API), libexample_next.so (the same
plugin built as API 2.0) and libexample_old.so (built as API 1.0: a shorter
pl_plugin). Needs a network namespace with only loopback (ctest
runs in one: scripts/test). Exits non-zero on the first failed check.
"""

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from partyline_ws import RequestError, SignalingClient  # noqa: E402


def fail(message):
    raise AssertionError(message)


async def expect_error(client, code, name, **fields):
    try:
        response = await client.request(name, **fields)
    except RequestError as error:
        if error.code != code:
            fail(f"{name} {fields}: expected error {code}, got {error.code} {error.reason}")
        print(f"ok: {name} -> {error.code} {error.reason}")
        return error.reason
    fail(f"{name} {fields}: expected error {code}, got success {response}")


class Server:
    def __init__(self, binary, folder):
        self.log_path = os.path.join(folder, "..", "server.log")
        self.log = open(self.log_path, "w+")
        env = dict(os.environ, PARTYLINE_HTTP_PORT="0", PARTYLINE_HTTP_BIND="127.0.0.1",
                   PARTYLINE_PLUGIN_FOLDERS=folder, PARTYLINE_LOG_LEVEL="debug",
                   PARTYLINE_ICE_ADDRESSES="127.0.0.1",
                   # A free port: another test's server may hold the admin API's default one.
                   PARTYLINE_ADMIN_PORT="0")
        self.process = subprocess.Popen([binary], stderr=self.log, stdout=subprocess.DEVNULL, env=env)

    def text(self):
        with open(self.log_path) as log:
            return log.read()

    def wait_for_url(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(r"partyline listening on (http://\S+)", self.text())
            if found:
                return found.group(1).replace("http://", "ws://") + "ws"
            if self.process.poll() is not None:
                fail(f"the server exited with {self.process.returncode}:\n{self.text()}")
            time.sleep(0.05)
        fail("the server never said where it listens")

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        status = self.process.wait(timeout=30)
        if status != 0:
            fail(f"the server exited with {status} after SIGTERM:\n{self.text()[-3000:]}")


async def scenario(url, folder, server):
    log = server.text()
    # Loading: the API 1 plugin is loaded, the API 2 build refused with its
    # path and both versions, and the server serves on.
    if not re.search(r"plugin 'example' 1\.0\.0 loaded from \S+/libexample\.so \(plugin API 1\.\d+\)", log):
        fail(f"no load line for libexample.so:\n{log}")
    next_path = os.path.join(folder, "libexample_next.so")
    refused = re.escape(f"plugin {next_path}: built against plugin API 2.") + r"\d+, this server has 1\.\d+ " \
        + re.escape("(the major versions differ): skipped")
    if not re.search(refused, log):
        fail(f"no refusal line for libexample_next.so:\n{log}")
    if not re.search(r"plugin 'example-1\.0' 1\.0\.0 loaded from \S+/libexample_old\.so \(plugin API 1\.0\)", log):
        fail(f"the plugin built against API 1.0 was not loaded:\n{log}")
    print("ok: example loaded, example_next (API 2) refused with both versions, example-1.0 (API 1.0) loaded")

    alice = await SignalingClient.connect(url, "alice")
    bob = await SignalingClient.connect(url, "bob")

    attached = await alice.request("attach", plugin="example")
    handle = attached["handle"]
    if attached.get("plugin") != "example" or not re.fullmatch(r"[0-9a-f]{16}", handle):
        fail(f"attach: {attached}")
    reply = await alice.request("message", handle=handle, body={"request": "echo", "text": "hello"})
    if reply.get("data") != {"echo": "hello", "messages": 1, "jsep": ""}:
        fail(f"echo: {reply}")
    reply = await alice.request("message", handle=handle, body={"request": "echo", "text": "again"},
                                jsep={"type": "offer", "sdp": "v=0\r\n"})
    if reply.get("data") != {"echo": "again", "messages": 2, "jsep": "offer"}:
        fail(f"echo with jsep: {reply}")
    print("ok: attach, message answered synchronously with the plugin's reply (jsep passed through)")
    old = (await alice.request("attach", plugin="example-1.0"))["handle"]
    reply = await alice.request("message", handle=old, body={"request": "echo", "text": "old"})
    if reply.get("data", {}).get("echo") != "old":
        fail(f"the API 1.0 plugin: {reply}")
    await alice.request("detach", handle=old)
    print("ok: a plugin built against API 1.0 is served by this server")

    # An event pushed from the plugin's own thread reaches the handle's client.
    since = len(alice.events)
    reply = await alice.request("message", handle=handle, body={"request": "notify"})
    if "data" in reply:
        fail(f"notify replies nothing: {reply}")
    event = await alice.wait_for_event(lambda e: e.get("event") == "plugin", 10.0, since)
    if event != {"event": "plugin", "plugin": "example", "handle": handle, "data": {"notified": True}}:
        fail(f"plugin event: {event}")
    print("ok: an event pushed from a plugin thread arrives as {event: plugin}")

    # Bad input: each a documented error; nothing else disturbed.
    await expect_error(alice, 404, "attach", plugin="nosuch")
    await expect_error(alice, 400, "attach")
    await expect_error(alice, 404, "message", handle="0000000000000000", body={"request": "echo"})
    await expect_error(alice, 400, "message", handle=handle)
    await expect_error(alice, 400, "message", handle=handle, body="not an object")
    await expect_error(alice, 400, "message", handle=handle, body={"request": "echo"}, jsep={"type": "pranswer", "sdp": "v=0"})
    await expect_error(alice, 400, "message", handle=handle, body={"request": "echo"}, jsep={"type": "offer"})
    reason = await expect_error(alice, 413, "message", handle=handle, body={"request": "echo", "text": "x" * 20000})
    if "plugins.max_message_bytes" not in reason:
        fail(f"413 reason does not name the limit: {reason}")
    reason = await expect_error(alice, 400, "message", handle=handle, body={"request": "dance"})
    if reason != "unknown request":
        fail(f"the plugin's own reason is not passed on: {reason}")
    await expect_error(bob, 404, "message", handle=handle, body={"request": "echo"})  # alice's handle
    await expect_error(bob, 404, "detach", handle=handle)
    # A line `message` (no `handle`) still reaches the phone-line code.
    await expect_error(alice, 400, "message", body={"request": "echo"})
    # Everyone is still served.
    reply = await alice.request("message", handle=handle, body={"request": "echo", "text": "still"})
    if reply["data"]["echo"] != "still":
        fail(f"after bad input: {reply}")
    await bob.request("ping")

    # detach destroys the handle; a disconnected session's handles go too.
    bob_handle = (await bob.request("attach", plugin="example"))["handle"]
    counted = await bob.request("message", handle=bob_handle, body={"request": "handles"})
    if counted["data"] != {"handles": 2}:
        fail(f"two handles: {counted}")
    await alice.request("detach", handle=handle)
    await expect_error(alice, 404, "message", handle=handle, body={"request": "echo"})
    counted = await bob.request("message", handle=bob_handle, body={"request": "handles"})
    if counted["data"] != {"handles": 1}:
        fail(f"after detach: {counted}")
    second = (await alice.request("attach", plugin="example"))["handle"]
    await alice.close()
    deadline = time.monotonic() + 10
    while True:
        counted = await bob.request("message", handle=bob_handle, body={"request": "handles"})
        if counted["data"] == {"handles": 1}:
            break
        if time.monotonic() > deadline:
            fail(f"alice's handle {second} outlived her session: {counted}")
        await asyncio.sleep(0.05)
    print("ok: detach and disconnect destroy handles")

    # A session may hold at most plugins.max_handles_per_session handles (16).
    for _ in range(15):
        await bob.request("attach", plugin="example")
    await expect_error(bob, 503, "attach", plugin="example")
    await bob.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--folder", required=True)
    args = parser.parse_args()
    server = Server(args.binary, args.folder)
    try:
        url = server.wait_for_url()
        asyncio.run(scenario(url, args.folder, server))
        server.stop()
        if "example: destroyed" not in server.text():
            fail("the plugin was not destroyed at shutdown")
        print("ok: SIGTERM: exit 0, the plugin destroyed")
    except BaseException:
        if server.process.poll() is None:
            server.process.kill()
        print(server.text()[-4000:], file=sys.stderr)
        raise
    print("plugin_requests: passed")


if __name__ == "__main__":
    main()
