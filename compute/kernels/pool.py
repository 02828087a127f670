"""Pooling and nearest-neighbour upsampling kernels.

Every kernel works plane by plane: arrays are viewed as (N·C, H, W), one plane per
thread, so backward scatters never race. Window (oy, ox) covers input rows
oy·sh − ph ... oy·sh − ph + kh − 1 (likewise columns); the part outside the image is
padding, -inf for max pooling (it is never chosen) and zeros for average pooling (they
count in the divisor kh·kw, as PyTorch's count_include_pad=True does). The layer makes
sure every window holds at least one real pixel.
"""
from numba import prange

from . import kernel


@kernel
def clip_window(o, s, p, k, size):
    """[lo, hi) input indices of window o along one axis, clipped to the image."""
    start = o * s - p
    lo = start if start > 0 else 0
    hi = start + k
    if hi > size:
        hi = size
    return lo, hi


@kernel(parallel=True)
def max_forward(x, kh, kw, sh, sw, ph, pw, y, arg):
    """y = window maxima, arg = flat index iy·W + ix of each maximum (the first on ties).

    Shape: x (N·C, H, W) -> y (N·C, OH, OW), arg int32 (N·C, OH, OW).
    """
    planes, h, w = x.shape
    oh, ow = y.shape[1], y.shape[2]
    for q in prange(planes):
        for oy in range(oh):
            y0, y1 = clip_window(oy, sh, ph, kh, h)
            for ox in range(ow):
                x0, x1 = clip_window(ox, sw, pw, kw, w)
                best = x[q, y0, x0]
                at = y0 * w + x0
                for iy in range(y0, y1):
                    for ix in range(x0, x1):
                        v = x[q, iy, ix]
                        if v > best:
                            best = v
                            at = iy * w + ix
                y[q, oy, ox] = best
                arg[q, oy, ox] = at


@kernel(parallel=True)
def max_backward(dy, arg, dx):
    """dx[argmax] += dy for every window. Shape: dy, arg (N·C, P) -> dx (N·C, H·W), zeroed."""
    planes, p = dy.shape
    for q in prange(planes):
        for k in range(p):
            dx[q, arg[q, k]] += dy[q, k]


@kernel(parallel=True)
def avg_forward(x, kh, kw, sh, sw, ph, pw, y):
    """y = window sums / (kh·kw), padded zeros included. Shape: (N·C, H, W) -> (N·C, OH, OW)."""
    planes, h, w = x.shape
    oh, ow = y.shape[1], y.shape[2]
    scale = 1.0 / (kh * kw)
    for q in prange(planes):
        for oy in range(oh):
            y0, y1 = clip_window(oy, sh, ph, kh, h)
            for ox in range(ow):
                x0, x1 = clip_window(ox, sw, pw, kw, w)
                s = 0.0
                for iy in range(y0, y1):
                    for ix in range(x0, x1):
                        s += x[q, iy, ix]
                y[q, oy, ox] = s * scale


@kernel(parallel=True)
def avg_backward(dy, kh, kw, sh, sw, ph, pw, dx):
    """Spreads dy / (kh·kw) over each window. Shape: (N·C, OH, OW) -> dx (N·C, H, W), zeroed."""
    planes, h, w = dx.shape
    oh, ow = dy.shape[1], dy.shape[2]
    scale = 1.0 / (kh * kw)
    for q in prange(planes):
        for oy in range(oh):
            y0, y1 = clip_window(oy, sh, ph, kh, h)
            for ox in range(ow):
                x0, x1 = clip_window(ox, sw, pw, kw, w)
                g = dy[q, oy, ox] * scale
                for iy in range(y0, y1):
                    for ix in range(x0, x1):
                        dx[q, iy, ix] += g


@kernel(parallel=True)
def upsample_forward(x, fh, fw, y):
    """Nearest neighbour: y[q, iy·fh + a, ix·fw + b] = x[q, iy, ix].

    Shape: x (N·C, H, W) -> y (N·C, H·fh, W·fw).
    """
    planes, h, w = x.shape
    for q in prange(planes):
        for iy in range(h):
            for a in range(fh):
                oy = iy * fh + a
                for ix in range(w):
                    v = x[q, iy, ix]
                    for b in range(fw):
                        y[q, oy, ix * fw + b] = v


@kernel(parallel=True)
def upsample_backward(dy, fh, fw, dx):
    """dx[q, iy, ix] = Σ of dy over the fh×fw block it was copied to."""
    planes, h, w = dx.shape
    for q in prange(planes):
        for iy in range(h):
            for ix in range(w):
                s = 0.0
                for a in range(fh):
                    for b in range(fw):
                        s += dy[q, iy * fh + a, ix * fw + b]
                dx[q, iy, ix] = s
