"""Runs a training job in a host process and hands its messages over as Qt signals.

The host (`compute.training.host`, started and reused by `hosts`) trains in a process of
its own, so that the window never shares its interpreter lock with the trainer. What it
sends arrives on the host's reader thread, which only appends it to a queue under a lock.
On the GUI thread a timer drains the queue every `POLL_MS` while a run is on and
re-emits the events, in order, as the `events` signal: the event loop sees at most 50
hand-overs a second, however fast the trainer steps.
"""
from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from . import calm, hosts

POLL_MS = 20                  # how often the GUI thread collects the host's messages


@dataclass
class RunResult:
    """What a run that kept its weights leaves: the arrays by key ("node/name"), the
    validation metrics, and the graph they belong to (as a dict)."""

    arrays: dict
    evaluation: dict[str, float] | None
    graph: dict


class TrainingWorker(QObject):
    """One training run at a time; `start` returns at once, signals tell the rest.

    Signals (all delivered on the GUI thread, in the trainer's order):
    `events(list)` for every batch of trainer events (and a `RunResult` after a run that
    kept its weights), `failed(str, str)` (message, details) for an error the trainer did
    not report itself (the host process ending unexpectedly included), `warned(str)` for
    one that did not end the run, and `done()` once the run is over, whatever the outcome.
    """

    events = Signal(object)            # a list of events (object: no QVariant conversion)
    failed = Signal(str, str)
    warned = Signal(str)               # something went wrong that did not end the run
    done = Signal()
    state_changed = Signal(str)        # "idle", "starting", "running", "paused", "stopping"

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue: deque = deque()
        self._lock = threading.Lock()
        self._host: hosts.HostProcess | None = None
        self._over = threading.Event()          # the host said the run is over
        self._stop_requested = False
        self._paused = False
        self.state = "idle"
        self.trainer_state: str | None = None   # the trainer's loop: "running", "paused"
        self.trainer_step = 0                   # its step when that state was reported
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._drain)

    # -- control (GUI thread) ----------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._host is not None

    def start(self, job: dict) -> None:
        """Train `job` (see `compute.training.host`) in a host process."""
        if self.busy:
            raise RuntimeError("a training run is already in progress")
        self._stop_requested = False
        self._paused = False
        self.trainer_state, self.trainer_step = None, 0
        self._over.clear()
        self._set_state("starting")
        calm.run_starting()
        self._poll.start()
        try:
            host = hosts.take()
        except OSError as exc:
            self._receive([("failed", f"could not start the training process: {exc}", ""),
                           ("end",)])
            return
        host.sink = self._receive
        self._host = host
        if not host.send(("run", job)):      # it died: its reader reports the exit
            host.proc.kill()

    def stop(self) -> None:
        self._stop_requested = True
        self._send(("stop",))
        if self.busy:
            self._set_state("stopping")

    def pause(self) -> None:
        self._paused = True
        self._send(("pause",))
        if self.busy and not self._stop_requested:
            self._set_state("paused")

    def resume(self) -> None:
        self._paused = False
        self._send(("resume",))
        if self.busy and not self._stop_requested:
            self._set_state("running")

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the run to end (closing the window, tests) and take in what it sent;
        True if it ended."""
        if self._host is not None and not self._over.wait(timeout):
            return False
        self._drain()
        return True

    def _send(self, message: tuple) -> None:
        if self._host is not None:
            self._host.send(message)

    # -- the host's reader thread -------------------------------------------------------
    def _receive(self, batch: list) -> None:
        with self._lock:
            self._queue.extend(batch)
        if any(isinstance(m, tuple) and m and m[0] in ("end", "exited") for m in batch):
            self._over.set()

    # -- back on the GUI thread --------------------------------------------------------
    def _drain(self) -> None:
        with self._lock:
            items = list(self._queue)
            self._queue.clear()
        batch: list = []
        for item in items:
            if isinstance(item, tuple) and item and item[0] == "result":
                r = item[1]
                batch.append(RunResult(r["arrays"], r["evaluation"], r["graph"]))
            elif isinstance(item, tuple):
                if batch:
                    self.events.emit(batch)
                    batch = []
                self._control(item)
            else:
                batch.append(item)
        if batch:
            self.events.emit(batch)

    def _control(self, item: tuple) -> None:
        kind = item[0]
        if kind == "state":
            self.trainer_state, self.trainer_step = item[1], item[2]
            self._set_state("stopping" if self._stop_requested else
                            "paused" if self._paused else "running")
        elif kind == "failed":
            self.failed.emit(item[1], item[2])
        elif kind == "warning":
            self.warned.emit(item[1])
        elif kind == "exited" and self._host is not None:     # died during a run
            why = f": {item[2]}" if item[2] else ""
            self.failed.emit(f"the training process ended unexpectedly (exit code "
                             f"{item[1]}{why}); the project is safe: train again", "")
            self._end()
        elif kind == "end":
            self._end()

    def _end(self) -> None:
        host, self._host = self._host, None
        self._poll.stop()
        if host is not None:
            hosts.give_back(host)
        self.trainer_state = None
        self._set_state("idle")
        self.done.emit()

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)


__all__ = ["TrainingWorker", "RunResult"]
