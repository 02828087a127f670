"""On-the-fly augmentation of training batches, configured in the project file.

``data.augmentation`` is a list of steps such as ``{"type": "translate", "max_shift": 2}``.
`make_augmenter` validates them once against the dataset's input shape (a flip on
sequences is refused there, not mid-training) and returns a function of
``(batch, rng)``. Every random amount comes from that rng, in a fixed order, so a seeded
trainer gets the same augmented batches on every run. The trainer applies it to training
batches only; validation data is never augmented. Steps change inputs only, never targets:
a ``time_shift`` therefore suits many-to-one tasks, not per-step targets.
"""
from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..errors import ProjectError
from ..params import Param, resolve
from . import transforms as T

Augmenter = Callable[[np.ndarray, np.random.Generator], np.ndarray]
Op = Callable[[np.ndarray, np.random.Generator, dict], np.ndarray]


def _p(default: float) -> Param:
    return Param("probability", "float", default, "chance that a sample gets this step",
                 min=0.0, max=1.0)


@dataclass(frozen=True)
class _Step:
    params: tuple[Param, ...]
    kinds: tuple[str, ...]        # input kinds it applies to: image, sequence, vector
    op: Op


def _translate(x, rng, cfg):
    m = cfg["max_shift"]
    dy, dx = rng.integers(-m, m + 1, (2, x.shape[0]))
    return T.shift_images(x, dy, dx, "zeros", pad=m)


def _crop(x, rng, cfg):
    m = cfg["padding"]
    dy, dx = rng.integers(-m, m + 1, (2, x.shape[0]))
    return T.shift_images(x, dy, dx, cfg["fill"], pad=m)


def _flip(x, rng, cfg):
    n = x.shape[0]
    h = cfg["horizontal"] & (rng.random(n) < cfg["probability"])
    v = cfg["vertical"] & (rng.random(n) < cfg["probability"])
    return T.flip_images(x, h, v)


def _rotate(x, rng, cfg):
    return T.rotate_images(x, rng.uniform(-cfg["max_angle"], cfg["max_angle"], x.shape[0]))


def _brightness(x, rng, cfg):
    return T.adjust_brightness(x, rng.uniform(-cfg["max_delta"], cfg["max_delta"], x.shape[0]))


def _contrast(x, rng, cfg):
    r = cfg["max_change"]
    return T.adjust_contrast(x, rng.uniform(1 - r, 1 + r, x.shape[0]))


def _noise(x, rng, cfg):
    dtype = np.float32 if x.dtype == np.float32 else np.float64
    return x + (cfg["std"] * rng.standard_normal(x.shape, dtype=dtype)).astype(x.dtype)


def _scaling(x, rng, cfg):
    n, _, f = x.shape
    return x * (1 + cfg["std"] * rng.standard_normal((n, 1, f))).astype(x.dtype)


def _time_shift(x, rng, cfg):
    m = cfg["max_shift"]
    return T.shift_sequences(x, rng.integers(-m, m + 1, x.shape[0]), cfg["fill"])


def _std(default: float, help: str) -> Param:
    return Param("std", "float", default, help, min=0.0, max=10.0)


IMAGE, SEQ, VEC = "image", "sequence", "vector"
STEPS: dict[str, _Step] = {
    "translate": _Step((Param("max_shift", "int", 2, "largest shift in pixels, each axis",
                              min=1, max=64), _p(1.0)), (IMAGE,), _translate),
    "flip": _Step((Param("horizontal", "bool", True, "mirror left-right"),
                   Param("vertical", "bool", False, "mirror top-bottom"),
                   _p(0.5)), (IMAGE,), _flip),
    "crop": _Step((Param("padding", "int", 2, "pixels padded on each side before a random "
                         "crop back to the original size", min=1, max=64),
                   Param("fill", "choice", "zeros", "what the padding holds",
                         choices=("zeros", "edge", "reflect")), _p(1.0)), (IMAGE,), _crop),
    "rotate": _Step((Param("max_angle", "float", 15.0, "largest rotation in degrees, either "
                           "way", min=0.0, max=180.0), _p(1.0)), (IMAGE,), _rotate),
    "brightness": _Step((Param("max_delta", "float", 0.2, "largest value added to every "
                               "pixel", min=0.0, max=10.0), _p(1.0)), (IMAGE,), _brightness),
    "contrast": _Step((Param("max_change", "float", 0.2, "contrast factor drawn from "
                             "[1 - c, 1 + c]", min=0.0, max=1.0), _p(1.0)), (IMAGE,),
                      _contrast),
    "noise": _Step((_std(0.05, "standard deviation of the added Gaussian noise"), _p(1.0)),
                   (IMAGE, SEQ, VEC), _noise),
    "jitter": _Step((_std(0.03, "standard deviation of the noise added at each step"),
                     _p(1.0)), (SEQ,), _noise),
    "scaling": _Step((_std(0.1, "standard deviation of the factor (around 1) that "
                           "multiplies each feature of a sequence"), _p(1.0)), (SEQ,),
                     _scaling),
    "time_shift": _Step((Param("max_shift", "int", 2, "largest shift in time steps",
                               min=1, max=10_000),
                         Param("fill", "choice", "edge", "what shifted-in steps hold",
                               choices=("edge", "zeros", "wrap")), _p(1.0)), (SEQ,),
                        _time_shift),
}
AUGMENTATIONS: dict[str, tuple[Param, ...]] = {k: s.params for k, s in STEPS.items()}
_KIND_TEXT = {IMAGE: "images (C, H, W)", SEQ: "sequences (T, F)", VEC: "feature vectors (F,)"}


def input_kind(input_shape: Sequence[int], input_dtype: str = "float") -> str:
    """'image', 'sequence', 'vector' or 'tokens' for a sample shape (no batch axis)."""
    if input_dtype == "int":
        return "tokens"
    return {3: IMAGE, 2: SEQ, 1: VEC}.get(len(tuple(input_shape)), "other")


def make_augmenter(specs: Sequence[Mapping[str, Any]] | None, input_shape: Sequence[int],
                   where: str = "data.augmentation", input_dtype: str = "float") -> Augmenter:
    """Validate augmentation steps for inputs of `input_shape`; return ``f(batch, rng)``.

    The returned function never modifies the batch it is given. ProjectError names the
    step (``data.augmentation[1] (flip): ...``) when a spec is malformed or does not fit.
    """
    if specs is None:
        specs = []
    if isinstance(specs, (str, bytes, Mapping)) or not isinstance(specs, Sequence):
        raise ProjectError(f"{where}: expected a list of steps, got {type(specs).__name__}")
    kind = input_kind(input_shape, input_dtype)
    steps = [_configure(spec, f"{where}[{i}]", kind, tuple(input_shape))
             for i, spec in enumerate(specs)]

    def augment(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        for step, cfg in steps:
            x = _apply(step, cfg, x, rng)
        return x

    return augment


def _configure(spec: Any, where: str, kind: str, shape: tuple[int, ...]) -> tuple[_Step, dict]:
    if not isinstance(spec, Mapping) or not isinstance(spec.get("type"), str):
        raise ProjectError(f'{where}: expected an object with a "type", got {spec!r}')
    name = spec["type"]
    if name not in STEPS:
        hint = difflib.get_close_matches(name, list(STEPS), n=1)
        extra = f' (did you mean "{hint[0]}"?)' if hint else ""
        raise ProjectError(f'{where}: unknown augmentation "{name}"{extra}; known: '
                           f'{", ".join(STEPS)}')
    step, where = STEPS[name], f"{where} ({name})"
    try:
        cfg = resolve(step.params, {k: v for k, v in spec.items() if k != "type"}, where)
    except ValueError as exc:
        raise ProjectError(str(exc)) from None
    if kind not in step.kinds:
        fits = " or ".join(_KIND_TEXT[k] for k in step.kinds)
        got = "token ids" if kind == "tokens" else f"shape {shape}"
        raise ProjectError(f"{where}: applies to {fits}, but the inputs are {got}")
    _check_fit(name, cfg, shape, where)
    return step, cfg


def _check_fit(name: str, cfg: dict, shape: tuple[int, ...], where: str) -> None:
    if name == "flip" and not (cfg["horizontal"] or cfg["vertical"]):
        raise ProjectError(f"{where}: neither horizontal nor vertical is set")
    if name == "translate" and cfg["max_shift"] >= min(shape[1:]):
        raise ProjectError(f"{where}: max_shift {cfg['max_shift']} must be smaller than the "
                           f"image ({shape[1]}x{shape[2]})")
    if name == "time_shift" and cfg["max_shift"] >= shape[0]:
        raise ProjectError(f"{where}: max_shift {cfg['max_shift']} must be smaller than the "
                           f"sequence length {shape[0]}")


def _apply(step: _Step, cfg: dict, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One step on the samples that draw it (flip draws per axis itself)."""
    p = cfg["probability"]
    if step.op is _flip or p >= 1.0:
        return step.op(x, rng, cfg)
    chosen = np.flatnonzero(rng.random(x.shape[0]) < p)
    out = x.copy()
    if chosen.size:
        out[chosen] = step.op(x[chosen], rng, cfg)
    return out
