"""Real-client check of server renegotiation offers with aiortc 1.4.

Run with /usr/bin/python3 inside a loopback-only network namespace (see
run_checks.sh): python3 check_aiortc.py DRIVER
"""
import asyncio
import subprocess
import sys

import aioice.ice
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.exceptions import InvalidStateError
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack


def loopback_only(use_ipv4=True, use_ipv6=True):
    return ["127.0.0.1"]


aioice.ice.get_host_addresses = loopback_only  # aioice skips loopback otherwise


class Driver:
    def __init__(self, path):
        self.process = subprocess.Popen([path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def call(self, command, sdp=None):
        text = command + "\n"
        if sdp is not None:
            text += sdp.replace("\r\n", "\n").rstrip("\n") + "\n.\n"
        self.process.stdin.write(text)
        self.process.stdin.flush()
        head = self.process.stdout.readline().rstrip("\n")
        if head.startswith("ERROR"):
            raise RuntimeError(f"{command}: {head}")
        if head.startswith("OK"):
            return head
        lines = []
        while (line := self.process.stdout.readline().rstrip("\n")) != ".":
            lines.append(line)
        return "\r\n".join(lines) + "\r\n"

    def close(self):
        self.process.stdin.close()
        self.process.wait()


def check_slots(applied, pc):
    """What partyline says it sends (the OK line: "mid:kind:P|S:track" per
    m-line, track "-" when unused) must be what aiortc receives: a used
    server m-line recvonly, an unused one inactive."""
    directions = {t.mid: t.currentDirection for t in pc.getTransceivers()}
    for slot in applied.removeprefix("OK ").split(" "):
        mid, _, origin, track = slot.split(":")
        if origin != "S":
            continue
        want = "inactive" if track == "-" else "recvonly"
        got = directions.get(mid, "no transceiver")
        if got != want:
            raise RuntimeError(f"mid {mid}: partyline sends {track} there, aiortc is {got}, not {want}")


def ignore_ice_shutdown(loop, context):
    # aiortc's ICE task fails with InvalidStateError when the connection is
    # closed before ICE ran (no server is listening here): expected.
    if not isinstance(context.get("exception"), InvalidStateError):
        loop.default_exception_handler(context)


async def main(driver_path):
    asyncio.get_running_loop().set_exception_handler(ignore_ice_shutdown)
    driver = Driver(driver_path)
    pc = RTCPeerConnection()
    try:
        pc.addTrack(AudioStreamTrack())
        pc.addTrack(VideoStreamTrack())
        pc.createDataChannel("chat")
        events = []
        pc.on("track", lambda track: events.append(f"track kind={track.kind}"))
        await pc.setLocalDescription(await pc.createOffer())
        answer = driver.call("OFFER", pc.localDescription.sdp)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        print("round 1: aiortc offered, partyline answered: OK")
        steps = [("add publishers b and c", "b,c"), ("remove c", "b"), ("add d (reuses c's m-lines)", "b,d"),
                 ("remove all", ""), ("add e and f", "e,f")]
        for label, publishers in steps:
            events.clear()
            offer = driver.call("UPDATE " + publishers)
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
            applied = driver.call("APPLY", pc.localDescription.sdp)
            print(f"\n== {label}: aiortc accepted the offer; partyline: {applied}")
            for t in pc.getTransceivers():
                print(f"  mid={t.mid} {t.kind} direction={t.direction} currentDirection={t.currentDirection}")
            for event in events:
                print("  event: " + event)
            check_slots(applied, pc)
        return 0
    except Exception as error:  # report and fail
        print(f"FAILED: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    finally:
        await pc.close()
        driver.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1])))
