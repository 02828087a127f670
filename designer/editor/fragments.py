"""Graph fragments: a few nodes with the edges among them, in the project file's form.

Copy, paste, duplicate and templates all move fragments around: taken out of a graph,
given ids that are free in the target graph, shifted to a new place and checked by
compute's own loader before anything is inserted. No Qt here.
"""
from __future__ import annotations

import copy
import re
from typing import Iterable

from compute import Graph
from compute.errors import NetwrightError, ProjectError

# short, readable id stems for new nodes ("conv1", "maxpool2", "dense3")
_STEM = re.compile(r"2d|1d", re.IGNORECASE)


def id_stem(type_name: str) -> str:
    stem = _STEM.sub("", type_name).lower() or "node"
    return {"input": "input", "output": "output", "simplernn": "rnn"}.get(stem, stem)


def fresh_id(stem: str, taken: set[str] | Iterable[str], numbered: bool = True) -> str:
    """A new id from `stem`: ``conv1``, ``conv2``... (numbered) or ``out``, ``out_2``..."""
    taken = set(taken)
    stem = re.sub(r"[^A-Za-z0-9_.\-]", "_", stem)[:56] or "node"
    if numbered:
        i = 1
        while f"{stem}{i}" in taken:
            i += 1
        return f"{stem}{i}"
    if stem not in taken:
        return stem
    base = re.sub(r"_\d+$", "", stem)
    i = 2
    while f"{base}_{i}" in taken:
        i += 1
    return f"{base}_{i}"


def new_node_id(graph: Graph, type_name: str) -> str:
    stem = id_stem(type_name)
    return fresh_id(stem, graph.nodes, numbered=stem not in ("input", "output"))


def extract(graph: Graph, ids: Iterable[str]) -> dict:
    """The nodes `ids` (in graph order) and the edges among them."""
    keep = set(ids)
    data = graph.to_dict()
    return {"nodes": [n for n in data["nodes"] if n["id"] in keep],
            "edges": [e for e in data["edges"] if e["source"] in keep and e["target"] in keep]}


def remap(fragment: dict, graph: Graph, offset: tuple[float, float] = (0.0, 0.0)) -> dict:
    """A copy of `fragment` whose ids are free in `graph`, shifted by `offset`.

    An id already taken keeps its stem and gets the next free suffix (``conv1`` pasted
    next to ``conv1`` becomes ``conv1_2``).
    """
    taken = set(graph.nodes)
    mapping: dict[str, str] = {}
    for n in fragment["nodes"]:
        new = n["id"] if n["id"] not in taken else fresh_id(n["id"], taken, numbered=False)
        mapping[n["id"]] = new
        taken.add(new)
    out = {"nodes": [], "edges": []}
    for n in fragment["nodes"]:
        entry = copy.deepcopy(n)
        entry["id"] = mapping[n["id"]]
        if entry.get("position") is not None:
            entry["position"] = [entry["position"][0] + offset[0],
                                 entry["position"][1] + offset[1]]
        out["nodes"].append(entry)
    for e in fragment["edges"]:
        if e["source"] in mapping and e["target"] in mapping:
            out["edges"].append({"source": mapping[e["source"]],
                                 "target": mapping[e["target"]], "port": e.get("port", 0)})
    return out


def check(fragment: object, where: str = "pasted graph") -> dict:
    """Validate a fragment with compute's loader; ProjectError says what is wrong."""
    if not isinstance(fragment, dict):
        raise ProjectError(f"{where}: not a graph")
    try:
        g = Graph.from_dict({"nodes": fragment.get("nodes", []),
                             "edges": fragment.get("edges", [])}, where)
    except NetwrightError:
        raise
    except (TypeError, ValueError, AttributeError) as exc:
        raise ProjectError(f"{where}: {exc}") from None
    return g.to_dict()


def bounds(fragment: dict) -> tuple[float, float, float, float] | None:
    """(left, top, right, bottom) of the positioned nodes' top-left corners."""
    pts = [n["position"] for n in fragment["nodes"] if n.get("position") is not None]
    if not pts:
        return None
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return min(xs), min(ys), max(xs), max(ys)
