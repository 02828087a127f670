"""Embedding: integer token ids to learned vectors, the usual first layer for text."""
from __future__ import annotations

import numpy as np

from .. import initializers
from ..errors import TrainingError
from ..params import Param
from .base import Layer, register


@register
class Embedding(Layer):
    """A lookup table: token id k gives row k of W (vocab_size, dim).

    Token ids are integers in 0..vocab_size-1 (an Input with dtype "int"); they get no
    gradient (the layer returns zeros for them). Each output reads one row, so the table's
    fan-in is 1: ``xavier`` (the default) draws from U(±sqrt(6 / (1 + dim))).

    Shape: (T,) -> (T, dim); in general (...) -> (..., dim).
    """

    type_name = "Embedding"
    family = "Core"
    doc = "Maps integer token ids to learned vectors (a table W of vocab_size x dim)"
    params = (Param("vocab_size", "int", 100, "number of distinct token ids (0..vocab_size-1)",
                    min=1, max=10_000_000),
              Param("dim", "int", 16, "length of each token's vector", min=1, max=65536),
              Param("init", "choice", "xavier", "initialisation of the table W",
                    choices=initializers.NAMES))
    penalized = ("W",)

    @classmethod
    def infer_shape(cls, cfg, in_shapes):
        return tuple(in_shapes[0]) + (cfg["dim"],)

    @classmethod
    def summary(cls, cfg):
        return f"Embed {cfg['vocab_size']}→{cfg['dim']}"

    def param_shapes(self):
        return {"W": (self.cfg["vocab_size"], self.cfg["dim"])}

    def fans(self, name, shape):
        return 1, int(shape[-1])

    def forward(self, p, xs, training):
        ids = self._token_ids(xs[0])
        self._ids, self._shape = ids, xs[0].shape
        return np.take(p["W"], ids, axis=0)

    def backward(self, p, dy):
        dim = self.cfg["dim"]
        grad = np.zeros(p["W"].shape, self.dtype)
        np.add.at(grad, self._ids.reshape(-1), np.asarray(dy, self.dtype).reshape(-1, dim))
        # token ids are not differentiable; zeros keep the model's gradient sums working
        return [np.zeros(self._shape, self.dtype)], {"W": grad}

    def _token_ids(self, x: np.ndarray) -> np.ndarray:
        """x as int64 ids, or TrainingError naming this node and the bad value."""
        x = np.asarray(x)
        if x.dtype.kind == "f":
            if x.size and not np.all(np.isfinite(x) & (x == np.round(x))):
                bad = x[~(np.isfinite(x) & (x == np.round(x)))].flat[0]
                raise TrainingError(f'"{self.id}" (Embedding) needs integer token ids, got '
                                    f'{bad!r}: give its Input dtype "int"')
        elif x.dtype.kind not in "iub":
            raise TrainingError(f'"{self.id}" (Embedding) needs integer token ids, got '
                                f'dtype {x.dtype}')
        ids = x.astype(np.int64, copy=False)
        vocab = self.cfg["vocab_size"]
        if ids.size and (ids.min() < 0 or ids.max() >= vocab):
            bad = ids.min() if ids.min() < 0 else ids.max()
            raise TrainingError(f'"{self.id}" (Embedding): token id {int(bad)} is outside '
                                f'0..{vocab - 1} (vocab_size={vocab})')
        return ids
