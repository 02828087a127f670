"""Activation functions by name, shared by the Activation layer and by layers that take
an ``activation`` param (Dense, Conv2D, ...)."""
from __future__ import annotations

import numpy as np

from .kernels import activations as k

# names a Dense/Conv2D `activation` param accepts (prelu needs a learnable slope, so it
# lives only in the Activation layer)
FUNCTIONS = ("linear", "relu", "leaky_relu", "abs", "sigmoid", "tanh", "softmax", "elu")
DEFAULT_ALPHA = {"leaky_relu": 0.01, "prelu": 0.25, "elu": 1.0}


def forward(name: str, x: np.ndarray, alpha: float = 0.0) -> np.ndarray:
    """y = f(x); softmax is over the last axis."""
    if name == "linear":
        return x
    x = np.ascontiguousarray(x)
    out = np.empty_like(x)
    if name == "softmax":
        k.softmax_rows(x.reshape(-1, x.shape[-1]), out.reshape(-1, x.shape[-1]))
    else:
        k.forward(x.reshape(-1), k.CODES[name], alpha, out.reshape(-1))
    return out


def backward(name: str, x: np.ndarray, y: np.ndarray, dy: np.ndarray,
             alpha: float = 0.0) -> np.ndarray:
    """dL/dx given dL/dy; needs the input x and output y of the forward pass."""
    if name == "linear":
        return dy
    dy = np.ascontiguousarray(dy)
    dx = np.empty_like(dy)
    if name == "softmax":
        f = x.shape[-1]
        k.softmax_rows_backward(np.ascontiguousarray(y).reshape(-1, f), dy.reshape(-1, f),
                                dx.reshape(-1, f))
    else:
        k.backward(np.ascontiguousarray(x).reshape(-1), np.ascontiguousarray(y).reshape(-1),
                   dy.reshape(-1), k.CODES[name], alpha, dx.reshape(-1))
    return dx


def kind(name: str) -> str | None:
    """Which diagnostic applies: 'relu' (dead units), 'sigmoid'/'tanh' (saturation)."""
    if name in ("relu",):
        return "relu"
    if name in ("sigmoid", "tanh", "softmax"):
        return "sigmoid" if name != "tanh" else "tanh"
    return None
