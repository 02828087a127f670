"""Probes: small computations on the live model, for the designer's panels.

The trainer calls each probe with its model at every snapshot and ships the result in
`Snapshot.probes`, so the window never runs the network. Each probe works on a fixed
slice of the data (chosen once, at the start of the run) so that successive results are
comparable, and returns plain arrays (copies) that the GUI may keep.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

Probe = Callable[[Any], Any]

GRID = 96                 # decision-boundary resolution per axis
MAX_POINTS = 1000         # data points drawn under a boundary
MAX_EVAL = 1000           # validation samples for confusion matrices and predictions
GALLERY = 24              # misclassified samples kept for the gallery
EXAMPLES = 4              # sequences plotted as examples
LATENT = 600              # samples projected into the latent space


def _single_io(model) -> bool:
    return len(model.input_ids) == 1 and len(model.output_ids) == 1


def _forward(model, x: np.ndarray, batch: int = 512) -> np.ndarray:
    """Inference in batches (the probes never train; dropout and noise are off)."""
    outs = [np.array(model.forward(x[i:i + batch], training=False), copy=True)
            for i in range(0, len(x), batch)]
    return np.concatenate(outs) if outs else np.empty((0,))


def data_extent(x: np.ndarray, margin: float = 0.1) -> tuple[float, float, float, float]:
    lo, hi = np.nanmin(x, axis=0), np.nanmax(x, axis=0)
    span = np.maximum(hi - lo, 1e-6)
    lo, hi = lo - margin * span, hi + margin * span
    return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])


def boundary_probe(dataset, loss: str, grid: int = GRID) -> Probe:
    """Outputs over a grid covering 2-D data: class probabilities or regression values."""
    x0, x1, y0, y1 = data_extent(np.concatenate([dataset.x_train, dataset.x_val]))
    gx, gy = np.meshgrid(np.linspace(x0, x1, grid), np.linspace(y0, y1, grid))
    points = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
    train = _subset(dataset.x_train, dataset.y_train, MAX_POINTS)
    val = _subset(dataset.x_val, dataset.y_val, MAX_POINTS // 2)

    def probe(model) -> dict:
        out = _forward(model, points)
        values = out.reshape(grid, grid, -1).astype(np.float32)
        return {"extent": (x0, x1, y0, y1), "values": values, "loss": loss,
                "task": dataset.task, "train": train, "val": val}

    return probe


def curve_probe(dataset, samples: int = 200) -> Probe:
    """The fitted function of a 1-D regression, over the data's range."""
    x = np.concatenate([dataset.x_train, dataset.x_val])[:, 0]
    lo, hi = float(np.min(x)), float(np.max(x))
    pad = 0.05 * (hi - lo or 1.0)
    xs = np.linspace(lo - pad, hi + pad, samples, dtype=np.float32)[:, None]
    train = _subset(dataset.x_train, dataset.y_train, MAX_POINTS)
    val = _subset(dataset.x_val, dataset.y_val, MAX_POINTS // 2)

    def probe(model) -> dict:
        return {"x": xs[:, 0].copy(), "y": _forward(model, xs).reshape(samples, -1)[:, 0],
                "train": train, "val": val}

    return probe


def _subset(x: np.ndarray, y: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    return x[:n].copy(), y[:n].copy()


def predictions_probe(dataset, loss: str) -> Probe:
    """Classification: confusion matrix and misclassified samples; regression: pairs."""
    x, y = dataset.x_val[:MAX_EVAL], dataset.y_val[:MAX_EVAL]
    if len(x) == 0:                       # no validation split: judge the training set
        x, y = dataset.x_train[:MAX_EVAL], dataset.y_train[:MAX_EVAL]
    classify = dataset.task == "classification"

    def probe(model) -> dict:
        out = _forward(model, x)
        if classify:
            result = classification_result(out, y, loss, dataset.num_classes, x)
            result["class_names"] = dataset.class_names
            return result
        return regression_result(out, y, x)

    return probe


def classification_result(out: np.ndarray, y: np.ndarray, loss: str,
                          num_classes: int | None, x: np.ndarray) -> dict:
    if loss == "binary_cross_entropy" and out.shape[-1] == 1:
        pred = (out[..., 0] > 0.5).astype(np.int64)
        conf = np.where(pred == 1, out[..., 0], 1 - out[..., 0])
        k = 2
    else:
        pred = out.argmax(axis=-1)
        conf = out.max(axis=-1)
        k = out.shape[-1]
    k = max(k, num_classes or 0)
    truth = np.asarray(y).reshape(pred.shape).astype(np.int64)
    cm = np.zeros((k, k), np.int64)
    np.add.at(cm, (truth.ravel(), pred.ravel()), 1)
    wrong = np.flatnonzero((pred != truth).reshape(len(pred), -1).any(axis=1))[:GALLERY]
    return {"kind": "classification", "confusion": cm,
            "accuracy": float(np.mean(pred == truth)) if pred.size else float("nan"),
            "wrong_index": wrong, "wrong_x": x[wrong].copy(),
            "wrong_true": _first(truth[wrong]), "wrong_pred": _first(pred[wrong]),
            "wrong_conf": _first(conf[wrong]).astype(np.float32)}


def _first(a: np.ndarray) -> np.ndarray:
    """Per sample, its first value (a sequence's first step): the gallery's captions.
    (Also with no sample at all: reshaping an empty array to (0, -1) raises.)"""
    return a[(slice(None),) + (0,) * (a.ndim - 1)]


def regression_result(out: np.ndarray, y: np.ndarray, x: np.ndarray) -> dict:
    y = np.asarray(y, np.float32).reshape(out.shape)
    flat_true, flat_pred = y.ravel(), out.ravel()
    if flat_true.size > 2000:
        idx = np.linspace(0, flat_true.size - 1, 2000).astype(np.int64)
        flat_true, flat_pred = flat_true[idx], flat_pred[idx]
    result = {"kind": "regression", "true": flat_true.copy(), "pred": flat_pred.copy()}
    if out.ndim == 3 or (x.ndim == 3 and out.ndim == 2):    # sequences: a few examples
        result["examples"] = {"x": x[:EXAMPLES].copy(), "true": y[:EXAMPLES].copy(),
                              "pred": out[:EXAMPLES].copy()}
    return result


def bottleneck(model) -> str | None:
    """The narrowest hidden node of an autoencoder (fewest values per sample)."""
    best, size = None, None
    for n in model.order:
        if n in model.input_ids or n in model.output_ids:
            continue
        s = int(np.prod(model.output_shapes[n]))
        if size is None or s < size:
            best, size = n, s
    return best


def pca_2d(z: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """Project rows onto their top two principal components (identity for 2-D)."""
    z = z.reshape(len(z), -1).astype(np.float64)
    if z.shape[1] <= 2:
        pad = np.zeros((len(z), 2 - z.shape[1]))
        return np.hstack([z, pad]).astype(np.float32), [1.0, 0.0][:2]
    zc = z - z.mean(axis=0)
    _, s, vt = np.linalg.svd(zc, full_matrices=False)
    var = s ** 2
    ratio = (var[:2] / var.sum()).tolist() if var.sum() > 0 else [0.0, 0.0]
    return (zc @ vt[:2].T).astype(np.float32), ratio


def latent_probe(dataset) -> Probe:
    """The bottleneck of an autoencoder for validation samples, projected to 2-D."""
    x = dataset.x_val[:LATENT] if len(dataset.x_val) else dataset.x_train[:LATENT]
    y = dataset.y_val[:LATENT] if len(dataset.x_val) else dataset.y_train[:LATENT]
    labels = y if dataset.task == "classification" and np.asarray(y).ndim == 1 else None

    def probe(model) -> dict | None:
        node = bottleneck(model)
        if node is None:
            return None
        codes = []
        for i in range(0, len(x), 256):
            model.forward(x[i:i + 256], training=False)
            codes.append(np.array(model.values[node], copy=True))
        z = np.concatenate(codes)
        xy, ratio = pca_2d(z)
        return {"node": node, "xy": xy, "labels": None if labels is None else labels.copy(),
                "dims": int(np.prod(z.shape[1:])), "explained": ratio,
                "class_names": dataset.class_names}

    return probe


def make_probes(model, dataset, data_settings: dict) -> dict[str, Probe]:
    """The probes that fit this model and dataset (none for multi-input networks)."""
    if not _single_io(model):
        return {}
    out_id = model.output_ids[0]
    loss = model.layers[out_id].cfg.get("loss", "mse")
    shape = tuple(dataset.input_shape)
    autoencoder = data_settings.get("target") == "input"
    probes: dict[str, Probe] = {}
    if autoencoder:
        probes["latent"] = latent_probe(dataset)
        return probes
    flat_out = model.output_shapes[out_id]
    if dataset.input_dtype == "float" and shape == (2,) and len(flat_out) == 1:
        probes["boundary"] = boundary_probe(dataset, loss)
    elif dataset.input_dtype == "float" and shape == (1,) and dataset.task == "regression":
        probes["curve"] = curve_probe(dataset)
    probes["predictions"] = predictions_probe(dataset, loss)
    return probes
