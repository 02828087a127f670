"""The runs of this session and their names: what changed since the run before (Qt-free).

A legend that says `lr 0.1 → 0.01` answers the course's questions (too small a learning
rate? too large a batch?) at a glance, where `run 3` says nothing.
"""
from __future__ import annotations

import copy
from typing import Any, Iterator

from compute.project import resolve_data, resolve_training

from .history import RunHistory

# short words for the settings people change most
LABELS = {
    "training.optimizer.lr": "lr", "training.optimizer.type": "optimizer",
    "training.optimizer.momentum": "momentum", "training.batch_size": "batch",
    "training.epochs": "epochs", "training.seed": "seed", "training.schedule.type": "schedule",
    "training.regularization.l1": "L1", "training.regularization.l2": "L2",
    "training.regularization.weight_noise": "weight noise",
    "training.gradient_clip": "clip", "training.early_stopping": "early stop",
    "data.dataset": "data", "data.validation_split": "val split",
    "data.input_noise": "input noise", "data.augmentation": "augmentation",
}
MAX_CHANGES = 3


def resolved_settings(project_dict: dict) -> dict[str, Any]:
    """The settings a run is compared by: data and training with defaults, and the graph."""
    def safe(fn, section):
        try:
            return fn(section)
        except Exception:       # an invalid section still gets a name; the run will fail
            return copy.deepcopy(section)

    return {"data": safe(resolve_data, project_dict.get("data") or {}),
            "training": safe(resolve_training, project_dict.get("training") or {}),
            "graph": copy.deepcopy(project_dict.get("graph") or {})}


def flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(d, dict) or not d:
        return {prefix: d} if prefix else {}
    out = {}
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict) and v and not key.endswith(("gradient_clip", "early_stopping")):
            out.update(flatten(v, key))
        else:
            out[key] = v
    return out


def fmt(value: Any) -> str:
    if value is None:
        return "off"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return " ".join(f"{k} {fmt(v)}" for k, v in value.items() if v is not None) or "on"
    if isinstance(value, list):
        return ", ".join(v.get("type", "?") if isinstance(v, dict) else fmt(v)
                         for v in value) or "none"
    return str(value)


def describe_change(old: dict[str, Any], new: dict[str, Any]) -> str:
    """`lr 0.1 → 0.01, batch 32 → 1`: what differs between two runs' settings."""
    parts = []
    a = flatten({"data": old.get("data"), "training": old.get("training")})
    b = flatten({"data": new.get("data"), "training": new.get("training")})
    for key in list(dict.fromkeys([*b, *a])):
        if a.get(key) != b.get(key):
            label = LABELS.get(key, key.split(".", 1)[-1].replace("params.", ""))
            parts.append(f"{label} {fmt(a.get(key))} → {fmt(b.get(key))}")
    parts.extend(describe_graph_change(old.get("graph") or {}, new.get("graph") or {}))
    if not parts:
        return "same settings"
    if len(parts) > MAX_CHANGES:
        parts = parts[:MAX_CHANGES] + [f"+{len(parts) - MAX_CHANGES} more"]
    return ", ".join(parts)


def describe_graph_change(old: dict, new: dict) -> list[str]:
    """Node-level differences: added/removed nodes, changed params, rewiring."""
    a = {n["id"]: n for n in old.get("nodes", [])}
    b = {n["id"]: n for n in new.get("nodes", [])}
    out = [f"+{n}" for n in b if n not in a] + [f"−{n}" for n in a if n not in b]
    for n in b:
        if n in a:
            pa, pb = a[n].get("params", {}), b[n].get("params", {})
            if a[n].get("type") != b[n].get("type"):
                out.append(f"{n} {a[n].get('type')} → {b[n].get('type')}")
            for k in dict.fromkeys([*pb, *pa]):
                if pa.get(k) != pb.get(k):
                    out.append(f"{n}.{k} {fmt(pa.get(k))} → {fmt(pb.get(k))}")
    edges = lambda g: sorted((e["source"], e["target"], e.get("port", 0))
                             for e in g.get("edges", []))
    if not out and edges(old) != edges(new):
        out.append("rewired")
    return out


def describe_first(settings: dict[str, Any]) -> str:
    """The first run's legend: its key settings."""
    t = settings.get("training") or {}
    opt = t.get("optimizer") or {}
    return f"{opt.get('type', '?')} lr {fmt(opt.get('lr'))}, batch {fmt(t.get('batch_size'))}"


class RunStore:
    """The runs of this session, newest last; the name of each says what changed."""

    def __init__(self, keep: int = 8) -> None:
        self.keep = keep
        self.runs: list[RunHistory] = []
        self._counter = 0

    def __iter__(self) -> Iterator[RunHistory]:
        return iter(self.runs)

    def __len__(self) -> int:
        return len(self.runs)

    @property
    def current(self) -> RunHistory | None:
        return self.runs[-1] if self.runs else None

    def new_run(self, project_dict: dict, capacity: int = 4096) -> RunHistory:
        settings = resolved_settings(project_dict)
        self._counter += 1
        prev = self.runs[-1] if self.runs else None
        label = describe_change(prev.settings, settings) if prev else describe_first(settings)
        run = RunHistory(f"run {self._counter}: {label}", settings, capacity=capacity)
        self.runs.append(run)
        del self.runs[:-self.keep]
        return run

    def clear(self) -> None:
        """Forget earlier runs (keeps the current one if it is still running)."""
        cur = self.current
        self.runs = [cur] if cur is not None and cur.running else []
