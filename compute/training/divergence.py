"""Finding where a diverging run first went wrong, and saying what to do about it."""
from __future__ import annotations

import numpy as np

from ..model import Model


def _finite(a: np.ndarray) -> bool:
    return a.dtype.kind != "f" or bool(np.isfinite(a).all())


def locate(model: Model, grads: dict | None, x: np.ndarray | None = None) -> tuple[str, str]:
    """(node, what) for the first non-finite value, walking the layers in topological
    order: a layer's weights, then its output; then, in the same order, the gradients.
    If every value is finite, the gradients are so large that their norm overflows: the
    layer with the largest one is named. Without `grads` (the step raised before it
    had any), the outputs come from a fresh forward pass on `x`, layer by layer.

    Only called once a step went wrong, so full scans are fine here.
    """
    values = model.values if grads is not None else _trace(model, x)
    for n in model.order:
        for name, w in model.params.get(n, {}).items():
            if not _finite(w):
                return n, f'its weights "{name}" hold NaN or Inf'
        y = values.get(n)
        if isinstance(y, Exception):
            return n, f"computing its output failed ({type(y).__name__}: {y})"
        if y is not None and not _finite(y):
            return n, "its output holds NaN or Inf"
    grads = grads or {}
    for n in model.order:
        for name, g in grads.get(n, {}).items():
            if not _finite(g):
                return n, f'the gradient of its weights "{name}" holds NaN or Inf'
    largest = {n: max(float(np.abs(g).max()) for g in gs.values() if g.size)
               for n, gs in grads.items() if any(g.size for g in gs.values())}
    if largest:
        n = max(largest, key=largest.get)
        return n, f"its gradients exploded (up to {largest[n]:.3g})"
    return model.output_ids[0], "the loss is not finite"


def _trace(model: Model, x: np.ndarray) -> dict:
    """Every node's output for `x` in inference mode, stopping at the first layer that
    raises (its value is then the exception)."""
    values = dict(model._bind_inputs(x))
    for n in model.order:
        if n in values:
            continue
        try:
            values[n] = model.layers[n].forward(model.params.get(n, {}),
                                                [values[s] for s in model.sources[n]], False)
        except ArithmeticError as exc:
            values[n] = exc
            break
    return values


def message(model: Model, grads: dict | None, loss: float, epoch: int, step: int,
            lr: float, kept_step: int, x: np.ndarray | None = None) -> str:
    """One paragraph: where it happened, which weights are kept, and the usual fixes."""
    node, what = locate(model, grads, x)
    layer = model.layers[node]
    if layer.type_name == "Input":
        return (f'training stopped at epoch {epoch}, step {step}: the input data of "{node}" '
                f"contains NaN or Inf; check the dataset (training cannot fix this).")
    value = ("the computation failed" if grads is None else f"the loss became {loss}"
             if not np.isfinite(loss) else "the gradients overflowed")
    kept = ("The weights from before this step are kept" if kept_step == step - 1 else
            f"The last good weights (from step {kept_step}) are kept")
    return (f'training diverged at epoch {epoch}, step {step}: {value}; first in layer '
            f'"{node}" ({layer.type_name}): {what}. {kept}. Try a lower learning rate (it '
            f'was {lr:g}) or gradient clipping ("gradient_clip": {{"norm": 1.0}}).')
