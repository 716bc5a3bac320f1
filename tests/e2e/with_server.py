#!/usr/bin/python3
"""Starts partyline, waits until it is listening, runs one test command
against it, then stops the server and checks that it exits cleanly.

    with_server.py [--binary PATH] [--port N] [--log FILE] [--config FILE]
                   [--test-stops-server] -- COMMAND [ARGS...]

Must run inside a private network namespace with only loopback
(run_e2e.sh does `unshare -n`); it refuses to start anywhere else.

The test command gets PARTYLINE_URL (http://127.0.0.1:PORT/),
PARTYLINE_WS_URL (ws://127.0.0.1:PORT/ws), PARTYLINE_SERVER_PID,
PARTYLINE_SERVER_LOG, PARTYLINE_SERVER_SANITIZED (1 for an AddressSanitizer
build, else 0) and PARTYLINE_SERVER_STOP_TIMEOUT_S (the stop deadline). Exit status: the command's if it failed,
else 1 if the server did not exit with status 0 within the stop deadline
after SIGTERM (a crash or sanitizer report counts), else 0. With
--test-stops-server the test sends the SIGTERM itself; the server must then
have exited with status 0.
"""

import argparse
import mmap
import os
import signal
import subprocess
import sys
import threading
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
READY_MARKER = "partyline listening on"
# Seconds the server may take to exit after SIGTERM. The deadline only has
# to tell a server that exits promptly from one that hangs (which never
# exits). A normal build exits in 0.02 s or less. An AddressSanitizer build
# also runs LeakSanitizer's scan of the whole heap at exit: 0.1 to 0.25 s
# measured (after sfu_chromium, and with three busy loops on the two
# cores), and it grows with the heap and with what else runs on the cores;
# 2 s was reported too short for it on two shared cores (issue 20). 10 s
# leaves that scan 40 times its measured time and still fails a hang.
STOP_TIMEOUT_S = 2.0
SANITIZED_STOP_TIMEOUT_S = 10.0


def is_sanitized(binary):
    """An AddressSanitizer build: it carries or links the ASan runtime, whose
    entry point every instrumented object calls."""
    with open(binary, "rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return data.find(b"__asan_init") >= 0


def network_interfaces():
    """Interfaces of this process's network namespace (/proc/net is per-namespace)."""
    with open("/proc/net/dev") as table:
        return [line.split(":")[0].strip() for line in table.readlines()[2:]]


class Server:
    def __init__(self, binary, port, log_path, config=None):
        self.log_path = log_path
        self.ready = threading.Event()
        env = dict(os.environ)
        env.update({
            "PARTYLINE_HTTP_PORT": str(port),
            "PARTYLINE_WEB_ROOT": os.path.join(REPO, "web"),
            "PARTYLINE_ICE_ADDRESSES": "127.0.0.1",
            "PARTYLINE_ICE_ALLOWED_NETWORKS": "127.0.0.0/8",
        })
        os.makedirs(os.path.dirname(log_path), exist_ok=True)
        self.log = open(log_path, "w", buffering=1)
        command = [binary] + (["--config", config] if config else [])
        self.process = subprocess.Popen(command, cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                                        stdout=self.log, stderr=subprocess.PIPE, text=True,
                                        errors="replace", start_new_session=True)
        self.reader = threading.Thread(target=self._copy_stderr, daemon=True)
        self.reader.start()

    def _copy_stderr(self):
        for line in self.process.stderr:
            self.log.write(line)
            if READY_MARKER in line:
                self.ready.set()

    def wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ready.wait(0.05):
                return True
            if self.process.poll() is not None:
                return False
        return False

    def stop(self, timeout):
        """SIGTERM, then the exit status; None if it had to be killed.
        Sets `died_early` if it had exited before the SIGTERM."""
        self.died_early = self.process.poll() is not None
        if not self.died_early:
            self.process.send_signal(signal.SIGTERM)
        try:
            status = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            status = None
        # Whatever the server left in its process group goes too.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        self.reader.join(5)
        self.log.close()
        return status

    def print_log_tail(self, lines=60):
        with open(self.log_path, errors="replace") as log:
            tail = log.readlines()[-lines:]
        print(f"---- last {len(tail)} lines of {self.log_path} ----", file=sys.stderr)
        sys.stderr.writelines(tail)
        print("---- end of server log ----", file=sys.stderr)


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.path.join(REPO, "build", "signaling", "partyline"))
    parser.add_argument("--port", type=int, default=8088)
    parser.add_argument("--log", default=os.path.join(REPO, "tests", "e2e", "out", "server.log"))
    parser.add_argument("--config", help="a partyline config file for this test")
    parser.add_argument("--test-stops-server", action="store_true",
                        help="the test sends SIGTERM itself (shutdown tests)")
    parser.add_argument("--ready-timeout", type=float, default=15.0)
    parser.add_argument("--test-timeout", type=float, default=180.0)
    parser.add_argument("--stop-timeout", type=float,
                        help=f"seconds the server may take to exit after SIGTERM (default {STOP_TIMEOUT_S:g}, "
                             f"{SANITIZED_STOP_TIMEOUT_S:g} for an AddressSanitizer build)")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    arguments = parser.parse_args()
    if arguments.command[:1] == ["--"]:
        arguments.command = arguments.command[1:]
    if not arguments.command:
        parser.error("no test command given")
    return arguments


def main():
    arguments = parse_arguments()
    interfaces = network_interfaces()
    if interfaces != ["lo"]:
        print(f"with_server.py: refusing to run outside a loopback-only network namespace "
              f"(interfaces: {interfaces}); use: unshare -n -- sh -c 'ip link set lo up && ...'",
              file=sys.stderr)
        return 2
    if not os.access(arguments.binary, os.X_OK):
        print(f"with_server.py: no server binary at {arguments.binary} (run scripts/build)", file=sys.stderr)
        return 2

    arguments.sanitized = is_sanitized(arguments.binary)
    if arguments.stop_timeout is None:
        arguments.stop_timeout = SANITIZED_STOP_TIMEOUT_S if arguments.sanitized else STOP_TIMEOUT_S
    config = os.path.abspath(arguments.config) if arguments.config else None
    server = Server(os.path.abspath(arguments.binary), arguments.port, os.path.abspath(arguments.log), config)
    try:
        status = run_test(server, arguments)
    finally:
        exit_status = server.stop(arguments.stop_timeout)
    if arguments.test_stops_server:
        if not server.died_early or exit_status != 0:
            print(f"with_server.py: the test should have stopped the server with exit status 0 "
                  f"(running: {not server.died_early}, status {exit_status})", file=sys.stderr)
            status = status or 1
    elif server.died_early:
        if server.ready.is_set():
            print(f"with_server.py: server died during the test (exit status {exit_status})", file=sys.stderr)
        status = status or 1
    elif exit_status != 0:
        what = "did not exit" if exit_status is None else f"exited with status {exit_status}"
        print(f"with_server.py: server {what} within {arguments.stop_timeout:g} s of SIGTERM",
              file=sys.stderr)
        status = status or 1
    if status != 0:
        server.print_log_tail()
    return status


def run_test(server, arguments):
    if not server.wait_ready(arguments.ready_timeout):
        exit_status = server.process.poll()
        if exit_status is None:
            print(f"with_server.py: server did not print '{READY_MARKER}' within "
                  f"{arguments.ready_timeout:.0f} s", file=sys.stderr)
        else:
            print(f"with_server.py: server exited (status {exit_status}) before printing "
                  f"'{READY_MARKER}'", file=sys.stderr)
        return 1
    env = dict(os.environ)
    env["PARTYLINE_URL"] = f"http://127.0.0.1:{arguments.port}/"
    env["PARTYLINE_WS_URL"] = f"ws://127.0.0.1:{arguments.port}/ws"
    env["PARTYLINE_SERVER_PID"] = str(server.process.pid)
    env["PARTYLINE_SERVER_LOG"] = server.log_path
    env["PARTYLINE_SERVER_SANITIZED"] = "1" if arguments.sanitized else "0"
    env["PARTYLINE_SERVER_STOP_TIMEOUT_S"] = f"{arguments.stop_timeout:g}"
    # Own process group, so that a test that hangs is killed with its browser.
    test = subprocess.Popen(arguments.command, env=env, start_new_session=True)
    try:
        return test.wait(arguments.test_timeout)
    except subprocess.TimeoutExpired:
        print(f"with_server.py: test exceeded {arguments.test_timeout:.0f} s", file=sys.stderr)
        return 1
    finally:
        if test.poll() is None:
            os.killpg(test.pid, signal.SIGKILL)
            test.wait()


if __name__ == "__main__":
    sys.exit(main())
