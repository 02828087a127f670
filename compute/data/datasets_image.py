"""Small image sets: scikit-learn's bundled 8x8 digits and generated 9x9 X-versus-O glyphs.

Images are ``(N, C, H, W)`` float32 in [0, 1]. The digits come with scikit-learn (no
download); the X/O set is drawn here, anti-aliased, with a random size, stroke width,
shift, intensity and pixel noise per image, so a CNN has something to generalise over.
"""
from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np

from ..errors import NetwrightError
from ..params import Param
from .base import SEED, Raw, Source, classification, n_samples, noise, source

SIDE = 9


@source("digits", "Digits (8x8)", (Param("classes", "int", 10, "keep digits 0 .. classes-1",
                                         min=2, max=10),),
        "classification", "scikit-learn's bundled handwritten digits: 1797 images of "
        "8x8 pixels, 1 channel, scaled to [0, 1].")
def digits(cfg: dict, src: Source) -> Raw:
    images, target = _bundled_digits()
    keep = target < cfg["classes"]
    x = (images[keep] / 16.0)[:, None, :, :]
    names = [str(d) for d in range(cfg["classes"])]
    return classification(x, target[keep], names,
                          f"Digits: {x.shape[0]} images 1x8x8, {cfg['classes']} classes")


@functools.lru_cache(maxsize=1)
def _bundled_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits file, read without importing scikit-learn, once per process
    (read-only arrays: callers select and scale into new ones).

    Importing it (with SciPy) takes about a second and holds the GIL throughout, which
    froze the window when a run started; its package data is a plain CSV, and parsing
    that again at every run start held the GIL for tens of milliseconds more.
    """
    spec = importlib.util.find_spec("sklearn")        # finds the package, imports nothing
    if spec is None or not spec.submodule_search_locations:
        raise NetwrightError("the digits dataset needs scikit-learn installed "
                             "(pip install scikit-learn)")
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.float64)
    except OSError as exc:
        raise NetwrightError(f"cannot read scikit-learn's digits file {path}: {exc}") from None
    images, target = table[:, :-1].reshape(-1, 8, 8), table[:, -1].astype(np.int64)
    images.setflags(write=False)
    target.setflags(write=False)
    return images, target


@source("xo", "X versus O (9x9)", (n_samples(600), noise(0.1, "standard deviation of the "
                                                          "pixel noise"), SEED,
                                   Param("max_shift", "float", 1.0, "largest shift of a "
                                         "glyph from the centre, in pixels", min=0.0,
                                         max=2.0)),
        "classification", "Generated 9x9 images of X and O glyphs with random size, "
        "stroke width, shift and noise, like the course's CNN example.")
def xo(cfg: dict, src: Source) -> Raw:
    rng = np.random.default_rng(cfg["seed"])
    n = cfg["n_samples"]
    y = np.arange(n) % 2
    rng.shuffle(y)
    shift = rng.uniform(-cfg["max_shift"], cfg["max_shift"], (n, 2))
    half = np.minimum(rng.uniform(2.5, 3.5, n), 4.2 - np.abs(shift).max(axis=1))
    width = rng.uniform(0.8, 1.6, n)
    ink = rng.uniform(0.7, 1.0, n)
    x = render_glyphs(y, (SIDE - 1) / 2 + shift, half, width) * ink[:, None, None]
    x += cfg["noise"] * rng.standard_normal(x.shape)
    np.clip(x, 0.0, 1.0, out=x)
    return classification(x[:, None], y, ["X", "O"],
                          f"X versus O: {n} images 1x9x9, noise {cfg['noise']:g}")


def render_glyphs(kind: np.ndarray, centre: np.ndarray, half: np.ndarray,
                  width: np.ndarray, side: int = SIDE) -> np.ndarray:
    """Anti-aliased glyphs: kind 0 draws an X, kind 1 an O; returns (N, side, side).

    Each pixel's ink falls off linearly with its distance to the stroke's centre line,
    reaching 0 half a pixel beyond the stroke's edge.
    """
    grid = np.arange(side, dtype=np.float64)
    dy = grid[None, :, None] - centre[:, 0, None, None]
    dx = grid[None, None, :] - centre[:, 1, None, None]
    h = half[:, None, None]
    # X: distance to the two diagonal segments from (-h, -h) to (h, h) and (-h, h) to (h, -h)
    t1 = np.clip((dx + dy) / 2, -h, h)
    t2 = np.clip((dx - dy) / 2, -h, h)
    d_x = np.minimum(np.hypot(dx - t1, dy - t1), np.hypot(dx - t2, dy + t2))
    # O: distance to the circle of radius h
    d_o = np.abs(np.hypot(dx, dy) - h)
    d = np.where(kind[:, None, None] == 0, d_x, d_o)
    return np.clip(width[:, None, None] / 2 + 0.5 - d, 0.0, 1.0)
