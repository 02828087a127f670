"""Panel 3: how each layer's activations are distributed over time, and how many units
are dead (ReLU) or saturated (sigmoid/tanh).

Bands are percentiles (5–95 light, 25–75 darker, median line) of every activation value
for the fixed snapshot samples, so a skewed ReLU distribution shows as it is. The lower
plot shows the fraction of outputs stuck at zero or at the flat ends of a squashing
function, measured at the trainer's diagnostic steps.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from . import style
from .base import ALONE, WIDE_ROW_PX, Panel
from .spares import add_plot

SKIP = {"Input", "Output", "Flatten", "Reshape"}
MAX_LAYERS = 12
COLUMNS = 3


class _Bands:
    """The items of one layer's small plot, created once."""

    def __init__(self, plot: pg.PlotItem, color) -> None:
        self.plot = plot
        # dead or saturated units, in the view's corner: in the title, each new figure
        # changed the title's width, hence the grid's columns, and every plot was laid out
        # and drawn anew (40-50 ms frames)
        self.status = pg.LabelItem("", size="8pt", justify="right")
        self.status.setParentItem(plot.getViewBox())
        self.status.anchor(itemPos=(1, 0), parentPos=(1, 0), offset=(-4, 0))
        # bare curves: a plot's `plot()` item also makes a scatter item each, half of the
        # bands' cost, for points never shown (bounded buffers need no downsampling)
        invisible = pg.mkPen(None)
        self.curves = [pg.PlotCurveItem(pen=invisible) for _ in range(4)]
        outer = pg.FillBetweenItem(self.curves[0], self.curves[3], brush=style.faded(color, 60))
        inner = pg.FillBetweenItem(self.curves[1], self.curves[2], brush=style.faded(color, 120))
        self.median = pg.PlotCurveItem(pen=pg.mkPen(color, width=1.5))
        for item in (*self.curves, outer, inner, self.median):
            plot.addItem(item)
        self.range = style.SteadyRange(plot)

    def set(self, steps: np.ndarray, pct: np.ndarray, x_max: float) -> None:
        for c, col in zip(self.curves, (0, 1, 3, 4)):
            c.setData(steps, pct[:, col])
        self.median.setData(steps, pct[:, 2])
        # the view moves only when the bands leave it: auto-range rebuilt both axes of
        # every plot at every snapshot, most of a frame with a dozen plots
        self.range.update(x_max, [pct[:, 0], pct[:, 4]])


class ActivationsPanel(Panel):
    title = "Activations"
    fps = 4                     # a dozen plots of percentile bands (see Panel.fps)
    parts_per_frame = 3         # three layers' bands set, then painted, per frame
    kinds = frozenset({"started", "snapshot", "step", "finished"})

    def __init__(self, session, parent=None) -> None:
        super().__init__(session, parent)
        lay = self.layout_with_note()
        self.view = self.add_graphics(lay, scroll=True)
        self.plots: dict[str, pg.PlotItem] = {}
        self.ready: set[str] = set()        # plots set up (a plot is made, then set up)
        self.bands: dict[str, _Bands] = {}
        self.fraction_plot: pg.PlotItem | None = None
        self.fractions: dict[str, pg.PlotDataItem] = {}
        self.shown: dict[str, int] = {}     # rows appended when each item was drawn:
                                            # unchanged ones skip setData (and a repaint)

    def reset(self, run) -> None:
        self.view.clear()
        self.plots = {}
        self.ready = set()
        self.bands = {}
        self.fractions = {}
        self.fraction_plot = None
        self.shown = {}

    def _new(self, key: str, rows) -> bool:
        """Whether the item `key` has rows it has not drawn yet (and note that it will)."""
        if not len(rows) or self.shown.get(key) == rows.count:
            return False
        self.shown[key] = rows.count
        return True

    def _layers(self, run) -> list[str]:
        types = run.node_types
        nodes = [n for n in types if types[n] not in SKIP and n in run.bands]
        return nodes[:MAX_LAYERS]

    def _ensure_plots(self, run, nodes: list[str]):
        """The plots not made yet and their items, one per part (10-20 ms each)."""
        colors = style.node_colors(run.node_types)
        names = run.activation_names
        for node in nodes:
            if node in self.bands:
                continue
            plot = self.plots.get(node)
            if plot is None:        # the plot (made ahead), its setup, then its items
                i = len(self.plots)
                plot = add_plot(self.view, menu=False, row=i // COLUMNS, col=i % COLUMNS)
                self.plots[node] = plot
                yield
            if node not in self.ready:
                i = list(self.plots).index(node)
                style.setup_plot(plot, "", "", small=True)
                if i // COLUMNS < (len(nodes) - 1) // COLUMNS:
                    # steps only under the last row: the same for every plot, and each
                    # axis costs a frame 2-3 ms whenever the grid is laid out
                    plot.hideAxis("bottom")
                plot.setTitle(f"{node} ({names.get(node, run.node_types[node])})",
                              size="8pt")
                plot.setDownsampling(auto=False)
                self.ready.add(node)
                yield ALONE             # the bands' items: 20-28 ms beside a run
            self.bands[node] = _Bands(plot, colors.get(node, pg.mkColor("#888")))
            yield
        if self.fraction_plot is None and (run.dead or run.saturated):
            rows = -(-max(len(self.bands), 1) // COLUMNS)
            self.fraction_plot = add_plot(self.view, row=rows, col=0, colspan=COLUMNS)
            yield                               # the plot (made ahead), then its setup
            style.setup_plot(self.fraction_plot, "fraction of outputs", "step")
            self.fraction_plot.setMinimumHeight(WIDE_ROW_PX)   # the rows share the rest
            self.fraction_range = style.SteadyRange(self.fraction_plot)
            style.legend(self.fraction_plot, (-10, -10))   # bottom right
            yield

    def redraw(self):
        run = self.run
        if run is None:
            self.set_note("Activation distributions per layer appear at the first snapshot.")
            return
        nodes = self._layers(run)
        if not self.plots:
            self.fix_grid(self.view, -(-len(nodes) // COLUMNS),
                          1 if (run.dead or run.saturated) else 0, COLUMNS)
        yield from self._ensure_plots(run, nodes)
        for node in nodes:
            self._status(run, node)
            rows = run.bands[node]
            if self._new(node, rows):
                steps = rows.steps()
                self.bands[node].set(steps, np.array([r[1] for r in rows.rows]),
                                     max(run.total_steps or 0, steps[-1]))
                yield
        if self.fraction_plot is not None:
            colors = style.node_colors(run.node_types)
            last = None                         # the latest step any curve got
            for label, table, dash in (("dead", run.dead, False),
                                       ("saturated", run.saturated, True)):
                for node, s in list(table.items()):     # (it grows between parts)
                    key = f"{node} {label}"
                    if key not in self.fractions:
                        pen = pg.mkPen(colors.get(node, pg.mkColor("#888")), width=1.5,
                                       style=pg.QtCore.Qt.DashLine if dash else
                                       pg.QtCore.Qt.SolidLine)
                        self.fractions[key] = self.fraction_plot.plot(pen=pen, name=key)
                    if self._new(key, s):
                        x, y = s.data()
                        self.fractions[key].setData(x, y)
                        last = max(last or 0.0, x[-1])
                        yield
            if last is not None:                # fractions: y is always [0, 1]
                self.fraction_range.update(max(run.total_steps or 0, last),
                                           [np.array([0.0, 1.0])])
        self.set_note("" if nodes else "Waiting for the first snapshot…")

    def _status(self, run, node: str) -> None:
        extra = []
        if node in run.dead_units and len(run.dead_units[node]):
            extra.append(f"dead units {100 * run.dead_units[node].rows[-1][1]:.0f}%")
        if node in run.saturated and run.saturated[node].last:
            extra.append(f"saturated {100 * run.saturated[node].last[1]:.0f}%")
        text = ", ".join(extra)
        bands = self.bands[node]
        if bands.status.text != text:
            bands.status.setText(text)
