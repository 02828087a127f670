"""Optimizer update rules: one kernel per rule, in place over one flat parameter array.

Each kernel reads the gradient once and writes the parameter and its state once, with no
temporaries. Arrays arrive as 1-D contiguous float32 or float64 and the scalars in the
same dtype (the caller converts them once per step), so each kernel compiles for two
signatures and float32 updates run in float32 SIMD lanes, as PyTorch's do. Rules that
divide use ``error_model="numpy"``: Python's zero-division check would keep LLVM from
vectorising the loop (4-8x slower), and the denominators here are never zero anyway.
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


@kernel(error_model="numpy")
def rmsprop(p, g, sq, lr, rho, one_minus_rho, eps):
    """PyTorch's RMSprop: r ← ρr + (1−ρ)g²; θ ← θ − εg / (√r + δ) (δ outside the root)."""
    for i in range(p.size):
        gi = g[i]
        r = rho * sq[i] + one_minus_rho * gi * gi
        sq[i] = r
        p[i] -= lr * gi / (np.sqrt(r) + eps)


@kernel(error_model="numpy")
def adam(p, g, m, v, step, beta1, one_minus_beta1, beta2, one_minus_beta2, scale, eps):
    """Adam as PyTorch computes it: θ ← θ − step·m / (√v·scale + δ), where the caller
    folds the bias corrections into step = ε/(1 − β1^t) and scale = 1/√(1 − β2^t)."""
    for i in range(p.size):
        gi = g[i]
        mi = beta1 * m[i] + one_minus_beta1 * gi
        vi = beta2 * v[i] + one_minus_beta2 * gi * gi
        m[i] = mi
        v[i] = vi
        p[i] -= step * mi / (np.sqrt(vi) * scale + eps)
