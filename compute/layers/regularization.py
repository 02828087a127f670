"""Dropout and BatchNorm: layers that behave differently in training and at inference."""
from __future__ import annotations

import numpy as np

from ..errors import ShapeError, TrainingError
from ..params import Param
from .base import Layer, register
from .core import fmt


@register
class Dropout(Layer):
    """Inverted dropout: in training each value is zeroed with probability `rate` and the
    survivors are scaled by 1/(1 − rate), so inference is the identity (no rescaling).

    Shape: any -> the same.
    """

    type_name = "Dropout"
    family = "Regularization"
    doc = "Zeroes a random fraction of values while training; identity at inference"
    params = (Param("rate", "float", 0.5, "probability of dropping each value while training",
                    min=0.0, max=0.99),)

    @classmethod
    def summary(cls, cfg):
        return f"Dropout {cfg['rate']:g}"

    def forward(self, p, xs, training):
        x = xs[0]
        rate = self.cfg["rate"]
        if not training or rate == 0.0:
            self._mask = None
            return x
        # one array for the mask: uniform draws, turned into 0/1 and then 0/scale in place
        mask = self.rng.random(x.shape, dtype=x.dtype)
        np.greater_equal(mask, rate, out=mask)
        mask *= 1.0 / (1.0 - rate)
        self._mask = mask
        return x * mask

    def backward(self, p, dy):
        return [dy if self._mask is None else dy * self._mask], {}


@register
class BatchNorm(Layer):
    """Batch normalisation (Ioffe & Szegedy): y = γ·(x − μ)/√(σ² + eps) + β.

    Features (F,) and sequences (T, F) normalise each feature over the batch (and time);
    images (C, H, W) normalise each channel over the batch and all positions. Training
    uses the batch's statistics and updates the running ones,
    ``running = momentum·running + (1 − momentum)·batch``; inference uses the running
    ones. Our `momentum` is the weight of the past (Keras's convention): PyTorch's
    ``momentum`` is the weight of the new batch, so ours 0.9 is PyTorch's 0.1. As in
    PyTorch, the running variance takes the unbiased batch variance (M/(M − 1)) while
    the normalisation uses the biased one.

    The running statistics live in ``self.state`` (not in params: no optimizer touches
    them, no penalty applies); they are updated in place and read through the dict.

    Shape: (F,) -> (F,); (T, F) -> (T, F); (C, H, W) -> (C, H, W).
    """

    type_name = "BatchNorm"
    family = "Regularization"
    doc = "Normalises each feature/channel over the batch; learns scale γ and shift β"
    params = (Param("momentum", "float", 0.9, "weight of the past in the running statistics "
                    "(PyTorch's momentum is 1 minus this)", min=0.0, max=1.0),
              Param("eps", "float", 1e-5, "added to the variance before the square root",
                    min=1e-12, max=1.0))

    @classmethod
    def infer_shape(cls, cfg, in_shapes):
        s = in_shapes[0]
        if len(s) > 3:
            raise ShapeError(f'"{{node}}" (BatchNorm) needs features (F), a sequence (T, F) '
                             f'or an image (C, H, W), but "{{source}}" gives {fmt(s)}')
        return s

    @classmethod
    def summary(cls, cfg):
        return "BatchNorm"

    def __init__(self, node_id, cfg, in_shapes, dtype=np.float32):
        super().__init__(node_id, cfg, in_shapes, dtype)
        c = self.channels
        self.state: dict[str, np.ndarray] = {"running_mean": np.zeros(c, self.dtype),
                                             "running_var": np.ones(c, self.dtype)}

    @property
    def channels(self) -> int:
        s = self.in_shapes[0]
        return s[0] if len(s) == 3 else s[-1]

    def param_shapes(self):
        return {"gamma": (self.channels,), "beta": (self.channels,)}

    def init_params(self, rng):
        c = self.channels
        return {"gamma": np.ones(c, self.dtype), "beta": np.zeros(c, self.dtype)}

    def _view(self, x: np.ndarray) -> np.ndarray:
        """x as (A, C, B), normalised over axes 0 and 2: (N·T, F, 1) or (N, C, H·W)."""
        if len(self.in_shapes[0]) == 3:
            return x.reshape(x.shape[0], x.shape[1], -1)
        return x.reshape(-1, x.shape[-1], 1)

    def forward(self, p, xs, training):
        x = xs[0]
        x3 = self._view(x)
        if training:
            mean, var = self._batch_stats(x3)
        else:
            mean, var = self.state["running_mean"], self.state["running_var"]
        inv = 1.0 / np.sqrt(var + self.cfg["eps"])
        xhat = x3 - mean[None, :, None]
        xhat *= inv[None, :, None]
        y = xhat * p["gamma"][None, :, None]
        y += p["beta"][None, :, None]
        self._xhat, self._inv, self._training = xhat, inv.astype(x.dtype, copy=False), training
        return y.reshape(x.shape)

    def _batch_stats(self, x3: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        m = x3.shape[0] * x3.shape[2]
        if m < 2:
            raise TrainingError(f'BatchNorm "{self.id}": batch statistics need at least two '
                                f'values per feature, got a batch of {x3.shape[0]}; use a '
                                f'larger batch size or remove the BatchNorm')
        mean = x3.mean(axis=(0, 2))
        var = np.square(x3 - mean[None, :, None]).mean(axis=(0, 2))
        mom = self.cfg["momentum"]
        rm, rv = self.state["running_mean"], self.state["running_var"]
        rm *= mom
        rm += (1.0 - mom) * mean
        rv *= mom
        rv += (1.0 - mom) * (m / (m - 1)) * var
        return mean, var

    def backward(self, p, dy):
        dy3 = self._view(dy)
        xhat, inv, gamma = self._xhat, self._inv, p["gamma"]
        dbeta = dy3.sum(axis=(0, 2))
        dgamma = (dy3 * xhat).sum(axis=(0, 2))
        scale = (gamma * inv)[None, :, None]
        if self._training:
            # dx = γ/σ · (dy − mean(dy) − x̂·mean(dy·x̂)), the means over the normalised axes
            m = dy3.shape[0] * dy3.shape[2]
            dx = xhat * (dgamma / m)[None, :, None]
            dx += (dbeta / m)[None, :, None]
            np.subtract(dy3, dx, out=dx)
            dx *= scale
        else:
            dx = dy3 * scale
        return [dx.reshape(dy.shape)], {"gamma": dgamma.astype(gamma.dtype, copy=False),
                                        "beta": dbeta.astype(gamma.dtype, copy=False)}

    def macs(self):
        return 2 * int(np.prod(self.in_shapes[0]))
