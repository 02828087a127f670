"""Per-epoch metrics: accuracy for classification, MSE and R² for regression.

Accumulated batch by batch in running sums, so a training step costs O(batch) and the
epoch's metrics need no second pass over the data. R² pools every output value of a
sample (1 − SS_res / SS_tot with SS_tot around each output's own mean), which is
scikit-learn's `r2_score(multioutput="variance_weighted")`.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..model import Model

KINDS = ("softmax", "sigmoid", "regression")


def metric_kind(loss: str, target: str) -> str:
    """What to measure: autoencoders and mse outputs are regressions, the rest accuracy."""
    if target == "input":
        return "regression"
    return {"cross_entropy": "softmax", "binary_cross_entropy": "sigmoid"}.get(loss,
                                                                            "regression")


class Metrics:
    """Running metrics over the batches of one epoch (or one evaluation)."""

    def __init__(self, kind: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown metric kind {kind!r}")
        self.kind = kind
        self.reset()

    def reset(self) -> None:
        self.correct = 0
        self.count = 0
        self.sse = 0.0                   # sum of squared residuals
        self.n = 0                       # samples seen (regression)
        self.mean: np.ndarray | None = None     # per-output running mean of the targets
        self.m2: np.ndarray | None = None       # per-output sum of squared deviations

    def update(self, pred: np.ndarray, target: np.ndarray) -> None:
        """Add one batch: `pred` as `Model.forward` gives it (probabilities for the CEs)."""
        if self.kind == "softmax":
            self._update_softmax(pred, np.asarray(target))
        elif self.kind == "sigmoid":
            t = np.asarray(target).reshape(pred.shape)
            self.correct += int(np.count_nonzero((pred > 0.5) == (t > 0.5)))
            self.count += pred.size
        else:
            self._update_regression(pred, np.asarray(target))

    def _update_softmax(self, pred: np.ndarray, t: np.ndarray) -> None:
        guess = pred.argmax(axis=-1)
        if t.shape == pred.shape:            # one-hot targets
            t = t.argmax(axis=-1)
        self.correct += int(np.count_nonzero(guess == t.reshape(guess.shape)))
        self.count += guess.size

    def _update_regression(self, pred: np.ndarray, t: np.ndarray) -> None:
        rows = pred.shape[0]
        p = pred.reshape(rows, -1)
        t = t.reshape(rows, -1).astype(np.float64, copy=False)
        diff = p - t
        self.sse += float(np.einsum("ij,ij->", diff, diff, dtype=np.float64))
        # Chan et al.'s merge of (count, mean, M2): stable where sum(t²) − n·mean² is not
        bmean = t.mean(axis=0)
        dev = t - bmean
        bm2 = np.einsum("ij,ij->j", dev, dev)
        if self.mean is None:
            self.n, self.mean, self.m2 = rows, bmean, bm2
            return
        total = self.n + rows
        delta = bmean - self.mean
        self.mean = self.mean + delta * (rows / total)
        self.m2 = self.m2 + bm2 + delta * delta * (self.n * rows / total)
        self.n = total

    def result(self, prefix: str = "") -> dict[str, float]:
        """{"accuracy"} or {"mse", "r2"} (r2 left out when the targets are constant)."""
        if self.kind != "regression":
            return {prefix + "accuracy": self.correct / self.count} if self.count else {}
        if not self.n:
            return {}
        out = {prefix + "mse": self.sse / (self.n * self.mean.size)}
        ss_tot = float(self.m2.sum())
        if ss_tot > 0:
            out[prefix + "r2"] = 1.0 - self.sse / ss_tot
        return out


def weight_penalty(model: Model) -> float:
    """The L1/L2 penalty the model adds to its training loss, for its current weights."""
    total = 0.0
    for n, p in model.params.items():
        l1, l2 = model.penalty_strengths(n)
        for name in model.layers[n].penalized if (l1 or l2) else ():
            w = p[name]
            if l2:
                total += 0.5 * l2 * float(np.einsum("i,i->", w.ravel(), w.ravel(),
                                                    dtype=np.float64))
            if l1:
                total += l1 * float(np.abs(w).sum(dtype=np.float64))
    return total


def evaluate(model: Model, x: np.ndarray, t: np.ndarray, kind: str, batch_size: int = 256,
             should_stop: Callable[[], bool] | None = None,
             prefix: str = "") -> dict[str, float] | None:
    """Loss and metrics over a whole split, in inference mode and in batches.

    The loss is the training objective measured on this split: the data loss, extra terms
    such as a VAE's KL, and the weight penalties (as Keras reports it), so that training
    and validation curves are comparable. The model's random generator is left as it was,
    so evaluating never changes what training does next. Returns None if `should_stop`
    says so between two batches.
    """
    out_id = model.output_ids[0]
    out_layer = model.layers[out_id]
    metrics = Metrics(kind)
    loss_sum = 0.0
    state = model.rng.bit_generator.state
    try:
        for start in range(0, len(x), batch_size):
            if should_stop is not None and should_stop():
                return None
            xb, tb = x[start:start + batch_size], t[start:start + batch_size]
            for layer in model.layers.values():
                layer.extra_loss = 0.0      # only what this forward pass computes counts
            pred = model.forward(xb, training=False)
            part, _ = out_layer.loss(tb)
            part += sum(float(layer.extra_loss) for layer in model.layers.values())
            loss_sum += part * len(xb)
            metrics.update(pred, tb)
    finally:
        model.rng.bit_generator.state = state
    result = {prefix + "loss": loss_sum / max(len(x), 1) + weight_penalty(model)}
    result.update(metrics.result(prefix))
    return result
