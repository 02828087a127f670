"""Elementwise activations and their derivatives, one kernel each way for all functions.

A single kernel with a function code (instead of one kernel per function) keeps the number
of compiled signatures, and so the cold compile time, small; the branch is loop-invariant.
"""
import numpy as np

from . import kernel

LINEAR, RELU, LEAKY_RELU, ABS, SIGMOID, TANH, ELU = range(7)
CODES = {"linear": LINEAR, "relu": RELU, "leaky_relu": LEAKY_RELU, "prelu": LEAKY_RELU,
         "abs": ABS, "sigmoid": SIGMOID, "tanh": TANH, "elu": ELU}


@kernel
def forward(x, code, alpha, out):
    """out = f(x) over flat contiguous arrays."""
    n = x.size
    if code == RELU:
        for i in range(n):
            v = x[i]
            out[i] = v if v > 0 else 0.0
    elif code == LEAKY_RELU:
        for i in range(n):
            v = x[i]
            out[i] = v if v > 0 else alpha * v
    elif code == ABS:
        for i in range(n):
            out[i] = abs(x[i])
    elif code == SIGMOID:
        for i in range(n):
            v = x[i]
            if v >= 0:
                out[i] = 1.0 / (1.0 + np.exp(-v))
            else:
                e = np.exp(v)
                out[i] = e / (1.0 + e)
    elif code == TANH:
        for i in range(n):
            out[i] = np.tanh(x[i])
    elif code == ELU:
        for i in range(n):
            v = x[i]
            out[i] = v if v > 0 else alpha * (np.exp(v) - 1.0)
    else:
        for i in range(n):
            out[i] = x[i]


@kernel
def backward(x, y, dy, code, alpha, dx):
    """dx = f'(x) * dy, using the saved output y where that is cheaper."""
    n = x.size
    if code == RELU:
        for i in range(n):
            dx[i] = dy[i] if x[i] > 0 else 0.0
    elif code == LEAKY_RELU:
        for i in range(n):
            dx[i] = dy[i] if x[i] > 0 else alpha * dy[i]
    elif code == ABS:
        for i in range(n):
            v = x[i]
            dx[i] = dy[i] if v > 0 else (-dy[i] if v < 0 else 0.0)
    elif code == SIGMOID:
        for i in range(n):
            dx[i] = dy[i] * y[i] * (1.0 - y[i])
    elif code == TANH:
        for i in range(n):
            dx[i] = dy[i] * (1.0 - y[i] * y[i])
    elif code == ELU:
        for i in range(n):
            dx[i] = dy[i] if x[i] > 0 else dy[i] * (y[i] + alpha)
    else:
        for i in range(n):
            dx[i] = dy[i]


@kernel
def prelu_alpha_grad(x, dy):
    """d loss / d alpha for PReLU with one shared slope."""
    s = 0.0
    for i in range(x.size):
        if x[i] <= 0:
            s += x[i] * dy[i]
    return s


@kernel
def softmax_rows(x, out):
    """Row-wise softmax of a 2-D array, shifted by the row max for stability."""
    rows, cols = x.shape
    for r in range(rows):
        m = x[r, 0]
        for c in range(1, cols):
            if x[r, c] > m:
                m = x[r, c]
        s = 0.0
        for c in range(cols):
            e = np.exp(x[r, c] - m)
            out[r, c] = e
            s += e
        inv = 1.0 / s
        for c in range(cols):
            out[r, c] *= inv


@kernel
def softmax_rows_backward(y, dy, dx):
    rows, cols = y.shape
    for r in range(rows):
        s = 0.0
        for c in range(cols):
            s += y[r, c] * dy[r, c]
        for c in range(cols):
            dx[r, c] = y[r, c] * (dy[r, c] - s)
