"""The trainer: the loop that turns a project into trained weights, and tells the world.

One `Trainer` runs once. It builds the model and loads the data when constructed (so bad
input fails before anything starts), then `run()` trains, delivering `compute.events`
objects to its callbacks on the calling thread: `RunStarted`, a `Snapshot` of the
initial model, a `StepEnd` per step with an `EpochEnd` after each epoch and a `Snapshot`
every `snapshot_every` steps, then a last `Snapshot` and one `Finished`.

Per step the trainer does no work proportional to the dataset and copies no arrays;
copies are made only for snapshots and once per epoch (the last good weights, which a
diverging run falls back to, and the best weights when early stopping restores them).
Diagnostics (per-layer gradient norms and activation statistics) are computed every
`diagnostics_every` steps (default DIAGNOSTICS_EVERY), counted in steps and never in
seconds, so that every run (the window, the CLI, a script) takes the same path through
the model at the same steps and the same seed gives bit-identical weights.
Snapshots, probes and evaluation restore the model's random generator afterwards: the
same project and seed give bit-identical weights however often anyone looks.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from ..data import load_dataset, make_augmenter
from ..events import Compiling, EpochEnd, Finished, RunStarted, Snapshot, StepEnd
from ..kernels.runtime import compile_reports
from ..model import Model, Regularization, build_model
from ..optimizers import clip_gradients, make_optimizer, make_schedule
from ..project import Project, resolve_data, resolve_training
from . import divergence
from .checkpoints import all_finite, call_probe, copy_arrays, restore, same_rng
from .feed import Feed
from .metrics import Metrics, evaluate, metric_kind
from .runfolder import RunFolder
from .setup import as_trained, check_fit, check_graph, overridden

Callback = Callable[[Any], None]
DIAGNOSTICS_EVERY = 10          # steps between two diagnostic steps by default
EVAL_BATCH = 256
STEP_LINES_PER_EPOCH = 25       # step events written to metrics.jsonl per epoch, at most


@dataclass
class History:
    """What a run produced: one metrics dict per epoch and how it ended."""

    epochs: list[dict[str, float]] = field(default_factory=list)
    reason: str = ""                # completed, stopped, early_stopped, diverged, error
    message: str = ""
    best_epoch: int | None = None
    run_dir: Path | None = None
    model: Model | None = field(default=None, repr=False, compare=False)

    def __getitem__(self, metric: str) -> list[float | None]:
        """One metric over the epochs, e.g. ``history["val_loss"]``."""
        return [e.get(metric) for e in self.epochs]

    @property
    def last(self) -> dict[str, float]:
        return self.epochs[-1] if self.epochs else {}


class _Diverged(Exception):
    pass


class Trainer:
    """Trains a project's network on its data. Build it, then call `run()` once.

    `epochs`, `batch_size`, `lr` and `seed` override the project's training settings
    (the run folder's project.netw records them). `probes` maps names to functions of
    the model evaluated at each snapshot (on the training thread); a probe that raises
    gives its exception as its result and the run goes on. `stop()`, `pause()` and
    `resume()` may be called from any thread; the loop honours them between steps.
    """

    def __init__(self, project: Project, callbacks: Iterable[Callback] = (),
                 probes: dict[str, Callable[[Model], Any]] | None = None,
                 run_dir: str | Path | None = None, epochs: int | None = None,
                 batch_size: int | None = None, lr: float | None = None,
                 seed: int | None = None, snapshot_every: int | None = None,
                 diagnostics_every: int | None = None, snapshot_samples: int = 16) -> None:
        self.project = project
        self.callbacks = list(callbacks)
        self.probes = dict(probes or {})
        self.run_dir = Path(run_dir) if run_dir is not None else None
        raw = overridden(project.training, epochs, batch_size, lr, seed)
        self.settings = resolve_training(raw)
        self.data_settings = resolve_data(project.data)
        s, d = self.settings, self.data_settings
        self.epochs, self.seed = s["epochs"], s["seed"]
        self.model = build_model(project.graph, seed=self.seed, dtype=np.float32,
                                 regularization=Regularization(**s["regularization"]))
        check_graph(self.model)
        self.dataset, self.feed = self._load_data()
        out = self.model.output_ids[0]
        self.kind = metric_kind(self.model.layers[out].cfg["loss"], d["target"])
        self.task = "reconstruction" if d["target"] == "input" else self.dataset.task
        check_fit(self.model, self.dataset, self.feed, self.task)
        self.optimizer = make_optimizer(s["optimizer"])
        self.schedule = make_schedule(s["schedule"], self.optimizer.lr, self.epochs,
                                      self.feed.steps_per_epoch)
        self.clip = s["gradient_clip"] or {}
        self.early_stopping = s["early_stopping"]
        self.snapshot_every = s["snapshot_every"] if snapshot_every is None else snapshot_every
        self.diagnostics_every = diagnostics_every
        self.as_trained = as_trained(project, raw)
        self._snap_x, self._snap_t = self.feed.samples(snapshot_samples)
        self._params = self.model.parameters()
        self._arrays = [a for _, _, a in self._params]
        self._stop = threading.Event()
        self._go = threading.Event()
        self._go.set()
        self._started = False
        self.state = "ready"        # ready, running, paused, finished
        self.step = 0               # optimisation steps done
        self.epoch = 0              # the epoch running (from 1)

    def _load_data(self):
        s, d = self.settings, self.data_settings
        dataset = load_dataset(d, self.project.base_dir, self.seed)
        augment = (make_augmenter(d["augmentation"], dataset.input_shape,
                                  input_dtype=dataset.input_dtype)
                   if d["augmentation"] else None)
        feed = Feed(dataset, d["target"], d["input_noise"], s["batch_size"], self.seed,
                    augment, shuffle=s["shuffle"])
        return dataset, feed

    # -- control from other threads ---------------------------------------------------
    def stop(self) -> None:
        """Ask the run to end after the current step (also wakes a paused run)."""
        self._stop.set()
        self._go.set()

    def pause(self) -> None:
        """Ask the run to wait before its next step, until `resume()` or `stop()`."""
        self._go.clear()

    def resume(self) -> None:
        self._go.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _may_continue(self) -> bool:
        """Between two steps: wait while paused; False once a stop was asked for."""
        if not self._go.is_set() and not self._stop.is_set():
            self.state = "paused"
            start = time.perf_counter()
            self._go.wait()
            self._paused += time.perf_counter() - start
            self.state = "running"
        return not self._stop.is_set()

    # -- the run ----------------------------------------------------------------------
    def run(self) -> History:
        """Train until done; returns the history (also when stopped or diverged).

        An unexpected exception (or a `NetwrightError` such as unreadable data) is
        reported as `Finished("error")` and then raised.
        """
        if self._started:
            raise RuntimeError("a Trainer runs once; build a new one to train again")
        self._started = True
        self.state = "running"
        self.history = History(run_dir=self.run_dir, model=self.model)
        self._folder: RunFolder | None = None
        self._best: float | None = None
        self._best_weights: dict[str, np.ndarray] | None = None
        self._wait = 0
        self._good: tuple[int, dict[str, np.ndarray]] = (0, copy_arrays(self.model))
        self._paused = 0.0
        self._ended = False
        self._compiles, self._compiling_since = 0, 0.0    # kernels compiled in this run
        self._thread = threading.get_ident()
        try:
            # overflow is expected when a run diverges: the trainer detects and reports it
            with np.errstate(all="ignore"), compile_reports(self._compiling):
                try:
                    self._start()
                    reason, message = self._train()
                except _Diverged as exc:
                    reason, message = "diverged", str(exc)
                self._finish(reason, message)
        except BaseException as exc:
            if not self._ended:
                self._fail(exc)
            raise
        return self.history

    def _start(self) -> None:
        if self.run_dir is not None:
            self._folder = RunFolder(self.run_dir)
            self._folder.save_project(self.as_trained)
        event = RunStarted(self.project.name, self.model.summary(), self.epochs,
                           self.feed.steps_per_epoch, self.feed.n, len(self.feed.x_val),
                           self.task)
        self._log({"event": "run_started", "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
                   "project": event.project_name, "dataset": self.dataset.name,
                   "epochs": event.epochs, "steps_per_epoch": event.steps_per_epoch,
                   "train_samples": event.train_samples, "val_samples": event.val_samples,
                   "task": event.task, "settings": self.settings, "summary": event.summary},
                  flush=True)
        self._emit(event)
        self._load_kernels()
        self._snapshot(1)

    def _load_kernels(self) -> None:
        """Run one training step with diagnostics and one inference pass on two samples,
        then undo them (weights, layer state, random generator). The kernels the run needs
        load, or compile with progress reported, now, before the first snapshot: the first
        steps' times (samples/s) then measure training, not loading. A failure here is left
        to the real step to report.
        """
        m = self.model
        saved = copy_arrays(m)
        x, t = self._snap_x[:2], self._snap_t[:2]
        with same_rng(m):
            try:
                m.loss_and_grads(x, t, diagnostics=True)
                m.forward(x, training=False)
            except Exception:       # the first real step raises it again, with its context
                pass
            finally:
                restore(m, saved)

    def _train(self) -> tuple[str, str]:
        for e in range(self.epochs):
            self.epoch = e + 1
            if not self._run_epoch(e) or not self._end_epoch(e):
                return "stopped", f"stopped at epoch {e + 1}, step {self.step}"
            es = self.early_stopping
            if es is not None and self._wait >= es["patience"]:
                return "early_stopped", (
                    f"early stopping after epoch {e + 1}: the validation loss did not improve "
                    f"by more than {es['min_delta']:g} for {es['patience']} epochs")
        return "completed", f"completed {self.epochs} epochs"

    def _run_epoch(self, e: int) -> bool:
        self._metrics = Metrics(self.kind)
        self._loss_sum, self._seen = 0.0, 0
        self._epoch_start = time.perf_counter()
        self._paused = 0.0
        for xb, tb in self.feed.epoch():
            if not self._may_continue():
                return False
            self._train_step(e, xb, tb)
        return True

    def _train_step(self, e: int, xb: np.ndarray, tb: np.ndarray) -> None:
        m = self.model
        lr = float(self.schedule(e, self.step))
        self.optimizer.lr = lr
        diag = self._diagnose_now()
        try:
            loss, grads = m.loss_and_grads(xb, tb, diagnostics=diag)
        except ArithmeticError:         # a kernel dividing by a zero that overflow made
            raise _Diverged(self._diverged(e, math.nan, None, lr, xb)) from None
        flat = Model.flat_grads(grads, self._params)
        norm = clip_gradients(flat, norm=self.clip.get("norm"), value=self.clip.get("value"))
        if not (math.isfinite(loss) and math.isfinite(norm)):
            raise _Diverged(self._diverged(e, loss, grads, lr))
        self.optimizer.step(self._arrays, flat)
        self.step += 1
        n = len(xb)
        self._loss_sum += loss * n
        self._seen += n
        self._metrics.update(m.values[m.output_ids[0]], tb)
        elapsed = time.perf_counter() - self._epoch_start - self._paused
        info = m.diagnostics if diag else {}
        self._emit(StepEnd(e + 1, self.step, loss, lr, self._seen / max(elapsed, 1e-9),
                           info.get("grad_norms", {}), info.get("activations", {})))
        if self._folder is not None and self.step % self._log_every() == 0:
            self._log({"event": "step", "epoch": e + 1, "step": self.step, "loss": loss,
                       "lr": lr})
        if self.snapshot_every and self.step % self.snapshot_every == 0:
            self._snapshot(e + 1)

    def _diagnose_now(self) -> bool:
        return self.step % (self.diagnostics_every or DIAGNOSTICS_EVERY) == 0

    def _log_every(self) -> int:
        return max(1, self.feed.steps_per_epoch // STEP_LINES_PER_EPOCH)

    def _diverged(self, e: int, loss: float, grads: dict | None, lr: float,
                  x: np.ndarray | None = None) -> str:
        """Name the place, keep the last good weights, and say what to try."""
        finite = all_finite(self.model)
        kept = self.step if finite else self._good[0]
        msg = divergence.message(self.model, grads, loss, e + 1, self.step + 1, lr, kept, x)
        if not finite:
            restore(self.model, self._good[1])
        return msg

    def _end_epoch(self, e: int) -> bool:
        """Validation, best weights, EpochEnd and checkpoints; False if stopped meanwhile."""
        metrics = {"loss": self._loss_sum / max(self._seen, 1), **self._metrics.result()}
        if self.feed.has_validation:
            try:
                val = evaluate(self.model, self.feed.x_val, self.feed.t_val, self.kind,
                               max(EVAL_BATCH, self.feed.batch_size), self._stop.is_set,
                               "val_")
            except ArithmeticError:
                raise _Diverged(self._diverged(e, math.nan, None, self.optimizer.lr,
                                               self.feed.x_val[:EVAL_BATCH])) from None
            if val is None:
                return False
            metrics.update(val)
        metrics["lr"] = self.optimizer.lr
        metrics["seconds"] = time.perf_counter() - self._epoch_start - self._paused
        self._track_best(e, metrics)
        self.history.epochs.append({"epoch": e + 1, **metrics})
        self._log({"event": "epoch_end", "epoch": e + 1, "step": self.step, **metrics})
        if self._folder is not None:
            self._folder.save_weights(self.model, "last.npz")
        self._emit(EpochEnd(e + 1, self.step, dict(metrics)))
        return True

    def _track_best(self, e: int, metrics: dict[str, float]) -> None:
        monitor = metrics.get("val_loss", metrics["loss"])
        es = self.early_stopping
        delta = es["min_delta"] if es is not None else 0.0
        self._good = (self.step, copy_arrays(self.model))
        if math.isfinite(monitor) and (self._best is None or monitor < self._best - delta):
            self._best, self._wait, self._best_step = monitor, 0, self.step
            self.history.best_epoch = e + 1
            if es is not None:
                self._best_weights = self._good[1]
            if self._folder is not None:
                self._folder.save_weights(self.model, "best.npz")
        else:
            self._wait += 1

    # -- snapshots and events -----------------------------------------------------------
    def _snapshot(self, epoch: int) -> None:
        """Activations of every node for the fixed samples, weight copies, probe results."""
        m = self.model
        with same_rng(m):
            try:
                m.forward(self._snap_x, training=False)
            except ArithmeticError:     # overflowing weights: the next step reports it
                return
            acts = {n: np.array(v, copy=True) for n, v in m.values.items()}
            weights = {n: {k: v.copy() for k, v in p.items()} for n, p in m.params.items()}
            probes = {}
            for name, fn in self.probes.items():
                probes[name] = call_probe(fn, m)
        self._emit(Snapshot(epoch, self.step, self._snap_x.copy(), self._snap_t.copy(),
                            acts, weights, probes))

    def _compiling(self, kernel: str) -> None:
        """Numba began compiling a kernel; only this run's own thread's compiles count."""
        if threading.get_ident() != self._thread:
            return
        now = time.perf_counter()
        if not self._compiles:
            self._compiling_since = now
        self._compiles += 1
        self._emit(Compiling(kernel, self._compiles, now - self._compiling_since))

    def _emit(self, event) -> None:
        for cb in self.callbacks:
            cb(event)

    def _log(self, record: dict, flush: bool = False) -> None:
        if self._folder is not None:
            self._folder.log(record, flush=flush or record["event"] != "step")

    def _finish(self, reason: str, message: str) -> None:
        if self._folder is not None:
            self._folder.save_weights(self.model, "last.npz")
        if self._best_weights is not None and reason != "diverged" \
                and self._best_step != self.step:
            restore(self.model, self._best_weights)
            message += (f"; restored the best weights (epoch {self.history.best_epoch}, "
                        f"{'val_loss' if self.feed.has_validation else 'loss'} "
                        f"{self._best:.4g})")
        self.history.reason, self.history.message = reason, message
        self._snapshot(max(self.epoch, 1))
        self._end(Finished(reason, message, len(self.history.epochs),
                           self.history.best_epoch, [dict(e) for e in self.history.epochs]))

    def _fail(self, exc: BaseException) -> None:
        """Report an exception as Finished("error"); files already written stay."""
        text = str(exc) or type(exc).__name__
        message = text if isinstance(exc, Exception) else f"interrupted ({type(exc).__name__})"
        self.history.reason, self.history.message = "error", message
        try:
            self._end(Finished("error", message, len(self.history.epochs),
                               self.history.best_epoch,
                               [dict(e) for e in self.history.epochs]))
        except Exception:       # a callback failing again must not hide the first error
            pass

    def _end(self, event: Finished) -> None:
        self.state = "finished"
        self._ended = True
        if self._folder is not None:
            try:        # a full disk must not hide how the run ended
                self._log({"event": "finished", "reason": event.reason,
                           "message": event.message, "epochs_run": event.epochs_run,
                           "best_epoch": event.best_epoch, "steps": self.step})
                self._folder.close()
            except OSError:
                pass
        self._emit(event)

    # -- evaluation ---------------------------------------------------------------------
    def evaluate(self) -> dict[str, float]:
        """Loss and metrics of the current weights on the validation split (on the
        training split, without "val_" prefixes, when there is no validation split)."""
        f = self.feed
        if f.has_validation:
            x, t, prefix = f.x_val, f.t_val, "val_"
        else:
            x, t, prefix = f.x, (f.x if f.autoencoder else f.y), ""
        return evaluate(self.model, x, t, self.kind, max(EVAL_BATCH, f.batch_size),
                        prefix=prefix)


def train(project: Project, epochs: int | None = None, callbacks: Iterable[Callback] = (),
          **overrides: Any) -> History:
    """Train a project headless and return its history (see `Trainer` for overrides)."""
    return Trainer(project, callbacks=callbacks, epochs=epochs, **overrides).run()
