"""What the canvas draws for a layer: the node with its ports, badges and output shape.

Items only display; they hold the node id and what the scene last told them. Every
colour comes from the current theme at paint time, so a theme switch is a repaint.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

from .. import theme

HEADER = 24.0
PORT_STEP = 18.0
PORT_R = 5.5
MIN_W = 150.0
PAD = 12.0
SHAPE_H = 18.0


@cache
def fonts() -> tuple[QFont, QFont, QFont]:
    """(header, body, small) fonts used by nodes and labels: made once (every edge and
    node asks at each paint), never changed by their users."""
    header = QFont()
    header.setPointSizeF(9.5)
    header.setBold(True)
    body = QFont()
    body.setPointSizeF(9.5)
    small = QFont()
    small.setPointSizeF(8.5)
    return header, body, small


def fmt_shape(shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")" if shape is not None else "?"


@dataclass
class NodeView:
    """Everything a node item shows, computed by the scene from the document."""

    node_id: str
    type_name: str
    family: str
    summary: str
    doc: str
    inputs: int                 # input ports drawn
    connected: set[int] = field(default_factory=set)
    has_output: bool = True
    shape: tuple | None = None
    error: str | None = None
    pending: str | None = None


class PortItem(QGraphicsItem):
    """An input (index >= 0) or the output (index -1) port of a node."""

    def __init__(self, node: "NodeItem", index: int) -> None:
        super().__init__(node)
        self.node = node
        self.index = index
        self.connected = False
        # "", "compatible", "refused", "hover", or "denied" (refused, under the mouse)
        self.state = ""
        self.setAcceptHoverEvents(True)
        self.setZValue(2)
        self.setCacheMode(QGraphicsItem.DeviceCoordinateCache)     # see NodeItem

    @property
    def is_input(self) -> bool:
        return self.index >= 0

    def boundingRect(self) -> QRectF:
        r = PORT_R + 4
        return QRectF(-r, -r, 2 * r, 2 * r)

    def shape(self) -> QPainterPath:
        p = QPainterPath()
        p.addEllipse(QPointF(0, 0), PORT_R + 4, PORT_R + 4)   # generous hit area
        return p

    def set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.update()

    def hoverEnterEvent(self, event) -> None:
        if not self.state:
            self.set_state("hover")

    def hoverLeaveEvent(self, event) -> None:
        if self.state == "hover":
            self.set_state("")

    def paint(self, painter: QPainter, option, widget=None) -> None:
        t = theme.current()
        painter.setRenderHint(QPainter.Antialiasing)
        colour = {"compatible": t.port_compatible, "refused": t.port_refused,
                  "hover": t.selection, "denied": t.error}.get(self.state, t.port)
        r = PORT_R + (1.5 if self.state in ("compatible", "hover", "denied") else 0)
        if self.state == "compatible":
            glow = QColor(t.port_compatible)
            glow.setAlpha(70)
            painter.setPen(Qt.NoPen)
            painter.setBrush(glow)
            painter.drawEllipse(QPointF(0, 0), r + 4, r + 4)
        painter.setPen(QPen(QColor(colour), 2))
        painter.setBrush(QColor(colour) if self.connected or self.state else QColor(t.node_body))
        painter.drawEllipse(QPointF(0, 0), r, r)


class BadgeItem(QGraphicsItem):
    """The red "!" on a node that cannot work; its tooltip says why."""

    R = 8.0

    def __init__(self, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.setZValue(3)

    def boundingRect(self) -> QRectF:
        return QRectF(-self.R - 1, -self.R - 1, 2 * self.R + 2, 2 * self.R + 2)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        t = theme.current()
        painter.setRenderHint(QPainter.Antialiasing)
        painter.setPen(QPen(QColor(t.node_body), 1.5))
        painter.setBrush(QColor(t.error))
        painter.drawEllipse(QPointF(0, 0), self.R, self.R)
        f = fonts()[0]
        painter.setFont(f)
        painter.setPen(QColor("#ffffff"))
        painter.drawText(self.boundingRect(), Qt.AlignCenter, "!")


class GlowItem(QGraphicsItem):
    """The gradient tint around a node while training (`NodeItem.set_overlay`): an item
    of its own, so that a new tint repaints this ring only and the node stays drawn
    from its cache."""

    def __init__(self, node: "NodeItem") -> None:
        super().__init__(node)
        self.node = node
        self.color: QColor | None = None
        self.setFlag(QGraphicsItem.ItemStacksBehindParent)
        self.setAcceptedMouseButtons(Qt.NoButton)
        self.setVisible(False)

    def ring(self) -> QRectF:
        return QRectF(0, 0, self.node.width, self.node.height).adjusted(-3, -3, 3, 3)

    def boundingRect(self) -> QRectF:
        return self.ring().adjusted(-3, -3, 3, 3)

    def resized(self) -> None:
        self.prepareGeometryChange()

    def set_color(self, color: QColor | None) -> None:
        if rgba(color) != rgba(self.color):
            self.color = QColor(color) if color is not None else None
            self.setVisible(color is not None)
            self.update()

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if self.color is None:
            return
        painter.setRenderHint(QPainter.Antialiasing)
        painter.setPen(QPen(self.color, 5))
        painter.setBrush(Qt.NoBrush)
        painter.drawRoundedRect(self.ring(), 8, 8)


class NodeItem(QGraphicsItem):
    """A layer on the canvas: family-coloured header with the key params, the id, ports,
    and the output shape underneath."""

    def __init__(self, view: NodeView) -> None:
        super().__init__()
        self.setFlags(QGraphicsItem.ItemIsSelectable | QGraphicsItem.ItemIsMovable
                      | QGraphicsItem.ItemSendsGeometryChanges)
        self.setAcceptHoverEvents(True)
        self.setZValue(1)
        # drawn from a pixmap until update() (its tint, badges, state, the theme): while
        # training, the tint's repaints of a canvas spanned most nodes, 0.4 ms each
        self.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        self.view = view
        self.width = MIN_W
        self.height = HEADER + 30
        self.inputs: list[PortItem] = []
        self.output: PortItem | None = None
        self.badge = BadgeItem(self)
        self.glow = GlowItem(self)
        self.overlay_badges: list[str] = []
        self.overlay_tip = ""
        self.apply(view)

    @property
    def node_id(self) -> str:
        return self.view.node_id

    # -- state ----------------------------------------------------------------------------
    def apply(self, view: NodeView) -> None:
        self.prepareGeometryChange()
        self.view = view
        hf, bf, _ = fonts()
        text_w = max(QFontMetricsF(hf).horizontalAdvance(view.summary) + 2 * PAD + 10,
                     QFontMetricsF(bf).horizontalAdvance(view.node_id) + 2 * PAD + 16)
        self.width = max(MIN_W, (int(text_w) + 9) // 10 * 10)
        body = max(32.0, view.inputs * PORT_STEP + 12)
        self.height = HEADER + body
        self.glow.resized()
        while len(self.inputs) < view.inputs:
            self.inputs.append(PortItem(self, len(self.inputs)))
        while len(self.inputs) > view.inputs:
            port = self.inputs.pop()
            port.setParentItem(None)
            if port.scene():
                port.scene().removeItem(port)
        for i, port in enumerate(self.inputs):
            port.setPos(0, self._port_y(i))
            port.connected = i in view.connected
            port.update()
        if view.has_output and self.output is None:
            self.output = PortItem(self, -1)
        elif not view.has_output and self.output is not None:
            self.output.setParentItem(None)
            if self.output.scene():
                self.output.scene().removeItem(self.output)
            self.output = None
        if self.output is not None:
            self.output.setPos(self.width, HEADER + body / 2)
        self.badge.setVisible(bool(view.error))
        self.badge.setPos(self.width - 2, 2)
        self.badge.setToolTip(view.error or "")
        self._update_tooltip()
        self.update()

    def _port_y(self, i: int) -> float:
        body = self.height - HEADER
        if self.view.inputs <= 1:
            return HEADER + body / 2
        return HEADER + 6 + PORT_STEP / 2 + i * PORT_STEP

    def set_overlay(self, color: QColor | None, badges: list[str], tooltip: str) -> None:
        """Tint (the glow's), badges (the node drawn again only if they changed), and
        the tooltip's text."""
        self.glow.set_color(color)
        self.overlay_tip = tooltip
        self._update_tooltip()
        if list(badges) != self.overlay_badges:
            self.overlay_badges = list(badges)
            self.update()

    @property
    def overlay_color(self) -> QColor | None:
        """The gradient tint shown (its glow's)."""
        return self.glow.color

    def _update_tooltip(self) -> None:
        v = self.view
        lines = [f"<b>{v.node_id}</b> — {v.type_name}", v.doc]
        if v.shape is not None:
            lines.append(f"output shape {fmt_shape(v.shape)}")
        if v.error:
            lines.append(f"<span style='color:{theme.current().error}'>{v.error}</span>")
        elif v.pending:
            lines.append(f"<i>{v.pending}</i>")
        if self.overlay_tip:
            lines.append(self.overlay_tip)
        self.setToolTip("<br>".join(x for x in lines if x))

    def port_pos(self, index: int) -> QPointF:
        """Scene position of an input port (index >= 0) or the output (-1)."""
        if index < 0:
            return self.mapToScene(QPointF(self.width, HEADER + (self.height - HEADER) / 2))
        return self.mapToScene(QPointF(0, self._port_y(index)))

    def size(self) -> tuple[float, float]:
        return self.width, self.height

    # -- geometry and painting ------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        return QRectF(-PORT_R - 6, -26, self.width + 2 * PORT_R + 12,
                      self.height + 26 + SHAPE_H + 4)

    def shape(self) -> QPainterPath:
        p = QPainterPath()
        p.addRoundedRect(QRectF(0, 0, self.width, self.height), 6, 6)
        return p

    def itemChange(self, change, value):
        if change == QGraphicsItem.ItemPositionChange and self.scene() is not None:
            return self.scene().snap_point(value)
        if change == QGraphicsItem.ItemPositionHasChanged and self.scene() is not None:
            self.scene().node_item_moved(self)
        return super().itemChange(change, value)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        t = theme.current()
        v = self.view
        hf, bf, sf = fonts()
        painter.setRenderHint(QPainter.Antialiasing)
        rect = QRectF(0, 0, self.width, self.height)
        selected = self.isSelected()
        border = QColor(t.selection if selected else (t.error if v.error else t.node_border))
        painter.setPen(QPen(border, 2.2 if selected else 1.2))
        painter.setBrush(QColor(t.node_body))
        painter.drawRoundedRect(rect, 6, 6)
        # header: family colour with the key params
        head = QPainterPath()
        head.addRoundedRect(rect.adjusted(1, 1, -1, 0), 5, 5)
        clip = QPainterPath()
        clip.addRect(QRectF(0, 0, self.width, HEADER))
        family = t.family_color(v.family)
        painter.setPen(Qt.NoPen)
        painter.setBrush(family)
        painter.drawPath(head.intersected(clip))
        painter.setFont(hf)
        painter.setPen(t.text_on(family))
        text_rect = QRectF(PAD, 0, self.width - 2 * PAD - (8 if v.error else 0), HEADER)
        label = QFontMetricsF(hf).elidedText(v.summary, Qt.ElideRight, text_rect.width())
        painter.drawText(text_rect, Qt.AlignVCenter | Qt.AlignLeft, label)
        # body: the id, and port numbers on multi-input nodes
        painter.setFont(bf)
        painter.setPen(QColor(t.node_text))
        body = QRectF(PAD + (8 if v.inputs > 1 else 0), HEADER, self.width - 2 * PAD,
                      self.height - HEADER)
        painter.drawText(body, Qt.AlignCenter,
                         QFontMetricsF(bf).elidedText(v.node_id, Qt.ElideMiddle, body.width()))
        if v.inputs > 1:
            painter.setFont(sf)
            painter.setPen(QColor(t.node_subtext))
            for i in range(v.inputs):
                y = self._port_y(i)
                painter.drawText(QRectF(PORT_R + 3, y - 8, 14, 16), Qt.AlignVCenter, str(i))
        self._paint_shape(painter, sf, t)
        if self.overlay_badges:
            self._paint_overlay_badges(painter, sf)

    def _paint_shape(self, painter: QPainter, font: QFont, t: theme.Theme) -> None:
        v = self.view
        if v.error:
            text, colour = "cannot work — hover the badge", t.error
        elif v.shape is not None:
            text, colour = fmt_shape(v.shape), t.shape_text
        elif v.pending:
            text, colour = ("needs input" if "not connected" in v.pending or "no input" in v.pending
                            else "…"), t.muted_text
        else:
            return
        painter.setFont(font)
        painter.setPen(QColor(colour))
        painter.drawText(QRectF(-20, self.height + 2, self.width + 40, SHAPE_H),
                         Qt.AlignHCenter | Qt.AlignTop, text)

    def _paint_overlay_badges(self, painter: QPainter, font: QFont) -> None:
        painter.setFont(font)
        fm = QFontMetricsF(font)
        x = 2.0
        for text in self.overlay_badges:
            w = fm.horizontalAdvance(text) + 10
            r = QRectF(x, -21, w, 17)
            painter.setPen(Qt.NoPen)
            painter.setBrush(QColor("#e8a317"))
            painter.drawRoundedRect(r, 8, 8)
            painter.setPen(QColor("#1a1a1a"))
            painter.drawText(r, Qt.AlignCenter, text)
            x += w + 4


def rgba(color: QColor | None) -> int | None:
    """A tint as one comparable value (None: no tint)."""
    return None if color is None else color.rgba()
