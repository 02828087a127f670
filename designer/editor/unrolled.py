"""A recurrent layer unrolled in time, drawn as the course draws it.

The same cell (one set of weights) repeated over a few time steps: inputs x⟨t⟩ enter
from below, the state h⟨t⟩ (and the cell state c⟨t⟩ for an LSTM) passes to the right,
outputs leave upwards: at every step for many-to-many, at the last for many-to-one.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from .. import theme

STEPS = 4


class UnrolledView(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.type_name = "SimpleRNN"
        self.units = 0
        self.sequences = False
        self.setMinimumHeight(190)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)

    def sizeHint(self) -> QSize:
        return QSize(300, 190)

    def show_layer(self, type_name: str, cfg: dict) -> None:
        self.type_name = type_name
        self.units = int(cfg.get("units", 0) or 0)
        self.sequences = bool(cfg.get("return_sequences", False))
        self.update()

    def paintEvent(self, event) -> None:
        t = theme.current()
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        w, h = self.width(), self.height()
        margin = 34.0
        cell_w = min(62.0, (w - margin - 16) / STEPS - 18)
        gap = (w - margin - 16 - STEPS * cell_w) / max(STEPS - 1, 1)
        cell_h, cy = 36.0, h / 2 - 8
        fam = t.family_color("Recurrent")
        small = QFont()
        small.setPointSizeF(8.0)
        bold = QFont(small)
        bold.setBold(True)
        line = QPen(QColor(t.muted_text), 1.4)
        lstm = self.type_name == "LSTM"
        state = "h, c" if lstm else "h"
        p.setFont(small)
        p.setPen(QColor(t.muted_text))
        p.drawText(QRectF(0, cy - 10, margin - 4, 20), Qt.AlignRight | Qt.AlignVCenter,
                   "0" if not lstm else "0, 0")
        prev = QPointF(margin, cy)
        for i in range(STEPS):
            x = margin + 8 + i * (cell_w + gap)
            box = QRectF(x, cy - cell_h / 2, cell_w, cell_h)
            _arrow(p, line, prev, QPointF(box.left(), cy))
            if i > 0:
                p.setFont(small)
                p.setPen(QColor(t.muted_text))
                mid = QRectF(prev.x(), cy - 18, box.left() - prev.x(), 14)
                p.drawText(mid, Qt.AlignCenter, f"{state}⟨{i}⟩" if gap > 34 else state)
            p.setPen(QPen(fam.darker(120), 1.2))
            p.setBrush(fam)
            p.drawRoundedRect(box, 6, 6)
            p.setFont(bold)
            p.setPen(t.text_on(fam))
            p.drawText(box, Qt.AlignCenter, _short(self.type_name))
            # input from below, output above
            bottom, top = QPointF(x + cell_w / 2, h - 26), QPointF(x + cell_w / 2, 30)
            _arrow(p, line, bottom, QPointF(bottom.x(), box.bottom()))
            p.setFont(small)
            p.setPen(QColor(t.text))
            p.drawText(QRectF(bottom.x() - 30, h - 24, 60, 14), Qt.AlignCenter, f"x⟨{i + 1}⟩")
            if self.sequences or i == STEPS - 1:
                _arrow(p, line, QPointF(top.x(), box.top()), top)
                p.setPen(QColor(t.text))
                p.drawText(QRectF(top.x() - 30, 12, 60, 14), Qt.AlignCenter, f"y⟨{i + 1}⟩")
            prev = QPointF(box.right(), cy)
        p.setFont(small)
        p.setPen(QColor(t.muted_text))
        caption = ("many-to-many: an output at every step" if self.sequences
                   else "many-to-one: only the last state leaves")
        p.drawText(QRectF(0, h - 12, w, 12), Qt.AlignCenter,
                   f"one cell, shared weights at every step · {caption}")
        p.end()


def _short(type_name: str) -> str:
    return {"SimpleRNN": "RNN"}.get(type_name, type_name)


def _arrow(p: QPainter, pen: QPen, a: QPointF, b: QPointF) -> None:
    p.setPen(pen)
    p.setBrush(Qt.NoBrush)
    path = QPainterPath(a)
    path.lineTo(b)
    p.drawPath(path)
    d = b - a
    length = max((d.x() ** 2 + d.y() ** 2) ** 0.5, 1e-6)
    ux, uy = d.x() / length, d.y() / length
    head = QPolygonF([b, QPointF(b.x() - 7 * ux + 3.5 * uy, b.y() - 7 * uy - 3.5 * ux),
                      QPointF(b.x() - 7 * ux - 3.5 * uy, b.y() - 7 * uy + 3.5 * ux)])
    p.setBrush(pen.color())
    p.setPen(Qt.NoPen)
    p.drawPolygon(head)
