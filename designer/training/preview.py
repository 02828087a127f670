"""A look at the chosen dataset before training: points, images or sequences.

Loading runs on a background thread (an image folder or a large CSV may take a while);
only the newest request's result is shown, so quick edits never queue up stale work.
"""
from __future__ import annotations

import threading

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from compute.data import load_dataset
from compute.errors import NetwrightError

from ..panels import style

MAX_POINTS = 600
GRID_IMAGES = 36
SEQUENCES = 4


class _Loader(QObject):
    """Loads on a thread that never calls into Qt; a GUI-side timer picks the result up
    (as the training worker does with its events)."""

    loaded = Signal(int, object, str)      # request id, dataset or None, error text

    def __init__(self) -> None:
        super().__init__()
        self.latest = 0
        self._lock = threading.Lock()
        self._results: list[tuple] = []
        self._pending = 0
        self._poll = QTimer(self)
        self._poll.setInterval(30)
        self._poll.timeout.connect(self._deliver)

    def request(self, data: dict, base_dir, seed: int) -> int:
        self.latest += 1
        token = self.latest
        self._pending += 1
        self._poll.start()
        threading.Thread(target=self._load, args=(token, data, base_dir, seed),
                         daemon=True, name="netwright-preview").start()
        return token

    def _load(self, token: int, data: dict, base_dir, seed: int) -> None:
        try:
            result = (token, load_dataset(data, base_dir, seed), "")
        except NetwrightError as exc:
            result = (token, None, str(exc))
        except Exception as exc:          # shown in the dock, never only on stderr
            result = (token, None, f"{type(exc).__name__}: {exc}")
        with self._lock:
            self._results.append(result)

    def _deliver(self) -> None:
        with self._lock:
            results, self._results = self._results, []
        self._pending -= len(results)
        if self._pending <= 0:
            self._pending = 0
            self._poll.stop()
        for token, ds, error in results:
            self.loaded.emit(token, ds, error)


class DatasetPreview(QWidget):
    """Scatter for 2-D data, a curve for 1-D regression, image grids, a few sequences."""

    shown = Signal(object)                 # the dataset now displayed (or None)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        style.configure_pyqtgraph()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.caption = QLabel("No dataset chosen")
        self.caption.setWordWrap(True)
        self.view = pg.GraphicsLayoutWidget()
        self.view.setMinimumHeight(170)
        self.view.setMaximumHeight(260)
        lay.addWidget(self.caption)
        lay.addWidget(self.view, 1)
        self.dataset = None
        self._loader = _Loader()
        self._loader.loaded.connect(self._on_loaded)

    def load(self, data: dict, base_dir, seed: int) -> None:
        if not data.get("dataset"):
            self._loader.latest += 1          # a load still running is no longer wanted
            self.dataset = None
            self.view.clear()
            self.caption.setText("No dataset chosen")
            self.shown.emit(None)
            return
        self.caption.setText("Loading…")
        self._loader.request(data, base_dir, seed)

    def _on_loaded(self, token: int, ds, error: str) -> None:
        if token != self._loader.latest:
            return
        self.dataset = ds
        self.view.clear()
        if ds is None:
            self.caption.setText(f"Cannot load: {error}")
            self.shown.emit(None)
            return
        self.caption.setText(f"{ds.description} — {len(ds.x_train)} training, "
                             f"{len(ds.x_val)} validation samples")
        self.draw(ds)
        self.shown.emit(ds)

    def draw(self, ds) -> None:
        shape, x, y = tuple(ds.input_shape), ds.x_train, ds.y_train
        if ds.input_dtype == "int":
            self._tokens(ds)
        elif shape == (2,):
            self._scatter(x[:MAX_POINTS], y[:MAX_POINTS], ds.task)
        elif shape == (1,) and ds.task == "regression":
            p = self.view.addPlot()
            style.setup_plot(p, "target", "x")
            n = min(len(x), MAX_POINTS)
            p.plot(x[:n, 0], np.asarray(y)[:n].reshape(n, -1)[:, 0], pen=None, symbol="o",
                   symbolSize=4, symbolBrush=style.class_color(0, 160))
        elif len(shape) == 3:
            self._images(x[:GRID_IMAGES], y[:GRID_IMAGES], ds)
        elif len(shape) == 2:
            self._sequences(x[:SEQUENCES], y[:SEQUENCES])
        else:
            p = self.view.addPlot()
            style.setup_plot(p, "value", "feature")
            for i in range(min(len(x), SEQUENCES)):
                p.plot(x[i].ravel(), pen=style.class_color(i))

    def _scatter(self, x: np.ndarray, y: np.ndarray, task: str) -> None:
        p = self.view.addPlot()
        style.setup_plot(p, "x₂", "x₁")
        p.setAspectLocked(True)
        if task == "classification":
            brushes = style.class_brushes(y, 200)
        else:
            v = np.asarray(y, np.float64).reshape(len(y), -1)[:, 0]
            lut = pg.colormap.get("viridis").getLookupTable(nPts=256)
            idx = ((v - v.min()) / (np.ptp(v) or 1.0) * 255).astype(int)
            brushes = [pg.mkBrush(*lut[i]) for i in idx]
        p.addItem(pg.ScatterPlotItem(x[:, 0], x[:, 1], size=5, pen=None, brush=brushes))

    def _images(self, x: np.ndarray, y: np.ndarray, ds) -> None:
        """The first images as one mosaic (one item: cheap to build), labels below."""
        _, item = style.image_box(self.view)
        cols = 12
        if x.shape[1] == 1:
            item.setImage(style.mosaic(x[:, 0], cols=cols, normalize="each"))
        else:                      # colour: one mosaic per channel, stacked as RGB
            rgb = np.stack([style.mosaic(x[:, c], cols=cols, normalize="each")
                            for c in range(min(3, x.shape[1]))], axis=-1)
            item.setImage(np.nan_to_num(rgb, nan=1.0), levels=[0, 1])
        if ds.class_names and ds.task == "classification" and np.ndim(y[0]) == 0:
            names = [str(ds.class_names[int(k)]) for k in y]
            self.caption.setText(self.caption.text() + "\nlabels: " + " ".join(names))

    def _sequences(self, x: np.ndarray, y: np.ndarray) -> None:
        p = self.view.addPlot()
        style.setup_plot(p, "value", "time step")
        for i, seq in enumerate(x):
            p.plot(seq[:, 0], pen=pg.mkPen(style.class_color(i), width=1.5))

    def _tokens(self, ds) -> None:
        p = self.view.addPlot()
        style.setup_plot(p, "token id", "position")
        for i, seq in enumerate(ds.x_train[:SEQUENCES]):
            seq = seq.reshape(len(seq), -1)[:, 0]
            p.plot(seq, pen=pg.mkPen(style.class_color(i), width=1), symbol="o", symbolSize=3,
                   symbolBrush=style.class_color(i))
