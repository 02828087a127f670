"""Bounded, spike-preserving series for live plots, and honest smoothing.

A 100,000-step run must not grow memory or frame time without bound, yet a loss spike must
never disappear from the plot. `Series` keeps at most `capacity` points: as given until it
is full, then in buckets of raw points, each bucket stored as its lowest and its highest
point (in step order). When full again, pairs of buckets merge. Qt-free and unit-tested.
"""
from __future__ import annotations

import math

import numpy as np


class Series:
    """Append-only (x, y) points in bounded memory; `data()` gives arrays for setData."""

    def __init__(self, capacity: int = 4096) -> None:
        if capacity < 8 or capacity % 4:
            raise ValueError("capacity must be a multiple of 4, at least 8")
        self.capacity = capacity
        self._x = np.empty(capacity, np.float64)
        self._y = np.empty(capacity, np.float64)
        self._n = 0
        self.width = 1                  # raw points per stored bucket (1: no merging yet)
        self._pending: list[tuple[float, float]] = []
        self.count = 0                  # raw points appended
        self.last: tuple[float, float] | None = None

    def __len__(self) -> int:
        return self._n + len(self._pending)

    def append(self, x: float, y: float) -> None:
        self.count += 1
        self.last = (float(x), float(y))
        if self.width == 1:
            self._store(float(x), float(y))
            return
        self._pending.append(self.last)
        if len(self._pending) == self.width:
            px, py = zip(*self._pending)
            self._pending.clear()
            for i in _extremes(np.asarray(py)):
                self._store(px[i], py[i])

    def extend(self, xs, ys) -> None:
        for x, y in zip(xs, ys):
            self.append(x, y)

    def _store(self, x: float, y: float) -> None:
        if self._n == self.capacity:
            self._compact()
        self._x[self._n] = x
        self._y[self._n] = y
        self._n += 1

    def _compact(self) -> None:
        """Every 4 stored points become 2 (the lowest and highest), halving the count."""
        ys = self._y[:self._n].reshape(-1, 4)
        xs = self._x[:self._n].reshape(-1, 4)
        lo = _nanarg(ys, np.nanargmin)
        hi = _nanarg(ys, np.nanargmax)
        first, second = np.minimum(lo, hi), np.maximum(lo, hi)
        second = np.where(first == second, (first + 1) % 4, second)   # flat bucket
        first, second = np.minimum(first, second), np.maximum(first, second)
        rows = np.arange(ys.shape[0])
        half = self._n // 2
        nx = np.empty(half)
        ny = np.empty(half)
        nx[0::2], nx[1::2] = xs[rows, first], xs[rows, second]
        ny[0::2], ny[1::2] = ys[rows, first], ys[rows, second]
        self._x[:half], self._y[:half] = nx, ny
        self._n = half
        self.width = 4 if self.width == 1 else self.width * 2

    @property
    def point_weight(self) -> float:
        """How many raw points each stored point stands for."""
        return 1.0 if self.width == 1 else self.width / 2

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the points to draw: stored ones, then the raw points still pending."""
        if not self._pending:
            return self._x[:self._n].copy(), self._y[:self._n].copy()
        px, py = zip(*self._pending)
        return (np.concatenate([self._x[:self._n], px]),
                np.concatenate([self._y[:self._n], py]))

    def smoothed(self, beta: float) -> tuple[np.ndarray, np.ndarray]:
        """The debiased exponential moving average with factor `beta` (0 = raw).

        Computed over the stored points with each one weighted by the raw steps it stands
        for, so the curve means the same whether or not the series has been thinned.
        After the first non-finite value the average is undefined and stays NaN.
        """
        x, y = self.data()
        if not 0.0 <= beta < 1.0:
            raise ValueError("beta must be in [0, 1)")
        weights = np.full(y.size, self.point_weight)
        weights[self._n:] = 1.0
        return x, debiased_ema(y, weights, beta)

    def nbytes(self) -> int:
        return self._x.nbytes + self._y.nbytes


def _nanarg(rows: np.ndarray, fn) -> np.ndarray:
    finite = np.isfinite(rows)
    out = np.zeros(rows.shape[0], np.int64)
    ok = finite.any(axis=1)
    if ok.any():
        masked = np.where(finite[ok], rows[ok], np.nan)
        out[ok] = fn(masked, axis=1)
    # a row holding a NaN or inf keeps it visible: divergence must show
    bad = ~finite.all(axis=1)
    if bad.any():
        out[bad] = np.argmax(~finite[bad], axis=1)
    return out


def _extremes(y: np.ndarray) -> list[int]:
    """Indices of the lowest and highest point of a bucket, in order (two distinct)."""
    if not np.isfinite(y).all():
        bad = int(np.argmax(~np.isfinite(y)))
        other = 0 if bad != 0 else len(y) - 1
        return sorted({bad, other}) if len(y) > 1 else [bad]
    lo, hi = int(np.argmin(y)), int(np.argmax(y))
    if lo == hi:
        hi = len(y) - 1 if lo != len(y) - 1 else 0
    return sorted({lo, hi})


_BLOCK = 32


def debiased_ema(y: np.ndarray, weights: np.ndarray, beta: float) -> np.ndarray:
    """s_i = a_i s_{i-1} + (1 - a_i) y_i with a_i = beta**w_i, divided by 1 - beta**(Σw).

    Vectorised by runs of equal weight, in blocks of 32: within a block a lower-triangular
    Toeplitz product (only non-negative powers of a, so nothing overflows), across blocks
    the carried state.
    """
    y = np.asarray(y, np.float64)
    out = np.empty_like(y)
    if y.size == 0:
        return out
    if beta <= 0.0:
        out[:] = y
        return _poison_after_nonfinite(out, y)
    carry = 0.0
    start = 0
    while start < y.size:
        w = weights[start]
        stop = start + 1
        while stop < y.size and weights[stop] == w:
            stop += 1
        a = beta ** w
        out[start:stop], carry = _ema_run(np.nan_to_num(y[start:stop], nan=0.0, posinf=0.0,
                                                        neginf=0.0), a, carry)
        start = stop
    total = np.cumsum(weights)
    out /= -np.expm1(total * math.log(beta))
    return _poison_after_nonfinite(out, y)


def _poison_after_nonfinite(out: np.ndarray, y: np.ndarray) -> np.ndarray:
    bad = ~np.isfinite(y)
    if bad.any():
        out[int(np.argmax(bad)):] = np.nan
    return out


def _ema_run(y: np.ndarray, a: float, carry: float) -> tuple[np.ndarray, float]:
    n = y.size
    nb = -(-n // _BLOCK)
    padded = np.zeros(nb * _BLOCK)
    padded[:n] = y
    j = np.arange(_BLOCK)
    lag = j[:, None] - j[None, :]
    toeplitz = np.where(lag >= 0, (1 - a) * a ** np.maximum(lag, 0).astype(np.float64), 0.0)
    local = padded.reshape(nb, _BLOCK) @ toeplitz.T       # each block started from zero
    decay = a ** (j + 1.0)
    for b in range(nb):
        local[b] += carry * decay
        carry = local[b, -1]
    flat = local.reshape(-1)[:n]
    return flat, float(flat[-1])
