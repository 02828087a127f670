"""The training processes behind the windows: started ahead, reused, ended with the app.

A run trains in a child process (`compute.training.host`; its docstring says why and
what crosses). Starting one costs Python, NumPy, Numba and the kernels' cache (about a
second), so a host stays after its run for the next one, and `spare()` starts one before
it is needed (the window calls it once it is shown). Qt-free: the worker uses these from
the GUI thread; each host's reader thread hands what arrives to its `sink`.
"""
from __future__ import annotations

import atexit
import queue
import subprocess
import sys
import threading
from collections import deque
from typing import Any, Callable

from compute import wire
from compute.processes import child_env

STDERR_LINES = 20             # the last lines of a host's stderr kept for a message
KEEP = 2                      # idle hosts kept for later runs at most
CLOSE_WAIT_S = 2.0            # how long a host may take to exit before it is killed

_idle: list["HostProcess"] = []
_all: list["HostProcess"] = []


class HostProcess:
    """One child process; `send` writes a command, `sink(list)` receives (on the reader
    thread) every batch of messages, and finally [("exited", returncode, last line of its
    stderr)]."""

    def __init__(self, command: list[str] | None = None) -> None:
        self.proc = subprocess.Popen(command or [sys.executable, "-m", "compute.training.host"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=child_env())
        self.sink: Callable[[list], Any] | None = None
        self.last_words: deque[str] = deque(maxlen=STDERR_LINES)   # its stderr's end
        self.ended = threading.Event()        # the process has exited
        self._frames: queue.Queue = queue.Queue()     # encoded commands, None: the end
        self._writer = threading.Thread(target=self._write, name="netwright-host-writer",
                                        daemon=True)
        self._reader = threading.Thread(target=self._read, name="netwright-host-reader",
                                        daemon=True)
        self._errors = threading.Thread(target=self._read_stderr, daemon=True,
                                        name="netwright-host-stderr")
        self._errors.start()
        self._reader.start()
        self._writer.start()
        _all.append(self)

    @property
    def alive(self) -> bool:
        return not self.ended.is_set() and self.proc.poll() is None

    def send(self, message: Any) -> bool:
        """Queue one command for the writer thread; False if the process is gone. The
        window never waits on the pipe: a starting host reads nothing for a second, and
        a job with its starting weights is more than the pipe holds."""
        if not self.alive:
            return False
        self._frames.put(wire.encode(message))
        return True

    def _write(self) -> None:
        while (frame := self._frames.get()) is not None:
            try:
                self.proc.stdin.write(frame)
                self.proc.stdin.flush()
            except (OSError, ValueError):         # a closed pipe: the host has ended
                break
        try:
            self.proc.stdin.close()              # the host's cue to end, if still there
        except (OSError, ValueError):
            pass

    def close(self, wait: float = CLOSE_WAIT_S) -> None:
        """Ask the host to end (a run stops after its step), kill it if it does not."""
        if self.proc.poll() is None:
            self.send(("quit",))
        self._frames.put(None)                  # the writer ends, closing the host's stdin
        if self.proc.poll() is None:
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(wait)
        self._writer.join(wait)
        if self in _all:
            _all.remove(self)

    def _read(self) -> None:
        try:
            while True:
                batch = wire.read(self.proc.stdout)
                self._hand_over(batch if isinstance(batch, list) else [batch])
        except (EOFError, OSError, ValueError):   # the host ended, or its pipe closed
            pass
        except wire.WireError as exc:
            if not self._exits(CLOSE_WAIT_S):    # a frame cut short by the host's death
                # is its death ("exited" below); from a live host, a bug: end it, say why
                self._hand_over([("failed", f"the training process sent a broken "
                                            f"message: {exc}", "")])
                self.proc.kill()
        code = self.proc.wait()
        self._errors.join(CLOSE_WAIT_S)       # its last words, if it died of something
        self.ended.set()
        self._hand_over([("exited", code, self.last_words[-1] if self.last_words else "")])

    def _exits(self, within: float) -> bool:
        try:
            self.proc.wait(within)
            return True
        except subprocess.TimeoutExpired:
            return False

    def _read_stderr(self) -> None:
        """Pass the host's stderr on to ours (warnings, a crash's traceback), keeping the
        last lines for the message if it dies."""
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace")
            sys.stderr.write(line)
            if line.strip():
                self.last_words.append(line.strip())

    def _hand_over(self, batch: list) -> None:
        sink = self.sink
        if sink is not None:
            sink(batch)


def take() -> HostProcess:
    """A host for a run: an idle one if any is still alive, else a new one."""
    while _idle:
        host = _idle.pop()
        if host.alive:
            return host
        host.close()
    return HostProcess()


def give_back(host: HostProcess) -> None:
    """A run has ended on `host`: keep it for the next run, or end it."""
    host.sink = None
    if host.alive and len(_idle) < KEEP:
        _idle.append(host)
    else:
        host.close()


def spare() -> None:
    """Start a host ahead of the first run, unless one is waiting already."""
    if not any(h.alive for h in _idle):
        _idle.append(HostProcess())


def close_all() -> None:
    """End every host (the app exits)."""
    _idle.clear()
    for host in list(_all):
        host.close()


atexit.register(close_all)

__all__ = ["HostProcess", "take", "give_back", "spare", "close_all"]
