"""The editor of the project's "training" section: optimizer, schedule, loop, safety.

Each edit is one undo step through `document.set_section` (see `sections._Section`).
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout,
                               QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget)

from compute.optimizers import OPTIMIZERS, SCHEDULES
from compute.project import EARLY_STOPPING, REGULARIZATION, TRAINING_FIELDS, resolve_training

from .form import ParamForm
from .sections import _Section

MINIBATCH = 32


class TrainingSection(_Section):
    """Optimizer, schedule, batch size, epochs, regularization, clipping, early stopping."""

    section = "training"

    def __init__(self, document, parent: QWidget | None = None) -> None:
        super().__init__(document, parent)
        self.train_samples: int | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self._optimizer_box())
        lay.addWidget(self._loop_box())
        lay.addWidget(self._regularization_box())
        lay.addStretch(1)
        self.sync()

    def _optimizer_box(self) -> QGroupBox:
        box = QGroupBox("optimizer")
        v = QFormLayout(box)
        self.optimizer = QComboBox()
        self.optimizer.addItems(list(OPTIMIZERS))
        self.optimizer.currentTextChanged.connect(self._optimizer_chosen)
        v.addRow("type", self.optimizer)
        self.opt_form = ParamForm()
        self.opt_form.changed.connect(self._opt_param)
        v.addRow(self.opt_form)
        self.schedule = QComboBox()
        self.schedule.addItems(list(SCHEDULES))
        self.schedule.currentTextChanged.connect(self._schedule_chosen)
        v.addRow("lr schedule", self.schedule)
        self.sched_form = ParamForm()
        self.sched_form.changed.connect(self._sched_param)
        v.addRow(self.sched_form)
        return box

    def _loop_box(self) -> QGroupBox:
        box = QGroupBox("training loop")
        v = QVBoxLayout(box)
        self.loop = ParamForm(TRAINING_FIELDS)
        self.loop.changed.connect(self._loop_param)
        v.addWidget(self.loop)
        row = QHBoxLayout()
        row.addWidget(QLabel("batch:"))
        self.stochastic = QPushButton("Stochastic (1)")
        self.minibatch = QPushButton(f"Minibatch ({MINIBATCH})")
        self.full_batch = QPushButton("Full batch")
        for b, size in ((self.stochastic, lambda: 1), (self.minibatch, lambda: MINIBATCH),
                        (self.full_batch, self._full_batch_size)):
            b.clicked.connect(lambda _=False, size=size: self._loop_param("batch_size", size()))
            row.addWidget(b)
        v.addLayout(row)
        return box

    def _full_batch_size(self) -> int:
        """The training set's size when known (a larger value also means full batch)."""
        return int(self.train_samples) if self.train_samples else 100_000_000

    def _regularization_box(self) -> QGroupBox:
        box = QGroupBox("regularization and safety")
        v = QFormLayout(box)
        self.reg = ParamForm(REGULARIZATION)
        self.reg.changed.connect(self._reg_param)
        v.addRow(self.reg)
        clip_row = QHBoxLayout()
        self.clip_kind = QComboBox()
        self.clip_kind.addItems(["off", "norm", "value"])
        self.clip_kind.currentTextChanged.connect(lambda _: self._clip_changed())
        self.clip_value = QLineEdit()
        self.clip_value.setPlaceholderText("1.0")
        self.clip_value.editingFinished.connect(self._clip_changed)
        clip_row.addWidget(self.clip_kind)
        clip_row.addWidget(self.clip_value, 1)
        v.addRow("gradient clip", clip_row)
        self.early = QCheckBox("early stopping on validation loss (keeps the best epoch)")
        self.early.toggled.connect(self._early_toggled)
        v.addRow(self.early)
        self.early_form = ParamForm(EARLY_STOPPING)
        self.early_form.changed.connect(self._early_param)
        v.addRow(self.early_form)
        return box

    # -- edits ---------------------------------------------------------------------------
    def _optimizer_chosen(self, kind: str) -> None:
        raw = self.raw()
        old = raw.get("optimizer") or {}
        if old.get("type", resolve_training({})["optimizer"]["type"]) == kind:
            return
        names = {p.name for p in OPTIMIZERS[kind]}
        raw["optimizer"] = {"type": kind, **{k: v for k, v in old.items()
                                             if k in names and k != "type"}}
        self.commit(raw, f"Use optimizer {kind}")

    def _opt_param(self, name: str, value: Any) -> None:
        raw = self.raw()
        opt = dict(raw.get("optimizer") or {"type": self.optimizer.currentText()})
        opt[name] = value
        raw["optimizer"] = opt
        self.commit(raw, f"Set {'learning rate' if name == 'lr' else name}")

    def _schedule_chosen(self, kind: str) -> None:
        raw = self.raw()
        if (raw.get("schedule") or {}).get("type", "constant") == kind:
            return
        raw["schedule"] = {"type": kind}
        self.commit(raw, f"Use {kind} schedule")

    def _sched_param(self, name: str, value: Any) -> None:
        raw = self.raw()
        sched = dict(raw.get("schedule") or {"type": self.schedule.currentText()})
        sched[name] = value
        raw["schedule"] = sched
        self.commit(raw, f"Set schedule {name}")

    def _loop_param(self, name: str, value: Any) -> None:
        raw = self.raw()
        raw[name] = value
        self.commit(raw, f"Set {name.replace('_', ' ')}")

    def _reg_param(self, name: str, value: Any) -> None:
        raw = self.raw()
        raw["regularization"] = {**(raw.get("regularization") or {}), name: value}
        self.commit(raw, f"Set {name.replace('_', ' ')}")

    def _clip_changed(self) -> None:
        raw = self.raw()
        kind = self.clip_kind.currentText()
        if kind == "off":
            raw["gradient_clip"] = None
        else:
            try:
                value = float(self.clip_value.text() or "1.0")
            except ValueError:
                self.clip_value.setStyleSheet("border: 1px solid #d0455b;")
                return
            if not value > 0:
                self.clip_value.setStyleSheet("border: 1px solid #d0455b;")
                return
            self.clip_value.setStyleSheet("")
            raw["gradient_clip"] = {kind: value}
        self.commit(raw, "Set gradient clipping")

    def _early_toggled(self, on: bool) -> None:
        raw = self.raw()
        raw["early_stopping"] = {} if on else None
        if on:
            raw["early_stopping"] = {p.name: p.default for p in EARLY_STOPPING}
        self.commit(raw, "Early stopping " + ("on" if on else "off"))

    def _early_param(self, name: str, value: Any) -> None:
        raw = self.raw()
        es = dict(raw.get("early_stopping") or {p.name: p.default for p in EARLY_STOPPING})
        es[name] = value
        raw["early_stopping"] = es
        self.commit(raw, f"Set early stopping {name.replace('_', ' ')}")

    # -- document → widgets ----------------------------------------------------------------
    def sync(self) -> None:
        t = self.resolved()
        opt, sched = t["optimizer"], t["schedule"]
        with QSignalBlocker(self.optimizer):
            self.optimizer.setCurrentText(opt["type"])
        self.opt_form.set_params(OPTIMIZERS[opt["type"]], {"lr": "learning rate"})
        self.opt_form.set_values(opt)
        with QSignalBlocker(self.schedule):
            self.schedule.setCurrentText(sched["type"])
        self.sched_form.set_params(SCHEDULES[sched["type"]])
        self.sched_form.set_values(sched)
        self.loop.set_values(t)
        self.reg.set_values(t["regularization"])
        clip = t.get("gradient_clip") or {}
        kind = "norm" if "norm" in clip else "value" if "value" in clip else "off"
        with QSignalBlocker(self.clip_kind):
            self.clip_kind.setCurrentText(kind)
        self.clip_value.setText(f"{clip[kind]:g}" if kind != "off" else "")
        self.clip_value.setEnabled(kind != "off")
        es = t.get("early_stopping")
        with QSignalBlocker(self.early):
            self.early.setChecked(es is not None)
        self.early_form.set_values(es or {})
        self.early_form.setEnabled(es is not None)

    def set_train_samples(self, n: int | None) -> None:
        self.train_samples = n
        self.full_batch.setText(f"Full batch ({n})" if n else "Full batch")


