"""The Output node: where the network ends and the loss is chosen."""
from __future__ import annotations

import numpy as np

from .. import activations, losses
from ..errors import ShapeError
from ..params import Param
from .base import Layer, register


@register
class Output(Layer):
    """The loss node. Cross-entropy fuses softmax and binary cross-entropy fuses sigmoid
    (stable for any logits); `forward` gives probabilities for those, values for mse."""

    type_name = "Output"
    family = "Output"
    doc = "Ends the network and chooses the loss; forward gives probabilities"
    params = (Param("loss", "choice", "cross_entropy", "cross_entropy (classes, fused softmax), "
                    "binary_cross_entropy (fused sigmoid) or mse (regression)",
                    choices=losses.NAMES),)

    @classmethod
    def infer_shape(cls, cfg, in_shapes):
        s = in_shapes[0]
        if cfg["loss"] == "cross_entropy" and s[-1] < 2:
            raise ShapeError(f'"{{node}}": cross_entropy needs at least 2 classes but '
                             f'"{{source}}" gives {s[-1]}; use binary_cross_entropy for one '
                             f'output unit')
        return s

    @classmethod
    def summary(cls, cfg):
        return {"cross_entropy": "Softmax + CE", "binary_cross_entropy": "Sigmoid + BCE",
                "mse": "MSE"}[cfg["loss"]]

    def forward(self, p, xs, training):
        self._z = xs[0]
        return activations.forward(losses.output_activation(self.cfg["loss"]), xs[0])

    def loss(self, target: np.ndarray) -> tuple[float, np.ndarray]:
        """(loss, d loss / d input) for the last forward pass."""
        return losses.FUNCTIONS[self.cfg["loss"]](self._z, target, f'Output "{self.id}"')

    def backward(self, p, dy):
        return [dy], {}
