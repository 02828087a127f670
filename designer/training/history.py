"""Everything one training run told us, gathered from the trainer's events (Qt-free).

The worker hands events over on the GUI thread; `RunHistory.handle` files each one into
bounded buffers that the panels draw from. Nothing here is invented: every number is a
value some event carried, or a summary of a snapshot (percentiles, ratios) that the
training process computed from it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from compute.events import Compiling, EpochEnd, Finished, RunStarted, Snapshot, StepEnd

from .series import Series


class Thinned:
    """Rows (step, values...) kept in bounded memory by dropping every other row when full."""

    def __init__(self, capacity: int = 1024) -> None:
        self.capacity = capacity
        self.rows: list[tuple[float, Any]] = []
        self.stride = 1
        self._seen = 0

    def append(self, step: float, value: Any) -> None:
        self._seen += 1
        if (self._seen - 1) % self.stride:
            return
        self.rows.append((step, value))
        if len(self.rows) > self.capacity:
            self.rows = self.rows[::2]
            self.stride *= 2

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def count(self) -> int:
        """Rows appended so far, kept or not (like `Series.count`): a view that drew at
        this count has nothing new to draw."""
        return self._seen

    def steps(self) -> np.ndarray:
        return np.array([r[0] for r in self.rows], np.float64)

    def values(self) -> np.ndarray:
        return np.array([r[1] for r in self.rows], np.float64)


@dataclass
class RunHistory:
    """One run: its settings, its name in the comparison legend, and its buffers."""

    name: str
    settings: dict[str, Any]              # {"data": ..., "training": ..., "graph": ...}
    capacity: int = 4096
    started: RunStarted | None = None
    compiling: Compiling | None = None     # the kernel being compiled before the next step
    finished: Finished | None = None
    error: str | None = None              # a failure before or outside the trainer's loop
    evaluation: dict[str, float] | None = None   # the final weights on the validation split
    loss: Series = field(init=False)
    lr: Series = field(init=False)
    epochs: list[dict[str, float]] = field(default_factory=list)
    grad_norms: dict[str, Series] = field(default_factory=dict)      # parameter gradients
    out_grad_norms: dict[str, Series] = field(default_factory=dict)  # d loss / d output
    act_mean: dict[str, Series] = field(default_factory=dict)
    dead: dict[str, Series] = field(default_factory=dict)            # ReLU zero fraction
    saturated: dict[str, Series] = field(default_factory=dict)
    bands: dict[str, Thinned] = field(default_factory=dict)          # activation percentiles
    update_ratio: dict[str, Thinned] = field(default_factory=dict)
    dead_units: dict[str, Thinned] = field(default_factory=dict)     # from snapshots
    snapshot: Snapshot | None = None
    snapshots_seen: int = 0
    step: int = 0
    epoch: int = 0
    samples_per_s: float = 0.0
    wall_start: float = field(default_factory=time.monotonic)
    wall_end: float | None = None

    def __post_init__(self) -> None:
        self.loss = Series(self.capacity)
        self.lr = Series(self.capacity)

    # -- properties the panels and the dock read --------------------------------------
    @property
    def running(self) -> bool:
        return self.finished is None and self.error is None

    @property
    def node_types(self) -> dict[str, str]:
        return {r["node"]: r["type"] for r in (self.started.summary if self.started else [])}

    @property
    def activation_names(self) -> dict[str, str]:
        """Activation function per node, from the graph as trained (Dense's `activation`,
        an Activation node's `function`; recurrent cells squash with tanh)."""
        out = {}
        for n in (self.settings.get("graph") or {}).get("nodes", []):
            p = n.get("params") or {}
            name = p.get("activation") or p.get("function")
            if name is None and n.get("type") in ("SimpleRNN", "LSTM", "GRU"):
                name = "tanh"
            if name:
                out[n["id"]] = name
        return out

    @property
    def task(self) -> str | None:
        return self.started.task if self.started else None

    @property
    def output_node(self) -> str | None:
        outs = [n for n, t in self.node_types.items() if t == "Output"]
        return outs[0] if outs else None

    @property
    def total_steps(self) -> int | None:
        s = self.started
        return s.epochs * s.steps_per_epoch if s else None

    def eta_seconds(self) -> float | None:
        """Time left at the speed so far (None until a step has been timed)."""
        total = self.total_steps
        if not total or not self.step:
            return None
        elapsed = time.monotonic() - self.wall_start
        return max(total - self.step, 0) * elapsed / self.step

    def metric(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(step, value) of an epoch metric such as "val_loss", where reported."""
        rows = [(e["step"], e[name]) for e in self.epochs if name in e]
        if not rows:
            return np.empty(0), np.empty(0)
        s, v = zip(*rows)
        return np.asarray(s, np.float64), np.asarray(v, np.float64)

    def latest_grad_norms(self) -> dict[str, float]:
        """The last reported parameter-gradient norm per node."""
        return {n: s.last[1] for n, s in self.grad_norms.items() if s.last}

    def latest_out_grad_norms(self) -> dict[str, float]:
        return {n: s.last[1] for n, s in self.out_grad_norms.items() if s.last}

    # -- events ------------------------------------------------------------------------
    def handle(self, event) -> str:
        """File one event; returns its kind ("started", "step", "epoch", ...)."""
        if isinstance(event, StepEnd):
            self.compiling = None
            self._step(event)
            return "step"
        if isinstance(event, Compiling):
            self.compiling = event
            return "compiling"
        if isinstance(event, EpochEnd):
            self.epochs.append({"epoch": event.epoch, "step": event.step, **event.metrics})
            self.epoch = event.epoch
            return "epoch"
        if isinstance(event, Snapshot):
            self._snapshot(event)
            return "snapshot"
        if isinstance(event, RunStarted):
            self.started = event
            self.wall_start = time.monotonic()
            return "started"
        if isinstance(event, Finished):
            self.finished = event
            self.wall_end = time.monotonic()
            return "finished"
        raise TypeError(f"not a training event: {event!r}")

    def _series(self, table: dict[str, Series], node: str) -> Series:
        s = table.get(node)
        if s is None:
            s = table[node] = Series(self.capacity)
        return s

    def _step(self, ev: StepEnd) -> None:
        self.step, self.epoch, self.samples_per_s = ev.step, ev.epoch, ev.samples_per_s
        self.loss.append(ev.step, ev.loss)
        self.lr.append(ev.step, ev.lr)
        for node, norms in ev.grad_norms.items():
            if norms.get("weights") is not None:
                self._series(self.grad_norms, node).append(ev.step, norms["weights"])
            if norms.get("activations") is not None:
                self._series(self.out_grad_norms, node).append(ev.step, norms["activations"])
        for node, st in ev.activations.items():
            if st.get("mean") is not None:
                self._series(self.act_mean, node).append(ev.step, st["mean"])
            if st.get("zero_fraction") is not None:
                self._series(self.dead, node).append(ev.step, st["zero_fraction"])
            if st.get("saturated_fraction") is not None:
                self._series(self.saturated, node).append(ev.step, st["saturated_fraction"])

    def _snapshot(self, ev: Snapshot) -> None:
        """The snapshot, and the summary the training process made of it (training.summary: reading
        every activation and weight here took frames of up to 0.4 s)."""
        self.snapshot = ev
        self.snapshots_seen += 1
        for table, key in ((self.bands, "bands"), (self.dead_units, "dead_units"),
                           (self.update_ratio, "update_ratios")):
            for node, value in ev.summary.get(key, {}).items():
                table.setdefault(node, Thinned()).append(ev.step, value)
