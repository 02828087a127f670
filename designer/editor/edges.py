"""Wires on the canvas: edges with the tensor shape they carry, and the wire being dragged.

An edge is a cubic curve from an output port to an input port; a wire going back to the
left (into the next band of a wrapped layout) runs along a lane clear of nodes.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (QBrush, QColor, QFontMetricsF, QPainter, QPainterPath,
                           QPainterPathStroker, QPen)
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem

from .. import theme
from .items import fonts, rgba


class EdgeItem(QGraphicsPathItem):
    """A tensor from one node's output to another's input port: a cubic curve with the
    shape it carries written on it."""

    def __init__(self, source: str, target: str, port: int) -> None:
        super().__init__()
        self.source, self.target, self.port = source, target, port
        self.label = ""
        self.show_label = True
        self.overlay_color: QColor | None = None
        self.setFlags(QGraphicsItem.ItemIsSelectable)
        self.setZValue(0)
        self._p0 = QPointF()
        self._p1 = QPointF()
        self._label_box: QRectF | None = None   # where the label sits (`_place_label`)

    @property
    def key(self) -> tuple[str, int]:
        return self.target, self.port

    def set_overlay(self, color: QColor | None) -> None:
        """The gradient tint (drawn again only if it changed, as a node's is)."""
        shown = rgba(self.overlay_color)
        self.overlay_color = QColor(color) if color is not None else None
        if rgba(self.overlay_color) != shown:
            self.update()

    def set_ends(self, p0: QPointF, p1: QPointF, lane: float | None = None) -> None:
        self._p0, self._p1 = p0, p1
        self.prepareGeometryChange()
        self.setPath(curve(p0, p1, lane))
        self._place_label()

    def set_label(self, text: str, show: bool) -> None:
        self.prepareGeometryChange()
        self.label, self.show_label = text, show
        self._place_label()
        self.update()

    def _place_label(self) -> None:
        """The label's box, at the curve's middle: kept, since Qt asks for the bounding
        rect two or three times a paint (measuring the text each time was a fifth of a
        tinted canvas's repaint)."""
        if not (self.show_label and self.label):
            self._label_box = None
            return
        fm = QFontMetricsF(fonts()[2])
        w, h = fm.horizontalAdvance(self.label) + 10, fm.height() + 4
        mid = self.path().pointAtPercent(0.5)
        self._label_box = QRectF(mid.x() - w / 2, mid.y() - h / 2, w, h)

    def boundingRect(self) -> QRectF:
        r = super().boundingRect().adjusted(-4, -4, 4, 4)
        lab = self._label_box
        return r.united(lab) if lab is not None else r

    def shape(self) -> QPainterPath:
        s = QPainterPathStroker()
        s.setWidth(10)
        return s.createStroke(self.path())

    def paint(self, painter: QPainter, option, widget=None) -> None:
        t = theme.current()
        painter.setRenderHint(QPainter.Antialiasing)
        colour = QColor(t.selection if self.isSelected() else (
            self.overlay_color if self.overlay_color is not None else t.edge))
        width = 3.0 if self.isSelected() or self.overlay_color is not None else 2.0
        painter.setPen(QPen(colour, width, Qt.SolidLine, Qt.RoundCap))
        painter.setBrush(Qt.NoBrush)
        painter.drawPath(self.path())
        lab = self._label_box
        if lab is not None:
            painter.setPen(QPen(colour, 1))
            painter.setBrush(QColor(t.edge_label_bg))
            painter.drawRoundedRect(lab, lab.height() / 2, lab.height() / 2)
            painter.setFont(fonts()[2])
            painter.setPen(QColor(t.edge_label_text))
            painter.drawText(lab, Qt.AlignCenter, self.label)


def is_backward(p0: QPointF, p1: QPointF) -> bool:
    return p1.x() < p0.x() - 20 and abs(p1.y() - p0.y()) >= 60


def curve(p0: QPointF, p1: QPointF, lane: float | None = None) -> QPainterPath:
    """The wire from an output to an input: leaves rightwards, arrives from the left.

    A wire going back to the left (the next band of a wrapped layout, or a node placed
    behind its source) bends out, runs along a lane halfway between the two ends and
    bends in, instead of swooping across everything in between. `lane` is that run's
    height (the scene finds one clear of nodes); halfway between the ends by default.
    """
    path = QPainterPath(p0)
    if not is_backward(p0, p1):
        dx = max(50.0, abs(p1.x() - p0.x()) * 0.5)
        path.cubicTo(QPointF(p0.x() + dx, p0.y()), QPointF(p1.x() - dx, p1.y()), p1)
        return path
    lane = (p0.y() + p1.y()) / 2 if lane is None else lane
    bend = 60.0
    path.cubicTo(QPointF(p0.x() + bend, p0.y()), QPointF(p0.x() + bend, lane),
                 QPointF(p0.x(), lane))
    path.lineTo(QPointF(p1.x(), lane))
    path.cubicTo(QPointF(p1.x() - bend, lane), QPointF(p1.x() - bend, p1.y()), p1)
    return path


class WireItem(QGraphicsPathItem):
    """The dashed wire following the mouse while a connection is being dragged."""

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(5)
        t = theme.current()
        self.setPen(QPen(QColor(t.selection), 2, Qt.DashLine, Qt.RoundCap))
        self.setBrush(QBrush(Qt.NoBrush))

    def set_ends(self, p0: QPointF, p1: QPointF) -> None:
        self.setPath(curve(p0, p1))
