"""Dragging a wire between ports: highlight what fits, say why the rest does not.

A drag starts on a port. From an output it looks for an input; from a free input it looks
backwards for an output; from a connected input it lifts that edge's end so it can be
dropped elsewhere (or in empty space, to disconnect). Every candidate is checked once
with `Graph.can_connect` when the drag starts, so hovering is instant.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF

from . import edits
from .edges import WireItem
from .items import PortItem


class WireDrag:
    def __init__(self, scene, port: PortItem, pos: QPointF) -> None:
        self.scene = scene
        self.doc = scene.doc
        node = port.node.node_id
        self.source: str | None = None
        self.target: tuple[str, int] | None = None     # backward drags: the fixed input
        self.detached: tuple[str, int] | None = None   # the edge whose end was lifted
        if port.is_input:
            source = self.doc.graph.inputs_of(node).get(port.index)
            if source is not None:
                self.source, self.detached = source, (node, port.index)
                edge = scene.edges.get(self.detached)
                if edge is not None:
                    edge.setVisible(False)
                self.anchor = scene.nodes[source].port_pos(-1)
            else:
                self.target = (node, port.index)
                self.anchor = port.scenePos()
        else:
            self.source = node
            self.anchor = port.scenePos()
        self.wire = WireItem()
        scene.addItem(self.wire)
        self.reasons = self._check_candidates()
        for p, reason in self.reasons.items():
            p.set_state("compatible" if reason is None else "refused")
        self.hovered: PortItem | None = None
        self.move(pos)

    @property
    def forward(self) -> bool:
        return self.target is None

    def _check_candidates(self) -> dict[PortItem, str | None]:
        out: dict[PortItem, str | None] = {}
        for node_id, item in self.scene.nodes.items():
            if self.forward:
                if node_id == self.source:
                    continue
                for p in item.inputs:
                    out[p] = edits.connect_reason(self.doc, self.source, node_id, p.index,
                                                  without=self.detached)
            elif item.output is not None and node_id != self.target[0]:
                out[item.output] = edits.connect_reason(self.doc, node_id, *self.target)
        return out

    def _hit(self, pos: QPointF) -> PortItem | None:
        port = self.scene.port_at(pos)
        if port in self.reasons:
            return port
        node = self.scene.node_at(pos)
        if node is None:
            return None
        if not self.forward:
            return node.output if node.output in self.reasons else None
        ports = [p for p in node.inputs if p in self.reasons]
        fitting = [p for p in ports if self.reasons[p] is None]
        free = [p for p in fitting if not p.connected]
        return (free or fitting or ports or [None])[0]

    def _describe(self, port: PortItem) -> str:
        reason = self.reasons[port]
        if reason is not None:
            return reason
        s, t, i = self._edge_for(port)
        return f"Release to connect {s} → {t} (input {i})"

    def _edge_for(self, port: PortItem) -> tuple[str, str, int]:
        if self.forward:
            return self.source, port.node.node_id, port.index
        return port.node.node_id, self.target[0], self.target[1]

    def move(self, pos: QPointF) -> None:
        hit = self._hit(pos)
        end = hit.scenePos() if hit is not None else pos
        if self.forward:
            self.wire.set_ends(self.anchor, end)
        else:
            self.wire.set_ends(end, self.anchor)
        if hit is not self.hovered:
            if self.hovered is not None:
                self.hovered.set_state("compatible" if self.reasons[self.hovered] is None
                                       else "refused")
            self.hovered = hit
            if hit is not None:
                hit.set_state("hover" if self.reasons[hit] is None else "denied")
                self.scene.message.emit(self._describe(hit))

    def finish(self, pos: QPointF) -> None:
        hit = self._hit(pos)
        self._cleanup()
        if hit is None:
            if self.detached is not None:
                edits.disconnect(self.doc, *self.detached)
                self.scene.message.emit(f"Disconnected {self.source} → {self.detached[0]}")
            return
        reason = self.reasons[hit]
        if reason is not None:
            self.scene.message.emit(reason)
            return
        s, t, i = self._edge_for(hit)
        if self.detached is not None:
            reason = edits.move_edge(self.doc, self.detached, s, t, i)
        else:
            reason = edits.connect(self.doc, s, t, i)
        self.scene.message.emit(reason or f"Connected {s} → {t} (input {i})")

    def _cleanup(self) -> None:
        self.scene.removeItem(self.wire)
        for p in self.reasons:
            p.set_state("")
        if self.detached is not None:
            edge = self.scene.edges.get(self.detached)
            if edge is not None:
                edge.setVisible(True)
