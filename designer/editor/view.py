"""The canvas view: zoom towards the cursor, pan, rubber-band selection, the grid, drops.

Wheel zooms around the point under the cursor; the middle button or space+drag pans;
a left drag on empty canvas draws a rubber band (Ctrl/Shift add to the selection).
Layer types dropped from the palette are added where they land.
"""
from __future__ import annotations

import math

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QGraphicsView

from .. import theme
from .palette import MIME_LAYER

MIN_ZOOM, MAX_ZOOM = 0.15, 4.0
FIT_MAX = 1.25      # fitting a small network enlarges it a little, not to poster size


class EditorView(QGraphicsView):
    def __init__(self, scene, parent=None) -> None:
        super().__init__(scene, parent)
        self.setObjectName("canvas")
        self.setRenderHints(QPainter.Antialiasing | QPainter.TextAntialiasing)
        self.setViewportUpdateMode(QGraphicsView.SmartViewportUpdate)
        # the grid is drawn again only when the view moves or `resetCachedContent()`
        self.setCacheMode(QGraphicsView.CacheBackground)
        self.setTransformationAnchor(QGraphicsView.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.AnchorViewCenter)
        self.setDragMode(QGraphicsView.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.IntersectsItemShape)
        self.setAcceptDrops(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)   # pan instead
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setFocusPolicy(Qt.StrongFocus)
        self.show_grid = True
        self._space = False
        self._panning: QPointF | None = None
        self.bottom_reserve = 0     # view pixels that `fit` keeps free at the bottom

    # -- zoom -----------------------------------------------------------------------------
    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float, at: QPoint | None = None) -> None:
        """Scale by `factor` keeping the scene point under view position `at` (default:
        the centre) where it is."""
        target = min(MAX_ZOOM, max(MIN_ZOOM, self.zoom() * factor))
        factor = target / self.zoom()
        if abs(factor - 1.0) < 1e-9:
            return
        at = at if at is not None else self.viewport().rect().center()
        fixed = self.mapToScene(at)
        old = self.transformationAnchor()
        self.setTransformationAnchor(QGraphicsView.NoAnchor)
        self.scale(factor, factor)
        self.setTransformationAnchor(old)
        drift = self.mapFromScene(fixed) - at
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + drift.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + drift.y())

    def zoom_in(self) -> None:
        self.zoom_by(1.25)

    def zoom_out(self) -> None:
        self.zoom_by(0.8)

    def fit(self) -> None:
        """Show every node, never zooming in beyond FIT_MAX, and leave the bottom
        `bottom_reserve` pixels free for what is pinned there (the gradient legend)."""
        rect = self.scene().itemsBoundingRect()
        if rect.isEmpty():
            self.resetTransform()
            self.centerOn(0, 0)
            return
        rect = rect.adjusted(-40, -40, 40, 40)
        port = self.viewport().rect()
        free_height = max(port.height() - self.bottom_reserve, port.height() // 2)
        zoom = min(port.width() / rect.width(), free_height / rect.height())
        zoom = min(FIT_MAX, max(MIN_ZOOM, zoom))
        self.resetTransform()
        self.scale(zoom, zoom)
        # the middle of the free part of the view, not of the whole view, on the nodes
        self.centerOn(rect.center() + QPointF(0, (port.height() - free_height) / 2 / zoom))

    def wheelEvent(self, event) -> None:
        delta = event.angleDelta().y()
        if delta == 0:
            return super().wheelEvent(event)
        self.zoom_by(math.pow(1.0015, delta), event.position().toPoint())
        event.accept()

    def centre_scene_pos(self) -> QPointF:
        return self.mapToScene(self.viewport().rect().center())

    # -- panning: middle button or space + drag -------------------------------------------
    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.OpenHandCursor)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.viewport().unsetCursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MiddleButton or (self._space and event.button() == Qt.LeftButton):
            self._panning = event.position()
            self.viewport().setCursor(Qt.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(_shift_as_ctrl(event))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._panning is not None:
            delta = event.position() - self._panning
            self._panning = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            event.accept()
            return
        super().mouseMoveEvent(_shift_as_ctrl(event))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._panning is not None:
            self._panning = None
            if self._space:
                self.viewport().setCursor(Qt.OpenHandCursor)
            else:
                self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(_shift_as_ctrl(event))

    # -- drops from the palette -----------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasFormat(MIME_LAYER):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event) -> None:
        if event.mimeData().hasFormat(MIME_LAYER):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event) -> None:
        if not event.mimeData().hasFormat(MIME_LAYER):
            return super().dropEvent(event)
        type_name = bytes(event.mimeData().data(MIME_LAYER)).decode("utf-8")
        pos = self.mapToScene(event.position().toPoint())
        node_id = self.scene().add_node_at(type_name, pos)
        self.scene().message.emit(f"Added {type_name} {node_id}")
        event.acceptProposedAction()
        self.setFocus()

    # -- background -----------------------------------------------------------------------
    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        t = theme.current()
        painter.fillRect(rect, QColor(t.canvas))
        if not self.show_grid:
            return
        step = 20.0
        while step * self.zoom() < 12:
            step *= 5
        for colour, spacing in ((t.grid_minor, step), (t.grid_major, step * 5)):
            pen = QPen(QColor(colour), 0)
            painter.setPen(pen)
            left = math.floor(rect.left() / spacing) * spacing
            top = math.floor(rect.top() / spacing) * spacing
            x = left
            lines = []
            while x < rect.right():
                lines.append((QPointF(x, rect.top()), QPointF(x, rect.bottom())))
                x += spacing
            y = top
            while y < rect.bottom():
                lines.append((QPointF(rect.left(), y), QPointF(rect.right(), y)))
                y += spacing
            for a, b in lines:
                painter.drawLine(a, b)


def _shift_as_ctrl(event: QMouseEvent) -> QMouseEvent:
    """Shift extends the selection like Ctrl (Qt only knows Ctrl for items and bands)."""
    if not event.modifiers() & Qt.ShiftModifier:
        return event
    return QMouseEvent(event.type(), event.position(), event.scenePosition(),
                       event.globalPosition(), event.button(), event.buttons(),
                       event.modifiers() | Qt.ControlModifier)
