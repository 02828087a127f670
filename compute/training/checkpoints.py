"""In-memory copies of a model's state, and looking at a model without disturbing it."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

import numpy as np

from ..model import Model
from ..weights import model_arrays


@contextmanager
def same_rng(model: Model) -> Iterator[None]:
    """Leave the model's random generator as it was (dropout, sampling), so looking at the
    model never changes what training does next."""
    state = model.rng.bit_generator.state
    try:
        yield
    finally:
        model.rng.bit_generator.state = state


def copy_arrays(model: Model) -> dict[str, np.ndarray]:
    """Copies of every param and layer state (BatchNorm statistics) by "node/name"."""
    return {k: v.copy() for k, v in model_arrays(model).items()}


def restore(model: Model, saved: dict[str, np.ndarray]) -> None:
    """Write saved arrays back in place (the optimizer holds the live arrays)."""
    live = model_arrays(model)
    for key, arr in saved.items():
        live[key][...] = arr


def all_finite(model: Model) -> bool:
    return all(bool(np.isfinite(a).all()) for a in model_arrays(model).values()
               if a.dtype.kind == "f")


def call_probe(fn: Callable[[Model], Any], model: Model) -> Any:
    """A probe's result, or the exception it raised (a view's bug must not end training)."""
    try:
        return fn(model)
    except Exception as exc:
        return exc
