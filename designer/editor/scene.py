"""The canvas scene: mirrors the document's graph and turns gestures into edits.

`sync` makes the items match the graph (create, update, remove) after every change the
document announces; nothing here changes the graph except through `edits`. Dragging a
wire from a port, moving nodes and nudging with the keyboard become commands; refused
connections say why through `message`.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSizeF, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsScene

from compute import layer_class

from . import edits
from .edges import EdgeItem, is_backward
from .items import SHAPE_H, NodeItem, NodeView, PortItem, fmt_shape
from .wiring import WireDrag

GRID = 10.0


class EditorScene(QGraphicsScene):
    """Items for the nodes and edges of `doc.graph`, plus the overlay API for panels."""

    message = Signal(str)

    def __init__(self, doc, parent=None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[tuple[str, int], EdgeItem] = {}
        self.snap = True
        self.show_shapes = True
        self._node_overlays: dict[str, tuple] = {}
        self._edge_overlays: dict[tuple[str, int], tuple[str, QColor]] = {}
        self._syncing = False
        self._drag: WireDrag | None = None
        self._nudge = 0
        self.setSceneRect(QRectF(-2000, -1500, 4000, 3000))
        doc.graph_changed.connect(self.sync)
        doc.selection_changed.connect(self._apply_selection)
        self.selectionChanged.connect(self._selection_to_doc)
        self.sync()

    # -- mirroring the document -----------------------------------------------------------
    def sync(self) -> None:
        """Make the items match the graph; cheap enough to run after every change."""
        self._syncing = True
        try:
            self._sync_nodes()
            self._sync_edges()
            self._grow_scene_rect()
        finally:
            self._syncing = False
        self._apply_selection(self.doc.selection)

    def _sync_nodes(self) -> None:
        g, shapes = self.doc.graph, self.doc.shapes
        for node_id in [n for n in self.nodes if not g.has_node(n)]:
            self.removeItem(self.nodes.pop(node_id))
            self._node_overlays.pop(node_id, None)
        for node_id in g.nodes:
            view = self._node_view(node_id, shapes)
            item = self.nodes.get(node_id)
            if item is None:
                item = self.nodes[node_id] = NodeItem(view)
                self.addItem(item)
                if node_id in self._node_overlays:
                    item.set_overlay(*self._node_overlays[node_id])
            else:
                item.apply(view)
            pos = g.node(node_id).position
            target = QPointF(*pos) if pos is not None else QPointF(0, 0)
            if item.pos() != target:
                item.setPos(target)   # no snapping: _syncing is set

    def _node_view(self, node_id: str, shapes) -> NodeView:
        node = self.doc.graph.node(node_id)
        cls = layer_class(node.type)
        connected = set(self.doc.graph.inputs_of(node_id))
        if cls.max_inputs is None:
            count = max(cls.min_inputs, max(connected) + 2 if connected else cls.min_inputs)
        else:
            count = cls.max_inputs
        try:
            summary = cls.summary(node.config)
        except Exception:   # a summary must never break drawing
            summary = cls.type_name
        if summary[:4].lower() != cls.type_name[:4].lower():
            summary = f"{cls.type_name} · {summary}"   # "relu" alone would hide the type
        return NodeView(node_id, cls.type_name, cls.family, summary, cls.doc, count, connected,
                        cls.type_name != "Output", shapes.of(node_id),
                        shapes.errors.get(node_id), shapes.pending.get(node_id))

    def _sync_edges(self) -> None:
        g, shapes = self.doc.graph, self.doc.shapes
        wanted = {(e.target, e.port): e.source for e in g.edges}
        labelled: set[str] = set()     # a tensor feeding several nodes is labelled once
        for key in [k for k, item in self.edges.items() if wanted.get(k) != item.source]:
            self.removeItem(self.edges.pop(key))
        for key, source in wanted.items():
            item = self.edges.get(key)
            if item is None:
                item = self.edges[key] = EdgeItem(source, *key)
                self.addItem(item)
            overlay = self._edge_overlays.get(key)
            item.overlay_color = overlay[1] if overlay and overlay[0] == source else None
            shape = shapes.of(source)
            first = source not in labelled
            labelled.add(source)
            item.set_label(fmt_shape(shape) if shape is not None and first else "",
                           self.show_shapes)
            self._route(item)

    def _route(self, edge: EdgeItem) -> None:
        src, dst = self.nodes.get(edge.source), self.nodes.get(edge.target)
        if src is not None and dst is not None and edge.port < len(dst.inputs):
            p0, p1 = src.port_pos(-1), dst.port_pos(edge.port)
            lane = self._free_lane(src, p0, p1) if is_backward(p0, p1) else None
            edge.set_ends(p0, p1, lane)

    def _free_lane(self, src: NodeItem, p0: QPointF, p1: QPointF) -> float | None:
        """The height, between the two ends, of a horizontal run that crosses no node."""
        left, right = p1.x() - 80, p0.x() + 80
        bodies = [QRectF(i.pos(), QSizeF(i.width, i.height + SHAPE_H)).adjusted(-4, -6, 4, 6)
                  for i in self.nodes.values()
                  if i.pos().x() < right and i.pos().x() + i.width > left]
        down = p1.y() > p0.y()
        y = src.pos().y() + src.height + SHAPE_H + 14 if down else src.pos().y() - 30
        step = 6.0 if down else -6.0
        while (y < p1.y()) if down else (y > p1.y()):
            if not any(b.top() <= y <= b.bottom() for b in bodies):
                return y
            y += step
        return None

    def node_item_moved(self, item: NodeItem) -> None:
        """Keep the wires attached while a node is dragged (before the move is committed)."""
        if self._syncing:
            return   # sync routes every edge once it is done
        for edge in self.edges.values():
            if item.node_id in (edge.source, edge.target):
                self._route(edge)

    def _grow_scene_rect(self) -> None:
        rect = self.itemsBoundingRect().adjusted(-1500, -1000, 1500, 1000)
        self.setSceneRect(self.sceneRect().united(rect))

    # -- selection ------------------------------------------------------------------------
    def selected_node_ids(self) -> list[str]:
        return [i.node_id for i in self.selectedItems() if isinstance(i, NodeItem)]

    def selected_edges(self) -> list[tuple[str, int]]:
        return [i.key for i in self.selectedItems() if isinstance(i, EdgeItem)]

    def _selection_to_doc(self) -> None:
        if not self._syncing:
            self.doc.set_selection(self.selected_node_ids())

    def _apply_selection(self, ids: list) -> None:
        if sorted(ids) == sorted(self.selected_node_ids()):
            return
        self._syncing = True
        try:
            wanted = set(ids)
            for item in self.selectedItems():
                if isinstance(item, NodeItem) and item.node_id not in wanted:
                    item.setSelected(False)
            for node_id in ids:
                if node_id in self.nodes:
                    self.nodes[node_id].setSelected(True)
        finally:
            self._syncing = False

    def select_node(self, node_id: str | None) -> None:
        """Select one node (panels use this when a finding is clicked) and show it."""
        self.clearSelection()
        self.doc.select(node_id)
        item = self.nodes.get(node_id) if node_id else None
        if item is not None:
            for view in self.views():
                view.ensureVisible(item, 60, 60)

    # -- overlays for the training panels -------------------------------------------------
    def set_node_overlay(self, node_id: str, color: QColor | None, badges: list[str] = (),
                         tooltip: str = "") -> None:
        """Tint a node (e.g. by gradient norm) and pin small badges on it; None clears."""
        if color is None and not badges and not tooltip:
            self._node_overlays.pop(node_id, None)
        else:
            self._node_overlays[node_id] = (color, list(badges), tooltip)
        item = self.nodes.get(node_id)
        if item is not None:
            item.set_overlay(color, list(badges), tooltip)

    def set_edge_overlay(self, source: str, target: str, port: int,
                         color: QColor | None) -> None:
        if color is None:
            self._edge_overlays.pop((target, port), None)
        else:
            self._edge_overlays[(target, port)] = (source, QColor(color))
        item = self.edges.get((target, port))
        if item is not None and item.source == source:
            item.set_overlay(color)

    def clear_overlays(self) -> None:
        for node_id in list(self._node_overlays):
            self.set_node_overlay(node_id, None, [], "")
        for (target, port), (source, _) in list(self._edge_overlays.items()):
            self.set_edge_overlay(source, target, port, None)

    # -- display options ------------------------------------------------------------------
    def set_show_shapes(self, show: bool) -> None:
        self.show_shapes = show
        for item in self.edges.values():
            item.set_label(item.label, show)

    def set_snap(self, snap: bool) -> None:
        self.snap = snap

    def snap_point(self, p: QPointF) -> QPointF:
        if not self.snap or self._syncing:
            return p
        return QPointF(round(p.x() / GRID) * GRID, round(p.y() / GRID) * GRID)

    def refresh_theme(self) -> None:
        for item in self.items():
            item.update()
        self.update()

    def node_sizes(self) -> dict[str, tuple[float, float]]:
        return {n: item.size() for n, item in self.nodes.items()}

    # -- adding ---------------------------------------------------------------------------
    def add_node_at(self, type_name: str, centre: QPointF) -> str:
        """Add a layer centred on `centre` (a palette drop or double-click)."""
        w, h = 160.0, 56.0
        corner = self.snap_point(QPointF(centre.x() - w / 2, centre.y() - h / 2))
        return edits.add_node(self.doc, type_name, (corner.x(), corner.y()))

    def free_spot(self, near: QPointF) -> QPointF:
        """A centre near `near` where a new node covers no other node (nor its shape)."""
        bodies = [QRectF(i.pos(), QSizeF(i.width, i.height + 20)) for i in self.nodes.values()]
        for k in range(60):
            p = near + QPointF(40.0 * (k // 6), 100.0 * (k % 6))
            probe = QRectF(p.x() - 100, p.y() - 45, 200, 100)
            if not any(probe.intersects(b) for b in bodies):
                return p
        return near

    # -- mouse: wires and moves -----------------------------------------------------------
    def port_at(self, pos: QPointF) -> PortItem | None:
        for item in self.items(pos):
            if isinstance(item, PortItem):
                return item
        return None

    def node_at(self, pos: QPointF) -> NodeItem | None:
        for item in self.items(pos):
            if isinstance(item, NodeItem):
                return item
        return None

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.LeftButton:
            port = self.port_at(event.scenePos())
            if port is not None:
                self._drag = WireDrag(self, port, event.scenePos())
                event.accept()
                return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._drag is not None:
            self._drag.move(event.scenePos())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if self._drag is not None:
            drag, self._drag = self._drag, None
            drag.finish(event.scenePos())
            event.accept()
            return
        super().mouseReleaseEvent(event)
        self.commit_moves()

    def commit_moves(self, gesture: object = None, text: str = "") -> None:
        """Push one Move for the nodes whose items left their graph position."""
        moved = {}
        for item in self.selectedItems():
            if not isinstance(item, NodeItem) or not self.doc.graph.has_node(item.node_id):
                continue
            node_id = item.node_id
            pos = self.doc.graph.node(node_id).position
            if pos is None or (item.pos().x(), item.pos().y()) != tuple(pos):
                moved[node_id] = (item.pos().x(), item.pos().y())
        if moved:
            edits.move(self.doc, moved, gesture, text)

    def keyPressEvent(self, event) -> None:
        steps = {Qt.Key_Left: (-1, 0), Qt.Key_Right: (1, 0), Qt.Key_Up: (0, -1),
                 Qt.Key_Down: (0, 1)}
        ids = self.selected_node_ids()
        if event.key() in steps and ids and self.focusItem() is None:
            dx, dy = steps[event.key()]
            step = 1.0 if event.modifiers() & Qt.ShiftModifier else GRID
            positions = {}
            for node_id in ids:
                p = self.nodes[node_id].pos()
                positions[node_id] = (p.x() + dx * step, p.y() + dy * step)
            edits.move(self.doc, positions, gesture=("nudge", frozenset(ids)),
                       text="Nudge")
            event.accept()
            return
        super().keyPressEvent(event)
