"""The verbs of the editor: check an edit against the model, then push its command.

Each function returns None when the edit was made, or the reason it was refused, in
words, for the status bar or the field that asked. The scene, the inspector and the
menus all edit through here, so a refusal reads the same wherever it comes from.
"""
from __future__ import annotations

from typing import Any, Iterable

from compute import layer_class
from compute.errors import NetwrightError
from compute.graph import check_id

from . import commands as c
from . import fragments
from .layout import auto_layout as _layout
from .templates import TEMPLATES


def add_node(doc, type_name: str, position: tuple[float, float],
             params: dict | None = None) -> str:
    """Add a layer with its default params; returns the new node's id."""
    node_id = fragments.new_node_id(doc.graph, type_name)
    frag = {"nodes": [{"id": node_id, "type": type_name, "params": dict(params or {}),
                       "position": [round(position[0]), round(position[1])]}], "edges": []}
    doc.push(c.AddNodes(doc, frag, f"Add {type_name} {node_id}"))
    return node_id


def connect(doc, source: str, target: str, port: int) -> str | None:
    """Connect, replacing whatever fed that port before (one undo step)."""
    g = doc.graph
    old = g.inputs_of(target).get(port)
    if old == source:
        return None
    reason = connect_reason(doc, source, target, port)
    if reason:
        return reason
    if old is None:
        doc.push(c.Connect(doc, source, target, port))
    else:
        with c.macro(doc, f"Reconnect {target} port {port} to {source}"):
            doc.push(c.Disconnect(doc, target, port))
            doc.push(c.Connect(doc, source, target, port))
    return None


def connect_reason(doc, source: str, target: str, port: int,
                   without: tuple[str, int] | None = None) -> str | None:
    """Why `source` may not feed `port` of `target` (None if it may).

    A port that is already fed counts as free: connecting there replaces the old edge.
    `without` names an edge (target, port) being dragged away, ignored for the check.
    """
    g = doc.graph
    free = [(target, port)] if port in g.inputs_of(target) else []
    if without is not None and without not in free and without[1] in g.inputs_of(without[0]):
        free.append(without)
    if free:
        g = g.copy()
        for t, p in free:
            g.disconnect(t, p)
    return g.can_connect(source, target, port)


def move_edge(doc, old: tuple[str, int], source: str, target: str, port: int) -> str | None:
    """Drag an edge's end from input `old` to another input (or the same source elsewhere)."""
    if old == (target, port):
        return None
    reason = connect_reason(doc, source, target, port, without=old)
    if reason:
        return reason
    with c.macro(doc, f"Reconnect {source} → {target}"):
        doc.push(c.Disconnect(doc, *old))
        if port in doc.graph.inputs_of(target):
            doc.push(c.Disconnect(doc, target, port))
        doc.push(c.Connect(doc, source, target, port))
    return None


def disconnect(doc, target: str, port: int) -> None:
    doc.push(c.Disconnect(doc, target, port))


def delete(doc, node_ids: Iterable[str], edges: Iterable[tuple[str, int]] = ()) -> None:
    """Delete nodes (with their edges) and single edges, as one undo step."""
    node_ids = [n for n in dict.fromkeys(node_ids) if doc.graph.has_node(n)]
    drop = set(node_ids)
    edges = [(t, p) for t, p in dict.fromkeys(edges)
             if t not in drop and doc.graph.inputs_of(t).get(p) not in drop | {None}]
    if not node_ids and not edges:
        return
    if not edges and node_ids:
        doc.push(c.DeleteNodes(doc, node_ids))
        return
    with c.macro(doc, "Delete"):
        for t, p in edges:
            doc.push(c.Disconnect(doc, t, p))
        if node_ids:
            doc.push(c.DeleteNodes(doc, node_ids))


def set_param(doc, node_id: str, name: str, value: Any) -> str | None:
    """Change one param; refused (reason returned) if the layer's schema refuses it."""
    node = doc.graph.node(node_id)
    cls = layer_class(node.type)
    by_name = {p.name: p for p in cls.params}
    param = by_name[name]
    try:
        checked = param.validate(value)
    except ValueError as exc:
        return str(exc)
    current = node.config.get(name)
    if current is not None:
        current = param.validate(current)    # defaults are stored as written (3, not (3, 3))
    if current == checked:
        return None
    # sizes keep the form typed (3 stays 3, not [3, 3]); other kinds are normalised
    if param.kind in ("size", "padding"):
        value = list(value) if isinstance(value, tuple) else value
    else:
        value = param.to_json(checked)
    params = {**node.params, name: value}
    try:
        cls.config(params, node_id)
    except ValueError as exc:
        return str(exc)
    doc.push(c.EditParams(doc, node_id, params, f"Set {node_id}.{name} = {value}"))
    return None


def rename(doc, old: str, new: str) -> str | None:
    new = new.strip()
    if new == old:
        return None
    try:
        check_id(new)
    except NetwrightError as exc:
        return str(exc)
    if doc.graph.has_node(new):
        return f'there is already a node "{new}"'
    doc.push(c.Rename(doc, old, new))
    return None


def rename_project(doc, name: str) -> str | None:
    name = name.strip()
    if not name:
        return "the project needs a name"
    if len(name) > 200:
        return "a project name has at most 200 characters"
    if name != doc.project.name:
        doc.push(c.RenameProject(doc, name))
    return None


def move(doc, positions: dict[str, tuple[float, float]], gesture: object = None,
         text: str = "") -> None:
    """Move nodes to new top-left positions (one undo step; merges within a gesture)."""
    moves = {}
    for node_id, pos in positions.items():
        old = doc.graph.node(node_id).position
        new = (round(pos[0], 1), round(pos[1], 1))
        if old is None or tuple(old) != new:
            moves[node_id] = (old, new)
    if moves:
        doc.push(c.Move(doc, moves, text, gesture))


def auto_layout(doc, sizes: dict | None = None, max_width: float | None = None) -> None:
    positions = _layout(doc.graph, sizes, max_width=max_width)
    move(doc, positions, text="Auto-layout")


def paste(doc, fragment: dict, at: tuple[float, float] | None = None,
          text: str = "Paste") -> list[str]:
    """Insert a copied fragment with fresh ids; `at` puts its top-left corner there,
    otherwise it lands a little below and right of where it was copied from."""
    box = fragments.bounds(fragment)
    if box is None:
        offset = at or (0.0, 0.0)
        fragment = {**fragment, "nodes": [{**n, "position": [0, 0]} for n in fragment["nodes"]]}
    elif at is None:
        offset = (40.0, 40.0)
    else:
        offset = (at[0] - box[0], at[1] - box[1])
    new = fragments.remap(fragment, doc.graph, offset)
    if new["nodes"]:
        doc.push(c.AddNodes(doc, new, text))
    return [n["id"] for n in new["nodes"]]


def insert_template(doc, key: str, at: tuple[float, float],
                    after: str | None = None) -> list[str]:
    """Insert a template at `at`; a block is fed by `after` (the selected node) if given."""
    template = TEMPLATES[key]
    shape = doc.shapes.of(after) if after else None
    spec = template.build(shape)
    new = fragments.remap(spec.fragment(), doc.graph, at)
    mapping = {old["id"]: n["id"] for old, n in zip(spec.nodes, new["nodes"])}
    feed = after if after and spec.entries and layer_class(
        doc.graph.node(after).type).type_name != "Output" else None
    with c.macro(doc, f"Insert {template.title}"):
        doc.push(c.AddNodes(doc, new, f"Insert {template.title}"))
        for node_id, port in spec.entries if feed else ():
            if connect_reason(doc, feed, mapping[node_id], port) is None:
                doc.push(c.Connect(doc, feed, mapping[node_id], port))
        doc.set_selection(list(mapping.values()))
    return list(mapping.values())
