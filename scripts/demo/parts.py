"""The demo's running parts: each program it starts runs in a process group of its own with its output in a
log file, is waited for with a bound, and is stopped (the whole group) at the end, checked gone by pid."""
from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path


class DemoError(RuntimeError):
    """One line for the user (and, for a part that did not come up, the tail of its log)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_status(url: str, timeout: float = 2) -> int:
    """The status of a GET, 0 when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except (OSError, ValueError):
        return 0


def pids_in_groups(groups: set[int]) -> list[int]:
    """Every live process whose process group is one of `groups` (from /proc: field 5 of stat)."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[2]) in groups:
            found.append(int(d))
    return found


class Part:
    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path, stdout_to_us: bool = False):
        self.name, self.log = name, log
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE if stdout_to_us else out, stderr=out,
                                         start_new_session=True)   # its own group: stopped as one, spared our Ctrl-C
        self.pid = self.proc.pid

    def first_line(self, seconds: float, what: str) -> bytes:
        """The first line of its stdout (with stdout_to_us), which then stays out of its log."""
        deadline, got = time.monotonic() + seconds, b""
        fd = self.proc.stdout.fileno()
        while not got.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise self.failed(f"did not get to {what} within {seconds:.0f} s")
            if select.select([fd], [], [], min(left, 0.5))[0]:
                chunk = os.read(fd, 65536)
                if not chunk:
                    self.proc.wait(timeout=5)
                    raise self.failed(f"exited with status {self.proc.returncode} before {what}")
                got += chunk
        return got

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            text = []
        return "\n".join("    " + line for line in text)

    def failed(self, what: str) -> DemoError:
        return DemoError(f"{self.name} {what}; the end of {self.log}:\n{self.tail()}")

    def wait_until(self, ready, seconds: float, what: str) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise self.failed(f"exited with status {self.proc.returncode} before {what}")
            if ready():
                return
            time.sleep(0.2)
        raise self.failed(f"did not get to {what} within {seconds:.0f} s")

    def stop(self, grace: float = 10) -> None:
        """SIGTERM to the group, SIGKILL after `grace` seconds; reaps the leader."""
        if self.proc.poll() is None or pids_in_groups({self.pid}):
            try:
                os.killpg(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and (self.proc.poll() is None or pids_in_groups({self.pid})):
                time.sleep(0.1)
            if pids_in_groups({self.pid}):
                try:
                    os.killpg(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


class Parts:
    """The parts started so far, stopped in the reverse order; `stop_all` says whether any process is left."""

    def __init__(self, pid_file: Path) -> None:
        self.pid_file = pid_file          # every pid started, for whoever checks afterwards that none is left
        self.parts: list[Part] = []
        self.extra_pids: list[int] = []   # started by a part's own code (the registry): checked, not signalled
        self.on_stop: list = []           # in-process pieces (the receiver's thread) stopped after the parts

    def start(self, name: str, argv: list[str], env: dict[str, str], log: Path, stdout_to_us: bool = False) -> Part:
        p = Part(name, argv, env, log, stdout_to_us)
        self.parts.append(p)
        self.record()
        return p

    def watch(self, pid: int) -> None:
        self.extra_pids.append(pid)
        self.record()

    def record(self) -> None:
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.pid_file.write_text(json.dumps({"parts": {p.name: p.pid for p in self.parts}, "others": self.extra_pids}) + "\n")

    def stop_all(self) -> list[int]:
        for p in reversed(self.parts):
            p.stop()
        for fn in self.on_stop:
            fn()
        left = pids_in_groups({p.pid for p in self.parts})
        left += [pid for pid in self.extra_pids if _alive(pid)]
        return left


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"
