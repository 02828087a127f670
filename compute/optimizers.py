"""Optimizers, learning-rate schedules and gradient clipping.

Optimizers know nothing about layers (STYLE.md lesson 6): `step` takes a flat list of
parameter arrays and their gradients, updates the parameters in place, and keys its
state by position in that list (`Model.parameters()` gives a fixed order). Each update
rule is one Numba kernel over one flat array (`compute.kernels.optim`).

Conventions, chosen so that the PyTorch comparisons in tests/test_optimizers.py hold:

- momentum is the course's form `v ← αv − εg; θ ← θ + v`. With a constant learning rate
  this is exactly PyTorch's SGD(momentum=α) (v = −ε·buf); when a schedule changes ε, the
  velocity keeps the steps already taken at the old rate (PyTorch rescales them).
- nesterov is PyTorch's SGD(momentum=α, nesterov=True): `b ← αb + g; θ ← θ − ε(g + αb)`.
- rmsprop is PyTorch's RMSprop (alpha=ρ): `r ← ρr + (1−ρ)g²; θ ← θ − εg/(√r + δ)`, with δ
  outside the square root (Goodfellow et al. write `√(δ + r)`; the two agree once r ≫ δ).
- adam is PyTorch's Adam with bias correction.
"""
from __future__ import annotations

import difflib
import math
import operator
from typing import Any, Callable, ClassVar, Mapping

import numpy as np

from .errors import ProjectError
from .kernels import optim as k
from .kernels.stats import sum_squares
from .params import Param, resolve

# What a spec without "type" means, here and in a project file (compute/settings.py):
# plain gradient descent, where the course starts; its lr defaults to 0.01.
DEFAULT_OPTIMIZER = "sgd"


def _lr(default: float) -> Param:
    return Param("lr", "float", default, "learning rate ε", min=0.0, max=10.0)


_MOMENTUM = Param("momentum", "float", 0.9, "momentum α: how much of the last step is kept",
                  min=0.0, max=0.9999)
_EPS = Param("eps", "float", 1e-8, "δ added to the denominator for numerical stability",
             min=0.0, max=1.0)

OPTIMIZERS: dict[str, tuple[Param, ...]] = {
    "sgd": (_lr(0.01),),
    "momentum": (_lr(0.01), _MOMENTUM),
    "nesterov": (_lr(0.01), _MOMENTUM),
    "rmsprop": (_lr(0.001),
                Param("rho", "float", 0.9, "decay ρ of the running mean of squared gradients",
                      min=0.0, max=0.9999), _EPS),
    "adam": (_lr(0.001),
             Param("beta1", "float", 0.9, "decay β1 of the first-moment estimate",
                   min=0.0, max=0.9999),
             Param("beta2", "float", 0.999, "decay β2 of the second-moment estimate",
                   min=0.0, max=0.99999), _EPS),
}

SCHEDULES: dict[str, tuple[Param, ...]] = {
    "constant": (),
    "step": (Param("step_size", "int", 10, "epochs between two decays", min=1, max=1_000_000),
             Param("gamma", "float", 0.1, "factor applied to the rate at each decay",
                   min=0.0, max=1.0)),
    "exponential": (Param("gamma", "float", 0.95, "factor applied to the rate every epoch",
                          min=0.0, max=1.0),),
    "cosine": (Param("min_lr", "float", 0.0, "rate reached at the last step (cosine from "
                     "the base rate, updated every step)", min=0.0, max=10.0),),
}

GRADIENT_CLIP: tuple[Param, ...] = (
    Param("norm", "optional_float", None, "rescale all gradients together when their global "
          "L2 norm exceeds this", min=0.0),
    Param("value", "optional_float", None, "clip every gradient element to ±value", min=0.0),
)


class Optimizer:
    """Base class: per-parameter state slots, checkpointable as plain arrays.

    Subclasses name their state arrays in `slots` and implement `_update` with one kernel.
    `lr` is a plain attribute: schedules set it before each step.
    """

    type_name: ClassVar[str] = ""
    slots: ClassVar[tuple[str, ...]] = ()

    def __init__(self, lr: float) -> None:
        self.lr = float(lr)
        self.t = 0                                  # steps taken
        self._state: list[dict[str, np.ndarray]] = []   # flat arrays, one dict per param
        self._checked = 0                           # params whose state is known to fit
        self._plan: _FlatPlan | None = None         # the params seen last, if one flat array
        self._flat_state: dict[str, np.ndarray] | None = None
        self._typed: tuple = ((), None, ())     # the last scalars, their dtype, typed

    def step(self, params: list[np.ndarray], grads: list[np.ndarray]) -> None:
        """Update every parameter in place from its gradient.

        When the parameters are consecutive views of one flat array and the gradients too
        (a model's `parameters()` and `flat_grads`), one kernel call updates them all.
        """
        if len(params) != len(grads):
            raise ValueError(f"{len(params)} parameters but {len(grads)} gradients")
        if self._state and len(self._state) != len(params):
            raise ProjectError(f"optimizer state ({self.type_name}) has entries for "
                               f"{len(self._state)} parameters, the model has {len(params)}")
        flat = self._flat_pair(params, grads)
        self.t += 1
        scalars = self._scalars()
        if flat is not None:
            p, g = flat
            if self._typed[0] != scalars or self._typed[1] != p.dtype:
                self._typed = (scalars, p.dtype, tuple(p.dtype.type(v) for v in scalars))
            self._update(p, g, self._flat_state, self._typed[2])
            return
        typed: dict[np.dtype, tuple] = {}         # the scalars in each params' dtype
        for i, (p, g) in enumerate(zip(params, grads)):
            state = self._slots_for(i, p)
            if g.shape != p.shape:
                raise ValueError(f"gradient {i} has shape {g.shape}, parameter {p.shape}")
            if g.dtype != p.dtype or not g.flags.c_contiguous:
                g = np.ascontiguousarray(g, dtype=p.dtype)
            s = typed.get(p.dtype)
            if s is None:
                s = typed[p.dtype] = tuple(p.dtype.type(v) for v in scalars)
            if p.flags.c_contiguous:
                self._update(p.reshape(-1), g.reshape(-1), state, s)
            else:                                   # rare: update a copy, write it back
                flat = np.ascontiguousarray(p).reshape(-1)
                self._update(flat, g.reshape(-1), state, s)
                p[...] = flat.reshape(p.shape)

    def _flat_pair(self, params: list[np.ndarray], grads: list[np.ndarray]):
        """(flat params, flat grads) when one call can update everything, else None."""
        flat = getattr(grads, "flat", None)
        if flat is None:
            return None
        plan = self._plan
        if plan is None or not plan.holds(params):
            plan = self._plan = _FlatPlan(params)
            self._flat_state = None
        if (plan.flat is None or grads.offsets != plan.offsets or flat.dtype != plan.flat.dtype
                or flat.size != plan.flat.size):
            return None
        if self._flat_state is None:
            self._flat_state = self._gather_state(params, plan.flat)
        return plan.flat, flat

    def _gather_state(self, params: list[np.ndarray], flat: np.ndarray) -> dict:
        """One flat array per slot, the per-parameter state becoming views of it."""
        states = [self._slots_for(i, p) for i, p in enumerate(params)]
        out = {}
        for name in self.slots:
            whole = np.concatenate([s[name] for s in states]) if states else flat[:0].copy()
            out[name] = whole
            at = 0
            for s in states:
                size = s[name].size
                s[name] = whole[at:at + size]
                at += size
        return out

    def _scalars(self) -> tuple[float, ...]:
        """This step's scalar arguments of the kernel, after the arrays."""
        return (self.lr,)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict[str, np.ndarray],
                s: tuple) -> None:
        raise NotImplementedError

    def _slots_for(self, i: int, p: np.ndarray) -> dict[str, np.ndarray]:
        if i < self._checked:
            return self._state[i]
        if i == len(self._state):               # first step: fresh state
            self._state.append({s: np.zeros(p.size, p.dtype) for s in self.slots})
        state = self._state[i]
        for name, arr in state.items():
            if arr.size != p.size:
                raise ProjectError(f'optimizer state ({self.type_name}) "{name}/{i}" has '
                                   f'{arr.size} values but parameter {i} has {p.size}')
            if arr.dtype != p.dtype:
                state[name] = arr.astype(p.dtype)
        self._checked = i + 1
        return state

    # -- checkpoints ----------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the state: "step" and "<slot>/<index>" flat arrays (npz-safe)."""
        out = {"step": np.array(self.t, np.int64)}
        for i, state in enumerate(self._state):
            for name, arr in state.items():
                out[f"{name}/{i}"] = arr.copy()
        return out

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        """Restore `state_dict()`; ProjectError names the entry that does not fit."""
        where = f"optimizer state ({self.type_name})"
        if "step" not in state:
            raise ProjectError(f'{where}: missing "step"')
        step = np.asarray(state["step"])
        if step.shape != () or step.dtype.kind not in "iu" or int(step) < 0:
            raise ProjectError(f'{where}: "step" must be one integer >= 0')
        found: dict[int, dict[str, np.ndarray]] = {}
        for key, arr in state.items():
            if key == "step":
                continue
            name, _, index = key.partition("/")
            if name not in self.slots or not index.isdigit():
                known = ", ".join(f'"{s}/<i>"' for s in self.slots) or "nothing else"
                raise ProjectError(f'{where}: unexpected entry "{key}" (expected "step" '
                                   f'and {known})')
            arr = np.asarray(arr)
            if arr.dtype.kind != "f":
                raise ProjectError(f'{where}: "{key}" must hold floats, not {arr.dtype}')
            found.setdefault(int(index), {})[name] = np.array(arr, copy=True).reshape(-1)
        rows = []
        for i in range(len(found)):
            missing = [s for s in self.slots if s not in found.get(i, {})]
            if missing:
                raise ProjectError(f'{where}: missing "{missing[0]}/{i}"')
            rows.append(found[i])
        self.t = int(step)
        self._state = rows
        self._checked = 0
        self._plan = self._flat_state = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} lr={self.lr:g} step={self.t}>"


class _FlatPlan:
    """Whether a list of parameters is one flat array cut in order, computed once per list."""

    def __init__(self, params: list[np.ndarray]) -> None:
        self.params = list(params)
        self.flat: np.ndarray | None = None
        self.offsets: tuple[int, ...] = ()
        base = params[0].base if params else None
        if (base is None or base.ndim != 1 or not base.flags.c_contiguous
                or any(p.base is not base or not p.flags.c_contiguous for p in params)):
            return
        start, item = base.ctypes.data, base.itemsize
        offsets = tuple((p.ctypes.data - start) // item for p in params)
        at = 0
        for p, off in zip(params, offsets):
            if off != at:
                return
            at += p.size
        if at == base.size:
            self.flat, self.offsets = base, offsets

    def holds(self, params: list[np.ndarray]) -> bool:
        return len(params) == len(self.params) and all(map(operator.is_, params, self.params))


class SGD(Optimizer):
    """Plain gradient descent; batch, minibatch or stochastic by the batch size."""

    type_name = "sgd"

    def _update(self, p, g, state, s):
        k.sgd(p, g, *s)


class Momentum(Optimizer):
    """SGD with momentum in the course's form: v ← αv − εg; θ ← θ + v."""

    type_name = "momentum"
    slots = ("velocity",)

    def __init__(self, lr: float, momentum: float = 0.9) -> None:
        super().__init__(lr)
        self.momentum = float(momentum)

    def _scalars(self):
        return (self.lr, self.momentum)

    def _update(self, p, g, state, s):
        k.momentum(p, g, state["velocity"], *s)


class Nesterov(Momentum):
    """Nesterov momentum as PyTorch computes it: b ← αb + g; θ ← θ − ε(g + αb)."""

    type_name = "nesterov"
    slots = ("buffer",)

    def _update(self, p, g, state, s):
        k.nesterov(p, g, state["buffer"], *s)


class RMSProp(Optimizer):
    """Divides each step by a running RMS of the gradient (PyTorch's eps placement)."""

    type_name = "rmsprop"
    slots = ("square_avg",)

    def __init__(self, lr: float, rho: float = 0.9, eps: float = 1e-8) -> None:
        super().__init__(lr)
        self.rho, self.eps = float(rho), float(eps)

    def _scalars(self):
        return (self.lr, self.rho, 1.0 - self.rho, self.eps)

    def _update(self, p, g, state, s):
        k.rmsprop(p, g, state["square_avg"], *s)


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias-corrected first and second moments."""

    type_name = "adam"
    slots = ("m", "v")

    def __init__(self, lr: float, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8) -> None:
        super().__init__(lr)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)

    def _scalars(self):
        step = self.lr / (1.0 - self.beta1 ** self.t)          # bias corrections folded in
        scale = 1.0 / math.sqrt(1.0 - self.beta2 ** self.t)
        return (step, self.beta1, 1.0 - self.beta1, self.beta2, 1.0 - self.beta2, scale,
                self.eps)

    def _update(self, p, g, state, s):
        k.adam(p, g, state["m"], state["v"], *s)


_CLASSES: dict[str, type[Optimizer]] = {c.type_name: c for c in
                                        (SGD, Momentum, Nesterov, RMSProp, Adam)}


def _typed(spec: Any, table: Mapping, default: str, where: str) -> tuple[str, dict]:
    """Split a {"type": ..., **params} spec, refusing what is not one."""
    if spec is None:
        spec = {}
    if not isinstance(spec, Mapping):
        raise ProjectError(f'{where}: expected an object such as {{"type": "{default}"}}, '
                           f'got {spec!r}')
    given = dict(spec)
    kind = given.pop("type", default)
    if kind not in table:
        hint = difflib.get_close_matches(str(kind), list(table), n=1)
        extra = f' (did you mean "{hint[0]}"?)' if hint else ""
        raise ProjectError(f'{where}: unknown type "{kind}"{extra}; choose one of '
                           f'{", ".join(table)}')
    try:
        return kind, resolve(table[kind], given, where)
    except ValueError as exc:
        raise ProjectError(str(exc)) from None


def make_optimizer(spec: Mapping | None, where: str = "training.optimizer") -> Optimizer:
    """An optimizer from a spec like {"type": "adam", "lr": 0.001} (defaults fill the rest).

    A missing spec or type means DEFAULT_OPTIMIZER (sgd, lr 0.01), as in a project file.
    ProjectError names the field that is wrong.
    """
    kind, cfg = _typed(spec, OPTIMIZERS, DEFAULT_OPTIMIZER, where)
    return _CLASSES[kind](**cfg)


def make_schedule(spec: Mapping | None, base_lr: float, epochs: int, steps_per_epoch: int,
                  where: str = "training.schedule") -> Callable[[int, int], float]:
    """A function (epoch from 0, global step from 0) -> learning rate.

    constant: base; step: base·γ^⌊epoch/step_size⌋; exponential: base·γ^epoch; cosine:
    min + (base − min)(1 + cos(π·step/total))/2 over all epochs·steps_per_epoch steps,
    as PyTorch's CosineAnnealingLR(T_max=total) stepped every batch.
    """
    kind, cfg = _typed(spec, SCHEDULES, "constant", where)
    base = float(base_lr)
    if kind == "step":
        size, gamma = cfg["step_size"], cfg["gamma"]
        return lambda epoch, step: base * gamma ** (epoch // size)
    if kind == "exponential":
        gamma = cfg["gamma"]
        return lambda epoch, step: base * gamma ** epoch
    if kind == "cosine":
        low, total = cfg["min_lr"], max(int(epochs) * int(steps_per_epoch), 1)
        return lambda epoch, step: low + (base - low) * 0.5 * (
            1.0 + math.cos(math.pi * min(step, total) / total))
    return lambda epoch, step: base


def clip_gradients(grads: list[np.ndarray], norm: float | None = None,
                   value: float | None = None) -> float:
    """Clip in place, first each element to ±value, then all together to global L2 `norm`.

    Returns the global L2 norm before any clipping (for the gradient-norm plot). A
    non-finite norm leaves the gradients as they are: the trainer reports divergence.
    """
    flat = getattr(grads, "flat", None)
    if flat is not None:                            # views of one array (Model.flat_grads)
        total = math.sqrt(sum_squares(flat))
    else:
        total = math.sqrt(sum(sum_squares(np.ascontiguousarray(g).reshape(-1)) for g in grads))
    if not math.isfinite(total) or (norm is None and value is None):
        return total
    if value is not None:
        for g in grads:
            np.clip(g, -value, value, out=g)
    if norm is not None:
        now = total if value is None else math.sqrt(
            sum(sum_squares(g.reshape(-1)) for g in grads))
        if now > norm:
            scale = norm / (now + 1e-6)             # PyTorch's clip_grad_norm_ factor
            for g in grads:
                g *= scale
    return total
