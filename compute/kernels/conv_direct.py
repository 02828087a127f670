"""Direct stride-1 convolution kernels, for layers with few channels.

With few channels the im2col GEMM is thin (F rows) and memory-bound: its column matrix is
kh·kw times the input and is written, read back and (in backward) scattered again. These
kernels instead work image by image in the cache: each thread copies an image into
zero-padded planes of width Wp = OW + kw − 1, so that a window at flat position t reads
t + i·Wp + j for every pixel of the image at once (rows wrap into the kw − 1 pad columns,
whose results are dropped). The innermost loops then run over a whole plane with a
window's taps fused (3x3: one store per nine multiply-adds, or nine running sums for the
weight gradient; 5x5: one per row of five), vectorised over the flat pixel index. The
windows are 3x3 or 5x5 (`Conv2D.runs_direct`).

The input gradient is the same correlation, of the output gradient padded by k − 1 − p
with the flipped, transposed kernel (a "full" correlation); backward computes it image by
image in the same pass as the weight gradient, while that image's gradient is in the
cache. Arrays are C-contiguous float32 or float64.
"""
import numpy as np

from . import kernel
from . import threads


@kernel(inline="always")
def taps9(acc, src, s0, m, wp, wf, k):
    """acc[t] += Σ_{i,j} wf[k + 3i + j] · src[s0 + t + i·wp + j] for t < m."""
    w0, w1, w2 = wf[k], wf[k + 1], wf[k + 2]
    w3, w4, w5 = wf[k + 3], wf[k + 4], wf[k + 5]
    w6, w7, w8 = wf[k + 6], wf[k + 7], wf[k + 8]
    o1, o2 = np.uint64(1), np.uint64(2)          # unsigned offsets: no wraparound tests
    r1, r2 = np.uint64(wp), np.uint64(2 * wp)
    for t in range(m):
        s = np.uint64(s0 + t)
        acc[np.uint64(t)] += (w0 * src[s] + w1 * src[s + o1] + w2 * src[s + o2]
                              + w3 * src[s + r1] + w4 * src[s + r1 + o1]
                              + w5 * src[s + r1 + o2] + w6 * src[s + r2]
                              + w7 * src[s + r2 + o1] + w8 * src[s + r2 + o2])


@kernel(inline="always")
def taps(acc, src, s0, m, wp, wf, k, kh, kw):
    """acc[t] += Σ_{i,j} wf[k + i·kw + j] · src[s0 + t + i·wp + j] for t < m, for a 3x3
    window (nine taps fused) or a kh x 5 one (each row's five fused)."""
    if kw == 3:
        taps9(acc, src, s0, m, wp, wf, k)
        return
    o1, o2, o3, o4 = np.uint64(1), np.uint64(2), np.uint64(3), np.uint64(4)
    for i in range(kh):
        r = k + 5 * i
        w0, w1, w2, w3, w4 = wf[r], wf[r + 1], wf[r + 2], wf[r + 3], wf[r + 4]
        row = s0 + i * wp
        for t in range(m):
            s = np.uint64(row + t)
            acc[np.uint64(t)] += (w0 * src[s] + w1 * src[s + o1] + w2 * src[s + o2]
                                  + w3 * src[s + o3] + w4 * src[s + o4])


@kernel(inline="always")
def weight_taps9(d, d0, src, s0, m, wp, g, k):
    """g[k + 3i + j] += Σ_t d[d0 + t] · src[s0 + t + i·wp + j] for t < m."""
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = a8 = d.dtype.type(0)
    o1, o2 = np.uint64(1), np.uint64(2)
    r1, r2 = np.uint64(wp), np.uint64(2 * wp)
    for t in range(m):
        v = d[np.uint64(d0 + t)]
        s = np.uint64(s0 + t)
        a0 += v * src[s]
        a1 += v * src[s + o1]
        a2 += v * src[s + o2]
        a3 += v * src[s + r1]
        a4 += v * src[s + r1 + o1]
        a5 += v * src[s + r1 + o2]
        a6 += v * src[s + r2]
        a7 += v * src[s + r2 + o1]
        a8 += v * src[s + r2 + o2]
    g[k] += a0
    g[k + 1] += a1
    g[k + 2] += a2
    g[k + 3] += a3
    g[k + 4] += a4
    g[k + 5] += a5
    g[k + 6] += a6
    g[k + 7] += a7
    g[k + 8] += a8


@kernel(inline="always")
def weight_taps(d, d0, src, s0, m, wp, g, k, kh, kw):
    """g[k + i·kw + j] += Σ_t d[d0 + t] · src[s0 + t + i·wp + j] for t < m, for a 3x3
    window (nine running sums) or a kh x 5 one (five per row)."""
    if kw == 3:
        weight_taps9(d, d0, src, s0, m, wp, g, k)
        return
    o1, o2, o3, o4 = np.uint64(1), np.uint64(2), np.uint64(3), np.uint64(4)
    for i in range(kh):
        a0 = a1 = a2 = a3 = a4 = d.dtype.type(0)
        row = s0 + i * wp
        for t in range(m):
            v = d[np.uint64(d0 + t)]
            s = np.uint64(row + t)
            a0 += v * src[s]
            a1 += v * src[s + o1]
            a2 += v * src[s + o2]
            a3 += v * src[s + o3]
            a4 += v * src[s + o4]
        r = k + 5 * i
        g[r] += a0
        g[r + 1] += a1
        g[r + 2] += a2
        g[r + 3] += a3
        g[r + 4] += a4


@kernel
def pad_image(x, n, ph, pw, hp, wp, xp):
    """xp[c, ph + y, pw + x] = x[n, c, y, x]: one image into zeroed planes of hp·wp
    (cells outside the image keep the zeros they were made with)."""
    _, n_ch, h, w = x.shape
    xf = x.reshape(-1)
    for c in range(n_ch):
        for y in range(h):
            src = ((n * n_ch + c) * h + y) * w
            dst = (c * hp + y + ph) * wp + pw
            for t in range(w):
                xp[np.uint64(dst + t)] = xf[np.uint64(src + t)]


@kernel
def correlate(xp, wp, w, b, relu, acc, y, n):
    """y[n, f] = b[f] + Σ_c xp[c] ⋆ w[f, c], or its ReLU, from padded planes xp of width
    wp = OW + kw − 1 and OH + kh − 1 rows (+ kw − 1 cells after the last one)."""
    n_f, n_ch, kh, kw = w.shape
    oh, ow = y.shape[2], y.shape[3]
    plane, m = (oh + kh - 1) * wp, oh * wp
    wf = w.reshape(-1)
    yf = y.reshape(-1)
    zero = y.dtype.type(0)
    for f in range(n_f):
        acc[:] = b[f]
        for c in range(n_ch):
            taps(acc, xp, c * plane, m, wp, wf, (f * n_ch + c) * kh * kw, kh, kw)
        for oy in range(oh):
            d = ((n * n_f + f) * oh + oy) * ow
            s = oy * wp
            if relu:
                for t in range(ow):
                    v = acc[np.uint64(s + t)]
                    yf[np.uint64(d + t)] = v if v > zero else zero
            else:
                for t in range(ow):
                    yf[np.uint64(d + t)] = acc[np.uint64(s + t)]


@kernel
def _conv(x, w, b, ph, pw, relu, y, lo, hi):
    """y[n, f] = b[f] + Σ_c x[n, c] ⋆ w[f, c] (zero padding ph, pw at the top and left;
    stride 1), or its ReLU, for the images n in [lo, hi).

    Shape: x (N, C, H, W), w (F, C, kh, kw), b (F,) -> y (N, F, OH, OW) with
    OH + kh − 1 ≥ H + ph and OW + kw − 1 ≥ W + pw (the rest is bottom/right padding).
    """
    n_ch, kh, kw = w.shape[1], w.shape[2], w.shape[3]
    hp, wp = y.shape[2] + kh - 1, y.shape[3] + kw - 1
    xp = np.zeros(n_ch * hp * wp + kw - 1, x.dtype)      # + kw − 1: the last overrun
    acc = np.empty(y.shape[2] * wp, x.dtype)
    for n in range(lo, hi):
        pad_image(x, n, ph, pw, hp, wp, xp)
        correlate(xp, wp, w, b, relu, acc, y, n)


@kernel
def pad_grad(dy, mask, n, wd, qh, qw, hq, wq, dw, dq, gb):
    """One image's dz = dy (where mask > 0 if `mask` is not empty) into the zeroed planes
    dw (F, OH, wd: the layout of the weight gradient's sums) and dq (F, hq, wq, with dz at
    row qh and column qw: the input gradient's padding); adds its sums to gb."""
    n_f, oh, ow = dy.shape[1], dy.shape[2], dy.shape[3]
    dyf = dy.reshape(-1)
    mf = mask.reshape(-1)
    masked = mf.size == dyf.size
    zero = dy.dtype.type(0)
    for f in range(n_f):
        acc = zero
        for oy in range(oh):
            s = ((n * n_f + f) * oh + oy) * ow
            d = (f * oh + oy) * wd
            q = (f * hq + oy + qh) * wq + qw
            for t in range(ow):
                v = dyf[np.uint64(s + t)]
                if masked:
                    v = v if mf[np.uint64(s + t)] > zero else zero
                dw[np.uint64(d + t)] = v
                dq[np.uint64(q + t)] = v
                acc += v
        gb[f] += acc


@kernel
def backward_image(x, dy, mask, n, ph, pw, flipped, zeros, xp, dw, dq, acc, g, gb, dx):
    """One image's share of `conv_backward`, with a thread's scratch planes."""
    n_ch, h, w = x.shape[1], x.shape[2], x.shape[3]
    kh, kw = flipped.shape[2], flipped.shape[3]
    oh, ow = dy.shape[2], dy.shape[3]
    wp, wq = ow + kw - 1, w + kw - 1
    m, plane = oh * wp, (oh + kh - 1) * wp
    pad_image(x, n, ph, pw, oh + kh - 1, wp, xp)
    pad_grad(dy, mask, n, wp, kh - 1 - ph, kw - 1 - pw, h + kh - 1, wq, dw, dq, gb)
    for f in range(dy.shape[1]):
        for c in range(n_ch):
            weight_taps(dw, f * m, xp, c * plane, m, wp, g[f], c * kh * kw, kh, kw)
    if dx.size:
        # np.bool_(False), a typed bool as `_conv` passes: a plain False is a
        # Literal[bool] to Numba, which compiled `correlate` a second time (1.3-2 s of a
        # cold start)
        correlate(dq, wq, flipped, zeros, np.bool_(False), acc, dx, n)


@kernel
def _conv_backward(x, dy, mask, ph, pw, flipped, zeros, gw, gb, dx, lo, hi):
    """Gradients of `conv` over the images n in [lo, hi): weights and bias as partial
    sums in gw (F, C·kh·kw) and gb (F,) (set here; the caller adds up the parts), and the
    input gradient dx (unless empty), the full correlation of dz with `flipped`
    (C, F, kh, kw), the kernel rotated 180° and transposed; `zeros` is C zeros.
    dz = dy, or dy where mask > 0 when `mask` (the ReLU's output, dy's shape) is not empty.

    Shape: x (N, C, H, W), dy (N, F, OH, OW) -> gw (F, C·kh·kw), gb (F,), dx (N, C, H, W).
    """
    n_ch, h, w = x.shape[1], x.shape[2], x.shape[3]
    n_f, oh, ow = dy.shape[1], dy.shape[2], dy.shape[3]
    kh, kw = flipped.shape[2], flipped.shape[3]
    xp = np.zeros(n_ch * (oh + kh - 1) * (ow + kw - 1) + kw - 1, x.dtype)
    dw = np.zeros(n_f * oh * (ow + kw - 1), x.dtype)
    dq = np.zeros(n_f * (h + kh - 1) * (w + kw - 1) + kw - 1, x.dtype)
    acc = np.empty(h * (w + kw - 1), x.dtype)
    gw[:] = 0
    gb[:] = 0
    for n in range(lo, hi):
        backward_image(x, dy, mask, n, ph, pw, flipped, zeros, xp, dw, dq, acc, gw, gb, dx)


# -- over the engine's threads (threads.over: one part where the work is small) -----------
def conv(x, w, b, ph, pw, relu, y):
    """`_conv` over all images, in parallel."""
    threads.over(x.shape[0], y.size * w[0].size, _conv, x, w, b, ph, pw, relu, y)


def conv_backward(x, dy, mask, ph, pw, flipped, zeros, gw, gb, dx):
    """`_conv_backward` over all images, in parallel: each part sums its images'
    weight and bias gradients apart, and gw (F, C·kh·kw) and gb (F,) get their totals."""
    n = x.shape[0]
    parts = threads.parts_for(n, 2 * dy.size * flipped[:, 0].size)
    if parts == 1:
        _conv_backward(x, dy, mask, ph, pw, flipped, zeros, gw, gb, dx, 0, n)
        return
    gws = np.empty((parts,) + gw.shape, gw.dtype)
    gbs = np.empty((parts,) + gb.shape, gb.dtype)

    def part(i):
        r = threads.bounds(n, parts, i)
        _conv_backward(x, dy, mask, ph, pw, flipped, zeros, gws[i], gbs[i], dx,
                       r.start, r.stop)
    threads.run_parts(part, parts)
    np.sum(gws, axis=0, out=gw)
    np.sum(gbs, axis=0, out=gb)
