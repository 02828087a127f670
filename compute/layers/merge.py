"""Add and Concat: the merges behind skip connections and parallel branches."""
from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from ..params import Param
from .base import Layer, register
from .core import fmt


@register
class Add(Layer):
    """Elementwise sum of two or more inputs of exactly the same shape (residual blocks)."""

    type_name = "Add"
    family = "Merge"
    doc = "Sums two or more inputs of the same shape (skip connections)"
    min_inputs, max_inputs = 2, None

    @classmethod
    def infer_shape(cls, cfg, in_shapes):
        first = in_shapes[0]
        for port, s in enumerate(in_shapes[1:], start=1):
            if s != first:
                raise ShapeError(f'"{{node}}" (Add) needs equal shapes: port 0 gets {fmt(first)} '
                                 f'but port {port} gets {fmt(s)}')
        return first

    def forward(self, p, xs, training):
        self._n = len(xs)
        y = np.add(xs[0], xs[1])
        for x in xs[2:]:
            y += x
        return y

    def backward(self, p, dy):
        return [dy] * self._n, {}


@register
class Concat(Layer):
    """Joins inputs along an axis: features (-1, the last) or channels (0), in port order."""

    type_name = "Concat"
    family = "Merge"
    doc = "Joins inputs along features (axis -1) or channels (axis 0)"
    params = (Param("axis", "int", -1, "axis without batch: -1 = last (features), 0 = first "
                    "(channels of (C, H, W))", min=-4, max=3),)
    min_inputs, max_inputs = 2, None

    @classmethod
    def axis_of(cls, cfg, rank: int) -> int:
        a = cfg["axis"]
        return a + rank if a < 0 else a

    @classmethod
    def infer_shape(cls, cfg, in_shapes):
        rank = len(in_shapes[0])
        axis = cls.axis_of(cfg, rank)
        if not 0 <= axis < rank:
            raise ShapeError(f'"{{node}}" (Concat): axis {cfg["axis"]} does not exist for '
                             f'inputs of shape {fmt(in_shapes[0])}')
        total = 0
        for port, s in enumerate(in_shapes):
            rest = s[:axis] + s[axis + 1:] if len(s) == rank else None
            if rest != in_shapes[0][:axis] + in_shapes[0][axis + 1:]:
                raise ShapeError(f'"{{node}}" (Concat on axis {cfg["axis"]}): port {port} gets '
                                 f'{fmt(s)}, which does not match {fmt(in_shapes[0])} '
                                 f'outside that axis')
            total += s[axis]
        return in_shapes[0][:axis] + (total,) + in_shapes[0][axis + 1:]

    @classmethod
    def summary(cls, cfg):
        return "Concat " + ("channels" if cfg["axis"] == 0 else f"axis {cfg['axis']}")

    def forward(self, p, xs, training):
        axis = self.axis_of(self.cfg, len(self.out_shape)) + 1
        self._sizes = np.cumsum([x.shape[axis] for x in xs])[:-1]
        self._axis = axis
        return np.concatenate(xs, axis=axis)

    def backward(self, p, dy):
        return [np.ascontiguousarray(d) for d in np.split(dy, self._sizes, axis=self._axis)], {}
