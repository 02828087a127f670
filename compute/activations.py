"""Activation functions by name, shared by the Activation layer and by layers that take
an ``activation`` param (Dense, Conv2D, ...)."""
from __future__ import annotations

import numpy as np

from .kernels import activations as k

# names a Dense/Conv2D `activation` param accepts (prelu needs a learnable slope, so it
# lives only in the Activation layer)
FUNCTIONS = ("linear", "relu", "leaky_relu", "abs", "sigmoid", "tanh", "softmax", "elu")
DEFAULT_ALPHA = {"leaky_relu": 0.01, "prelu": 0.25, "elu": 1.0}
# functions whose derivative needs the input, not only the output (prelu: a slope < 0)
NEEDS_INPUT = ("abs", "prelu")


def _alpha(name: str, alpha: float | None, dtype) -> np.floating:
    """The function's alpha as a scalar of the arrays' dtype: so float32 math stays in
    float32 lanes, and the kernels compile once for the layers and the dense chains
    (which pass theirs from an array of that dtype)."""
    return dtype.type(DEFAULT_ALPHA.get(name, 0.0) if alpha is None else alpha)


def forward(name: str, x: np.ndarray, alpha: float | None = None,
            out: np.ndarray | None = None) -> np.ndarray:
    """y = f(x); softmax is over the last axis. `alpha` defaults per function (leaky relu
    0.01, elu 1.0); `out` (may be x itself) receives y instead of a new array."""
    if name == "linear":
        if out is None or out is x:
            return x
        np.copyto(out, x)
        return out
    x = np.ascontiguousarray(x)
    if out is None:
        out = np.empty_like(x)
    if name == "softmax":
        k.softmax_rows(x.reshape(-1, x.shape[-1]), out.reshape(-1, x.shape[-1]))
    else:
        k.forward(x.reshape(-1), k.CODES[name], _alpha(name, alpha, x.dtype),
                  out.reshape(-1), x.dtype == np.float32)
    return out


def backward(name: str, x: np.ndarray | None, y: np.ndarray, dy: np.ndarray,
             alpha: float | None = None) -> np.ndarray:
    """dL/dx given dL/dy and the output y of the forward pass. The input x is needed only
    by `abs` (y = |x| loses the sign); for the others pass None, y is enough."""
    if name == "linear":
        return dy
    y = np.ascontiguousarray(y)
    dy = np.ascontiguousarray(dy)
    dx = np.empty_like(dy)
    if name == "softmax":
        f = y.shape[-1]
        k.softmax_rows_backward(y.reshape(-1, f), dy.reshape(-1, f), dx.reshape(-1, f))
    else:
        # relu, leaky relu and elu (alpha >= 0) test x > 0, which is y > 0
        src = y if x is None or name not in NEEDS_INPUT else np.ascontiguousarray(x)
        k.backward(src.reshape(-1), y.reshape(-1), dy.reshape(-1), k.CODES[name],
                   _alpha(name, alpha, dy.dtype), dx.reshape(-1))
    return dx


def kind(name: str) -> str | None:
    """Which diagnostic applies: 'relu' (dead units), 'sigmoid'/'tanh' (saturation)."""
    if name in ("relu",):
        return "relu"
    if name in ("sigmoid", "tanh", "softmax"):
        return "sigmoid" if name != "tanh" else "tanh"
    return None
