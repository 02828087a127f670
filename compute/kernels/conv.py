"""Convolution kernels: im2col/col2im and the layout shuffles around one big GEMM.

A convolution becomes ``W2 (F, C·kh·kw) @ cols (C·kh·kw, N·P)`` with P = OH·OW, so one
BLAS call covers the whole batch and both threads. The column matrix keeps the batch and
the output pixels on its long axis, so for stride 1 the innermost loops of im2col and
col2im copy contiguous runs of a row of the image (the order that keeps single-channel
first layers cheap); the valid range of each run is computed once per kernel tap, not
tested per pixel.

Geometry (shared by both directions): output pixel (oy, ox) of a tap (i, j) reads input
pixel (oy·sh + i − ph, ox·sw + j − pw); reads outside the image are zeros (im2col) and
writes outside it are dropped (col2im), which is also how a transposed convolution crops.
Arrays are C-contiguous float32 or float64; sizes and strides are Python ints.
"""
import numpy as np

from . import kernel
from . import threads


@kernel(inline="always")
def valid_span(j, pw, sw, w, ow):
    """(first, stop) output columns ox with 0 <= ox·sw + j − pw < w, clipped to [0, ow]."""
    lo = -((j - pw) // sw)          # ceil((pw − j) / sw)
    if lo < 0:
        lo = 0
    top = w - 1 + pw - j
    hi = top // sw + 1 if top >= 0 else 0
    if hi > ow:
        hi = ow
    if hi < lo:
        hi = lo
    return lo, hi


@kernel(inline="always")
def fill_zero(a, start, stop):
    for t in range(start, stop):
        a[np.uint64(t)] = 0.0


@kernel(inline="always")
def copy_run(dst, d, src, s, lo, hi, step):
    """dst[d + t] = src[s + t·step] for t in [lo, hi)."""
    if step == 1:
        for t in range(lo, hi):
            dst[np.uint64(d + t)] = src[np.uint64(s + t)]
    else:
        for t in range(lo, hi):
            dst[np.uint64(d + t)] = src[np.uint64(s + t * step)]


@kernel(inline="always")
def add_run(dst, d, src, s, lo, hi, step):
    """dst[d + t·step] += src[s + t] for t in [lo, hi)."""
    if step == 1:
        for t in range(lo, hi):
            dst[np.uint64(d + t)] += src[np.uint64(s + t)]
    else:
        for t in range(lo, hi):
            dst[np.uint64(d + t * step)] += src[np.uint64(s + t)]


# Indices below are cast to unsigned: with signed ones Numba adds a negative-index
# wraparound test to every access, which stops LLVM from vectorising the runs (5-8x
# slower on the short rows of small images).

@kernel
def _im2col(x, kh, kw, sh, sw, ph, pw, oh, ow, cols, lo, hi):
    """cols[(c, i, j), n·P + oy·ow + ox] = x[n, c, oy·sh + i − ph, ox·sw + j − pw] (0 outside),
    for the rows (c, i, j) in [lo, hi).

    Shape: x (N, C, H, W) -> cols (C·kh·kw, N·oh·ow), both C-contiguous.
    """
    n_img, n_ch, h, w = x.shape
    p = oh * ow
    xf = x.reshape(-1)
    cf = cols.reshape(-1)
    for r in range(lo, hi):
        c = r // (kh * kw)
        i = (r // kw) % kh
        j = r % kw
        lo, hi = valid_span(j, pw, sw, w, ow)
        d = r * n_img * p
        for n in range(n_img):
            plane = (n * n_ch + c) * h * w + j - pw
            for oy in range(oh):
                iy = oy * sh + i - ph
                if iy < 0 or iy >= h:
                    fill_zero(cf, d, d + ow)
                else:
                    fill_zero(cf, d, d + lo)
                    copy_run(cf, d, xf, plane + iy * w, lo, hi, sw)
                    fill_zero(cf, d + hi, d + ow)
                d += ow


@kernel
def _col2im(cols, kh, kw, sh, sw, ph, pw, oh, ow, x, lo, hi):
    """The adjoint of im2col: adds every column entry back to its image pixel, for the
    (n, c) planes n·C + c in [lo, hi) (planes do not overlap: threads never race).

    `x` (N, C, H, W) must be zeroed by the caller.
    """
    n_img, n_ch, h, w = x.shape
    p = oh * ow
    xf = x.reshape(-1)
    cf = cols.reshape(-1)
    for q in range(lo, hi):
        n = q // n_ch
        c = q % n_ch
        for i in range(kh):
            for j in range(kw):
                r = (c * kh + i) * kw + j
                lo, hi = valid_span(j, pw, sw, w, ow)
                plane = q * h * w + j - pw
                src = r * n_img * p + n * p
                for oy in range(oh):
                    iy = oy * sh + i - ph
                    if 0 <= iy < h:
                        add_run(xf, plane + iy * w, cf, src, lo, hi, sw)
                    src += ow


@kernel
def _channels_to_batch(y2, b, relu, y, lo, hi):
    """y[n, f, p] = y2[f, n·P + p] + b[f], or its ReLU (fused: one pass over y instead of
    two), for the images n in [lo, hi): the GEMM result back to batch-first layout.

    Shape: y2 (F, N·P), b (F,) -> y (N, F, P).
    """
    n_img, n_f, p = y.shape
    yf = y.reshape(-1)
    y2f = y2.reshape(-1)
    zero = y.dtype.type(0)
    for n in range(lo, hi):
        for f in range(n_f):
            bf = b[f]
            d = (n * n_f + f) * p
            s = (f * n_img + n) * p
            if relu:
                for t in range(p):
                    v = y2f[np.uint64(s + t)] + bf
                    yf[np.uint64(d + t)] = v if v > 0 else zero
            else:
                for t in range(p):
                    yf[np.uint64(d + t)] = y2f[np.uint64(s + t)] + bf


@kernel
def _batch_to_channels(dy, mask, dy2, sums, lo, hi):
    """dy2[f, n·P + p] = dy[n, f, p], and sums[f] = Σ dy[:, f, :] (the bias gradient), for
    the channels f in [lo, hi).
    With a `mask` of dy's shape (a ReLU's output; empty for none), dy counts only where
    mask > 0: the ReLU's backward fused in.

    Shape: dy (N, F, P) -> dy2 (F, N·P), sums (F,).
    """
    n_img, n_f, p = dy.shape
    dyf = dy.reshape(-1)
    mf = mask.reshape(-1)
    masked = mf.size == dyf.size
    dy2f = dy2.reshape(-1)
    zero = dy.dtype.type(0)
    for f in range(lo, hi):
        acc = 0.0
        for n in range(n_img):
            s = (n * n_f + f) * p
            d = (f * n_img + n) * p
            if masked:
                for t in range(p):
                    v = dyf[np.uint64(s + t)]
                    v = v if mf[np.uint64(s + t)] > 0 else zero
                    dy2f[np.uint64(d + t)] = v
                    acc += v
            else:
                for t in range(p):
                    v = dyf[np.uint64(s + t)]
                    dy2f[np.uint64(d + t)] = v
                    acc += v
        sums[f] = acc


# -- over the engine's threads (threads.over: one part where the work is small) -----------
def im2col(x, kh, kw, sh, sw, ph, pw, oh, ow, cols):
    """`_im2col` over all rows of `cols`, in parallel."""
    threads.over(cols.shape[0], cols.size, _im2col, x, kh, kw, sh, sw, ph, pw, oh, ow, cols)


def col2im(cols, kh, kw, sh, sw, ph, pw, oh, ow, x):
    """`_col2im` over all planes of `x` (zeroed by the caller), in parallel."""
    threads.over(x.shape[0] * x.shape[1], cols.size, _col2im,
                 cols, kh, kw, sh, sw, ph, pw, oh, ow, x)


def channels_to_batch(y2, b, relu, y):
    """`_channels_to_batch` over all images, in parallel."""
    threads.over(y.shape[0], y.size, _channels_to_batch, y2, b, relu, y)


def batch_to_channels(dy, mask, dy2, sums):
    """`_batch_to_channels` over all channels, in parallel."""
    threads.over(dy.shape[1], dy.size, _batch_to_channels, dy, mask, dy2, sums)
