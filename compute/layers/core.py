"""Input, Dense, Flatten, Reshape and Activation: the layers every network has."""
from __future__ import annotations

import numpy as np

from .. import activations
from ..errors import ShapeError
from ..kernels.threads import matmul
from ..params import Param
from .base import INIT, Layer, register

ACTIVATION = Param("activation", "choice", "linear", "activation applied after the layer",
                   choices=activations.FUNCTIONS)


def fmt(shape) -> str:
    return "(" + ", ".join(map(str, shape)) + ")"


@register
class Input(Layer):
    """Where data enters: the shape of one sample, without the batch axis."""

    type_name = "Input"
    family = "Input"
    doc = "Where data enters the network; shape excludes the batch axis"
    params = (Param("shape", "shape", (2,), "shape of one sample, e.g. [2], [1, 8, 8], [50, 32]"),
              Param("dtype", "choice", "float", "float data, or integer token ids (for Embedding)",
                    choices=("float", "int")))
    min_inputs = max_inputs = 0

    @classmethod
    def infer_shape(cls, cfg, in_shapes):
        return tuple(cfg["shape"])

    @classmethod
    def summary(cls, cfg):
        return "Input " + "x".join(map(str, cfg["shape"]))

    def forward(self, p, xs, training):
        return xs[0]

    def backward(self, p, dy):
        return [], {}


@register
class Dense(Layer):
    """Fully connected layer on the last axis: y = f(x @ W + b).

    Shape: (F,) -> (units,); (T, F) -> (T, units), the same weights at every time step.
    """

    type_name = "Dense"
    doc = "Fully connected layer y = f(x W + b) on the last axis"
    params = (Param("units", "int", 16, "number of output features", min=1, max=65536),
              ACTIVATION, INIT,
              Param("use_bias", "bool", True, "learn a bias b added to every output"))
    penalized = ("W",)

    @classmethod
    def infer_shape(cls, cfg, in_shapes):
        (s,) = in_shapes
        if len(s) > 2:
            raise ShapeError(f'"{{node}}" (Dense) needs features (F) or a sequence (T, F), but '
                             f'"{{source}}" gives {fmt(s)}: insert a Flatten between '
                             f'{{source}} and {{node}}')
        return s[:-1] + (cfg["units"],)

    @classmethod
    def summary(cls, cfg):
        act = "" if cfg["activation"] == "linear" else " " + cfg["activation"]
        return f"Dense {cfg['units']}{act}"

    def param_shapes(self):
        shapes = {"W": (self.in_shapes[0][-1], self.cfg["units"])}
        if self.cfg["use_bias"]:
            shapes["b"] = (self.cfg["units"],)
        return shapes

    def forward(self, p, xs, training):
        x = xs[0]
        z = matmul(x.reshape(-1, x.shape[-1]), p["W"])   # a fresh array, owned here
        if "b" in p:
            z += p["b"]
        act = self.cfg["activation"]
        # y overwrites z unless the derivative needs z itself (abs loses its sign)
        y = activations.forward(act, z, out=None if act in activations.NEEDS_INPUT else z)
        shape = x.shape[:-1] + (z.shape[-1],)
        self._x, self._z, self._y = x, z, y
        return y.reshape(shape)

    def backward(self, p, dy):
        act = self.cfg["activation"]
        units = dy.shape[-1]
        z = self._z if act in activations.NEEDS_INPUT else None
        dz = activations.backward(act, z, self._y, dy.reshape(-1, units))
        x2 = self._x.reshape(-1, self._x.shape[-1])
        out = self.grad_out or {}
        grads = {"W": matmul(x2.T, dz, out=out.get("W"))}
        if "b" in p:
            grads["b"] = np.sum(dz, axis=0, out=out.get("b"))
        if not self.needs_input_grad:       # raw data: no gradient (requires_grad=False)
            return [None], grads
        return [matmul(dz, p["W"].T).reshape(self._x.shape)], grads

    def macs(self):
        steps = int(np.prod(self.in_shapes[0][:-1])) if len(self.in_shapes[0]) > 1 else 1
        return steps * self.in_shapes[0][-1] * self.cfg["units"]

    def activation_kind(self):
        return activations.kind(self.cfg["activation"])


@register
class Flatten(Layer):
    """Everything but the batch axis into one feature axis, in C order over (C, H, W)."""

    type_name = "Flatten"
    doc = "Flattens (C, H, W) or (T, F) into one feature vector (C order)"

    @classmethod
    def infer_shape(cls, cfg, in_shapes):
        return (int(np.prod(in_shapes[0])),)

    def forward(self, p, xs, training):
        self._shape = xs[0].shape
        return xs[0].reshape(xs[0].shape[0], -1)

    def backward(self, p, dy):
        return [dy.reshape(self._shape)], {}


@register
class Reshape(Layer):
    """Reinterpret each sample with a new shape holding the same number of values."""

    type_name = "Reshape"
    doc = "Gives each sample a new shape with the same number of values"
    params = (Param("shape", "shape", (1,), "new shape without the batch axis, e.g. [1, 8, 8]"),)

    @classmethod
    def infer_shape(cls, cfg, in_shapes):
        new, old = tuple(cfg["shape"]), in_shapes[0]
        if int(np.prod(new)) != int(np.prod(old)):
            raise ShapeError(f'"{{node}}" cannot reshape {fmt(old)} ({int(np.prod(old))} values) '
                             f'to {fmt(new)} ({int(np.prod(new))} values)')
        return new

    @classmethod
    def summary(cls, cfg):
        return "Reshape " + "x".join(map(str, cfg["shape"]))

    def forward(self, p, xs, training):
        self._shape = xs[0].shape
        return xs[0].reshape((xs[0].shape[0],) + self.out_shape)

    def backward(self, p, dy):
        return [dy.reshape(self._shape)], {}


@register
class Activation(Layer):
    """An activation function as a node of its own; prelu learns its slope."""

    type_name = "Activation"
    doc = "Elementwise activation; prelu learns its negative slope"
    params = (Param("function", "choice", "relu", "the activation function",
                    choices=activations.FUNCTIONS + ("prelu",)),
              Param("alpha", "optional_float", None, "slope/scale for leaky_relu (0.01), elu (1.0), "
                    "initial slope for prelu (0.25); empty for the default",
                    min=0.0, max=10.0))

    @classmethod
    def summary(cls, cfg):
        return cfg["function"]

    @property
    def alpha(self) -> float:
        a = self.cfg.get("alpha")
        return activations.DEFAULT_ALPHA.get(self.cfg["function"], 0.0) if a is None else a

    def param_shapes(self):
        return {"alpha": (1,)} if self.cfg["function"] == "prelu" else {}

    def init_params(self, rng):
        if self.cfg["function"] == "prelu":
            return {"alpha": np.full((1,), self.alpha, self.dtype)}
        return {}

    def forward(self, p, xs, training):
        fn = self.cfg["function"]
        alpha = float(p["alpha"][0]) if fn == "prelu" else self.alpha
        self._x = xs[0]
        self._y = activations.forward(fn, xs[0], alpha)
        return self._y

    def backward(self, p, dy):
        fn = self.cfg["function"]
        if fn != "prelu":
            return [activations.backward(fn, self._x, self._y, dy, self.alpha)], {}
        alpha = float(p["alpha"][0])
        dx = activations.backward(fn, self._x, self._y, dy, alpha)
        x = np.ascontiguousarray(self._x).reshape(-1)
        da = activations.k.prelu_alpha_grad(x, np.ascontiguousarray(dy).reshape(-1))
        return [dx], {"alpha": np.array([da], self.dtype)}

    def activation_kind(self):
        return activations.kind(self.cfg["function"])
