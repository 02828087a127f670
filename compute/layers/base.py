"""The layer contract and the registry of layer types.

Every layer type is one class that declares, in one place:

- ``type_name`` (the stable id used by project files, the palette and the registry),
  ``family`` (its palette group) and ``doc`` (one line for tooltips);
- ``params``: its parameter schema (`compute.params.Param`);
- ``min_inputs``/``max_inputs``: its arity;
- ``infer_shape(cfg, in_shapes)``: the shape rule, run without data;
- ``param_shapes()`` and ``init_params(rng)``: its weights;
- ``forward(p, xs, training)`` and ``backward(p, dy)``: the computation.

Registering a class is decorating it with ``@register``; a duplicate type name raises.
Shapes never include the batch axis.
"""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .. import initializers
from ..errors import ShapeError
from ..params import Param, resolve

Shape = tuple[int, ...]

FAMILIES = ("Input", "Core", "Convolution", "Recurrent", "Merge", "Regularization", "Output")

L1 = Param("l1", "float", 0.0, "L1 penalty α·Σ|w| on this layer's weights", min=0.0)
L2 = Param("l2", "float", 0.0, "L2 penalty α/2·wᵀw on this layer's weights", min=0.0)
INIT = Param("init", "choice", "he", "weight initialisation", choices=initializers.NAMES)

_REGISTRY: dict[str, type["Layer"]] = {}


def register(cls: type["Layer"]) -> type["Layer"]:
    """Class decorator adding a layer type to the registry (once)."""
    name = cls.type_name
    if not name:
        raise TypeError(f"{cls.__name__} has no type_name")
    if name in _REGISTRY:
        raise TypeError(f"layer type {name!r} is registered twice")
    if cls.family not in FAMILIES:
        raise TypeError(f"{name}: unknown family {cls.family!r}")
    _REGISTRY[name] = cls
    return cls


def layer_types() -> dict[str, type["Layer"]]:
    """Every registered layer type by name (a copy)."""
    from . import load_all

    load_all()
    return dict(_REGISTRY)


def layer_class(type_name: str) -> type["Layer"]:
    """The class for a type name; ValueError with the known names if there is none."""
    types = layer_types()
    if type_name not in types:
        import difflib

        hint = difflib.get_close_matches(str(type_name), list(types), n=1)
        extra = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ValueError(f"unknown layer type {type_name!r}{extra}")
    return types[type_name]


OWN_WORK_MACS = 1 << 20      # see Layer.splits_own_work


class Layer:
    """Base class: a node of a compiled model, holding its config and forward caches."""

    type_name: ClassVar[str] = ""
    family: ClassVar[str] = "Core"
    doc: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = 1
    # names of weights that L1/L2 penalties and weight noise apply to; a layer that has
    # any gets `l1` and `l2` params automatically
    penalized: ClassVar[tuple[str, ...]] = ()
    # False where every input comes straight from data: backward may then return None for
    # the input gradients and skip computing them (the model sets it)
    needs_input_grad: bool = True
    # set by the model around backward: arrays of the flat gradient buffer that a layer
    # may write its parameter gradients straight into (None: return fresh arrays)
    grad_out: dict[str, np.ndarray] | None = None
    # True where the layer runs parallel work of its own (not BLAS's): see splits_own_work
    own_parallel_work: bool = False
    # True where its kernels call BLAS themselves (np.dot inside Numba: SciPy's BLAS, which
    # the model keeps single-threaded; compute/kernels/runtime.py)
    kernels_call_blas: bool = False

    @property
    def splits_own_work(self) -> bool:
        """Whether the model should keep BLAS single-threaded and split its GEMMs itself
        while it runs (compute/kernels/threads.py): where the layer's own parallel work is
        large (OWN_WORK_MACS per sample). Below that, waking threads costs more than the
        work, and BLAS's spinning thread keeps the other core awake, which makes such
        wake-ups fast on a VM: the 8x8 ResNet example trained 10-20 % slower split, and
        its window skipped more frames."""
        return self.own_parallel_work and self.macs() >= OWN_WORK_MACS

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        names = {p.name for p in cls.params}
        if cls.penalized and "l1" not in names:
            cls.params = tuple(cls.params) + (L1, L2)

    # -- declared without data ------------------------------------------------------
    @classmethod
    def config(cls, given: dict[str, Any], where: str = "") -> dict[str, Any]:
        """Validated params with defaults filled in; ValueError names the param."""
        return resolve(cls.params, given, where or cls.type_name)

    @classmethod
    def infer_shape(cls, cfg: dict[str, Any], in_shapes: list[Shape]) -> Shape:
        """Output shape for these input shapes; raises ShapeError saying why not."""
        return in_shapes[0]

    @classmethod
    def summary(cls, cfg: dict[str, Any]) -> str:
        """Key params in short form for the node face, e.g. ``Conv 16@3x3 s1 same``."""
        return cls.type_name

    # -- a built layer --------------------------------------------------------------
    def __init__(self, node_id: str, cfg: dict[str, Any], in_shapes: list[Shape],
                 dtype=np.float32) -> None:
        self.id = node_id
        self.cfg = cfg
        self.in_shapes = [tuple(s) for s in in_shapes]
        self.dtype = np.dtype(dtype)
        self.out_shape = self.infer_shape(cfg, self.in_shapes)
        self.rng: np.random.Generator = np.random.default_rng(0)  # the model replaces it
        self.extra_loss = 0.0  # added to the loss by layers such as Sampling (KL term)
        # arrays that are not learned but are saved with the weights (running statistics)
        self.state: dict[str, np.ndarray] = {}

    def param_shapes(self) -> dict[str, Shape]:
        """Shapes of this layer's learnable arrays by name (none by default)."""
        return {}

    def init_params(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Fresh weights: `init` for weights (fan-in = all but the last axis), zero biases."""
        out = {}
        for name, shape in self.param_shapes().items():
            if name in self.penalized:
                fan_in, fan_out = self.fans(name, shape)
                out[name] = initializers.initialize(self.cfg.get("init", "he"), shape,
                                                    fan_in, fan_out, rng, self.dtype)
            else:
                out[name] = np.zeros(shape, self.dtype)
        return out

    def fans(self, name: str, shape: Shape) -> tuple[int, int]:
        """(fan_in, fan_out) of a weight array; overridden by convolution layers."""
        return int(np.prod(shape[:-1])), int(shape[-1])

    def forward(self, p: dict[str, np.ndarray], xs: list[np.ndarray],
                training: bool) -> np.ndarray:
        raise NotImplementedError

    def backward(self, p: dict[str, np.ndarray],
                 dy: np.ndarray) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
        """Gradients w.r.t. each input (in port order) and each param, from the last forward."""
        raise NotImplementedError

    def macs(self) -> int:
        """Multiply-adds per sample, for the inspector's compute cost."""
        return 0

    def activation_kind(self) -> str | None:
        """'relu', 'sigmoid' or 'tanh' when diagnostics of dead/saturated units apply."""
        return None


def shape_error(msg: str) -> ShapeError:
    return ShapeError(msg)
