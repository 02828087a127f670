"""Panel 7: weight histograms per layer and how fast each layer's weights move.

Histograms come from the latest snapshot's weight copies. The update-to-weight ratio
‖ΔW‖/‖W‖ per step (between two snapshots) says whether a layer learns at a sane pace:
around 1e-3 is the usual rule of thumb; far below, the layer is frozen; far above, the
learning rate is too high for it.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from . import style
from .base import WIDE_ROW_PX, Panel
from .spares import add_plot

BINS = 40
MAX_LAYERS = 9
COLUMNS = 3


class WeightsPanel(Panel):
    title = "Weights"
    fps = 2                     # histograms of slowly changing weights (see Panel.fps)
    parts_per_frame = 3         # three histograms redrawn, then painted, per frame
    kinds = frozenset({"started", "snapshot"})

    def __init__(self, session, parent=None) -> None:
        super().__init__(session, parent)
        lay = self.layout_with_note()
        self.view = self.add_graphics(lay, scroll=True)
        self.hists: dict[str, pg.PlotDataItem] = {}
        self.ranges: dict[str, style.SteadyRange] = {}
        self.ratio_plot: pg.PlotItem | None = None
        self.ratios: dict[str, pg.PlotDataItem] = {}

    def reset(self, run) -> None:
        self.view.clear()
        self.hists = {}
        self.ranges = {}
        self.ratios = {}
        self.ratio_plot = None

    @staticmethod
    def layers(snapshot) -> list[str]:
        """Nodes with a weight matrix (W, Wx or an embedding's table), in graph order."""
        return [n for n, p in snapshot.weights.items()
                if any(k in p for k in ("W", "Wx"))][:MAX_LAYERS]

    @staticmethod
    def histogram(params: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        w = np.concatenate([params[k].ravel() for k in ("W", "Wx", "Wh") if k in params])
        w = w[np.isfinite(w)]
        if w.size == 0:
            return np.zeros(2), np.zeros(1)
        counts, edges = np.histogram(w, bins=BINS)
        return edges, counts.astype(np.float64)

    def _build(self, run, nodes: list[str]):
        """The plots, two parts each (a restart begins again with a clear view), then
        the ratio curves."""
        self.view.clear()
        self.hists = {}
        self.ranges = {}
        self.ratios = {}
        colors = style.node_colors(run.node_types)
        rows = -(-len(nodes) // COLUMNS)
        self.fix_grid(self.view, rows, 1, COLUMNS)
        for i, node in enumerate(nodes):
            yield
            plot = add_plot(self.view, menu=False, row=i // COLUMNS, col=i % COLUMNS)
            yield                               # the plot (made ahead), then its setup
            style.setup_plot(plot, "", "", small=True)
            plot.hideAxis("left")       # counts: the shape is what speaks (and an axis
            plot.setDownsampling(auto=False)    # costs a frame 2-3 ms at each layout)
            plot.setClipToView(False)
            plot.setTitle(f"{node} weights", size="8pt")
            c = colors.get(node, pg.mkColor("#888"))
            self.hists[node] = plot.plot(stepMode="center", fillLevel=0,
                                         brush=style.faded(c, 150), pen=pg.mkPen(c))
            self.ranges[node] = style.SteadyRange(plot)
        yield
        self.ratio_plot = add_plot(self.view, row=rows, col=0, colspan=COLUMNS)
        yield                                   # the plot, then its setup
        style.setup_plot(self.ratio_plot, "‖ΔW‖/‖W‖ per step", "step", log_y=True)
        self.ratio_plot.setMinimumHeight(WIDE_ROW_PX)     # the grid's rows share the rest
        style.legend(self.ratio_plot, (-10, 10))
        ref = pg.InfiniteLine(pos=-3, angle=0, pen=pg.mkPen("#888888", style=Qt.DashLine),
                              label="1e-3", labelOpts={"position": 0.05, "color": "#888888"})
        self.ratio_plot.addItem(ref)
        self.ratio_range = style.SteadyRange(self.ratio_plot)
        for node in nodes:
            yield                               # a curve and its legend entry
            c = colors.get(node, pg.mkColor("#888"))
            # lines without point symbols: a dozen curves' symbols took a 30 ms repaint
            self.ratios[node] = self.ratio_plot.plot(pen=pg.mkPen(c, width=1.5), name=node)

    def redraw(self):
        run = self.run
        snap = run.snapshot if run else None
        if snap is None:
            self.set_note("Weight histograms appear at the first snapshot.")
            return
        nodes = self.layers(snap)
        if not nodes:
            self.set_note("This network has no weight matrices.")
            return
        if list(self.ratios) != nodes:
            yield from self._build(run, nodes)
        # views move only when the data leaves them: auto-range rebuilt the axes of every
        # plot at every snapshot, most of a frame
        for node in nodes:
            edges, counts = self.histogram(snap.weights[node])
            self.hists[node].setData(edges, counts)
            self.ranges[node].update(None, [counts, np.zeros(1)], xs=[edges])
            yield
        x_max, values = float(run.total_steps or 0), []
        for node, curve in self.ratios.items():
            rows = run.update_ratio.get(node)
            if rows is not None and len(rows):
                steps, v = rows.steps(), style.positive(rows.values())
                curve.setData(steps, v)
                x_max, values = max(x_max, steps[-1]), values + [v]
                yield
        self.ratio_range.update(x_max, values, log=True)
        self.set_note(f"step {snap.step} · histograms of each layer's weights; below, how "
                      "much the weights change per step relative to their size")
