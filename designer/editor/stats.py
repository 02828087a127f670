"""Size and cost of layers, for the inspector: parameters and multiply-adds per sample.

A node's numbers come from a one-node layer instance built from the inferred input
shapes (the same class `build_model` would use), so they are what training will see.
No Qt here.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from compute import Graph, Shapes, layer_class


@dataclass
class NodeStats:
    shape: tuple | None
    params: int | None = None          # None: unknown until the inputs have shapes
    macs: int | None = None
    weights: dict[str, tuple] = field(default_factory=dict)


def node_stats(graph: Graph, shapes: Shapes, node_id: str) -> NodeStats:
    node = graph.node(node_id)
    out = NodeStats(shapes.of(node_id))
    if out.shape is None:
        return out
    inputs = graph.inputs_of(node_id)
    in_shapes = [shapes.of(inputs[p]) for p in sorted(inputs)]
    if any(s is None for s in in_shapes):
        return out
    try:
        layer = layer_class(node.type)(node_id, node.config, in_shapes)
        out.weights = {k: tuple(v) for k, v in layer.param_shapes().items()}
        out.params = int(sum(int(np.prod(s)) for s in out.weights.values()))
        out.macs = int(layer.macs())
    except Exception:   # a layer that cannot be built yet has no numbers; drawing goes on
        pass
    return out


@dataclass
class Totals:
    params: int
    macs: int
    complete: bool       # False while some node's numbers are unknown


def totals(graph: Graph, shapes: Shapes) -> Totals:
    params = macs = 0
    complete = True
    for n in graph.nodes:
        s = node_stats(graph, shapes, n)
        if s.params is None:
            complete = False
            continue
        params += s.params
        macs += s.macs or 0
    return Totals(params, macs, complete)


def human(n: int | None) -> str:
    """12,345 -> "12,345"; 3,400,000 -> "3.4 M"."""
    if n is None:
        return "—"
    if n >= 10_000_000_000:
        return f"{n / 1e9:.1f} G"
    if n >= 10_000_000:
        return f"{n / 1e6:.1f} M"
    return f"{n:,}"
