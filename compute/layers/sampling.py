"""Sampling: the reparameterisation step of a variational autoencoder, with its KL term.

Family "Core": it is a structural part of a VAE (two inputs in, the latent code out), not
an optional regulariser one inserts into a chain; without it the network is no VAE.
"""
from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from ..params import Param
from .base import Layer, register
from .core import fmt


@register
class Sampling(Layer):
    """z = μ + exp(log σ²/2)·ε with ε ~ N(0, 1) while training, z = μ at inference.

    In training it sets ``extra_loss = beta · KL(N(μ, σ²) ‖ N(0, 1))``, summed over the
    features and averaged over the batch: ``−beta/2N · Σ (1 + log σ² − μ² − σ²)``; the
    backward pass adds that term's gradient. Port 0 takes μ, port 1 takes log σ².

    Shape: (F,), (F,) -> (F,) (any equal shapes).
    """

    type_name = "Sampling"
    family = "Core"
    doc = "VAE sampling z = μ + σ·ε from mean (port 0) and log-variance (port 1); adds the KL"
    params = (Param("beta", "float", 1.0, "weight of the KL divergence in the loss "
                    "(beta-VAE; 0 turns it off)", min=0.0, max=1000.0),)
    min_inputs = max_inputs = 2

    @classmethod
    def infer_shape(cls, cfg, in_shapes):
        mean, logvar = in_shapes
        if mean != logvar:
            raise ShapeError(f'"{{node}}" (Sampling) needs mean (port 0) and log-variance '
                             f'(port 1) of the same shape, but gets {fmt(mean)} and '
                             f'{fmt(logvar)}')
        return mean

    @classmethod
    def summary(cls, cfg):
        return "Sampling" if cfg["beta"] == 1.0 else f"Sampling β={cfg['beta']:g}"

    def forward(self, p, xs, training):
        mean, logvar = xs
        self._training = training
        if not training:
            self.extra_loss = 0.0
            return mean
        n = mean.shape[0]
        beta = self.cfg["beta"]
        var = np.exp(logvar)
        std = np.sqrt(var)
        eps = self.rng.standard_normal(mean.shape, dtype=mean.dtype)
        noise = eps * std                      # dz/dlogvar = noise / 2
        z = mean + noise
        if beta:
            terms = np.sum(1.0 + logvar - mean * mean - var, dtype=np.float64)
            self.extra_loss = float(-0.5 * beta * terms / n)
        else:
            self.extra_loss = 0.0
        self._mean, self._var, self._noise, self._n = mean, var, noise, n
        return z

    def backward(self, p, dy):
        if not self._training:
            return [dy, np.zeros_like(dy)], {}
        c = self.cfg["beta"] / self._n
        dmean = dy + c * self._mean
        dlogvar = dy * self._noise
        dlogvar += c * (self._var - 1.0)
        dlogvar *= 0.5
        return [dmean, dlogvar], {}
