"""A window's training session: runs the trainer, keeps the runs, paces the redraws.

The session is the one object the dock, the panels and the canvas overlay listen to:
`run_started(run)`, `updated(kinds)` after each batch of events, `findings_changed(list)`,
`message(text, level)` for what the window must show, and `state_changed(state)`.

While a run is on, the frame clock redraws the views (panels, canvas tint; see `add_view`)
one per tick, in turn, each at the rate it allows itself: a view's redraw and the repaint it causes
make one short turn of the event loop, rather than every panel's in one long one
(measured: a wide loss panel alone repaints in 15-25 ms). When a run ends, the views
catch up the same way, one per turn. With no run, once QUIET_TICKS ticks in a row had
nothing to redraw, the ticks make the panels' plots ahead (`panels.spares`).
The run itself trains in a host process (see `worker`); after it, the session keeps the
trained model (rebuilt here from the arrays the host sends) with its validation metrics,
and saves its weights beside the project file, on a thread of its own: a save ends with
two fsyncs, found in a 69 ms frame at a run's end when it ran on the window's thread.
"""
from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from compute.errors import NetwrightError
from compute.events import Finished
from compute.model import build_model
from compute.project import Project
from compute.training.host import SNAPSHOTS_PER_S, load_initial
from compute.weights import model_arrays, save_weights

from ..panels.spares import spares
from . import diagnosis
from .history import RunHistory
from .runs import RunStore
from .worker import RunResult, TrainingWorker

TICK_MS = 20                      # the frame clock: one view redrawn per tick at most
IDLE_TICKS = 25                   # ticks with nothing to redraw before the clock stops
# ticks with nothing to redraw before spare plots are made: a run's end (its catch-up and
# keeping its result) first, then the spares, each of them 20-30 ms beside other work
QUIET_TICKS = 10
DIAGNOSIS_INTERVAL = 0.5          # seconds between two diagnoses while training


def weights_path(project_path: Path | None) -> Path | None:
    """Where a project's trained weights live: `name.weights.npz` beside `name.netw`."""
    if project_path is None:
        return None
    return Path(project_path).with_name(Path(project_path).stem + ".weights.npz")


class TrainingSession(QObject):
    run_started = Signal(object)
    updated = Signal(object)              # the set of event kinds just filed
    run_finished = Signal(object)
    findings_changed = Signal(object)     # list of diagnosis.Finding
    message = Signal(str, str)            # text, level ("error", "warning", "info")
    state_changed = Signal(str)
    weights_changed = Signal()
    _saved = Signal(object, object, str)  # from the saver's thread: model, file, error

    def __init__(self, document, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.runs = RunStore()
        self.worker = TrainingWorker(self)
        self.worker.events.connect(self._on_events)
        self.worker.failed.connect(self._on_failed)
        self.worker.warned.connect(lambda text: self.message.emit(text, "warning"))
        self.worker.done.connect(self._on_done)
        self.worker.state_changed.connect(self.state_changed)
        self.findings: list[diagnosis.Finding] = []
        self.model = None                   # the last trained model (weights to keep)
        self.model_graph: dict | None = None
        self.evaluation: dict[str, float] | None = None
        self.weights_file: Path | None = None
        self._pending_save = False         # trained weights not yet in the file
        self._saver = ThreadPoolExecutor(1, thread_name_prefix="netwright-save-weights")
        self._saving = False                # a save is on the saver's thread
        self._saved.connect(self._on_saved)
        self._last_diagnosis = 0.0
        self.views: list = []             # what the frame clock redraws, in turn
        self._next_view = 0
        self._project: Project | None = None     # the project of the run going on
        self._clock = QTimer(self)
        self._clock.setInterval(TICK_MS)
        self._clock.timeout.connect(self._tick)
        self._clock.start()         # spare plots while the new window is idle
        self._idle_frames = 0
        self._forget_runs = False
        self.settling = False       # a run's thread ended; the window still takes it in
        self.frame_cost = 0.0
        document.path_changed.connect(self._on_document_saved)
        if hasattr(document, "project_replaced"):
            document.project_replaced.connect(self._on_project_replaced)

    # -- state ---------------------------------------------------------------------------
    @property
    def current(self) -> RunHistory | None:
        return self.runs.current

    @property
    def state(self) -> str:
        return self.worker.state

    @property
    def busy(self) -> bool:
        return self.worker.busy

    def frame_clock_running(self) -> bool:
        """Whether the frame clock ticks: a run, views to catch up, or spare plots to
        make (it stops after QUIET_TICKS + IDLE_TICKS ticks with nothing to do)."""
        return self._clock.isActive()

    def saved_weights(self) -> Path | None:
        """The weights file beside the project, if there is one."""
        p = weights_path(self.document.path)
        return p if p is not None and p.exists() else None

    def can_continue(self) -> bool:
        graph = self.document.project.graph.to_dict()
        return (self.model is not None and self.model_graph == graph) or \
            self.saved_weights() is not None

    # -- control ---------------------------------------------------------------------------
    def start(self, continue_weights: bool = False) -> RunHistory | None:
        """Train the document's project as it is now, in the host process."""
        if self.busy:
            return None
        try:
            project = Project.from_dict(self.document.project.to_dict(), self.document.path)
        except NetwrightError as exc:       # shown in the window, never only on stderr
            self.message.emit(str(exc), "error")
            return None
        run = self.runs.new_run(project.to_dict())
        initial = self._initial_weights() if continue_weights else None
        self.findings = []
        self.findings_changed.emit([])
        self.run_started.emit(run)
        self.message.emit("", "info")
        self._idle_frames = 0
        self._clock.start()
        self._project = project
        path = self.document.path
        self.worker.start({"project": project.to_dict(),
                           "path": None if path is None else str(Path(path).resolve()),
                           "initial": str(initial) if isinstance(initial, Path) else initial,
                           "snapshots_per_s": SNAPSHOTS_PER_S})
        return run

    def pause(self) -> None:
        self.worker.pause()

    def resume(self) -> None:
        self.worker.resume()

    def stop(self) -> None:
        self.worker.stop()

    def reset_weights(self) -> None:
        """Forget the trained weights: the next run starts from the seed's initialisation."""
        self._forget_weights()
        self.message.emit("Weights reset: the next run starts from a fresh initialisation",
                          "info")

    def _forget_weights(self) -> None:
        self.model = None
        self.model_graph = None
        self.evaluation = None
        self._pending_save = False
        self.weights_changed.emit()

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop a run and wait for its end and for a save of weights (closing the window)."""
        if self.busy:
            self.worker.stop()
            self.worker.wait(timeout)
        self._clock.stop()
        self._saver.shutdown(wait=True)

    def _initial_weights(self):
        graph = self.document.project.graph.to_dict()
        if self.model is not None and self.model_graph == graph:
            return model_arrays(self.model)         # sent (copied) as the run starts
        return self.saved_weights()

    # -- events from the worker (GUI thread) -----------------------------------------------
    def _on_events(self, events: list) -> None:
        run = self.current
        if run is None:
            return
        kinds: set[str] = set()
        for ev in events:
            if isinstance(ev, RunResult):     # building the model: a turn of its own
                QTimer.singleShot(0, self, lambda ev=ev: self._keep_result(run, ev))
                kinds.add("result")
                continue
            kinds.add(run.handle(ev))
            if isinstance(ev, Finished):
                self._on_finished(run, ev)
        self.updated.emit(kinds)
        self._idle_frames = 0
        if not self._clock.isActive():
            self._clock.start()

    def _on_finished(self, run: RunHistory, ev: Finished) -> None:
        if ev.reason in ("diverged", "error"):
            self.message.emit(ev.message, "error")
        else:
            self.message.emit(_finished_text(ev), "info")

    def _keep_result(self, run: RunHistory, result: RunResult) -> None:
        model = build_model(self._project.graph, seed=0, dtype=np.float32)
        try:
            load_initial(model, result.arrays)       # every array, checked: the trained ones
        except NetwrightError as exc:
            self.message.emit(f"could not keep the trained weights: {exc}", "error")
            return
        self.model, self.model_graph = model, result.graph
        self.evaluation = result.evaluation
        run.evaluation = result.evaluation
        self._pending_save = True
        self.weights_changed.emit()
        QTimer.singleShot(0, self, self._save_weights)     # file I/O: a turn of its own

    def _on_failed(self, text: str, details: str) -> None:
        if details:                 # a traceback: for a bug report (the text is shown)
            sys.stderr.write(details)
        run = self.current
        if run is not None and run.error is None:
            run.error = text
            if run.finished is None or run.finished.reason != "error":
                run.wall_end = time.monotonic()
        self.message.emit(text, "error")
        self.updated.emit({"error"})

    def _on_done(self) -> None:
        run = self.current
        if run is not None and run.finished is None and run.error is None:
            run.error = "training ended without a result"

        def this_run(step):     # skipped if another run began meanwhile
            return lambda: self.current is run and step()

        def settled():
            if self._forget_runs:
                self._clear_runs()
            self.settling = False
        self.settling = True
        self._in_turns(this_run(lambda: self._diagnose(force=True)),
                       this_run(lambda: self.run_finished.emit(run)),
                       this_run(self._catch_up_gradually), settled)

    def _in_turns(self, *steps) -> None:
        """Run `steps` one per turn of the event loop, from the next, so that frames are
        drawn between them and after the turn that asked (done all at once, the end of a
        run cost one 50-60 ms frame; its first step in the turn that brought the host's
        last events, with them, 51-83 ms frames)."""
        if not steps:
            return
        first, *rest = steps

        def turn() -> None:
            first()
            self._in_turns(*rest)
        QTimer.singleShot(0, self, turn)

    def add_view(self, view) -> None:
        """Register something the frame clock redraws: `view.refresh(paced=True)` redraws
        it if it is stale, visible and not redrawn too recently (its own pace), and returns
        whether it did; `paced=False` skips only the pace."""
        self.views.append(view)
        view.destroyed.connect(lambda *_: self.views.remove(view)
                               if view in self.views else None)

    def _catch_up(self) -> None:
        """Every stale view redraws now (the runs were cleared: show it at once)."""
        for view in list(self.views):
            view.refresh(paced=False)

    def _catch_up_gradually(self) -> None:
        """Every stale view redraws, one per turn of the event loop (a run ended). A view
        redraws only if stale, so a second catch-up meanwhile costs nothing twice."""
        self._in_turns(*(lambda v=view: v in self.views and v.refresh(paced=False)
                         for view in list(self.views)))    # (not destroyed meanwhile)

    def _tick(self) -> None:
        start = time.perf_counter()
        drew = self._draw_one()
        QTimer.singleShot(0, lambda: self._paced(start))
        if self.busy:
            self._diagnose()
        elif drew:
            self._idle_frames = 0
        elif self._idle_frames < QUIET_TICKS or not spares.make_one():  # plots made ahead
            self._idle_frames += 1
            if self._idle_frames > QUIET_TICKS + IDLE_TICKS:
                self._clock.stop()

    def _draw_one(self) -> bool:
        """Redraw the next view (in turn) that wants it; True if one did."""
        views = self.views
        for i in range(len(views)):
            k = (self._next_view + i) % len(views)
            if views[k].refresh():
                self._next_view = k + 1
                return True
        return False

    def _paced(self, start: float) -> None:
        """After a tick's redraw (and the repaint it queued): leave the event loop at least
        as much idle time as the tick took, so input never waits long behind drawing."""
        cost = time.perf_counter() - start
        self.frame_cost = cost
        self._clock.setInterval(int(1000 * min(max(TICK_MS / 1000, 2 * cost), 0.5)))

    def _diagnose(self, force: bool = False) -> None:
        run = self.current
        now = time.monotonic()
        if run is None or (not force and now - self._last_diagnosis < DIAGNOSIS_INTERVAL):
            return
        self._last_diagnosis = now
        findings = diagnosis.diagnose(run, final=not run.running)
        if run.error and not any(f.kind == "diverged" for f in findings):
            findings.insert(0, diagnosis.Finding("error", "error", _error_node(run),
                                                 "Training failed", run.error,
                                                 "fix what the message names, then train again"))
        if findings != self.findings:
            self.findings = findings
            self.findings_changed.emit(findings)

    # -- weights with the project -----------------------------------------------------------
    def _save_weights(self) -> None:
        """Write the trained weights beside the project once the file matches them."""
        doc = self.document
        target = weights_path(doc.path)
        if not self._pending_save or self.model is None or target is None:
            return
        if doc.is_dirty() or doc.project.graph.to_dict() != self.model_graph:
            return          # saved when the project is saved (see _on_document_saved)
        if self._saving:
            return          # _on_saved looks again once that save is done
        try:
            self._saver.submit(self._write_weights, self.model, target)
        except RuntimeError:        # the window has closed: no more saves
            return
        self._saving = True

    def _write_weights(self, model, target: Path) -> None:
        """On the saver's thread (the model's arrays are never changed once kept)."""
        try:
            save_weights(model, target)
            error = ""
        except Exception as exc:    # shown in the window, whatever it is
            error = str(exc) if isinstance(exc, (NetwrightError, OSError)) else repr(exc)
        try:
            self._saved.emit(model, target, error)      # queued to the window's thread
        except RuntimeError:        # the session is gone: the window closed meanwhile
            pass

    def _on_saved(self, model, target: Path, error: str) -> None:
        self._saving = False
        current = model is self.model and target == weights_path(self.document.path)
        if error:       # still pending: saving the project tries again
            self.message.emit(f"could not save the weights: {error}", "error")
        elif current:
            self._pending_save = False
            self.weights_file = target
            self.weights_changed.emit()
        if not current:     # newer weights, or the project took a new name meanwhile
            self._save_weights()

    def _on_document_saved(self) -> None:
        if self._pending_save:
            self._save_weights()

    def _on_project_replaced(self) -> None:
        """Another project was opened in this window: its runs and weights start afresh."""
        self._forget_weights()
        if self.busy:
            self._forget_runs = True        # once the run has stopped (see _on_done)
            self.stop()
        else:
            self._clear_runs()

    def _clear_runs(self) -> None:
        self._forget_runs = False
        self.runs.runs.clear()
        self.findings = []
        self.findings_changed.emit([])
        self.run_started.emit(None)         # panels and overlay: nothing to show
        self.message.emit("", "info")
        self._catch_up()


def _finished_text(ev: Finished) -> str:
    last = ev.history[-1] if ev.history else {}
    parts = [ev.message[0].upper() + ev.message[1:] if ev.message else ev.reason]
    for key, label in (("val_accuracy", "validation accuracy"), ("val_loss", "validation loss"),
                       ("val_r2", "validation R²")):
        if isinstance(last.get(key), float) and np.isfinite(last[key]):
            v = last[key]
            parts.append(f"{label} {100 * v:.1f}%" if key == "val_accuracy" else
                         f"{label} {v:.4g}")
    return "; ".join(parts)


def _error_node(run: RunHistory) -> str | None:
    return diagnosis._named_node(run.error or "", run.node_types or _graph_ids(run)) \
        or run.output_node


def _graph_ids(run: RunHistory) -> list[str]:
    return [n["id"] for n in (run.settings.get("graph") or {}).get("nodes", [])]


__all__ = ["TrainingSession", "RunResult", "weights_path"]
