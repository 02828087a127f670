"""One-pass activation statistics for the per-step diagnostics."""
import numpy as np

from . import kernel


@kernel
def activation_stats(x, center, saturation):
    """(mean, std, fraction of exact zeros, fraction with |x - center| >= saturation).

    `saturation` <= 0 skips the saturation count (it is 0 then).
    """
    n = x.size
    s = 0.0
    s2 = 0.0
    zeros = 0
    sat = 0
    for i in range(n):
        v = x[i]
        s += v
        s2 += v * v
        if v == 0.0:
            zeros += 1
        if saturation > 0.0 and abs(v - center) >= saturation:
            sat += 1
    if n == 0:
        return 0.0, 0.0, 0.0, 0.0
    mean = s / n
    var = max(s2 / n - mean * mean, 0.0)
    return mean, np.sqrt(var), zeros / n, sat / n


@kernel
def sum_squares(x):
    s = 0.0
    for i in range(x.size):
        v = np.float64(x[i])  # squared in float64: a float32 square overflows at 1.8e19
        s += v * v
    return s
