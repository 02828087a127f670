"""A process that trains for another one: `python -m compute.training.host`.

The designer runs its trainer here, in a child process, so that training never shares
the window's interpreter lock: a frame the window draws never waits for the trainer's
Python between kernels (in one process that made heavy panels' frames 2-4x slower and
stalled the window 50-100 ms). The host also runs at a lower priority (nice) and as batch
work (SCHED_BATCH), so the window gets a core the moment it has work.

Both directions carry `compute.wire` frames (never pickle). The parent writes messages
to the host's stdin:

    ("run", job)           train; job = {"project": dict, "path": str | None,
                           "initial": {key: array} | str (a weights file) | None,
                           "snapshots_per_s": number}
    ("stop",), ("pause",), ("resume",)     for the run going on
    ("quit",)              stop and exit (so does the end of stdin)

and reads lists of messages from the host's stdout (the host's own prints go to
stderr):

    events                 the trainer's, in order
    ("state", "running" | "paused", step)    the trainer's loop changed state (a pause
                           once the loop waits, after its last step's events)
    ("result", {"arrays", "evaluation", "graph"})    after a run that kept its weights
    ("failed", message, details)    an error the trainer did not report itself
    ("warning", text)      an event that could not be sent (a bug; the run goes on)
    ("end",)               the run is over, whatever the outcome

One run at a time; the process stays for the next (its kernels stay loaded).
"""
from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from collections import deque
from pathlib import Path
from typing import Any, BinaryIO

from compute import wire
from compute.errors import NetwrightError, ProjectError
from compute.kernels import warm_up
from compute.project import Project
from compute.training.probes import make_probes
from compute.training.summary import Summarized
from compute.training.trainer import Trainer
from compute.weights import load_weights, model_arrays

NICE = 10                     # the host's priority below the window's (POSIX)
FLUSH_S = 0.02                # how often events are sent: about 50 batches a second
SNAPSHOTS_PER_S = 8           # default: at most this many snapshots a second


class Throttle:
    """Keeps snapshots to about `per_s` a second by raising the trainer's
    `snapshot_every` (snapshots never change the numbers, only what we get to see)."""

    def __init__(self, trainer, per_s: float = SNAPSHOTS_PER_S) -> None:
        self.trainer, self.per_s = trainer, per_s
        self.base = trainer.snapshot_every
        self.t0 = time.perf_counter()

    def __call__(self, event) -> None:
        step = getattr(event, "step", 0)
        if not self.base or step < 20 or step % 10:
            return
        rate = step / max(time.perf_counter() - self.t0, 1e-6)
        self.trainer.snapshot_every = max(self.base, int(rate / self.per_s))


def load_initial(model, initial) -> None:
    """Start from earlier weights: a file (checked by load_weights) or arrays by key."""
    if isinstance(initial, str):
        load_weights(model, Path(initial))
        return
    live = model_arrays(model)
    if set(live) != set(initial) or any(live[k].shape != initial[k].shape for k in live):
        raise ProjectError("the kept weights do not fit this network any more: reset the "
                           "weights to start afresh")
    for k, arr in initial.items():
        live[k][...] = arr


class Host:
    """Reads commands, runs one job at a time on a thread, sends events in batches."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self._outbox: deque = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._trainer = None
        self._job: threading.Thread | None = None
        self._stop = self._paused = False
        self._state: str | None = None      # the trainer's loop state last reported
        self._closed = False
        self._sender = threading.Thread(target=self._send_loop, name="netwright-send",
                                        daemon=True)
        self._sender.start()

    # -- commands (main thread) ------------------------------------------------------
    def serve(self, stream: BinaryIO) -> None:
        while True:
            try:
                message = wire.read(stream)
            except EOFError:                 # the window is gone
                break
            except wire.WireError as exc:
                self.post(("failed", f"the training process got a broken message: {exc}",
                           ""))
                break
            if not (isinstance(message, tuple) and message and isinstance(message[0], str)):
                self.post(("failed", f"the training process got {type(message).__name__}, "
                           "not a command", ""))
                continue
            if message[0] == "quit":
                break
            self.command(*message)
        self.close()

    def command(self, kind: str, *args: Any) -> None:
        with self._lock:
            trainer = self._trainer
            if kind == "run":
                if self._job is not None and self._job.is_alive():
                    self.post(("failed", "a training run is already in progress", ""))
                    return
                self._stop = self._paused = False
                self._state = None
                self._job = threading.Thread(target=self._run, args=args,
                                             name="netwright-training", daemon=True)
                self._job.start()
            elif kind == "stop":
                self._stop = True
            elif kind == "pause":
                self._paused = True
            elif kind == "resume":
                self._paused = False
            else:
                self.post(("failed", f"the training process got an unknown command "
                           f"{kind!r}", ""))
                return
        if trainer is not None:
            if kind == "stop":
                trainer.resume()
                trainer.stop()
            elif kind == "pause":
                trainer.pause()
            elif kind == "resume":
                trainer.resume()

    def close(self, timeout: float = 5.0) -> None:
        """Stop a run, wait for it (at most `timeout`), send what is left."""
        self.command("stop")
        job = self._job
        if job is not None:
            job.join(timeout)
        self._closed = True
        self._wake.set()
        self._sender.join(timeout)

    # -- the job (its own thread) ------------------------------------------------------
    def _run(self, job: dict) -> None:
        try:
            project = Project.from_dict(job["project"], job.get("path"))
            trainer = Trainer(project)
            trainer.callbacks.append(Summarized(trainer.model, self.post))
            trainer.callbacks.append(Throttle(trainer, job.get("snapshots_per_s",
                                                               SNAPSHOTS_PER_S)))
            trainer.probes.update(make_probes(trainer.model, trainer.dataset,
                                              trainer.data_settings))
            if job.get("initial") is not None:
                load_initial(trainer.model, job["initial"])
            with self._lock:
                self._trainer = trainer
                stop, paused = self._stop, self._paused
            if stop:
                trainer.stop()
            elif paused:
                trainer.pause()
            history = trainer.run()
            if history.reason not in ("diverged", "error"):   # else nothing to keep
                self.post(("result", {
                    "arrays": {k: v.copy() for k, v in model_arrays(trainer.model).items()},
                    "evaluation": trainer.evaluate(),
                    "graph": project.graph.to_dict()}))
        except NetwrightError as exc:
            self.post(("failed", str(exc), ""))
        except Exception as exc:     # a bug or bad data the trainer did not name: show it
            self.post(("failed", f"{type(exc).__name__}: {exc}", traceback.format_exc()))
        finally:
            with self._lock:
                self._trainer = None
            self.post(("end",))
            self._wake.set()            # the end goes out now, not at the next flush

    def post(self, message: Any) -> None:
        """Queue a message for the window (the trainer's callback; any thread)."""
        self._outbox.append(message)

    # -- sending (its own thread) -------------------------------------------------------
    def _send_loop(self) -> None:
        while True:
            self._wake.wait(FLUSH_S)
            self._wake.clear()
            closing = self._closed
            batch = self._take()
            if batch:
                try:
                    self.out.write(_frame(batch))
                    self.out.flush()
                except (OSError, ValueError):    # the window is gone: stop training
                    self._closed = True
                    trainer = self._trainer
                    if trainer is not None:
                        trainer.stop()
                    return
            if closing:
                return

    def _take(self) -> list:
        """Everything queued, then the trainer's loop state if it changed: a pause is
        reported after the last step before it."""
        trainer = self._trainer
        state = getattr(trainer, "state", None)
        batch = []
        while self._outbox:
            batch.append(self._outbox.popleft())
        if trainer is not None and state in ("running", "paused") and state != self._state:
            self._state = state
            batch.append(("state", state, trainer.step))
        return batch


def _frame(batch: list) -> bytes:
    """The batch as one frame; a message that cannot be encoded (a bug) is replaced by a
    warning that says why, and the rest still goes (an "end" lost would hang the window)."""
    try:
        return wire.encode(batch)
    except wire.WireError:
        pass
    kept = []
    for m in batch:
        try:
            wire.encode(m)
            kept.append(m)
        except wire.WireError as exc:
            kept.append(("warning", f"the training process could not send a "
                                    f"{type(m).__name__}: {exc}"))
    return wire.encode(kept)


def lower_priority(nice: int = NICE) -> None:
    """Lower the priority of every thread of this process. Threads started later (Numba's
    workers) inherit it from the thread that starts them; NumPy's BLAS threads started
    as `compute` was imported, so each thread is reniced by itself where Linux allows it
    (there, nice is per thread)."""
    tids = []
    if sys.platform.startswith("linux"):
        try:
            tids = [int(t) for t in os.listdir("/proc/self/task")]
        except OSError:
            tids = []
    for tid in tids or [0]:
        try:
            if os.getpriority(os.PRIO_PROCESS, tid) < nice:
                os.setpriority(os.PRIO_PROCESS, tid, nice)
        except (OSError, AttributeError):      # ended meanwhile, not allowed, no such call
            continue
        as_batch(tid)


def as_batch(tid: int) -> None:
    """Mark a thread as batch work (Linux's SCHED_BATCH, kept by the threads it starts):
    the scheduler then never lets it take a core from the window's thread as it wakes,
    and it still gets all the CPU the window leaves (its nice value unchanged)."""
    policy = getattr(os, "SCHED_BATCH", None)
    if policy is None:
        return
    try:
        if os.sched_getscheduler(tid) != policy:
            os.sched_setscheduler(tid, policy, os.sched_param(0))
    except OSError:                             # ended meanwhile, or not allowed
        pass


def main() -> int:
    lower_priority()
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")   # the frames' own channel
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())    # stray prints go to stderr
    sys.stdout = sys.stderr
    warm_up()                 # Numba's start-up now, while the window waits for nothing
    Host(out).serve(sys.stdin.buffer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
