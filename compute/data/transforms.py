"""Pure array transforms behind the augmentations: shifts, flips, rotation, photometric.

Each function takes a batch and per-sample amounts drawn by the caller and returns a new
array of the same shape and dtype; none draws random numbers itself, which keeps them
testable with exact expectations (a shift of +1 row moves every pixel one row down).
Images are ``(N, C, H, W)``; sequences ``(N, T, F)``.
"""
from __future__ import annotations

import numpy as np

PAD_MODES = {"zeros": "constant", "edge": "edge", "reflect": "reflect", "wrap": "wrap"}


def shift_images(x: np.ndarray, dy: np.ndarray, dx: np.ndarray, fill: str = "zeros",
                 pad: int | None = None) -> np.ndarray:
    """Move sample n's content by (dy[n], dx[n]) pixels: out[i, j] = x[i - dy, j - dx].

    Pixels shifted in from outside come from padding the image (`fill`: zeros, edge,
    reflect or wrap) by `pad` pixels (the largest |shift| by default).
    """
    n, c, h, w = x.shape
    m = int(max(np.abs(dy).max(initial=0), np.abs(dx).max(initial=0))) if pad is None else pad
    if m == 0:
        return x.copy()
    padded = np.pad(x, ((0, 0), (0, 0), (m, m), (m, m)), mode=PAD_MODES[fill])
    rows = np.arange(h)[None, :] + m - np.asarray(dy)[:, None]       # (N, H)
    cols = np.arange(w)[None, :] + m - np.asarray(dx)[:, None]       # (N, W)
    picked = padded[np.arange(n)[:, None, None], :, rows[:, :, None], cols[:, None, :]]
    return np.ascontiguousarray(picked.transpose(0, 3, 1, 2))        # (N, H, W, C) -> NCHW


def flip_images(x: np.ndarray, horizontal: np.ndarray, vertical: np.ndarray) -> np.ndarray:
    """Mirror the samples whose mask is set: left-right (horizontal) and/or top-bottom."""
    out = x.copy()
    out[horizontal] = out[horizontal][..., ::-1]
    out[vertical] = out[vertical][..., ::-1, :]
    return out


def rotate_images(x: np.ndarray, degrees: np.ndarray) -> np.ndarray:
    """Rotate each sample about its centre, counterclockwise as displayed (row 0 on top).

    Bilinear interpolation; pixels whose source falls outside the image are 0. A quarter
    turn of a square image equals ``np.rot90`` over (H, W).
    """
    n, c, h, w = x.shape
    a = np.deg2rad(np.asarray(degrees, np.float64))[:, None, None]
    cy, cx = (h - 1) / 2, (w - 1) / 2
    yy = np.arange(h, dtype=np.float64)[None, :, None] - cy
    xx = np.arange(w, dtype=np.float64)[None, None, :] - cx
    # inverse map: the source pixel each output pixel samples from
    sy = np.cos(a) * yy + np.sin(a) * xx + cy
    sx = -np.sin(a) * yy + np.cos(a) * xx + cx
    # a zero border of two pixels: corners of sources further out clip onto it, so
    # every corner index is valid and no masks are needed
    y0 = np.clip(np.floor(sy), -2, h)
    x0 = np.clip(np.floor(sx), -2, w)
    wy, wx = np.clip(sy - y0, 0, 1).astype(x.dtype), np.clip(sx - x0, 0, 1).astype(x.dtype)
    flat = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2))).ravel()
    stride = w + 4
    first = np.arange(n * c, dtype=np.int64).reshape(n, c, 1) * ((h + 4) * stride)
    corner = ((y0 + 2) * stride + (x0 + 2)).astype(np.int64).reshape(n, 1, h * w)
    idx = first + corner                                       # (N, C, H*W)
    wy, wx = wy.reshape(n, 1, h * w), wx.reshape(n, 1, h * w)
    top = np.take(flat, idx) * (1 - wx) + np.take(flat, idx + 1) * wx
    bottom = np.take(flat, idx + stride) * (1 - wx) + np.take(flat, idx + stride + 1) * wx
    return (top * (1 - wy) + bottom * wy).reshape(n, c, h, w)


def adjust_brightness(x: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """Add delta[n] to every value of sample n."""
    return x + _per_sample(delta, x)


def adjust_contrast(x: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """Scale each sample's deviations from its own mean by factor[n]."""
    axes = tuple(range(1, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    return (x - mean) * _per_sample(factor, x) + mean


def shift_sequences(x: np.ndarray, steps: np.ndarray, fill: str = "edge") -> np.ndarray:
    """Move sample n along time by steps[n]: out[t] = x[t - steps[n]].

    Steps shifted in from outside repeat the first/last value (edge), are 0 (zeros) or
    wrap around (wrap).
    """
    n, t, f = x.shape
    m = int(np.abs(steps).max(initial=0))
    if m == 0:
        return x.copy()
    padded = np.pad(x, ((0, 0), (m, m), (0, 0)), mode=PAD_MODES[fill])
    idx = np.arange(t)[None, :] + m - np.asarray(steps)[:, None]       # (N, T)
    return padded[np.arange(n)[:, None], idx]


def _per_sample(v: np.ndarray, x: np.ndarray) -> np.ndarray:
    """v (N,) reshaped to broadcast over every non-batch axis of x, in x's dtype."""
    return np.asarray(v, x.dtype).reshape((-1,) + (1,) * (x.ndim - 1))
