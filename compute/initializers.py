"""Weight initialisers, deterministic under the model's random generator."""
from __future__ import annotations

import numpy as np

NAMES = ("he", "xavier", "normal", "uniform", "zeros")


def initialize(name: str, shape: tuple[int, ...], fan_in: int, fan_out: int,
               rng: np.random.Generator, dtype, std: float = 0.01) -> np.ndarray:
    """A weight array of `shape` drawn by the named scheme.

    he: N(0, 2/fan_in) (good for ReLU); xavier: U(±sqrt(6/(fan_in+fan_out))) (tanh,
    sigmoid); normal: N(0, std²); uniform: U(±std·sqrt(3)), the same variance as normal;
    zeros: all zero (breaks symmetry nowhere: for biases and experiments).
    """
    if name == "he":
        w = rng.normal(0.0, np.sqrt(2.0 / max(fan_in, 1)), shape)
    elif name == "xavier":
        limit = np.sqrt(6.0 / max(fan_in + fan_out, 1))
        w = rng.uniform(-limit, limit, shape)
    elif name == "normal":
        w = rng.normal(0.0, std, shape)
    elif name == "uniform":
        limit = std * np.sqrt(3.0)
        w = rng.uniform(-limit, limit, shape)
    elif name == "zeros":
        w = np.zeros(shape)
    else:
        raise ValueError(f"unknown initialiser {name!r}; choose one of {', '.join(NAMES)}")
    return w.astype(dtype)
