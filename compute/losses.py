"""Losses fused with their output activation, as DESIGN.md defines them.

Each loss takes the Output node's input (logits for the two cross-entropies) and the
target, and returns ``(loss, d loss / d input)``. With per-time-step outputs ``(N, T, K)``
every loss averages over N·T instead of N.
"""
from __future__ import annotations

import numpy as np

from . import activations
from .errors import TrainingError

NAMES = ("cross_entropy", "binary_cross_entropy", "mse")


def count(shape: tuple[int, ...]) -> int:
    """The number of examples a loss averages over: N, or N·T for (N, T, K) outputs."""
    return shape[0] * shape[1] if len(shape) == 3 else shape[0]


def output_activation(loss: str) -> str:
    """The activation a loss fuses: what `forward` applies to give probabilities."""
    return {"cross_entropy": "softmax", "binary_cross_entropy": "sigmoid"}.get(loss, "linear")


def one_hot_target(target: np.ndarray, logits_shape: tuple[int, ...], where: str) -> np.ndarray:
    """Class indices or one-hot targets as a one-hot array shaped like the logits."""
    target = np.asarray(target)
    if target.shape == logits_shape:
        return target.astype(np.float64, copy=False)
    if target.shape != logits_shape[:-1]:
        raise TrainingError(f"{where}: targets of shape {target.shape} do not fit outputs of "
                            f"shape {logits_shape}; give class indices of shape "
                            f"{logits_shape[:-1]} or one-hot of shape {logits_shape}")
    k = logits_shape[-1]
    idx = target.astype(np.int64, copy=False)
    if idx.size and (idx.min() < 0 or idx.max() >= k or not np.all(idx == target)):
        raise TrainingError(f"{where}: class indices must be integers in 0..{k - 1}, "
                            f"got values from {target.min()} to {target.max()}")
    onehot = np.zeros(logits_shape, np.float64)
    np.put_along_axis(onehot, idx[..., None], 1.0, axis=-1)
    return onehot


def cross_entropy(z: np.ndarray, target: np.ndarray, where: str = "Output"):
    t = one_hot_target(target, z.shape, where).astype(z.dtype, copy=False)
    p = activations.forward("softmax", z)
    m = count(z.shape)
    zmax = z.max(axis=-1, keepdims=True)
    log_p = z - zmax - np.log(np.exp(z - zmax).sum(axis=-1, keepdims=True))
    loss = -float(np.sum(t * log_p, dtype=np.float64)) / m
    return loss, ((p - t) / m).astype(z.dtype, copy=False)


def binary_cross_entropy(z: np.ndarray, target: np.ndarray, where: str = "Output"):
    t = np.asarray(target)
    if t.shape != z.shape:
        if t.shape == z.shape[:-1] and z.shape[-1] == 1:
            t = t[..., None]
        else:
            raise TrainingError(f"{where}: targets of shape {t.shape} do not fit outputs of "
                                f"shape {z.shape}")
    t = t.astype(z.dtype, copy=False)
    m = count(z.shape)
    per = np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z)))
    loss = float(np.sum(per, dtype=np.float64)) / m
    return loss, ((activations.forward("sigmoid", z) - t) / m).astype(z.dtype, copy=False)


def mse(y: np.ndarray, target: np.ndarray, where: str = "Output"):
    t = np.asarray(target)
    if t.shape != y.shape:
        if t.size == y.size:
            t = t.reshape(y.shape)
        else:
            raise TrainingError(f"{where}: targets of shape {t.shape} do not fit outputs of "
                                f"shape {y.shape}")
    m = count(y.shape)
    diff = y - t.astype(y.dtype, copy=False)
    loss = 0.5 * float(np.sum(diff * diff, dtype=np.float64)) / m
    return loss, (diff / m).astype(y.dtype, copy=False)


FUNCTIONS = {"cross_entropy": cross_entropy, "binary_cross_entropy": binary_cross_entropy,
             "mse": mse}
