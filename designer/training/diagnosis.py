"""Plain-language findings about a run, from its metric histories (Qt-free).

Each rule is a plain function over arrays and dicts, so it can be tested on synthetic
histories. A `Finding` names the node it concerns (the Output node for findings about the
loss as a whole), says what was seen, and offers a fix; where the fix is a change to the
training settings, `patch` holds it ({"optimizer.lr": 0.001}) so the window can apply it
as one undoable edit.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np
import numpy.ma  # noqa: F401  (np.median imports it at its first use: 20 ms of a frame
#                  of a run, where the window's start does not notice)

SEVERITIES = ("error", "warning", "info")

# thresholds, relative where the scale of a quantity depends on the network
VANISHING_RATIO = 1e-2      # a layer's gradient below 1/100 of the layers' median
EXPLODING_RATIO = 1e2
EXPLODING_ABS = 1e3
EXPLODING_FLOOR = 1.0       # ...and only a norm above 1 is exploding by that ratio
DEAD_UNITS = 0.5            # half of a ReLU layer's units never fire on the snapshot batch
DEAD_ZERO_FRACTION = 0.9    # without snapshots: 90% of its outputs are exactly zero
SATURATED = 0.5
FLAT_CHANGE = 0.02          # the loss moved less than 2% over the run so far
MIN_STEPS = 100


@dataclass(frozen=True)
class Finding:
    kind: str                 # "diverged", "lr_too_small", "vanishing", ...
    severity: str             # "error", "warning" or "info"
    node: str | None
    title: str
    detail: str
    fix: str
    patch: dict[str, Any] = field(default_factory=dict)   # dotted training keys -> value

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.kind, self.node)


def recent(values: np.ndarray, n: int = 20) -> np.ndarray:
    v = np.asarray(values, np.float64)[-n:]
    return v[np.isfinite(v)]


# -- the loss ---------------------------------------------------------------------------
def diverged(losses: np.ndarray, reason: str | None, message: str, node_ids: Iterable[str],
             output: str | None, lr: float | None) -> Finding | None:
    """NaN/Inf in the loss, or the trainer stopped the run as diverged."""
    losses = np.asarray(losses, np.float64)
    if reason != "diverged" and np.isfinite(losses).all():
        return None
    node = _named_node(message, node_ids) or output
    lower = _round_lr(lr / 10) if lr else None
    fix = "lower the learning rate" + (f" to {lower:g}" if lower else "") + \
          " or clip gradients (norm 1)"
    return Finding("diverged", "error", node, "Training diverged",
                   message or "the loss became NaN or infinite", fix,
                   {"optimizer.lr": lower} if lower else {"gradient_clip": {"norm": 1.0}})


def loss_rising(losses: np.ndarray, output: str | None, lr: float | None) -> Finding | None:
    """The loss ends clearly higher than it started: steps overshoot."""
    v = np.asarray(losses, np.float64)
    if v.size < MIN_STEPS or not np.isfinite(v).all():
        return None
    w = max(v.size // 10, 5)
    first, last = float(np.median(v[:w])), float(np.median(v[-w:]))
    if last <= first * 1.2 or last - first < 1e-6:
        return None
    lower = _round_lr(lr / 10) if lr else None
    return Finding("loss_rising", "warning", output, "The loss is rising",
                   f"the training loss went from {first:.3g} to {last:.3g}: the steps "
                   "overshoot the minimum",
                   "lower the learning rate" + (f" to {lower:g}" if lower else ""),
                   {"optimizer.lr": lower} if lower else {})


def lr_too_small(losses: np.ndarray, steps_per_epoch: int, output: str | None,
                 lr: float | None) -> Finding | None:
    """The loss barely moves after at least an epoch and `MIN_STEPS` steps."""
    v = np.asarray(losses, np.float64)
    if v.size < max(MIN_STEPS, steps_per_epoch) or not np.isfinite(v).all():
        return None
    w = max(v.size // 10, 5)
    first, last = float(np.median(v[:w])), float(np.median(v[-w:]))
    if first <= 1e-3 or (first - last) > FLAT_CHANGE * abs(first) or last > first * 1.2:
        return None
    higher = _round_lr(lr * 10) if lr else None
    return Finding("lr_too_small", "warning", output, "The loss barely moves",
                   f"after {v.size} steps the loss changed by {100 * (first - last) / first:.1f}% "
                   f"({first:.3g} → {last:.3g}): the learning rate is probably too small",
                   "raise the learning rate" + (f" to {higher:g}" if higher else ""),
                   {"optimizer.lr": higher} if higher else {})


# -- gradients --------------------------------------------------------------------------
def gradient_flow(norms: Mapping[str, np.ndarray], types: Mapping[str, str],
                  activations: Mapping[str, str | None] | None = None) -> list[Finding]:
    """Vanishing or exploding gradients per layer, relative to the network's median.

    The median over all layers (not "the others") keeps one exploding layer from making
    every other layer look vanishing. The other way round, many vanishing layers pull the
    median down, and a healthy layer above them (0.17 against a median of 0.0009, in a
    deep sigmoid stack) was called exploding, with the advice to lower a learning rate
    that was already too small: the ratio counts only for norms above EXPLODING_FLOOR.
    """
    med = {n: float(np.median(r)) for n, v in norms.items() if (r := recent(v)).size}
    positive = [m for m in med.values() if m > 0]
    ref = float(np.median(positive)) if len(positive) >= 2 else None
    out: list[Finding] = []
    for node, g in med.items():
        if g > EXPLODING_ABS or (ref and g > max(ref * EXPLODING_RATIO, EXPLODING_FLOOR)):
            why = (f"its gradient norm is {g:.3g}" +
                   (f", {g / ref:.0f}× the layers' median {ref:.3g}" if ref else ""))
            out.append(Finding("exploding", "warning", node, f"Exploding gradients in {node}",
                               why, "clip gradients (norm 1) and lower the learning rate; "
                               "BatchNorm or a smaller initialisation help too",
                               {"gradient_clip": {"norm": 1.0}}))
        elif ref and g < ref * VANISHING_RATIO:
            out.append(Finding("vanishing", "warning", node, f"Vanishing gradients in {node}",
                               f"its gradient norm {g:.3g} is {ref / max(g, 1e-300):.0f}× "
                               f"smaller than the layers' median {ref:.3g}: it hardly "
                               "learns", _vanishing_fix(types.get(node, ""),
                                                       (activations or {}).get(node))))
    return out


def _vanishing_fix(layer_type: str, kind: str | None) -> str:
    if layer_type == "SimpleRNN":
        return "use an LSTM or GRU, whose gates keep gradients alive over many steps"
    if kind in ("sigmoid", "tanh"):
        return f"replace {kind} by ReLU with He initialisation, or add skip connections"
    return "use ReLU with He initialisation, add BatchNorm or skip connections (residual Add)"


# -- activations ------------------------------------------------------------------------
def dead_relus(dead_units: Mapping[str, np.ndarray],
               zero_fraction: Mapping[str, np.ndarray]) -> list[Finding]:
    """ReLU layers whose units never fire (from snapshots) or almost always output 0."""
    out = []
    for node in sorted(set(dead_units) | set(zero_fraction)):
        units = recent(dead_units.get(node, []), 3)
        if units.size:
            frac, what = float(np.median(units)), "of its units never fire on the snapshot samples"
            bad = frac >= DEAD_UNITS
        else:
            z = recent(zero_fraction.get(node, []))
            if not z.size:
                continue
            frac, what = float(np.median(z)), "of its outputs are exactly zero"
            bad = frac >= DEAD_ZERO_FRACTION
        if bad:
            out.append(Finding("dead_relu", "warning", node, f"Dead ReLUs in {node}",
                               f"{100 * frac:.0f}% {what}: they pass no gradient and stop "
                               "learning", "lower the learning rate, use leaky ReLU or ELU, "
                               "and He initialisation"))
    return out


def saturation(saturated: Mapping[str, np.ndarray], kinds: Mapping[str, str | None]
               ) -> list[Finding]:
    """Sigmoid/tanh layers whose outputs sit at the flat ends of the curve."""
    out = []
    for node, v in saturated.items():
        r = recent(v)
        if r.size and float(np.median(r)) >= SATURATED:
            kind = kinds.get(node) or "sigmoid/tanh"
            out.append(Finding("saturated", "warning", node, f"Saturated {kind} in {node}",
                               f"{100 * float(np.median(r)):.0f}% of its outputs are at the "
                               f"flat ends of {kind}, where the gradient is almost zero",
                               "standardise the inputs, use a smaller initialisation "
                               "(Xavier/Glorot), or ReLU; BatchNorm before the activation"))
    return out


# -- epochs -----------------------------------------------------------------------------
def overfitting(epochs: list[Mapping[str, float]], output: str | None) -> Finding | None:
    """Validation loss rising for several epochs while the training loss keeps falling."""
    rows = [e for e in epochs if _finite(e.get("val_loss")) and _finite(e.get("loss"))]
    if len(rows) < 4:
        return None
    val = np.array([e["val_loss"] for e in rows])
    train = np.array([e["loss"] for e in rows])
    best = int(np.argmin(val))
    rise = val[-1] - val[best]
    # the rise must matter: 5% of the best loss and 2% of all the improvement so far
    # (a val loss of 0.012 drifting to 0.013 after 0.7 → 0.012 is noise, not overfitting)
    if len(rows) - 1 - best < 3 or rise < 0.05 * val[best] or \
            rise < 0.02 * (val[0] - val[best]) or train[-1] >= train[best]:
        return None
    epoch = int(rows[best].get("epoch", best + 1))
    return Finding("overfitting", "warning", output, "Overfitting",
                   f"validation loss was lowest at epoch {epoch} ({val[best]:.3g}) and has "
                   f"risen to {val[-1]:.3g} while the training loss kept falling "
                   f"({train[best]:.3g} → {train[-1]:.3g})",
                   "regularize (L2, dropout), augment the data, or stop early: early "
                   "stopping keeps the best epoch's weights",
                   {"early_stopping": {"patience": 3, "min_delta": 0.0}})


def underfitting(epochs: list[Mapping[str, float]], task: str | None, output: str | None,
                 epochs_planned: int | None, final: bool) -> Finding | None:
    """Training accuracy (or R²) stays low and has stopped improving."""
    rows = [e for e in epochs if _finite(e.get("loss"))]
    if len(rows) < 3 or not (final or len(rows) >= 5):
        return None
    key, good = ("accuracy", 0.9) if task == "classification" else ("r2", 0.9)
    if not _finite(rows[-1].get(key)):
        return None
    score = float(rows[-1][key])
    if score >= good:
        return None
    losses = np.array([e["loss"] for e in rows[-3:]])
    still_improving = (losses[0] - losses[-1]) > 0.01 * abs(losses[0])
    name = "training accuracy" if key == "accuracy" else "training R²"
    if still_improving and final:
        more = (epochs_planned or len(rows)) * 2
        return Finding("underfitting", "info", output, "Still improving when training ended",
                       f"{name} is {score:.3g} and the loss was still falling",
                       f"train longer ({more} epochs) or raise the learning rate",
                       {"epochs": more})
    if still_improving:
        return None
    return Finding("underfitting", "warning", output, "Underfitting",
                   f"{name} is only {score:.3g} and has stopped improving: the network "
                   "cannot fit even the training data",
                   "make the network larger (more units or layers), lower the "
                   "regularization, or raise the learning rate")


# -- helpers ----------------------------------------------------------------------------
def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def _round_lr(lr: float) -> float:
    """A learning rate rounded to one significant digit (0.0312 -> 0.03)."""
    if lr <= 0:
        return lr
    exp = math.floor(math.log10(lr))
    return round(lr, -exp)


def _named_node(message: str, node_ids: Iterable[str]) -> str | None:
    """The first node id quoted in a trainer message ('... in "conv2" ...')."""
    ids = set(node_ids)
    for m in re.finditer(r'"([^"]+)"', message or ""):
        if m.group(1) in ids:
            return m.group(1)
    return None


def apply_patch(training: dict, patch: Mapping[str, Any]) -> dict:
    """A copy of a training dict with dotted keys replaced ({"optimizer.lr": 0.01})."""
    import copy

    out = copy.deepcopy(training)
    for key, value in patch.items():
        parts = key.split(".")
        d = out
        for p in parts[:-1]:
            if not isinstance(d.get(p), dict):
                d[p] = {}
            d = d[p]
        d[parts[-1]] = value
    return out


def diagnose(run, final: bool = False) -> list[Finding]:
    """Every finding for a `RunHistory` (while training, or `final` once it ended)."""
    from compute.activations import kind as activation_kind

    out = run.output_node
    types = run.node_types
    names = run.activation_names
    kinds = {n: activation_kind(a) if a != "tanh" else "tanh" for n, a in names.items()}
    training = (run.settings.get("training") or {})
    lr = (training.get("optimizer") or {}).get("lr")
    _, losses = run.loss.data()
    findings: list[Finding | None] = []
    fin = run.finished
    div = diverged(losses, fin.reason if fin else None, fin.message if fin else "",
                   types, out, lr)
    findings.append(div)
    if div is None:
        spe = run.started.steps_per_epoch if run.started else 1
        findings += [loss_rising(losses, out, lr), lr_too_small(losses, spe, out, lr)]
        findings += gradient_flow({n: s.data()[1] for n, s in run.grad_norms.items()},
                                  types, kinds)
        findings += dead_relus({n: t.values() for n, t in run.dead_units.items()},
                               {n: s.data()[1] for n, s in run.dead.items()})
        findings += saturation({n: s.data()[1] for n, s in run.saturated.items()}, kinds)
        findings += [overfitting(run.epochs, out),
                     underfitting(run.epochs, run.task, out,
                                  run.started.epochs if run.started else None, final)]
    order = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted((f for f in findings if f is not None), key=lambda f: order[f.severity])
