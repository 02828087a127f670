"""What the trainer tells the world, as plain dataclasses.

Callbacks (the CLI's progress bar, the designer's worker thread, a script) receive these
objects in order: one `RunStarted`, then `StepEnd`s with an `EpochEnd` after each epoch and
a `Snapshot` now and then, and finally one `Finished`; `Compiling` comes before the steps
that wait for a kernel to compile (the first run of a network on a machine). Arrays inside
events are copies owned by the event: a receiver on another thread may keep them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class RunStarted:
    project_name: str
    summary: list[dict[str, Any]]      # Model.summary(): node, type, shape, params, macs
    epochs: int
    steps_per_epoch: int
    train_samples: int
    val_samples: int
    task: str                          # "classification", "regression" or "reconstruction"


@dataclass(frozen=True)
class Compiling:
    """Numba is compiling a kernel the run needs: the first run of a network on a machine
    (later runs load the kernels from Numba's cache and send none of these)."""

    kernel: str                        # the kernel's function name
    count: int                         # kernels begun in this run so far, this one included
    seconds: float                     # since the first of them began


@dataclass(frozen=True)
class StepEnd:
    epoch: int                         # counted from 1
    step: int                          # global step, counted from 1
    loss: float
    lr: float
    samples_per_s: float
    # per node: {"weights": norm, "activations": norm}; may be empty on steps without
    # diagnostics
    grad_norms: dict[str, dict[str, float]] = field(default_factory=dict)
    # per node: {"mean", "std", "zero_fraction" (ReLU-like) , "saturated_fraction"}
    activations: dict[str, dict[str, float | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class EpochEnd:
    epoch: int
    step: int
    # always "loss"; "val_loss" with a validation split; "accuracy"/"val_accuracy" for
    # classification; "mse"/"r2" and "val_mse"/"val_r2" for regression; "lr"; "seconds"
    metrics: dict[str, float]


@dataclass(frozen=True)
class Snapshot:
    """Periodic look inside the model on a fixed batch of validation samples."""

    epoch: int
    step: int
    inputs: np.ndarray | dict[str, np.ndarray]     # the fixed samples
    targets: np.ndarray | dict[str, np.ndarray] | None
    activations: dict[str, np.ndarray]             # every node's output for those samples
    weights: dict[str, dict[str, np.ndarray]]      # copies of model.params
    probes: dict[str, Any] = field(default_factory=dict)  # results of the trainer's probes
    # per node: "bands" (activation percentiles), "dead_units", "update_ratios": added by
    # the window's training process (training.summary), so the window need not
    summary: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Finished:
    reason: str                        # "completed", "stopped", "early_stopped", "diverged", "error"
    message: str
    epochs_run: int
    best_epoch: int | None = None
    history: list[dict[str, float]] = field(default_factory=list)


Event = RunStarted | Compiling | StepEnd | EpochEnd | Snapshot | Finished
