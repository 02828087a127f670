"""Two-dimensional toy problems, as in TensorFlow Playground, plus small regressions.

Points live roughly in [-1, 1]² so that a first network needs no input scaling. Every
generator draws from its own ``seed`` param only: same params, same points. Labels come
from the clean geometry; noise then blurs the points, so high noise gives overlapping
classes as it does in the playground.
"""
from __future__ import annotations

import numpy as np

from ..params import Param
from .base import SEED, Raw, Source, classification, n_samples, noise, regression, source

CLASSES = Param("classes", "int", 2, "number of classes", min=2, max=10)


def _counts(n: int, k: int) -> list[int]:
    """n samples spread over k classes as evenly as possible."""
    return [n // k + (i < n % k) for i in range(k)]


def _labels(counts: list[int]) -> np.ndarray:
    return np.repeat(np.arange(len(counts)), counts)


@source("spirals", "Spirals", (n_samples(400), noise(0.05), SEED, CLASSES,
                               Param("turns", "float", 1.25, "turns of each arm",
                                     min=0.25, max=5.0)),
        "classification", "Interleaved spiral arms, one class per arm (two spirals by "
        "default): hard for a linear model, easy for a deep tanh MLP.")
def spirals(cfg: dict, src: Source) -> Raw:
    rng = np.random.default_rng(cfg["seed"])
    k = cfg["classes"]
    y = _labels(_counts(cfg["n_samples"], k))
    r = rng.uniform(0.05, 1.0, y.size)
    t = 2 * np.pi * (cfg["turns"] * r + y / k)
    x = np.stack([r * np.cos(t), r * np.sin(t)], axis=1)
    x += cfg["noise"] * rng.standard_normal(x.shape)
    return classification(x, y, [f"arm {i}" for i in range(k)],
                           f"Spirals: {y.size} points, {k} arms, noise {cfg['noise']:g}")


@source("moons", "Moons", (n_samples(400), noise(0.1), SEED), "classification",
        "Two interleaving half circles (scikit-learn's make_moons), centred on the origin.")
def moons(cfg: dict, src: Source) -> Raw:
    rng = np.random.default_rng(cfg["seed"])
    y = _labels(_counts(cfg["n_samples"], 2))
    t = rng.uniform(0.0, np.pi, y.size)
    upper = np.stack([np.cos(t), np.sin(t)], axis=1)
    lower = np.stack([1.0 - np.cos(t), 0.5 - np.sin(t)], axis=1)
    x = np.where(y[:, None] == 0, upper, lower) - np.array([0.5, 0.25])
    x += cfg["noise"] * rng.standard_normal(x.shape)
    return classification(x, y, ["upper", "lower"],
                          f"Moons: {y.size} points, noise {cfg['noise']:g}")


@source("circles", "Circles", (n_samples(400), noise(0.05), SEED,
                               Param("factor", "float", 0.5, "inner radius / outer radius",
                                     min=0.05, max=0.95)),
        "classification", "A ring around a smaller ring: separable only by a curved "
        "boundary (or by the feature x² + y²).")
def circles(cfg: dict, src: Source) -> Raw:
    rng = np.random.default_rng(cfg["seed"])
    y = _labels(_counts(cfg["n_samples"], 2))
    t = rng.uniform(0.0, 2 * np.pi, y.size)
    r = np.where(y == 0, 1.0, cfg["factor"])
    x = np.stack([r * np.cos(t), r * np.sin(t)], axis=1)
    x += cfg["noise"] * rng.standard_normal(x.shape)
    return classification(x, y, ["outer", "inner"],
                          f"Circles: {y.size} points, noise {cfg['noise']:g}")


@source("xor", "XOR", (n_samples(400), noise(0.05), SEED), "classification",
        "Points in four quadrants; class 1 where exactly one coordinate is positive. "
        "Needs a hidden layer.")
def xor(cfg: dict, src: Source) -> Raw:
    rng = np.random.default_rng(cfg["seed"])
    n = cfg["n_samples"]
    # keep the clean points a little away from the axes, as the playground does
    u = rng.uniform(0.1, 1.0, (n, 2)) * rng.choice([-1.0, 1.0], (n, 2))
    y = ((u[:, 0] > 0) ^ (u[:, 1] > 0)).astype(np.int64)
    x = u + cfg["noise"] * rng.standard_normal(u.shape)
    return classification(x, y, ["same sign", "different sign"],
                          f"XOR: {n} points, noise {cfg['noise']:g}")


@source("blobs", "Gaussian blobs", (n_samples(400), noise(0.15, "spread (standard "
                                                           "deviation) of each blob"),
                                    SEED, Param("classes", "int", 3, "number of blobs "
                                                "(one class each)", min=2, max=10)),
        "classification", "Gaussian clusters around centres spaced on a circle: "
        "linearly separable unless the spread is large.")
def blobs(cfg: dict, src: Source) -> Raw:
    rng = np.random.default_rng(cfg["seed"])
    k = cfg["classes"]
    y = _labels(_counts(cfg["n_samples"], k))
    angles = 2 * np.pi * (np.arange(k) / k) + rng.uniform(0, 2 * np.pi)
    centres = 0.7 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    x = centres[y] + cfg["noise"] * rng.standard_normal((y.size, 2))
    return classification(x, y, [f"blob {i}" for i in range(k)],
                          f"Blobs: {y.size} points, {k} classes, spread {cfg['noise']:g}")


FUNCTIONS_1D = {
    "sine": lambda x: np.sin(2 * np.pi * x),
    "cubic": lambda x: 2.0 * x**3 - x,
    "abs": np.abs,
    "step": lambda x: np.where(x < 0, -0.5, 0.5),
}


@source("regression_1d", "1-D regression", (n_samples(200), noise(0.1), SEED,
                                             Param("function", "choice", "sine",
                                                   "the function to learn",
                                                   choices=tuple(FUNCTIONS_1D))),
        "regression", "y = f(x) + noise for x uniform in [-1, 1]; f is a sine wave, a "
        "cubic, |x| or a step.")
def regression_1d(cfg: dict, src: Source) -> Raw:
    rng = np.random.default_rng(cfg["seed"])
    x = rng.uniform(-1.0, 1.0, (cfg["n_samples"], 1))
    y = FUNCTIONS_1D[cfg["function"]](x) + cfg["noise"] * rng.standard_normal(x.shape)
    return regression(x, y, f"1-D regression: {cfg['function']}, {x.shape[0]} points, "
                            f"noise {cfg['noise']:g}")


SURFACES = {
    "sine": lambda a, b: np.sin(np.pi * a) * np.cos(np.pi * b),
    "saddle": lambda a, b: a**2 - b**2,
    "bump": lambda a, b: np.exp(-3.0 * (a**2 + b**2)),
    "ripple": lambda a, b: np.cos(3 * np.pi * np.sqrt(a**2 + b**2)) * 0.5,
}


@source("regression_2d", "2-D surface", (n_samples(400), noise(0.05), SEED,
                                          Param("surface", "choice", "sine",
                                                "the surface z = f(x, y) to learn",
                                                choices=tuple(SURFACES))),
        "regression", "z = f(x, y) + noise for (x, y) uniform in [-1, 1]²: a product of "
        "sines, a saddle, a Gaussian bump or ripples.")
def regression_2d(cfg: dict, src: Source) -> Raw:
    rng = np.random.default_rng(cfg["seed"])
    x = rng.uniform(-1.0, 1.0, (cfg["n_samples"], 2))
    z = SURFACES[cfg["surface"]](x[:, 0], x[:, 1])
    z = z + cfg["noise"] * rng.standard_normal(z.shape)
    return regression(x, z, f"2-D surface: {cfg['surface']}, {x.shape[0]} points, "
                            f"noise {cfg['noise']:g}")
