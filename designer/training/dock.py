"""The training dock: run controls and progress on top, data and settings below.

Buttons are bound to the window's Train actions (the same QActions as the menu and the
toolbar, so their enabled/checked states agree everywhere). The banner shows what the
run ended with — the trainer's own message when it diverged or failed — and stays until
the next run; the document is never touched by a failure.
"""
from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QDockWidget, QGridLayout, QLabel, QProgressBar,
                               QScrollArea, QSizePolicy, QTabWidget, QToolButton, QVBoxLayout,
                               QWidget)

from .sections import DataSection
from .settings import TrainingSection

BANNER_STYLES = {
    "error": "background: #fde8eb; color: #8a1c2b; border: 1px solid #d0455b;",
    "warning": "background: #fff4dc; color: #6b4b00; border: 1px solid #e8a317;",
    "info": "background: #e8f0fd; color: #1d3d73; border: 1px solid #9db8e8;",
}


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class TrainingDock(QDockWidget):
    def __init__(self, session, actions: dict, parent: QWidget | None = None) -> None:
        super().__init__("Training", parent)
        self.setObjectName("dock_Training")
        self.session = session
        self.actions = actions
        body = QWidget()
        lay = QVBoxLayout(body)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(self._buttons())
        self.continue_box = QCheckBox("continue from the current weights")
        self.continue_box.setToolTip("start from the weights of the last run (or the saved "
                                     "weights file) instead of a fresh initialisation")
        lay.addWidget(self.continue_box)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("idle")
        lay.addWidget(self.progress)
        self.status = QLabel("Press Train to start.")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.banner.setMargin(6)
        self.banner.hide()
        lay.addWidget(self.banner)
        self.evaluation = QLabel()
        self.evaluation.setWordWrap(True)
        lay.addWidget(self.evaluation)
        self.tabs = QTabWidget()
        self.data = DataSection(session.document)
        self.training = TrainingSection(session.document)
        self.tabs.addTab(_scroll(self.data), "Data")
        self.tabs.addTab(_scroll(self.training), "Settings")
        lay.addWidget(self.tabs, 1)
        self.setWidget(body)
        self.data.preview.shown.connect(
            lambda ds: self.training.set_train_samples(len(ds.x_train) if ds else None))
        session.message.connect(self.show_message)
        session.updated.connect(lambda _k: self._progress())
        session.run_started.connect(self._run_started)
        session.run_finished.connect(lambda _r: self._finished())
        session.weights_changed.connect(self._weights)
        session.document.graph_changed.connect(self._weights)
        session.document.path_changed.connect(self._weights)
        self._last_progress = 0.0
        self._weights()

    def _buttons(self) -> QGridLayout:
        grid = QGridLayout()
        self.buttons = {}
        for i, key in enumerate(("train", "pause", "stop", "reset")):
            b = QToolButton()
            b.setDefaultAction(self.actions[key])
            b.setToolButtonStyle(Qt.ToolButtonTextOnly)
            b.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
            grid.addWidget(b, 0, i)
            self.buttons[key] = b
        return grid

    # -- progress --------------------------------------------------------------------------
    def _run_started(self, run) -> None:
        if run is None:                      # another project: nothing run yet
            self.progress.setMaximum(100)
            self.progress.setValue(0)
            self.progress.setFormat("idle")
            self.status.setText("Press Train to start.")
            return
        self._progress(force=True)

    def _progress(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_progress < 0.1:     # text at most 10 times a second
            return
        self._last_progress = now
        run = self.session.current
        if run is None:
            return
        total = run.total_steps
        if total:
            self.progress.setMaximum(total)
            self.progress.setValue(min(run.step, total))
        else:
            self.progress.setMaximum(0)          # busy indicator while building
        state = self.session.state
        label = {"starting": "building the model and loading data…", "paused": "paused",
                 "stopping": "stopping…"}.get(state)
        if run.started is None:
            self.progress.setFormat(label or "starting…")
            return
        if run.compiling is not None and state == "running":
            c = run.compiling
            self.progress.setMaximum(0)          # busy: how many kernels remain is unknown
            self.progress.setFormat("compiling kernels…")
            self.status.setText(
                f"Compiling {c.kernel} ({c.count} kernels, {c.seconds:.0f} s). Numba compiles "
                "what a network needs on its first run on this machine and caches it: later "
                "runs start at once.")
            return
        self.progress.setFormat(f"{label} · %p%" if label else "%p%")
        last = run.epochs[-1] if run.epochs else {}
        val = ""
        if "val_accuracy" in last:
            val = f" · val accuracy {100 * last['val_accuracy']:.1f}%"
        elif "val_loss" in last:
            val = f" · val loss {last['val_loss']:.4g}"
        eta = run.eta_seconds() if run.running else None
        self.status.setText(
            f"epoch {run.epoch}/{run.started.epochs} · step {run.step}/{total} · "
            f"{run.samples_per_s:,.0f} samples/s · ETA {fmt_duration(eta)}{val}")

    def _finished(self) -> None:
        self._progress(force=True)
        run = self.session.current
        if run is not None and run.wall_end is not None:
            took = fmt_duration(run.wall_end - run.wall_start)
            self.status.setText(self.status.text().split(" · ETA")[0] + f" · took {took}")

    def show_message(self, text: str, level: str) -> None:
        self.banner.setVisible(bool(text))
        self.banner.setText(text)
        self.banner.setStyleSheet(BANNER_STYLES.get(level, BANNER_STYLES["info"]))

    def _weights(self) -> None:
        s = self.session
        ev = s.evaluation
        lines = []
        if ev:
            parts = [f"{k.replace('val_', '')} {100 * v:.2f}%" if k.endswith("accuracy")
                     else f"{k.replace('val_', '')} {v:.4g}" for k, v in ev.items()]
            where = "validation set" if any(k.startswith("val_") for k in ev) else "training set"
            lines.append(f"Final weights on the {where}: " + ", ".join(parts))
        if s.model is not None:
            if s.weights_file is not None and not s._pending_save:
                lines.append(f"Weights saved to {s.weights_file.name}")
            else:
                lines.append("Weights kept in memory; saving the project saves them too")
        elif s.saved_weights() is not None:
            lines.append(f"Saved weights: {s.saved_weights().name}")
        self.evaluation.setText("\n".join(lines))
        can = s.can_continue()
        self.continue_box.setEnabled(can)
        if not can:
            self.continue_box.setChecked(False)


def _scroll(widget: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.NoFrame)
    return area
