"""Elementwise activations and their derivatives, one kernel each way for all functions.

A single kernel with a function code (instead of one kernel per function) keeps the number
of compiled signatures, and so the cold compile time, small; the branch is loop-invariant.
Without SVML, Numba calls libm's scalar tanh (~16 ns); float32 arrays use `tanh32`, a
rational approximation that vectorises (as PyTorch's and Eigen's float kernels do).
"""
import numpy as np

from . import kernel

LINEAR, RELU, LEAKY_RELU, ABS, SIGMOID, TANH, ELU = range(7)
CODES = {"linear": LINEAR, "relu": RELU, "leaky_relu": LEAKY_RELU, "prelu": LEAKY_RELU,
         "abs": ABS, "sigmoid": SIGMOID, "tanh": TANH, "elu": ELU}


@kernel
def tanh32(v):
    """tanh to float32 accuracy (Eigen's rational 13/6 approximation): a few ulp, and
    straight-line code that LLVM vectorises. Only for float32 values."""
    c = np.float32(7.90531110763549805)
    x = min(max(v, -c), c)
    x2 = x * x
    p = x2 * np.float32(-2.76076847742355e-16) + np.float32(2.00018790482477e-13)
    p = p * x2 + np.float32(-8.60467152213735e-11)
    p = p * x2 + np.float32(5.12229709037114e-08)
    p = p * x2 + np.float32(1.48572235717979e-05)
    p = p * x2 + np.float32(6.37261928875436e-04)
    p = p * x2 + np.float32(4.89352455891786e-03)
    q = x2 * np.float32(1.19825839466702e-06) + np.float32(1.18534705686654e-04)
    q = q * x2 + np.float32(2.26843463243900e-03)
    q = q * x2 + np.float32(4.89352518554385e-03)
    return x * p / q


@kernel
def forward(x, code, alpha, out, fast):
    """out = f(x) over flat contiguous arrays; `fast` (float32 only) takes tanh32."""
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
        if fast:
            for i in range(n):
                out[i] = tanh32(x[i])
        else:
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


# -- output losses fused with their activation (compute/losses.py) ---------------------------
# Each returns the summed loss in float64 and writes d loss / d input, divided by the
# number of examples m, into `dz`. Arrays are flat; (rows, cols) gives the 2-D view that
# the softmax works on, with no reshape in the kernel (reshape alone costs a second of
# compile time).
@kernel
def softmax_ce(z, labels, t, rows, cols, m, p, dz):
    """Softmax cross-entropy against class indices `labels` (when it has rows entries) or
    else one-hot or soft targets `t`. Writes the probabilities into `p` (which may be dz:
    it is written before dz) and returns (summed loss, first out-of-range row or -1)."""
    total = 0.0
    dense = labels.size != rows
    for r in range(rows):
        at = r * cols
        zmax = z[at]
        for c in range(1, cols):
            if z[at + c] > zmax:
                zmax = z[at + c]
        s = 0.0
        for c in range(cols):
            e = np.exp(z[at + c] - zmax)
            p[at + c] = e
            s += e
        lse = np.log(s) + zmax
        inv = 1.0 / s
        if dense:
            for c in range(cols):
                q = p[at + c] * inv
                p[at + c] = q
                dz[at + c] = (q - t[at + c]) / m
                total += t[at + c] * (lse - z[at + c])
        else:
            k = labels[r]
            if k < 0 or k >= cols:
                return total, r
            for c in range(cols):
                q = p[at + c] * inv
                p[at + c] = q
                dz[at + c] = q / m
            dz[at + k] -= 1 / m
            total += lse - z[at + k]
    return total, -1


@kernel
def sigmoid(v):
    """1 / (1 + e^-v) for one element, without overflow for any v."""
    if v >= 0:
        return 1.0 / (1.0 + np.exp(-v))
    e = np.exp(v)
    return e / (1.0 + e)


@kernel
def sigmoid_bce(z, t, m, p, dz):
    """Binary cross-entropy on logits, stable for any z: max(z,0) − zt + log(1 + e^−|z|);
    the probabilities into `p` (which may be dz)."""
    total = 0.0
    for i in range(z.size):
        v = z[i]
        total += max(v, 0) - v * t[i] + np.log1p(np.exp(-abs(v)))
        q = sigmoid(v)
        p[i] = q
        dz[i] = (q - t[i]) / m
    return total


@kernel
def squared_error(y, t, m, dz):
    """½Σ(y − t)² and (y − t)/m."""
    total = 0.0
    for i in range(y.size):
        d = y[i] - t[i]
        total += d * d
        dz[i] = d / m
    return 0.5 * total
