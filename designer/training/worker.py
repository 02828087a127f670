"""Runs compute's Trainer off the GUI thread and hands its events over as Qt signals.

The trainer calls our callback on its own (Python) thread. The callback only appends the
event to a queue under a lock: the training thread never calls into Qt. On the GUI
thread a timer drains the queue every `POLL_MS` while a run is on and re-emits the
events, in order, as the `events` signal. However fast the trainer steps, the event loop
sees at most 50 hand-overs a second (each one costs both threads time under the GIL),
events keep their order, and neither thread ever waits for the other. Model building
and data loading happen on the training thread as well: a large dataset never freezes
the window.
"""
from __future__ import annotations

import threading
import traceback
from collections import deque
from typing import Any, Callable

from PySide6.QtCore import QObject, QTimer, Signal

from compute.errors import NetwrightError

from . import calm

POLL_MS = 20                  # how often the GUI thread collects the trainer's events

# builds the trainer on the training thread: (project, callback) -> Trainer
TrainerFactory = Callable[[Any, Callable[[Any], None]], Any]


class TrainingWorker(QObject):
    """One training run at a time; `start` returns at once, signals tell the rest.

    Signals (all delivered on the GUI thread, in the trainer's order):
    `events(list)` for every batch of trainer events, `failed(str, str)` (message,
    details) for an exception outside the trainer's own reporting, and `done()` once the
    training thread has ended, whatever the outcome.
    """

    events = Signal(object)            # a list of events (object: no QVariant conversion)
    failed = Signal(str, str)
    done = Signal()
    state_changed = Signal(str)        # "idle", "starting", "running", "paused", "stopping"

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue: deque = deque()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._trainer = None
        self._stop_requested = False
        self._paused = False
        self._stepped = False
        self.state = "idle"
        self.result: Any = None            # what the factory's trainer left (model, ...)
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._drain)

    # -- control (GUI thread) ----------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._thread is not None

    @property
    def trainer(self):
        """The running trainer (None before it is built and after the run)."""
        job = self._trainer
        return getattr(job, "trainer", job)

    @property
    def trainer_state(self) -> str | None:
        """The trainer's own state ("running", "paused", ...), set on its thread."""
        return getattr(self.trainer, "state", None)

    def start(self, project: Any, factory: TrainerFactory) -> None:
        """Build and run a trainer for `project` (a private copy) on a new thread."""
        if self.busy:
            raise RuntimeError("a training run is already in progress")
        self._stop_requested = False
        self._paused = False
        self._trainer = None
        self.result = None
        self._set_state("starting")
        self._stepped = False
        calm.run_starting()
        self._poll.start()
        self._thread = threading.Thread(target=self._run, args=(project, factory),
                                        name="netwright-training", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._lock:
            self._stop_requested = True
            trainer = self._trainer
        if trainer is not None:
            if self._paused:
                trainer.resume()
            trainer.stop()
        if self.busy:
            self._set_state("stopping")

    def pause(self) -> None:
        with self._lock:
            self._paused = True
            trainer = self._trainer
        if trainer is not None:
            trainer.pause()
        if self.busy and not self._stop_requested:
            self._set_state("paused")

    def resume(self) -> None:
        with self._lock:
            self._paused = False
            trainer = self._trainer
        if trainer is not None:
            trainer.resume()
        if self.busy and not self._stop_requested:
            self._set_state("running")

    def wait(self, timeout: float | None = None) -> bool:
        """Join the training thread (for closing the window and tests); True if it ended."""
        t = self._thread
        if t is not None:
            t.join(timeout)
            if t.is_alive():
                return False
        self._drain()
        return True

    # -- the training thread -----------------------------------------------------------
    def _run(self, project: Any, factory: TrainerFactory) -> None:
        try:
            trainer = factory(project, self._post)
            calm.settle()
            with self._lock:
                self._trainer = trainer
                stop, paused = self._stop_requested, self._paused
            if stop:
                trainer.stop()
            elif paused:
                trainer.pause()
            self._post(("state", "paused" if paused and not stop else
                        "stopping" if stop else "running"))
            trainer.run()
            self.result = trainer
        except NetwrightError as exc:
            self._post(("failed", str(exc), ""))
        except Exception as exc:     # a bug or bad data the trainer did not name: show it
            self._post(("failed", f"{type(exc).__name__}: {exc}", traceback.format_exc()))
        finally:
            self._post(("end",))

    def _post(self, event: Any) -> None:
        """Called on the training thread for every event: queue it (nothing else but, at
        the first step, when the kernels are loaded, settle the process once more)."""
        with self._lock:
            self._queue.append(event)
        if not self._stepped and getattr(event, "step", 0):
            self._stepped = True
            calm.settle()

    # -- back on the GUI thread --------------------------------------------------------
    def _drain(self) -> None:
        with self._lock:
            items = list(self._queue)
            self._queue.clear()
        batch: list = []
        for item in items:
            if isinstance(item, tuple):
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
            self._set_state(item[1])
        elif kind == "failed":
            self.failed.emit(item[1], item[2])
        elif kind == "end":
            if self._thread is not None:
                self._thread.join()
            self._poll.stop()
            calm.run_ended()
            self._thread = None
            self._trainer = None
            self._set_state("idle")
            self.done.emit()

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)


__all__ = ["TrainingWorker"]
