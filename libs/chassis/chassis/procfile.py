"""`make up`'s process runner: every line of the Procfile as a child process, restarted when it dies.

    python -m chassis.procfile Procfile

Output lines are prefixed with the process name (as honcho did). A process that exits is started
again after a backoff (1 s doubling to 30 s; back to 1 s once it has run for a minute), so one
crash never takes the local platform down (decision 0011). SIGTERM or SIGINT stops every child
(SIGTERM, then SIGKILL after 10 s) and ends the runner.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

MIN_BACKOFF, MAX_BACKOFF, STABLE_SECONDS, STOP_GRACE = 1.0, 30.0, 60.0, 10.0


def parse(text: str) -> dict[str, str]:
    """`name: command` lines; blank lines and `#` comments are skipped."""
    entries: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, command = line.partition(":")
        if not sep or not name.strip() or not command.strip():
            raise ValueError(f"Procfile line {number} is not 'name: command': {line!r}")
        entries[name.strip()] = command.strip()
    return entries


def next_backoff(previous: float, ran_for: float) -> float:
    """How long to wait before starting a process again that just exited after `ran_for` seconds."""
    if ran_for >= STABLE_SECONDS:
        return MIN_BACKOFF
    return min(MAX_BACKOFF, max(MIN_BACKOFF, previous * 2))


@dataclass
class Supervised:
    name: str
    command: str
    width: int
    process: subprocess.Popen[bytes] | None = None
    backoff: float = MIN_BACKOFF / 2
    lock: threading.Lock = field(default_factory=threading.Lock)

    def say(self, text: str) -> None:
        sys.stdout.write(f"{time.strftime('%H:%M:%S')} {self.name.ljust(self.width)} | {text}\n")
        sys.stdout.flush()

    def run(self, stopping: threading.Event) -> None:
        while not stopping.is_set():
            started = time.monotonic()
            with self.lock:
                if stopping.is_set():
                    return
                self.process = subprocess.Popen(self.command, shell=True, stdout=subprocess.PIPE,
                                                stderr=subprocess.STDOUT, start_new_session=True)
            assert self.process.stdout is not None
            for raw in self.process.stdout:
                self.say(raw.decode(errors="replace").rstrip("\n"))
            code = self.process.wait()
            if stopping.is_set():
                return
            self.backoff = next_backoff(self.backoff, time.monotonic() - started)
            self.say(f"exited with {code}; starting it again in {self.backoff:g} s")
            stopping.wait(self.backoff)

    def stop(self) -> None:
        with self.lock:
            process = self.process
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)


def main(argv: list[str] | None = None) -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_known_args(argv)
    path = Path(args[1][0] if args[1] else "Procfile")
    entries = parse(path.read_text())
    width = max(len(name) for name in entries)
    children = [Supervised(name, command, width) for name, command in entries.items()]
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    threads = [threading.Thread(target=child.run, args=(stopping,), daemon=True) for child in children]
    for thread in threads:
        thread.start()
    while not stopping.wait(0.5):
        pass
    for child in children:
        child.stop()
    deadline = time.monotonic() + STOP_GRACE
    for child in children:
        while child.process is not None and child.process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        child.kill()


if __name__ == "__main__":
    main()
