"""What the admin tests share: checks that fail with a message, and a
partyline server run as a child process, whose stderr log tells its ports."""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time


def fail(message):
    raise AssertionError(message)


def check(condition, message):
    if not condition:
        fail(message)


class ServerProcess:
    """`argv` run with `env`, its stderr in a temporary log file (removed
    after a clean stop, kept for a failed one)."""

    def __init__(self, argv, env, log_prefix="partyline-"):
        self.log_file = tempfile.NamedTemporaryFile("w+", prefix=log_prefix, suffix=".log", delete=False)
        self.process = subprocess.Popen(argv, stderr=self.log_file, stdout=subprocess.DEVNULL, env=env)

    def text(self):
        with open(self.log_file.name) as log:
            return log.read()

    def wait_for(self, pattern, timeout=20.0):
        """The first match of `pattern` in the log; fails when the server
        exits or the pattern does not show within `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.text())
            if found:
                return found
            if self.process.poll() is not None:
                fail(f"the server exited with {self.process.returncode}:\n{self.text()}")
            time.sleep(0.05)  # polling the log file
        fail(f"the server never logged /{pattern}/:\n{self.text()}")

    def stop(self, within_s=30.0):
        """SIGTERM; the server must exit 0 within `within_s`. Returns the seconds it took."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        status = self.process.wait(timeout=within_s)
        elapsed = time.monotonic() - started
        check(status == 0, f"the server exited with {status} after SIGTERM:\n{self.text()[-3000:]}")
        os.unlink(self.log_file.name)
        return elapsed

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def report_failure(self):
        """After a failed test: kills the server and prints the end of its log."""
        self.kill()
        print(self.text()[-5000:], file=sys.stderr)
