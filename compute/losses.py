"""Losses fused with their output activation, as DESIGN.md defines them.

Each loss takes the Output node's input (logits for the two cross-entropies) and the
target, and returns ``(loss, d loss / d input)``. With per-time-step outputs ``(N, T, K)``
every loss averages over N·T instead of N.
"""
from __future__ import annotations

import numpy as np

from .errors import TrainingError
from .kernels import activations as k

NAMES = ("cross_entropy", "binary_cross_entropy", "mse")


def count(shape: tuple[int, ...]) -> int:
    """The number of examples a loss averages over: N, or N·T for (N, T, K) outputs."""
    return shape[0] * shape[1] if len(shape) == 3 else shape[0]


def output_activation(loss: str) -> str:
    """The activation a loss fuses: what `forward` applies to give probabilities."""
    return {"cross_entropy": "softmax", "binary_cross_entropy": "sigmoid"}.get(loss, "linear")


def class_indices(target: np.ndarray, logits_shape: tuple[int, ...], where: str) -> np.ndarray:
    """Class-index targets as int64 of shape logits_shape[:-1]; refuses what is not one."""
    if target.shape != logits_shape[:-1]:
        raise TrainingError(f"{where}: targets of shape {target.shape} do not fit outputs of "
                            f"shape {logits_shape}; give class indices of shape "
                            f"{logits_shape[:-1]} or one-hot of shape {logits_shape}")
    idx = target.astype(np.int64, copy=False)
    if target.dtype.kind not in "iu" and not np.all(idx == target):
        bad_indices(target, logits_shape[-1], where)
    return idx


def bad_indices(target: np.ndarray, k: int, where: str):
    raise TrainingError(f"{where}: class indices must be integers in 0..{k - 1}, "
                        f"got values from {target.min()} to {target.max()}")


def one_hot_target(target: np.ndarray, logits_shape: tuple[int, ...], where: str) -> np.ndarray:
    """Class indices or one-hot targets as a one-hot array shaped like the logits."""
    target = np.asarray(target)
    if target.shape == logits_shape:
        return target.astype(np.float64, copy=False)
    idx = class_indices(target, logits_shape, where)
    if idx.size and (idx.min() < 0 or idx.max() >= logits_shape[-1]):
        bad_indices(target, logits_shape[-1], where)
    onehot = np.zeros(logits_shape, np.float64)
    np.put_along_axis(onehot, idx[..., None], 1.0, axis=-1)
    return onehot


def _flat(a: np.ndarray, dtype=None) -> np.ndarray:
    return np.ascontiguousarray(a, dtype).reshape(-1)


def cross_entropy(z: np.ndarray, target: np.ndarray, where: str = "Output"):
    """Softmax cross-entropy (one fused kernel): class indices, one-hot or soft targets."""
    m = count(z.shape)
    target = np.asarray(target)
    cols = z.shape[-1]
    rows = z.size // cols
    dz = np.empty(z.shape, z.dtype)
    flat = dz.reshape(-1)
    if target.shape == z.shape:
        labels, t = NO_LABELS, _flat(target, z.dtype)
    else:
        labels, t = class_indices(target, z.shape, where).reshape(-1), flat[:0]
    total, bad = k.softmax_ce(_flat(z), np.ascontiguousarray(labels), t, rows, cols,
                              z.dtype.type(m), flat, flat)
    if bad >= 0:
        bad_indices(target, cols, where)
    return float(total) / m, dz


NO_LABELS = np.zeros(0, np.int64)


def _matching(t: np.ndarray, shape: tuple[int, ...], dtype, where: str, squeeze: bool):
    """Targets as a flat contiguous array of the outputs' dtype, if their shape fits."""
    if t.shape != shape:
        fits = (t.shape == shape[:-1] and shape[-1] == 1) if squeeze else t.size == int(
            np.prod(shape))
        if not fits:
            raise TrainingError(f"{where}: targets of shape {t.shape} do not fit outputs of "
                                f"shape {shape}")
    return np.ascontiguousarray(t, dtype=dtype).reshape(-1)


def binary_cross_entropy(z: np.ndarray, target: np.ndarray, where: str = "Output"):
    """Sigmoid binary cross-entropy on logits, stable for any z (one fused kernel)."""
    t = _matching(np.asarray(target), z.shape, z.dtype, where, squeeze=True)
    m = count(z.shape)
    dz = np.empty(z.shape, z.dtype)
    flat = dz.reshape(-1)
    total = k.sigmoid_bce(_flat(z), t, z.dtype.type(m), flat, flat)
    return float(total) / m, dz


def mse(y: np.ndarray, target: np.ndarray, where: str = "Output"):
    """Half the squared error summed over features, averaged over examples."""
    t = _matching(np.asarray(target), y.shape, y.dtype, where, squeeze=False)
    m = count(y.shape)
    dz = np.empty(y.shape, y.dtype)
    total = k.squared_error(_flat(y), t, y.dtype.type(m), dz.reshape(-1))
    return float(total) / m, dz


FUNCTIONS = {"cross_entropy": cross_entropy, "binary_cross_entropy": binary_cross_entropy,
             "mse": mse}
