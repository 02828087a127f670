"""One-pass statistics for the per-step diagnostics and gradient norms.

The loops are branch-free (counts add comparisons) so that LLVM vectorises them: the
diagnostics read every activation and gradient once, and must stay a small part of a step.
"""
import numpy as np

from . import kernel


@kernel
def activation_stats(x, center, saturation):
    """(mean, std, fraction of exact zeros, fraction with |x - center| >= saturation).

    `saturation` <= 0 skips the saturation count (it is 0 then).
    """
    n = x.size
    if n == 0:
        return 0.0, 0.0, 0.0, 0.0
    # sums of the values shifted by the first one: E[d²] - E[d]² then cancels only the
    # spread, not the mean (unshifted, float32 values around 100 gave a std of 0.008 for
    # a constant array)
    c = x[0]
    s = 0.0
    s2 = 0.0
    zeros = 0
    for i in range(n):
        v = x[i]
        d = v - c
        s += d
        s2 += d * d
        zeros += v == 0.0
    sat = 0
    if saturation > 0.0:
        for i in range(n):
            sat += abs(x[i] - center) >= saturation
    shift = s / n
    var = max(s2 / n - shift * shift, 0.0)
    return c + shift, np.sqrt(var), zeros / n, sat / n


@kernel
def sum_squares(x):
    s = 0.0
    for i in range(x.size):
        s += x[i] * x[i]
    return s


@kernel
def segment_sum_squares(x, bounds, out):
    """out[j] = Σ x[bounds[j]:bounds[j + 1]]², one pass over a flat array."""
    for j in range(bounds.size - 1):
        out[j] = sum_squares(x[bounds[j]:bounds[j + 1]])   # 0-based loop: vectorised


@kernel
def chain_diagnostics(x, starts, stops, centers, saturations, grads, bounds, act_sq, out):
    """A small network's whole diagnostics in one call (a dense chain's: its Python
    would cost more than its step). Row j: `activation_stats` of x[starts[j]:stops[j]],
    then the norm of grads[bounds[j]:bounds[j + 1]] (its weights' gradient; 0 past the
    last segment), then √act_sq[j] (its output's gradient; the last one past the end)."""
    for j in range(starts.size):
        mean, std, zeros, sat = activation_stats(x[starts[j]:stops[j]], centers[j],
                                                 saturations[j])
        out[j, 0] = mean
        out[j, 1] = std
        out[j, 2] = zeros
        out[j, 3] = sat
        out[j, 4] = np.sqrt(sum_squares(grads[bounds[j]:bounds[j + 1]])) \
            if j + 1 < bounds.size else 0.0
        out[j, 5] = np.sqrt(act_sq[min(j, act_sq.size - 1)])
