"""Gradient flow on the canvas: nodes and edges tinted by gradient norm, with badges.

Colours follow one log scale per run (plasma: dark purple for the smallest gradients,
yellow for the largest), four decades centred on the first median and then fixed, so a
colour keeps its meaning; a legend in the canvas corner says which. An edge carries its
source's output gradient ‖∂L/∂y‖ (what flows back along it); a node with weights shows
its weights' gradient, a node without shows the gradient at its output. Badges
(vanishing, exploding, dead units, saturated) come from the same rules as the diagnosis
panel.
"""
from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QLinearGradient, QPainter
from PySide6.QtWidgets import QWidget

CMAP = "plasma"
UPDATE_S = 0.2                   # at most 5 canvas updates a second
LEVELS = 48                      # distinct tints over the scale's four decades
LEGEND_MARGIN = 12               # the legend's distance from the canvas's corner (px)
BADGES = {"vanishing": "vanishing", "exploding": "exploding", "dead_relu": "dead units",
          "saturated": "saturated"}


class LogScale:
    """Four decades centred, at the run's first diagnostic step, on the median gradient.

    Centring makes a healthy network sit mid-scale (orange), so a layer far below the
    others shows dark (vanishing) and one far above shows yellow (exploding). The scale
    then stays fixed for the run, so a colour keeps its meaning while gradients shrink.
    """

    HALF_SPAN = 2

    def __init__(self) -> None:
        self.lo: int | None = None
        self.hi: int | None = None

    def update(self, values) -> None:
        v = [x for x in values if x > 0 and math.isfinite(x)]
        if not v or self.lo is not None:
            return
        centre = round(math.log10(float(np.median(v))))
        self.lo, self.hi = centre - self.HALF_SPAN, centre + self.HALF_SPAN

    def position(self, value: float) -> float | None:
        """Where `value` sits on the scale, in LEVELS steps: a norm that moves less than
        a step keeps its colour, and its node is not drawn again (a canvas of two dozen
        nodes took 40-55 ms to repaint, five times a second)."""
        if self.lo is None or not (value > 0 and math.isfinite(value)):
            return None
        p = min(max((math.log10(value) - self.lo) / (self.hi - self.lo), 0.0), 1.0)
        return round(p * LEVELS) / LEVELS


def steady(shown: float | None, pos: float | None) -> float | None:
    """The scale position to draw: `shown` until the norm's `pos` moves two levels or
    more from it. From one diagnostic step to the next, half the nodes' norms crossed a
    level (batch noise), and each change repaints and flickers."""
    if pos is None or shown is None or abs(pos - shown) >= 1.5 / LEVELS:
        return pos
    return shown


class GradientLegend(QWidget):
    """A small colour bar pinned to the canvas corner."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.scale: LogScale | None = None
        self.cmap = pg.colormap.get(CMAP)
        self.setAttribute(Qt.WA_TransparentForMouseEvents)
        self.resize(220, 46)
        self.hide()

    def set_scale(self, scale: LogScale) -> None:
        self.scale = scale
        self.setVisible(scale.lo is not None)
        self.update()

    def paintEvent(self, event) -> None:
        if self.scale is None or self.scale.lo is None:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        p.setPen(Qt.NoPen)
        p.setBrush(QColor(255, 255, 255, 215))
        p.drawRoundedRect(QRectF(0, 0, self.width(), self.height()), 6, 6)
        bar = QRectF(10, 20, self.width() - 20, 9)
        grad = QLinearGradient(bar.left(), 0, bar.right(), 0)
        for t in np.linspace(0, 1, 9):
            grad.setColorAt(float(t), self.cmap.map(float(t), mode="qcolor"))
        p.setBrush(grad)
        p.drawRect(bar)
        font = QFont()
        font.setPointSizeF(7.5)
        p.setFont(font)
        p.setPen(QColor("#222222"))
        p.drawText(QRectF(10, 2, self.width() - 20, 16), Qt.AlignLeft | Qt.AlignVCenter,
                   "gradient norm ‖∂L/∂·‖ (log)")
        mid = (self.scale.lo + self.scale.hi) // 2
        p.drawText(QRectF(10, 30, 60, 14), Qt.AlignLeft, f"1e{self.scale.lo}")
        p.drawText(QRectF(self.width() / 2 - 30, 30, 60, 14), Qt.AlignHCenter, f"1e{mid}")
        p.drawText(QRectF(self.width() - 70, 30, 60, 14), Qt.AlignRight, f"1e{self.scale.hi}")
        p.end()


class GradientOverlay(QObject):
    """Keeps the canvas tint in step with the current run (see the module docstring)."""

    def __init__(self, window, session) -> None:
        super().__init__(window)
        self.window, self.session = window, session
        self.scale = LogScale()
        self.enabled = True
        self.badges: dict[str, list[str]] = {}
        self.positions: dict = {}     # node or edge -> the scale position drawn now
        self._updated_at = 0.0
        self._stale = False
        self._tinted: set[str] = set()
        self._edges: set[tuple[str, str, int]] = set()
        # The legend is a child of the canvas, not of its viewport: the view scrolls the
        # viewport's children with the scene when the user pans. It is placed when the
        # viewport, in whose corner it sits, has its new size.
        self.canvas = window.canvas
        self.legend = GradientLegend(self.canvas)
        self.canvas.bottom_reserve = self.legend.height() + 2 * LEGEND_MARGIN   # see fit
        self.canvas.viewport().installEventFilter(self)
        session.run_started.connect(lambda _run: self.clear())
        session.updated.connect(self._on_updated)
        session.add_view(self)
        session.run_finished.connect(lambda _run: self.update(force=True))

    @property
    def scene(self):
        return getattr(self.window, "scene", None)

    def _on_updated(self, kinds: set) -> None:
        if kinds & {"step", "finished"}:
            self._stale = True

    def refresh(self, force: bool = False, paced: bool = True) -> bool:
        """The frame clock's call: update the tint if new norms came and the last update
        is `UPDATE_S` old; returns whether it updated."""
        now = time.monotonic()
        if not (self._stale or force) or (paced and now - self._updated_at < UPDATE_S):
            return False
        self._stale = False
        self._updated_at = now
        self.update()
        return True

    def set_enabled(self, on: bool) -> None:
        self.enabled = on
        if on:
            self.update(force=True)
        else:
            self.clear()

    def clear(self) -> None:
        """Remove every tint and badge (a new run starts, or the user asked)."""
        scene = self.scene
        if scene is not None:
            for node in self._tinted:
                scene.set_node_overlay(node, None, [], "")
            for s, t, port in self._edges:
                scene.set_edge_overlay(s, t, port, None)
        self._tinted, self._edges = set(), set()
        self.badges = {}
        self.positions = {}
        self.scale = LogScale()
        self.legend.set_scale(self.scale)

    def update(self, force: bool = False) -> None:
        run, scene = self.session.current, self.scene
        if not self.enabled or run is None or scene is None:
            return
        weights, outputs = run.latest_grad_norms(), run.latest_out_grad_norms()
        if not weights and not outputs:
            return
        self.scale.update(list(weights.values()) + list(outputs.values()))
        badges = self._badges()
        graph = self.session.document.graph
        cmap = pg.colormap.get(CMAP)
        for node in graph.nodes:
            value = weights.get(node, outputs.get(node))
            pos = self._steady(node, self.scale.position(value) if value is not None else None)
            color = cmap.map(pos, mode="qcolor") if pos is not None else None
            tip = _tooltip(node, weights.get(node), outputs.get(node), badges.get(node, []))
            if color is None and not badges.get(node):
                if node in self._tinted:
                    scene.set_node_overlay(node, None, [], "")
                    self._tinted.discard(node)
                continue
            scene.set_node_overlay(node, color, badges.get(node, []), tip)
            self._tinted.add(node)
        for e in graph.edges:
            value = outputs.get(e.source)
            key = (e.source, e.target, e.port)
            pos = self._steady(key, self.scale.position(value) if value is not None else None)
            if pos is None:
                continue
            color = cmap.map(pos, mode="qcolor")
            scene.set_edge_overlay(e.source, e.target, e.port, color)
            self._edges.add(key)
        self.badges = badges
        self._place_legend()
        self.legend.set_scale(self.scale)

    def _steady(self, key, pos: float | None) -> float | None:
        """The tint's position for `key` (a node or an edge), by `steady`."""
        self.positions[key] = steady(self.positions.get(key), pos)
        return self.positions[key]

    def _place_legend(self) -> None:
        area = self.canvas.viewport().geometry()
        bottom = area.bottom() + 1 - self.legend.height() - LEGEND_MARGIN
        self.legend.move(area.left() + LEGEND_MARGIN, max(bottom, area.top()))

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Resize and obj is self.canvas.viewport():
            self._place_legend()
        return False

    def _badges(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for f in self.session.findings:
            label = BADGES.get(f.kind)
            if label and f.node:
                out.setdefault(f.node, [])
                if label not in out[f.node]:
                    out[f.node].append(label)
        return out


def _tooltip(node: str, w: float | None, y: float | None, badges: list[str]) -> str:
    lines = []
    if w is not None:
        lines.append(f"‖∂L/∂W‖ = {w:.3g}")
    if y is not None:
        lines.append(f"‖∂L/∂y‖ = {y:.3g}")
    lines += [f"⚠ {b}" for b in badges]
    return "\n".join(lines)
