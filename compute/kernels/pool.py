"""Pooling and nearest-neighbour upsampling kernels.

Every kernel works plane by plane on the planes [lo, hi): arrays are viewed as
(N·C, H, W), and threads take disjoint runs of planes (`threads.split`), so backward
scatters never race. Window (oy, ox) covers input rows
oy·sh − ph ... oy·sh − ph + kh − 1 (likewise columns); the part outside the image is
padding, -inf for max pooling (it is never chosen) and zeros for average pooling (they
count in the divisor kh·kw, as PyTorch's count_include_pad=True does). The layer makes
sure every window holds at least one real pixel.
"""
import numpy as np

from . import kernel
from . import threads


@kernel(inline="always")
def clip_window(o, s, p, k, size):
    """[lo, hi) input indices of window o along one axis, clipped to the image."""
    start = o * s - p
    lo = start if start > 0 else 0
    hi = start + k
    if hi > size:
        hi = size
    return lo, hi


# Flat arrays and unsigned indices: Numba tests signed indices for wraparound on every
# access, which costs more than the work in a 2x2 window.

@kernel(inline="always")
def max_2x2(xf, yf, af, src, o, w, oh, ow):
    """The common 2x2 window at stride 2 without padding, unrolled (3x the generic loop)."""
    for oy in range(oh):
        r0 = 2 * oy * w
        for ox in range(ow):
            a = r0 + 2 * ox
            best = xf[np.uint64(src + a)]
            at = a
            for b in (a + 1, a + w, a + w + 1):
                v = xf[np.uint64(src + b)]
                if v > best:
                    best = v
                    at = b
            yf[np.uint64(o)] = best
            af[np.uint64(o)] = at
            o += 1


@kernel
def _pool_forward(x, kh, kw, sh, sw, ph, pw, use_max, y, arg, lo, hi):
    """Window maxima (use_max; arg gets the flat index iy·W + ix of each, the first on
    ties) or window means with padded zeros counted (arg unused). One kernel for both
    halves the compile time; the branches are loop-invariant.

    Shape: x (N·C, H, W) -> y (N·C, OH, OW), arg int32 (N·C, OH, OW).
    """
    planes, h, w = x.shape
    oh, ow = y.shape[1], y.shape[2]
    xf, yf, af = x.reshape(-1), y.reshape(-1), arg.reshape(-1)
    scale = 1.0 / (kh * kw)
    plain_2x2 = (use_max and kh == 2 and kw == 2 and sh == 2 and sw == 2 and ph == 0
                 and pw == 0 and 2 * oh <= h and 2 * ow <= w)   # no padding on any side
    for q in range(lo, hi):
        src = q * h * w
        o = q * oh * ow
        if plain_2x2:
            max_2x2(xf, yf, af, src, o, w, oh, ow)
            continue
        for oy in range(oh):
            y0, y1 = clip_window(oy, sh, ph, kh, h)
            for ox in range(ow):
                x0, x1 = clip_window(ox, sw, pw, kw, w)
                if use_max:
                    at = y0 * w + x0
                    best = xf[np.uint64(src + at)]
                    for iy in range(y0, y1):
                        row = iy * w
                        for ix in range(x0, x1):
                            v = xf[np.uint64(src + row + ix)]
                            if v > best:
                                best = v
                                at = row + ix
                    yf[np.uint64(o)] = best
                    af[np.uint64(o)] = at
                else:
                    s = 0.0
                    for iy in range(y0, y1):
                        row = src + iy * w
                        for ix in range(x0, x1):
                            s += xf[np.uint64(row + ix)]
                    yf[np.uint64(o)] = s * scale
                o += 1


@kernel
def max_backward(dy, arg, dx):
    """dx[argmax] += dy for every window. Shape: dy, arg (N·C, P) -> dx (N·C, H·W), zeroed.

    Serial: a scatter this light gains little from threads and compiles 3x faster.
    """
    planes, p = dy.shape
    for q in range(planes):
        for k in range(p):
            dx[q, np.uint64(arg[q, k])] += dy[q, k]


@kernel
def _avg_backward(dy, kh, kw, sh, sw, ph, pw, dx, lo, hi):
    """Spreads dy / (kh·kw) over each window. Shape: (N·C, OH, OW) -> dx (N·C, H, W), zeroed."""
    planes, h, w = dx.shape
    oh, ow = dy.shape[1], dy.shape[2]
    dyf, dxf = dy.reshape(-1), dx.reshape(-1)
    scale = 1.0 / (kh * kw)
    for q in range(lo, hi):
        dst = q * h * w
        o = q * oh * ow
        for oy in range(oh):
            y0, y1 = clip_window(oy, sh, ph, kh, h)
            for ox in range(ow):
                x0, x1 = clip_window(ox, sw, pw, kw, w)
                g = dyf[np.uint64(o)] * scale
                for iy in range(y0, y1):
                    row = dst + iy * w
                    for ix in range(x0, x1):
                        dxf[np.uint64(row + ix)] += g
                o += 1


@kernel
def _upsample_forward(x, fh, fw, y, lo, hi):
    """Nearest neighbour: y[q, iy·fh + a, ix·fw + b] = x[q, iy, ix].

    Shape: x (N·C, H, W) -> y (N·C, H·fh, W·fw).
    """
    planes, h, w = x.shape
    for q in range(lo, hi):
        for iy in range(h):
            for a in range(fh):
                oy = iy * fh + a
                for ix in range(w):
                    v = x[q, iy, ix]
                    for b in range(fw):
                        y[q, oy, ix * fw + b] = v


@kernel
def _upsample_backward(dy, fh, fw, dx, lo, hi):
    """dx[q, iy, ix] = Σ of dy over the fh×fw block it was copied to."""
    planes, h, w = dx.shape
    for q in range(lo, hi):
        for iy in range(h):
            for ix in range(w):
                s = 0.0
                for a in range(fh):
                    for b in range(fw):
                        s += dy[q, iy * fh + a, ix * fw + b]
                dx[q, iy, ix] = s


# -- over the engine's threads (threads.over: one part where the work is small) -----------
def pool_forward(x, kh, kw, sh, sw, ph, pw, use_max, y, arg):
    """`_pool_forward` over all planes, in parallel."""
    threads.over(x.shape[0], x.size, _pool_forward,
                 x, kh, kw, sh, sw, ph, pw, use_max, y, arg)


def avg_backward(dy, kh, kw, sh, sw, ph, pw, dx):
    """`_avg_backward` over all planes of `dx` (zeroed by the caller), in parallel."""
    threads.over(dx.shape[0], dx.size, _avg_backward, dy, kh, kw, sh, sw, ph, pw, dx)


def upsample_forward(x, fh, fw, y):
    """`_upsample_forward` over all planes, in parallel."""
    threads.over(x.shape[0], y.size, _upsample_forward, x, fh, fw, y)


def upsample_backward(dy, fh, fw, dx):
    """`_upsample_backward` over all planes, in parallel."""
    threads.over(dx.shape[0], dy.size, _upsample_backward, dy, fh, fw, dx)
