"""Panel 5: the decision boundary over 2-D data, redrawn live, as in TensorFlow Playground.

The background is the network's output over a grid (computed by a probe on the training
thread at every snapshot): each class's colour weighted by its probability, pale where
the network is unsure, with the 0.5 contour for two classes. Training points are filled,
validation points hollow. A 1-D regression shows its fitted curve over the points
instead, a 2-D regression its surface as a heat map.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from . import style
from .base import Panel


def class_rgb(k: int) -> np.ndarray:
    c = style.class_color(k)
    return np.array([c.red(), c.green(), c.blue()], np.float32)


def probabilities(values: np.ndarray, loss: str) -> np.ndarray:
    """(G, G, K) class probabilities from the output grid (sigmoid → two columns)."""
    if values.shape[-1] == 1 and loss == "binary_cross_entropy":
        p = values[..., :1]
        return np.concatenate([1 - p, p], axis=-1)
    return values


def boundary_rgba(values: np.ndarray, loss: str) -> np.ndarray:
    """RGBA image: the probability-weighted class colour, washed out where unsure."""
    p = np.clip(np.nan_to_num(probabilities(values, loss)), 0, 1)
    k = p.shape[-1]
    colors = np.stack([class_rgb(i) for i in range(k)])
    rgb = p @ colors
    conf = p.max(axis=-1, keepdims=True)
    certainty = (conf - 1.0 / k) / (1.0 - 1.0 / k)          # 0 at chance, 1 when sure
    pale = 255 - (255 - rgb) * (0.12 + 0.48 * certainty)
    out = np.empty(p.shape[:2] + (4,), np.uint8)
    out[..., :3] = np.clip(pale, 0, 255)
    out[..., 3] = 255
    return out


class BoundaryPanel(Panel):
    title = "Decision boundary"
    kinds = frozenset({"started", "snapshot"})

    def __init__(self, session, parent=None) -> None:
        super().__init__(session, parent)
        lay = self.layout_with_note()
        self.view = pg.PlotWidget()
        lay.addWidget(self.view, 1)
        self.plot = style.setup_plot(self.view.getPlotItem(), "x₂", "x₁")
        self.plot.showGrid(x=False, y=False)
        self.plot.setClipToView(False)
        self.plot.setDownsampling(auto=False)
        self.image = pg.ImageItem()
        self.image.setZValue(-20)
        self.plot.addItem(self.image)
        self.contour = pg.IsocurveItem(level=0.5, pen=pg.mkPen("#333333", width=1.5))
        self.contour.setParentItem(self.image)
        self.train_points = pg.ScatterPlotItem(size=6, pen=pg.mkPen("#ffffff", width=0.8))
        self.val_points = pg.ScatterPlotItem(size=7, brush=pg.mkBrush(None), symbol="o")
        self.curve = self.plot.plot(pen=pg.mkPen("#d0455b", width=2.5))
        for item in (self.train_points, self.val_points):
            self.plot.addItem(item)
        self.values: np.ndarray | None = None     # the grid drawn last (tests compare)
        self._points_run = None
        self.mode = None

    def reset(self, run) -> None:
        self.values = None
        self._points_run = None
        self.image.clear()
        self.contour.setData(None)
        self.curve.setData([], [])
        self.train_points.clear()
        self.val_points.clear()

    def redraw(self) -> None:
        run = self.run
        snap = run.snapshot if run else None
        probes = snap.probes if snap is not None else {}
        if "boundary" in probes and isinstance(probes["boundary"], dict):
            self._boundary(run, probes["boundary"], snap.step)
        elif "curve" in probes and isinstance(probes["curve"], dict):
            self._curve(run, probes["curve"], snap.step)
        elif snap is None:
            self.set_note("For 2-D data the decision boundary appears here while training.")
        elif isinstance(probes.get("boundary", probes.get("curve")), Exception):
            self.set_note("The network's outputs over the input plane could not be computed: "
                          f"{probes.get('boundary', probes.get('curve'))}")
        else:
            self.set_note("The decision boundary needs a network with 2 input features "
                          "(or a 1-D regression); this one takes "
                          f"{tuple(np.shape(snap.inputs))[1:]}.")

    def _boundary(self, run, b: dict, step: int) -> None:
        x0, x1, y0, y1 = b["extent"]
        values = b["values"]
        self.values = values
        classify = b["task"] == "classification"
        if classify:
            self.image.setImage(boundary_rgba(values, b["loss"]), autoLevels=False)
            if values.shape[-1] == 1 or (values.shape[-1] == 2):
                p = probabilities(values, b["loss"])[..., 1]
                self.contour.setData(p)
                self.contour.setLevel(0.5)
            else:
                self.contour.setData(None)
        else:
            v = values[..., 0]
            self.image.setColorMap(pg.colormap.get("viridis"))
            self.image.setImage(v, autoLevels=True)
            self.contour.setData(None)
        self.image.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        if self._points_run is not run:
            self._points_run = run
            self._draw_points(b, classify)
            self.plot.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
        self.set_note(f"step {step} · {'class probability' if classify else 'prediction'} "
                      "over the input plane; filled: training, hollow: validation")

    def _draw_points(self, b: dict, classify: bool) -> None:
        (xt, yt), (xv, yv) = b["train"], b["val"]
        if classify:
            self.train_points.setData(xt[:, 0], xt[:, 1],
                                      brush=style.class_brushes(yt))
            self.val_points.setData(xv[:, 0], xv[:, 1], brush=pg.mkBrush(None),
                                    pen=style.class_pens(yv))
        else:
            lut = pg.colormap.get("viridis")
            v = np.asarray(yt, np.float64).reshape(len(yt), -1)[:, 0]
            span = np.ptp(v) or 1.0
            self.train_points.setData(xt[:, 0], xt[:, 1], brush=[
                pg.mkBrush(lut.map((val - v.min()) / span, mode="qcolor")) for val in v])
            self.val_points.setData(xv[:, 0], xv[:, 1], brush=pg.mkBrush(None),
                                    pen=pg.mkPen("#ffffff"))

    def _curve(self, run, c: dict, step: int) -> None:
        self.image.clear()
        self.contour.setData(None)
        self.curve.setData(c["x"], c["y"])
        self.values = np.asarray(c["y"])
        if self._points_run is not run:
            self._points_run = run
            (xt, yt), (xv, yv) = c["train"], c["val"]
            self.train_points.setData(xt[:, 0], np.asarray(yt).reshape(len(yt), -1)[:, 0],
                                      brush=style.class_color(0, 170), pen=None)
            self.val_points.setData(xv[:, 0], np.asarray(yv).reshape(len(yv), -1)[:, 0],
                                    brush=pg.mkBrush(None), pen=pg.mkPen(style.class_color(1)))
            self.plot.setLabel("left", "target")
            self.plot.setLabel("bottom", "x")
        self.set_note(f"step {step} · the fitted function (red) over training (filled) and "
                      "validation (hollow) points")
