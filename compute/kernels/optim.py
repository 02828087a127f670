"""Optimizer update rules: one kernel per rule, in place over one flat parameter array.

Each kernel reads the gradient once and writes the parameter and its state once, with no
temporaries. Scalars arrive as Python floats (float64) and arrays as 1-D contiguous
float32 or float64, so each kernel compiles for two signatures only. Arithmetic runs in
float64 registers and is stored back in the arrays' own dtype.
"""
import numpy as np

from . import kernel


@kernel
def sgd(p, g, lr):
    """θ ← θ − εg."""
    for i in range(p.size):
        p[i] -= lr * g[i]


@kernel
def momentum(p, g, v, lr, mu):
    """The course's form: v ← αv − εg; θ ← θ + v."""
    for i in range(p.size):
        vi = mu * v[i] - lr * g[i]
        v[i] = vi
        p[i] += vi


@kernel
def nesterov(p, g, buf, lr, mu):
    """PyTorch's Nesterov (SGD with nesterov=True, no dampening):
    b ← μb + g; θ ← θ − ε(g + μb)."""
    for i in range(p.size):
        gi = g[i]
        b = mu * buf[i] + gi
        buf[i] = b
        p[i] -= lr * (gi + mu * b)


@kernel
def rmsprop(p, g, sq, lr, rho, eps):
    """PyTorch's RMSprop: r ← ρr + (1−ρ)g²; θ ← θ − εg / (√r + δ) (δ outside the root)."""
    for i in range(p.size):
        gi = g[i]
        r = rho * sq[i] + (1.0 - rho) * gi * gi
        sq[i] = r
        p[i] -= lr * gi / (np.sqrt(r) + eps)


@kernel
def adam(p, g, m, v, lr, beta1, beta2, eps, correction1, correction2):
    """Adam with bias correction, as PyTorch computes it; correction_k = 1 − β_k^t."""
    step = lr / correction1
    scale = 1.0 / np.sqrt(correction2)
    for i in range(p.size):
        gi = g[i]
        mi = beta1 * m[i] + (1.0 - beta1) * gi
        vi = beta2 * v[i] + (1.0 - beta2) * gi * gi
        m[i] = mi
        v[i] = vi
        p[i] -= step * mi / (np.sqrt(vi) * scale + eps)
