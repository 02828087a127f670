"""The network graph: nodes (layers) and edges (tensors), validation and shape inference.

The graph is the document's truth: the editor's canvas mirrors it, project files store it,
and `build_model` compiles it. It is a networkx multigraph whose edge key is the input port
of the target, so one source may feed two ports of the same node (``Add(x, x)``).

Shape inference runs without data, in one topological pass, fast enough to run after
every edit. Every problem is reported in words, naming the node (and port).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

import networkx as nx

from .errors import GraphError, ProjectError, ShapeError
from .layers import layer_class

Shape = tuple[int, ...]
ID_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,63}$")
NODE_KEYS = {"id", "type", "params", "position"}
EDGE_KEYS = {"source", "target", "port"}


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    port: int = 0


@dataclass(frozen=True)
class Node:
    """A read-only view of one node: what the user gave and the resolved config."""

    id: str
    type: str
    params: dict[str, Any]
    config: dict[str, Any]
    position: tuple[float, float] | None


@dataclass(frozen=True)
class Issue:
    """One problem found in a graph, located at a node (and port)."""

    node: str | None
    message: str
    port: int | None = None

    def __str__(self) -> str:
        return self.message


@dataclass
class Shapes:
    """Result of shape inference.

    ``shapes`` holds every node's output shape (None where unknown), ``errors`` the nodes
    that cannot work and why (these get a red badge), ``pending`` the nodes that only wait
    for an upstream node or a missing connection.
    """

    shapes: dict[str, Shape | None] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)

    def of(self, node_id: str) -> Shape | None:
        return self.shapes.get(node_id)


def check_id(node_id: Any) -> str:
    if not isinstance(node_id, str) or not ID_PATTERN.match(node_id):
        raise ProjectError(f"invalid node id {node_id!r}: use 1-64 letters, digits, '_', '-' "
                           f"or '.', starting with a letter, digit or '_'")
    return node_id


def check_position(pos: Any, where: str) -> tuple[float, float] | None:
    """Two finite numbers from any sequence (a list, a tuple, an iterator), or None."""
    if pos is None:
        return None
    if isinstance(pos, Iterable) and not isinstance(pos, (str, bytes, dict)):
        pos = list(pos)
    if (not isinstance(pos, (list, tuple)) or len(pos) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                       and math.isfinite(v) and abs(v) < 1e9 for v in pos)):
        raise ProjectError(f"{where}: position must be two finite numbers [x, y], got {pos!r}")
    return (float(pos[0]), float(pos[1]))


class Graph:
    """A network being drawn or run. Every mutation validates what it can locally."""

    def __init__(self) -> None:
        self._g = nx.MultiDiGraph()

    # -- nodes ------------------------------------------------------------------------
    def add_node(self, node_id: str, type_name: str, params: dict[str, Any] | None = None,
                 position: Iterable[float] | None = None, **kw: Any) -> str:
        """Add a layer; params may be given as a dict or as keywords.

        Raises ProjectError for a bad id, an unknown type or param, or a value out of range.
        """
        check_id(node_id)
        if node_id in self._g:
            raise ProjectError(f'node "{node_id}" already exists')
        given = {**(params or {}), **kw}
        try:
            cls = layer_class(type_name)
        except ValueError as exc:
            raise ProjectError(f'node "{node_id}": {exc}') from None
        config = self._config(cls, node_id, given)
        pos = check_position(position, f'node "{node_id}"')
        self._g.add_node(node_id, type=type_name, params=dict(given), config=config,
                         position=pos)
        return node_id

    @staticmethod
    def _config(cls, node_id: str, given: dict[str, Any]) -> dict[str, Any]:
        try:
            return cls.config(given, f'node "{node_id}"')
        except ValueError as exc:
            raise ProjectError(str(exc)) from None

    def remove_node(self, node_id: str) -> None:
        self._require(node_id)
        self._g.remove_node(node_id)

    def set_params(self, node_id: str, params: dict[str, Any]) -> None:
        """Replace the node's params as a whole (validated first; nothing changes on error)."""
        self._require(node_id)
        cls = layer_class(self._g.nodes[node_id]["type"])
        config = self._config(cls, node_id, params)
        self._g.nodes[node_id].update(params=dict(params), config=config)

    def update_params(self, node_id: str, **params: Any) -> None:
        """Change some params, keeping the others."""
        self.set_params(node_id, {**self.node(node_id).params, **params})

    def set_position(self, node_id: str, position: Iterable[float] | None) -> None:
        self._require(node_id)
        pos = check_position(position, f'node "{node_id}"')
        self._g.nodes[node_id]["position"] = pos

    def rename_node(self, old: str, new: str) -> None:
        """Give a node a new id, keeping its edges and their order."""
        self._require(old)
        check_id(new)
        if new == old:
            return
        if new in self._g:
            raise ProjectError(f'node "{new}" already exists')
        # relabel_nodes(copy=True) keeps other nodes' insertion order but moves `old` to
        # the end; rebuild instead so the node keeps its place in files and lists
        data = self.to_dict()
        for n in data["nodes"]:
            if n["id"] == old:
                n["id"] = new
        for e in data["edges"]:
            e["source"] = new if e["source"] == old else e["source"]
            e["target"] = new if e["target"] == old else e["target"]
        self._g = Graph.from_dict(data)._g

    def node(self, node_id: str) -> Node:
        self._require(node_id)
        a = self._g.nodes[node_id]
        return Node(node_id, a["type"], dict(a["params"]), dict(a["config"]), a["position"])

    def has_node(self, node_id: str) -> bool:
        return node_id in self._g

    @property
    def nodes(self) -> list[str]:
        """Node ids in insertion order."""
        return list(self._g.nodes)

    def __len__(self) -> int:
        return self._g.number_of_nodes()

    def __contains__(self, node_id: str) -> bool:
        return node_id in self._g

    def unique_id(self, base: str) -> str:
        """`base` if free, else `base_2`, `base_3`, ... (for new and pasted nodes)."""
        base = re.sub(r"[^A-Za-z0-9_.\-]", "_", base)[:56] or "node"
        if base not in self._g:
            return base
        stem = re.sub(r"_\d+$", "", base)
        i = 2
        while f"{stem}_{i}" in self._g:
            i += 1
        return f"{stem}_{i}"

    def _require(self, node_id: str) -> None:
        if node_id not in self._g:
            raise GraphError(f'there is no node "{node_id}"')

    # -- edges ------------------------------------------------------------------------
    def connect(self, source: str, target: str, port: int | None = None) -> int:
        """Wire `source`'s output to input `port` of `target` (next free port if None).

        Refuses structurally impossible edges (missing node, port out of range or taken,
        a self-loop, an edge out of an Output); cycles and shapes are for `validate`
        and `can_connect`.
        """
        self._require(source)
        self._require(target)
        tcls = layer_class(self._g.nodes[target]["type"])
        if layer_class(self._g.nodes[source]["type"]).type_name == "Output":
            raise GraphError(f'"{source}" is an Output node: it has no output port')
        if source == target:
            raise GraphError(f'"{source}" cannot feed itself')
        taken = self.inputs_of(target)
        if port is None:
            port = next(i for i in range(len(taken) + 1) if i not in taken)
            if tcls.max_inputs is not None and 0 < tcls.max_inputs <= port:
                raise GraphError(f'every input port of "{target}" is already connected')
        if isinstance(port, bool) or not isinstance(port, int) or port < 0:
            raise GraphError(f'"{target}": port must be an integer >= 0, got {port!r}')
        if tcls.max_inputs is not None and port >= tcls.max_inputs:
            if tcls.max_inputs == 0:
                raise GraphError(f'"{target}" ({tcls.type_name}) has no input port')
            raise GraphError(f'"{target}" ({tcls.type_name}) has {tcls.max_inputs} input '
                             f'port(s); port {port} does not exist')
        if port in taken:
            raise GraphError(f'input port {port} of "{target}" is already connected '
                             f'(to "{taken[port]}")')
        self._g.add_edge(source, target, key=port)
        return port

    def disconnect(self, target: str, port: int) -> Edge:
        """Remove the edge into `port` of `target` and return it."""
        source = self.inputs_of(target).get(port)
        if source is None:
            raise GraphError(f'input port {port} of "{target}" is not connected')
        self._g.remove_edge(source, target, key=port)
        return Edge(source, target, port)

    def inputs_of(self, node_id: str) -> dict[int, str]:
        """{port: source} for a node's connected inputs."""
        return {k: s for s, _, k in self._g.in_edges(node_id, keys=True)}

    def successors(self, node_id: str) -> list[str]:
        return list(dict.fromkeys(self._g.successors(node_id)))

    @property
    def edges(self) -> list[Edge]:
        """Every edge, grouped by target in node order, ports ascending."""
        out = []
        for t in self._g.nodes:
            for port, s in sorted(self.inputs_of(t).items()):
                out.append(Edge(s, t, port))
        return out

    def chain(self, *node_ids: str) -> None:
        """Connect each node to the next, on their next free port."""
        for a, b in zip(node_ids, node_ids[1:]):
            self.connect(a, b)

    def can_connect(self, source: str, target: str, port: int | None = None) -> str | None:
        """None if the edge may be drawn, else the reason in words (for the editor)."""
        trial = self.copy()
        before = self.infer_shapes().errors.get(target)
        try:
            trial.connect(source, target, port)
        except GraphError as exc:
            return str(exc)
        if nx.has_path(self._g, target, source):
            return f'connecting "{source}" to "{target}" would make a cycle'
        after = trial.infer_shapes().errors.get(target)
        if after and after != before:
            return after
        return None

    # -- analysis ---------------------------------------------------------------------
    def topological_order(self) -> list[str]:
        """Nodes so that every edge goes forward; GraphError naming a cycle if there is one."""
        try:
            return list(nx.lexicographical_topological_sort(self._g, key=self._order_key()))
        except nx.NetworkXUnfeasible:
            cycle = nx.find_cycle(self._g)
            names = " -> ".join(f'"{e[0]}"' for e in cycle) + f' -> "{cycle[0][0]}"'
            raise GraphError(f"the graph has a cycle: {names}") from None

    def _order_key(self):
        index = {n: i for i, n in enumerate(self._g.nodes)}
        return index.__getitem__

    def infer_shapes(self) -> Shapes:
        """Every node's output shape, or why it has none, in one pass."""
        result = Shapes()
        indeg = {n: 0 for n in self._g.nodes}
        for _, t in self._g.edges():
            indeg[t] += 1
        ready = [n for n in self._g.nodes if indeg[n] == 0]
        done = set()
        while ready:
            n = ready.pop()
            done.add(n)
            self._infer_one(n, result)
            for _, t in self._g.out_edges(n):
                indeg[t] -= 1
                if indeg[t] == 0:
                    ready.append(t)
        for n in self._g.nodes:
            if n not in done:
                result.shapes[n] = None
                result.errors[n] = f'"{n}" is part of a cycle (or fed by one)'
        return result

    def _infer_one(self, n: str, result: Shapes) -> None:
        a = self._g.nodes[n]
        cls = layer_class(a["type"])
        inputs = self.inputs_of(n)
        result.shapes[n] = None
        needed = max(cls.min_inputs, max(inputs) + 1 if inputs else 0)
        missing = [p for p in range(needed) if p not in inputs]
        if missing:
            result.pending[n] = (f'input port {missing[0]} of "{n}" is not connected'
                                 if needed > 1 else f'"{n}" has no input yet')
            return
        in_shapes = []
        for p in range(needed):
            s = result.shapes.get(inputs[p])
            if s is None:
                result.pending[n] = f'waiting for a shape from "{inputs[p]}"'
                return
            in_shapes.append(s)
        try:
            result.shapes[n] = tuple(cls.infer_shape(a["config"], in_shapes))
        except ShapeError as exc:
            src = inputs.get(0, "")
            result.errors[n] = str(exc).replace("{node}", n).replace("{source}", src)

    def validate(self) -> list[Issue]:
        """Every reason this graph cannot be built, each naming its node."""
        issues: list[Issue] = []
        types = {n: layer_class(a["type"]).type_name for n, a in self._g.nodes(data=True)}
        inputs = [n for n, t in types.items() if t == "Input"]
        outputs = [n for n, t in types.items() if t == "Output"]
        if not inputs:
            issues.append(Issue(None, "the graph has no Input node"))
        if not outputs:
            issues.append(Issue(None, "the graph has no Output node: add one after the last "
                                      "layer to choose the loss"))
        shapes = self.infer_shapes()
        for n, msg in shapes.errors.items():
            issues.append(Issue(n, msg))
        for n, msg in shapes.pending.items():
            if not msg.startswith("waiting"):
                issues.append(Issue(n, msg))
        fed = set().union(*(nx.descendants(self._g, i) | {i} for i in inputs)) if inputs else set()
        feeding = (set().union(*(nx.ancestors(self._g, o) | {o} for o in outputs))
                   if outputs else set())
        for n in self._g.nodes:
            if inputs and n not in fed:
                issues.append(Issue(n, f'"{n}" is not reachable from any Input node'))
            elif outputs and n not in feeding:
                issues.append(Issue(n, f'"{n}" does not lead to any Output node'))
        return issues

    def check(self) -> Shapes:
        """Raise GraphError listing every issue, or return the inferred shapes."""
        issues = self.validate()
        if issues:
            lines = [str(i) for i in issues]
            more = f" (and {len(lines) - 5} more)" if len(lines) > 5 else ""
            raise GraphError("; ".join(lines[:5]) + more)
        return self.infer_shapes()

    # -- serialisation ----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        nodes = []
        for n, a in self._g.nodes(data=True):
            cls = layer_class(a["type"])
            by_name = {p.name: p for p in cls.params}
            params = {k: by_name[k].to_json(v) if k in by_name else v
                      for k, v in a["params"].items()}
            entry = {"id": n, "type": a["type"], "params": params}
            if a["position"] is not None:
                entry["position"] = [a["position"][0], a["position"][1]]
            nodes.append(entry)
        edges = [{"source": e.source, "target": e.target, "port": e.port} for e in self.edges]
        return {"nodes": nodes, "edges": edges}

    @classmethod
    def from_dict(cls, data: Any, where: str = "graph") -> "Graph":
        """Build a graph from its project-file form; ProjectError names the bad entry."""
        if not isinstance(data, dict):
            raise ProjectError(f"{where}: must be an object with \"nodes\" and \"edges\"")
        unknown = set(data) - {"nodes", "edges"}
        if unknown:
            raise ProjectError(f'{where}: unknown field "{sorted(unknown)[0]}"')
        nodes, edges = data.get("nodes", []), data.get("edges", [])
        if not isinstance(nodes, list):
            raise ProjectError(f"{where}.nodes: must be a list")
        if not isinstance(edges, list):
            raise ProjectError(f"{where}.edges: must be a list")
        g = cls()
        for i, n in enumerate(nodes):
            g._node_from_dict(n, f"{where}.nodes[{i}]")
        for i, e in enumerate(edges):
            g._edge_from_dict(e, f"{where}.edges[{i}]")
        return g

    def _node_from_dict(self, n: Any, here: str) -> None:
        if not isinstance(n, dict):
            raise ProjectError(f"{here}: must be an object")
        unknown = set(n) - NODE_KEYS
        if unknown:
            raise ProjectError(f'{here}: unknown field "{sorted(unknown)[0]}"')
        for key in ("id", "type"):
            if key not in n:
                raise ProjectError(f'{here}: missing field "{key}"')
        node_id = n["id"]
        try:
            check_id(node_id)
        except ProjectError as exc:
            raise ProjectError(f"{here}: {exc}") from None
        if node_id in self._g:
            raise ProjectError(f'{here}: duplicate node id "{node_id}"')
        params = n.get("params", {})
        if not isinstance(params, dict):
            raise ProjectError(f'{here} "{node_id}": params must be an object')
        if not isinstance(n["type"], str):
            raise ProjectError(f'{here} "{node_id}": type must be a string')
        try:
            self.add_node(node_id, n["type"], params, n.get("position"))
        except ProjectError as exc:
            msg = str(exc).replace(f'node "{node_id}": ', "")
            raise ProjectError(f'{here} "{node_id}": {msg}') from None

    def _edge_from_dict(self, e: Any, here: str) -> None:
        if not isinstance(e, dict):
            raise ProjectError(f"{here}: must be an object")
        unknown = set(e) - EDGE_KEYS
        if unknown:
            raise ProjectError(f'{here}: unknown field "{sorted(unknown)[0]}"')
        for key in ("source", "target"):
            if key not in e:
                raise ProjectError(f'{here}: missing field "{key}"')
            if not isinstance(e[key], str) or e[key] not in self._g:
                raise ProjectError(f'{here}: {key} "{e[key]}" is not a node of the graph')
        port = e.get("port", 0)
        if isinstance(port, bool) or not isinstance(port, int) or port < 0 or port > 1000:
            raise ProjectError(f"{here}: port must be an integer from 0, got {port!r}")
        try:
            self.connect(e["source"], e["target"], port)
        except GraphError as exc:
            raise ProjectError(f"{here}: {exc}") from None

    def copy(self) -> "Graph":
        g = Graph()
        g._g = self._g.copy()
        for n in g._g.nodes:
            a = g._g.nodes[n]
            a["params"] = dict(a["params"])
            a["config"] = dict(a["config"])
        return g

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Graph) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"<Graph {len(self)} nodes, {self._g.number_of_edges()} edges>"
