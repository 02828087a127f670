"""Panel 1: loss and metrics, with earlier runs of this session overlaid for comparison.

The raw step loss is always drawn; the smoothed curve (a debiased exponential moving
average whose strength the slider sets) is drawn over it, never instead of it, so a spike
stays visible. Validation loss and accuracy come once per epoch. Earlier runs appear
faded, each named by what changed (`lr 0.1 → 0.01`).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QSlider

from . import style
from .base import Panel

SIDE_BY_SIDE = 2.5              # width/height above which the two plots sit side by side
# an epoch curve marks each epoch up to this many; beyond, a line alone reads better, and
# a hundred markers on three curves made a paint of 20 ms (a redraw of up to 19)
MARKED_EPOCHS = 30
RUN_COLORS = ("#3b6fd4", "#d9752b", "#2ca02c", "#9467bd", "#d0455b", "#17becf", "#8c564b",
              "#bcbd22")


def run_color(index: int) -> str:
    return RUN_COLORS[index % len(RUN_COLORS)]


class LossPanel(Panel):
    title = "Loss and metrics"
    kinds = frozenset({"started", "step", "epoch", "finished", "error"})

    def __init__(self, session, parent=None) -> None:
        super().__init__(session, parent)
        lay = self.layout_with_note()
        lay.addLayout(self._controls())
        self.view = self.add_graphics(lay)
        self.loss_plot = style.setup_plot(self.view.addPlot(row=0, col=0), "loss", "")
        self.metric_plot = style.setup_plot(self.view.addPlot(row=1, col=0), "accuracy", "step")
        self.metric_plot.setXLink(self.loss_plot)
        self.side_by_side: bool | None = None
        self._arrange(False)
        self.legend = style.legend(self.loss_plot, (-10, 10))
        # bottom right: accuracy curves climb to the top, the lower corner stays free
        self.metric_legend = style.legend(self.metric_plot, (-10, -10))
        self.raw = self.loss_plot.plot(name="step loss (raw)")
        self.smooth = self.loss_plot.plot(name="smoothed")
        self.val = self.loss_plot.plot(name="validation loss", symbol="o", symbolSize=6)
        self.train_metric = self.metric_plot.plot(name="training", symbol="s", symbolSize=5)
        self.val_metric = self.metric_plot.plot(name="validation", symbol="o", symbolSize=6)
        self.ghosts: dict[int, tuple] = {}       # id(run) -> its faded curves
        self._drawn: dict[int, tuple] = {}      # id(run) -> what its curves were set from
        self.loss_range = style.SteadyRange(self.loss_plot)
        self.metric_range = style.SteadyRange(self.metric_plot)
        self.metric_name = "accuracy"
        self._color_current()

    # -- layout --------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._arrange(self.width() > SIDE_BY_SIDE * self.height())

    def _arrange(self, side_by_side: bool) -> None:
        """Loss above the metric in a tall panel; side by side in a wide, short one (the
        window's bottom dock), where stacked plots would each get a sliver."""
        if side_by_side == self.side_by_side:
            return
        self.side_by_side = side_by_side
        grid = self.view.ci
        if self.metric_plot in grid.items:
            grid.removeItem(self.metric_plot)
        if side_by_side:
            grid.addItem(self.metric_plot, row=0, col=1)
            self.loss_plot.showAxis("bottom")
            self.loss_plot.setLabel("bottom", "step")
        else:
            grid.addItem(self.metric_plot, row=1, col=0)
            self.loss_plot.hideAxis("bottom")          # the metric plot below shows the steps
        for i, stretch in enumerate((3, 0 if side_by_side else 2)):
            grid.layout.setRowStretchFactor(i, stretch)
        for i, stretch in enumerate((3, 2) if side_by_side else (1, 0)):
            grid.layout.setColumnStretchFactor(i, stretch)

    # -- controls ------------------------------------------------------------------------
    def _controls(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(QLabel("smoothing"))
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, 999)
        self.slider.setValue(900)
        self.slider.setToolTip("debiased exponential moving average of the step loss; the "
                               "raw loss stays visible underneath")
        self.slider.valueChanged.connect(self._smoothing_changed)
        row.addWidget(self.slider, 1)
        self.smooth_label = QLabel("0.900")
        row.addWidget(self.smooth_label)
        self.log_box = QCheckBox("log scale")
        self.log_box.toggled.connect(self._log_toggled)
        row.addWidget(self.log_box)
        self.compare_box = QCheckBox("earlier runs")
        self.compare_box.setChecked(True)
        self.compare_box.toggled.connect(lambda _: self.refresh(force=True))
        row.addWidget(self.compare_box)
        self.clear_button = QPushButton("Clear earlier runs")
        self.clear_button.clicked.connect(self._clear_runs)
        row.addWidget(self.clear_button)
        return row

    @property
    def beta(self) -> float:
        return self.slider.value() / 1000.0

    def _smoothing_changed(self, _value: int) -> None:
        self.smooth_label.setText(f"{self.beta:.3f}")
        self.refresh(force=True)

    def _log_toggled(self, on: bool) -> None:
        self.loss_plot.setLogMode(y=on)
        self.loss_range.restart()
        self.refresh(force=True)

    def _clear_runs(self) -> None:
        self.session.runs.clear()
        self.refresh(force=True)

    # -- drawing -------------------------------------------------------------------------
    def _run_index(self, run) -> int:
        runs = list(self.session.runs)
        return runs.index(run) if run in runs else 0

    def _color_current(self) -> None:
        run = self.run
        c = pg.mkColor(run_color(self._run_index(run)) if run else RUN_COLORS[0])
        self.raw.setPen(pg.mkPen(style.faded(c, 90), width=1))
        self.smooth.setPen(pg.mkPen(c, width=2))
        self.val.setPen(pg.mkPen(c, width=1.5, style=Qt.DashLine))
        self.val.setSymbolBrush(c)
        self.val.setSymbolPen(pg.mkPen(c))
        dark = c.darker(140)
        self.train_metric.setPen(pg.mkPen(style.faded(dark, 160), width=1.5))
        self.train_metric.setSymbolBrush(style.faded(dark, 160))
        self.val_metric.setPen(pg.mkPen(c, width=2))
        self.val_metric.setSymbolBrush(c)

    def reset(self, run) -> None:
        self._color_current()
        self.loss_range.restart()
        self.metric_range.restart()
        if run is not None and run.started is None:
            self.set_note(f"{run.name}: starting…")

    def redraw(self) -> None:
        run = self.run
        self._sync_ghosts()
        if run is None:
            for curve in (self.raw, self.smooth, self.val, self.train_metric, self.val_metric):
                curve.setData([], [])
            self._drawn.clear()
            self.set_note("Press Train to see the loss fall, step by step.")
            return
        self.set_note(run.name + (f" — {run.error}" if run.error else ""))
        self.legend.setVisible(True)
        self._rename(self.legend, self.raw, "step loss (raw)")
        self._rename(self.legend, self.smooth, f"smoothed — {run.name}")
        x, y = run.loss.data()
        self.raw.setData(x, self._y(y))
        sx, sy = run.loss.smoothed(self.beta)
        self.smooth.setData(sx, self._y(sy))
        # the epoch curves get new points once an epoch (set at every redraw, pyqtgraph
        # rebuilt their symbols each time)
        if self._changed(run, "current", len(run.epochs), self.log_box.isChecked()):
            _by_epoch(self.val, "o", self._yv(run.metric("val_loss")))
            name = self._metric_for(run)
            if name != self.metric_name:
                self.metric_name = name
                self.metric_plot.setLabel("left", {"accuracy": "accuracy", "r2": "R²",
                                                   "mse": "MSE"}.get(name, name))
            _by_epoch(self.train_metric, "s", run.metric(name))
            _by_epoch(self.val_metric, "o", run.metric("val_" + name))
        self._keep_in_view(run, x)

    def _keep_in_view(self, run, steps: np.ndarray) -> None:
        """The x axis spans the whole run from its start (the curve grows across it);
        y follows the data of every curve shown."""
        ghosts = list(self.ghosts.values())
        x_max = max([run.total_steps or 0, float(steps[-1]) if len(steps) else 0.0] +
                    [float(g[1].xData[-1]) for g in ghosts if g[1].xData is not None
                     and len(g[1].xData)])
        loss = [c.yData for c in (self.raw, self.smooth, self.val)]
        loss += [c.yData for g in ghosts for c in g[1:3]]
        self.loss_range.update(x_max, loss, log=self.log_box.isChecked())
        metric = [c.yData for c in (self.train_metric, self.val_metric)]
        self.metric_range.update(None, metric + [g[3].yData for g in ghosts])

    @staticmethod
    def _metric_for(run) -> str:
        keys = set().union(*(e.keys() for e in run.epochs)) if run.epochs else set()
        for name in ("accuracy", "r2", "mse"):
            if name in keys or "val_" + name in keys:
                return name
        return "accuracy" if run.task == "classification" else "r2"

    def _y(self, y: np.ndarray) -> np.ndarray:
        return style.positive(y) if self.log_box.isChecked() else y

    def _yv(self, xy: tuple) -> tuple:
        return xy[0], self._y(xy[1])

    @staticmethod
    def _rename(legend, item, text: str) -> None:
        for sample, label in legend.items:
            if sample.item is item and label.text != text:
                label.setText(text)

    def _sync_ghosts(self) -> None:
        """Faded curves for every earlier run still kept; removed when a run is dropped."""
        earlier = [r for r in self.session.runs if r is not self.run]
        show = self.compare_box.isChecked()
        wanted = {id(r): r for r in earlier} if show else {}
        for key in [k for k in self.ghosts if k not in wanted]:
            self._drawn.pop(key, None)
            for item in self.ghosts.pop(key)[1:]:
                for plot in (self.loss_plot, self.metric_plot):
                    if item in plot.items:
                        plot.removeItem(item)
                        if plot is self.loss_plot:
                            self.legend.removeItem(item)
        for key, run in wanted.items():
            if key not in self.ghosts:
                self.ghosts[key] = self._make_ghost(run)
            _, smooth, val, metric = self.ghosts[key]
            if not self._changed(run, "earlier", self.beta, self.log_box.isChecked(),
                                 self.metric_name, len(run.loss), len(run.epochs)):
                continue            # an earlier run: set once, and when the view changes
            sx, sy = run.loss.smoothed(self.beta)
            smooth.setData(sx, self._y(sy))
            _by_epoch(val, "o", self._yv(run.metric("val_loss")))
            _by_epoch(metric, "o", run.metric("val_" + self.metric_name))

    def _changed(self, run, *source) -> bool:
        """Whether `run`'s curves were last set from another `source` (noting this one):
        curves set again from the same data cost a redraw for nothing."""
        if self._drawn.get(id(run)) == source:
            return False
        self._drawn[id(run)] = source
        return True

    def _make_ghost(self, run) -> tuple:
        c = pg.mkColor(run_color(self._run_index(run)))
        fade = style.faded(c, 110)
        smooth = self.loss_plot.plot(pen=pg.mkPen(fade, width=1.5), name=run.name)
        smooth.setZValue(-10)
        val = self.loss_plot.plot(pen=pg.mkPen(fade, width=1, style=Qt.DashLine), symbol="o",
                                  symbolSize=4, symbolBrush=fade, symbolPen=None)
        val.setZValue(-10)
        metric = self.metric_plot.plot(pen=pg.mkPen(fade, width=1.5), symbol="o", symbolSize=4,
                                       symbolBrush=fade, symbolPen=None)
        metric.setZValue(-10)
        return run, smooth, val, metric


def _by_epoch(curve, symbol: str, xy: tuple) -> None:
    """Set an epoch curve, with a marker per epoch while there are MARKED_EPOCHS or
    fewer."""
    want = symbol if len(xy[0]) <= MARKED_EPOCHS else None
    if curve.opts["symbol"] != want:
        curve.setSymbol(want)
    curve.setData(*xy)
