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
from numba import prange

from . import kernel


@kernel
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


@kernel(parallel=True)
def im2col(x, kh, kw, sh, sw, ph, pw, oh, ow, cols):
    """cols[(c, i, j), n·P + oy·ow + ox] = x[n, c, oy·sh + i − ph, ox·sw + j − pw] (0 outside).

    Shape: x (N, C, H, W) -> cols (C·kh·kw, N·oh·ow).
    """
    n_img, n_ch, h, w = x.shape
    p = oh * ow
    for r in prange(n_ch * kh * kw):
        c = r // (kh * kw)
        i = (r // kw) % kh
        j = r % kw
        lo, hi = valid_span(j, pw, sw, w, ow)
        off = j - pw
        for n in range(n_img):
            base = n * p
            for oy in range(oh):
                iy = oy * sh + i - ph
                start = base + oy * ow
                if iy < 0 or iy >= h:
                    for ox in range(ow):
                        cols[r, start + ox] = 0.0
                    continue
                for ox in range(lo):
                    cols[r, start + ox] = 0.0
                if sw == 1:
                    for ox in range(lo, hi):
                        cols[r, start + ox] = x[n, c, iy, ox + off]
                else:
                    for ox in range(lo, hi):
                        cols[r, start + ox] = x[n, c, iy, ox * sw + off]
                for ox in range(hi, ow):
                    cols[r, start + ox] = 0.0


@kernel(parallel=True)
def col2im(cols, kh, kw, sh, sw, ph, pw, oh, ow, x):
    """The adjoint of im2col: adds every column entry back to its image pixel.

    `x` (N, C, H, W) must be zeroed by the caller; each (n, c) plane belongs to one thread.
    """
    n_img, n_ch, h, w = x.shape
    p = oh * ow
    for q in prange(n_img * n_ch):
        n = q // n_ch
        c = q % n_ch
        base = n * p
        for i in range(kh):
            for j in range(kw):
                r = (c * kh + i) * kw + j
                lo, hi = valid_span(j, pw, sw, w, ow)
                off = j - pw
                for oy in range(oh):
                    iy = oy * sh + i - ph
                    if iy < 0 or iy >= h:
                        continue
                    start = base + oy * ow
                    for ox in range(lo, hi):
                        x[n, c, iy, ox * sw + off] += cols[r, start + ox]


@kernel(parallel=True)
def channels_to_batch(y2, b, y):
    """y[n, f, p] = y2[f, n·P + p] + b[f]: the GEMM result back to batch-first layout.

    Shape: y2 (F, N·P), b (F,) -> y (N, F, P).
    """
    n_img, n_f, p = y.shape
    for n in prange(n_img):
        for f in range(n_f):
            bf = b[f]
            src = n * p
            for k in range(p):
                y[n, f, k] = y2[f, src + k] + bf


@kernel(parallel=True)
def batch_to_channels(dy, dy2, sums):
    """dy2[f, n·P + p] = dy[n, f, p], and sums[f] = Σ dy[:, f, :] (the bias gradient).

    Shape: dy (N, F, P) -> dy2 (F, N·P), sums (F,).
    """
    n_img, n_f, p = dy.shape
    for f in prange(n_f):
        s = 0.0
        for n in range(n_img):
            dst = n * p
            for k in range(p):
                v = dy[n, f, k]
                dy2[f, dst + k] = v
                s += v
        sums[f] = s


@kernel(parallel=True)
def add_channel_bias(y, b):
    """y[n, f, :] += b[f] in place. Shape: y (N, F, P), b (F,)."""
    n_img, n_f, p = y.shape
    for n in prange(n_img):
        for f in range(n_f):
            bf = b[f]
            for k in range(p):
                y[n, f, k] += bf

