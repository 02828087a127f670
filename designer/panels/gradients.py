"""Panel 2: gradient norm per layer over time, on a log scale, in the nodes' colours.

A layer whose gradient is far below (or above) the others' is flagged in words: this is
where vanishing or exploding gradients show first, long before the loss says anything.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel

from ..training import diagnosis
from . import style
from .base import Panel

SOURCES = {"parameters": "grad_norms", "layer outputs": "out_grad_norms"}


class GradientsPanel(Panel):
    title = "Gradient norms"
    kinds = frozenset({"started", "step", "finished"})

    def __init__(self, session, parent=None) -> None:
        super().__init__(session, parent)
        lay = self.layout_with_note()
        row = QHBoxLayout()
        row.addWidget(QLabel("gradient of"))
        self.source = QComboBox()
        self.source.addItems(list(SOURCES))
        self.source.setToolTip("parameters: ‖∂L/∂W‖ of each layer's weights (what the "
                               "optimizer sees); layer outputs: ‖∂L/∂y‖ flowing back "
                               "through each node")
        self.source.currentTextChanged.connect(lambda _: self._rebuild())
        row.addWidget(self.source)
        row.addStretch(1)
        lay.addLayout(row)
        self.view = pg.PlotWidget()
        lay.addWidget(self.view, 1)
        self.plot = style.setup_plot(self.view.getPlotItem(), "‖gradient‖ (log)", "step",
                                     log_y=True)
        self.legend = style.legend(self.plot, (-10, 10))
        self.range = style.SteadyRange(self.plot)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.warnings = QLabel()
        self.warnings.setWordWrap(True)
        lay.addWidget(self.warnings)

    def reset(self, run) -> None:
        for c in self.curves.values():
            self.plot.removeItem(c)
            self.legend.removeItem(c)
        self.curves = {}
        self.range.restart()

    def _rebuild(self) -> None:
        self.reset(self.run)
        self.refresh(force=True)

    def table(self, run) -> dict:
        return getattr(run, SOURCES[self.source.currentText()])

    def redraw(self):
        run = self.run
        if run is None:
            self.set_note("Gradient norms per layer appear here while training.")
            return
        series = self.table(run)
        colors = style.node_colors(run.node_types)
        order = [n for n in run.node_types if n in series] + \
            [n for n in series if n not in run.node_types]
        x_max, ys = float(run.total_steps or 0), []
        for node in order:
            if node not in self.curves:         # a curve and its legend entry per part
                pen = pg.mkPen(colors.get(node, pg.mkColor("#888")), width=1.6)
                self.curves[node] = self.plot.plot(pen=pen, name=node)
                yield
            x, y = series[node].data()
            ys.append(style.positive(y))
            self.curves[node].setData(x, ys[-1])
            x_max = max(x_max, float(x[-1]) if len(x) else 0.0)
        # the view moves only when the norms leave it (auto-range refitted it, and drew
        # both axes anew, at every frame); the steps span the whole run from its start
        self.range.update(x_max, ys, log=True)
        self.set_note("" if series else "Waiting for the first diagnostic step…")
        flow = diagnosis.gradient_flow({n: s.data()[1] for n, s in run.grad_norms.items()},
                                       run.node_types)
        self.warnings.setText("\n".join(f"⚠ {f.title}: {f.detail}. Try: {f.fix}."
                                        for f in flow))
        self.warnings.setVisible(bool(flow))
        self.findings = flow
