"""The dataset registry and `load_dataset`: one call from a project's data section to arrays.

Loading is three steps: validate the section (dataset id, params, validation split), ask
the source for every sample, then split deterministically under the seed and standardise
the columns the source marks, with statistics of the training split only.
"""
from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ProjectError
from ..params import resolve
# importing the source modules registers their datasets, in the order the editor lists them
from . import datasets_2d, datasets_image, datasets_seq, importers, importers_image  # noqa: F401
from .base import BUILDERS, DATASETS, Dataset, Raw, Source

MAX_VALIDATION_SPLIT = 0.9


def load_dataset(spec: Mapping[str, Any], base_dir: str | Path | None = None, seed: int = 0,
                 where: str = "data") -> Dataset:
    """The dataset a project's ``data`` section describes, split into train/validation.

    Reads ``dataset``, ``params`` and ``validation_split``; other keys belong to the
    trainer. Path params are relative to ``base_dir``. Raises ProjectError naming the place.
    """
    if not isinstance(spec, Mapping):
        raise ProjectError(f"{where}: expected an object, got {type(spec).__name__}")
    ident = _dataset_id(spec.get("dataset"), where)
    given = spec.get("params", {})
    if given is None:
        given = {}
    if not isinstance(given, Mapping):
        raise ProjectError(f"{where}.params: expected an object, got {type(given).__name__}")
    info = DATASETS[ident]
    try:
        cfg = resolve(info.params, dict(given), f"{where}.params")
    except ValueError as exc:
        raise ProjectError(str(exc)) from None
    for p in info.params:
        if p.kind == "path" and not cfg[p.name]:
            raise ProjectError(f'{where}.params: "{p.name}" is required for {ident}')
    split = _validation_split(spec.get("validation_split", 0.2), where)
    src = Source(Path(base_dir) if base_dir is not None else Path.cwd(), where)
    raw = BUILDERS[ident](cfg, src)
    return split_raw(ident, raw, split, seed)


def _dataset_id(ident: Any, where: str) -> str:
    if ident is None:
        raise ProjectError(f'{where}: no dataset chosen; set "dataset" to one of '
                           f'{", ".join(DATASETS)}')
    if not isinstance(ident, str) or ident not in DATASETS:
        hint = difflib.get_close_matches(str(ident), list(DATASETS), n=1)
        extra = f' (did you mean "{hint[0]}"?)' if hint else ""
        raise ProjectError(f"{where}.dataset: unknown dataset {ident!r}{extra}; known: "
                           f'{", ".join(DATASETS)}')
    return ident


def _validation_split(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not 0.0 <= value <= MAX_VALIDATION_SPLIT:
        raise ProjectError(f"{where}.validation_split: must be a number from 0 to "
                           f"{MAX_VALIDATION_SPLIT:g}, got {value!r}")
    return float(value)


def split_raw(name: str, raw: Raw, validation_split: float, seed: int) -> Dataset:
    """Shuffle-split under `seed` (samples keep their file order within each part)."""
    n = raw.x.shape[0]
    n_val = min(int(round(n * validation_split)), n - 1) if n > 1 else 0
    order = np.random.default_rng(seed).permutation(n)
    val, train = np.sort(order[:n_val]), np.sort(order[n_val:])
    x_train, x_val = raw.x[train], raw.x[val]
    mean = std = None
    if raw.standardize is not None and raw.standardize.any():
        x_train, x_val, mean, std = _standardize(x_train, x_val, raw.standardize)
    return Dataset(name=name, x_train=x_train, y_train=raw.y[train], x_val=x_val,
                   y_val=raw.y[val], task=raw.task, input_shape=tuple(raw.x.shape[1:]),
                   input_dtype=raw.input_dtype, num_classes=raw.num_classes,
                   class_names=raw.class_names, description=raw.description,
                   feature_mean=mean, feature_std=std)


def _standardize(x_train: np.ndarray, x_val: np.ndarray, mask: np.ndarray):
    """Scale masked columns of the last axis to mean 0, std 1 using training rows only.

    Returns the scaled arrays and the (mean, std) applied, identity outside the mask, so
    new inputs (prediction) can be transformed the same way.
    """
    axes = tuple(range(x_train.ndim - 1))
    mean = np.zeros(x_train.shape[-1], np.float64)
    std = np.ones(x_train.shape[-1], np.float64)
    mean[mask] = x_train[..., mask].mean(axis=axes, dtype=np.float64)
    spread = x_train[..., mask].std(axis=axes, dtype=np.float64)
    std[mask] = np.where(spread > 1e-12, spread, 1.0)
    mean, std = mean.astype(np.float32), std.astype(np.float32)
    return (x_train - mean) / std, (x_val - mean) / std, mean, std
