"""What the live panels draw from a snapshot, computed in the training process.

Percentiles of every layer's activations, the fraction of dead ReLU units and the
update-to-weight ratio read every activation and weight of the snapshot: for a ResNet,
10-400 ms of the window's thread at each snapshot, where its frames are drawn. The
window's training process adds them to each snapshot it sends (`Summarized`, filling
`Snapshot.summary`), where the data is, and the window only files the few numbers. A
headless run, which no panel reads, does not pay for them (3-5 % of a run's time on the
convolutional examples, at their snapshot rate).
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Iterable

import numpy as np

from ..events import Snapshot

PERCENTILES = (5, 25, 50, 75, 95)


def activation_bands(activations: dict[str, np.ndarray],
                     skip: Iterable[str] = ()) -> dict[str, np.ndarray]:
    """PERCENTILES of each float node's finite values (nodes in `skip`, and nodes with no
    finite value, are left out)."""
    skip = set(skip)
    out = {}
    for node, act in activations.items():
        if node in skip or act.dtype.kind != "f":
            continue
        flat = act.reshape(-1)
        finite = flat[np.isfinite(flat)]
        if finite.size:
            out[node] = np.percentile(finite, PERCENTILES)
    return out


def dead_units(activations: dict[str, np.ndarray], relu_nodes: Iterable[str]) -> dict[str, float]:
    """Fraction of a ReLU layer's units (features, channels) that output 0 for every
    sample: dead units, as opposed to the ~50 % zeros a healthy ReLU gives."""
    out = {}
    for node in relu_nodes:
        act = activations.get(node)
        if act is None or act.ndim < 2 or len(act) < 2:
            continue
        axis = 1 if act.ndim in (2, 4) else act.ndim - 1
        units = np.moveaxis(act, axis, 0).reshape(act.shape[axis], -1)
        out[node] = float(np.mean(~(units != 0).any(axis=1)))
    return out


def update_ratios(weights: dict[str, dict[str, np.ndarray]],
                  previous: dict[str, dict[str, np.ndarray]] | None,
                  steps: int) -> dict[str, float]:
    """‖ΔW‖/‖W‖ per step of each node since the `previous` weights, `steps` steps ago."""
    out: dict[str, float] = {}
    if previous is None or steps <= 0:
        return out
    for node, params in weights.items():
        num = den = 0.0
        for name, w in params.items():
            old = previous.get(node, {}).get(name)
            if old is None or old.shape != w.shape:
                continue
            num += float(np.sum((w.astype(np.float64) - old) ** 2))
            den += float(np.sum(old.astype(np.float64) ** 2))
        if den > 0 and math.isfinite(num):
            out[node] = math.sqrt(num / den) / steps
    return out


def snapshot_summary(model, activations: dict[str, np.ndarray],
                     weights: dict[str, dict[str, np.ndarray]],
                     previous: tuple[int, dict] | None, step: int) -> dict:
    """{"bands", "dead_units", "update_ratios"} of one snapshot of `model`; `previous` is
    (step, weights) of the snapshot before, or None."""
    relu = [n for n in model.order if model.layers[n].activation_kind() == "relu"]
    before, old = previous if previous is not None else (step, None)
    return {"bands": activation_bands(activations, skip=model.input_ids),
            "dead_units": dead_units(activations, relu),
            "update_ratios": update_ratios(weights, old, step - before)}


class Summarized:
    """A trainer callback that hands every event on to `send`, each Snapshot with its
    summary, kept against the snapshot before (for the update ratios)."""

    def __init__(self, model, send: Callable[[Any], None]) -> None:
        self.model, self.send = model, send
        self._last: tuple[int, dict] | None = None      # (step, weights)

    def __call__(self, event) -> None:
        if isinstance(event, Snapshot):
            summary = snapshot_summary(self.model, event.activations, event.weights,
                                       self._last, event.step)
            self._last = (event.step, event.weights)
            event = dataclasses.replace(event, summary=summary)
        self.send(event)
