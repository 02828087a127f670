"""Panel 6: what the network gets wrong on validation data.

Classification: the confusion matrix (rows: true class, columns: predicted; counts in the
cells) and a gallery of misclassified samples with true → predicted labels. Regression:
predicted against true values around the diagonal; sequences: a few examples over time.
Computed by a probe on the training thread at every snapshot.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QTableWidget, QTableWidgetItem

from . import style
from .base import Panel

GALLERY_COLS = 6
GALLERY = 24
MAX_TEXT_CLASSES = 12
SEQUENCES = 4             # sequence examples drawn, each in its own colour


class PredictionsPanel(Panel):
    title = "Predictions"
    fps = 4                     # a confusion matrix and a gallery (see Panel.fps)
    parts_per_frame = 2         # its parts are quick to set and slow to paint
    kinds = frozenset({"started", "snapshot"})

    def __init__(self, session, parent=None) -> None:
        super().__init__(session, parent)
        lay = self.layout_with_note()
        self.split = QSplitter(Qt.Horizontal)
        self.main = pg.GraphicsLayoutWidget()
        # the confusion matrix's or the scatter's plot, made once with the panel and set
        # up for each kind of result: making a plot takes 20-30 ms, too long for one of
        # the frames of a run
        self.plot = self.main.addPlot()
        # views that move only when the data leaves them: pyqtgraph's auto-range fitted
        # them again at each repaint, which asked for another repaint (six paints of
        # this panel in one 60-90 ms turn of the event loop)
        self.main_range = style.SteadyRange(self.plot)
        self.gallery = pg.GraphicsLayoutWidget()
        # the sequence examples' plot, likewise made once: put in the gallery for
        # sequences (making it took 17-24 ms of a run's first snapshot)
        self.sequence_plot = style.setup_plot(pg.PlotItem(), "value", "time step")
        style.legend(self.sequence_plot, (-10, 10))
        self.examples_range = style.SteadyRange(self.sequence_plot)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["sample", "input", "true", "predicted"])
        self.table.hide()
        for w in (self.main, self.gallery, self.table):
            self.split.addWidget(w)
        lay.addWidget(self.split, 1)
        self.result: dict | None = None       # the probe result drawn last
        self._mode = None
        self.cm_image: pg.ImageItem | None = None
        self.cm_texts: list[pg.TextItem] = []
        self.slots: list[tuple] = []          # the gallery's (viewbox, image, label)

    def reset(self, run) -> None:
        self._mode = None
        self.result = None
        self._clear_plot()
        self.gallery.clear()
        self.slots = []

    def redraw(self):
        run = self.run
        snap = run.snapshot if run else None
        res = snap.probes.get("predictions") if snap is not None else None
        if isinstance(res, Exception):          # a bug of ours, shown rather than hidden
            self.set_note(f"The predictions could not be computed: {res}")
            return
        if not isinstance(res, dict):
            self.set_note("Predictions on validation samples appear at the first snapshot.")
            return
        self.result = res
        if res["kind"] == "classification":
            yield from self._classification(run, res, snap.step)
        else:
            yield from self._regression(res, snap.step)

    # -- classification ------------------------------------------------------------------
    def _classification(self, run, res: dict, step: int):
        cm = res["confusion"]
        k = cm.shape[0]
        if self._mode != ("cls", k):
            self._mode = None                   # until every item is made
            yield from self._build_confusion(k, run)
            self._mode = ("cls", k)
        rows = cm.sum(axis=1, keepdims=True)
        frac = np.where(rows > 0, cm / np.maximum(rows, 1), 0.0)
        self.cm_image.setImage(frac.astype(np.float32), autoLevels=False, levels=(0, 1))
        for (i, j), t in zip(np.ndindex(k, k), self.cm_texts):
            if j == 0:
                yield                           # a row of counts per part
            _set_text(t, str(int(cm[i, j])), "#ffffff" if frac[i, j] > 0.5 else "#222222")
        self.set_note(f"step {step} · validation accuracy {100 * res['accuracy']:.1f}% · "
                      f"{len(res['wrong_index'])} misclassified shown · rows: true class, "
                      "columns: predicted")
        yield
        yield from self._gallery(run, res)

    def _build_confusion(self, k: int, run):
        """The matrix and its count labels, a row of labels per part."""
        plot = self._clear_plot()
        plot.showGrid(x=False, y=False)
        plot.setLabel("left", "true class")
        plot.setLabel("bottom", "predicted class")
        plot.invertY(True)
        plot.setAspectLocked(True)
        plot.setMouseEnabled(False, False)
        self.cm_image = pg.ImageItem()
        self.cm_image.setColorMap(pg.colormap.get("CET-L12"))
        plot.addItem(self.cm_image)
        names = self._names(run, k)
        ticks = [(i + 0.5, names[i]) for i in range(k)]
        plot.getAxis("bottom").setTicks([ticks])
        plot.getAxis("left").setTicks([ticks])
        # a fixed view: auto-range measured every count label at every paint, and moved
        # them all when their texts changed
        view = plot.getViewBox()
        view.disableAutoRange()
        view.setRange(xRange=(0, k), yRange=(0, k), padding=0)
        view.updateMatrix()
        self.cm_texts = []
        if k <= MAX_TEXT_CLASSES:
            for i, j in np.ndindex(k, k):
                if j == 0:
                    yield
                t = pg.TextItem("", anchor=(0.5, 0.5))
                t.setPos(j + 0.5, i + 0.5)
                plot.addItem(t, ignoreBounds=True)
                self.cm_texts.append(t)

    def _clear_plot(self) -> pg.PlotItem:
        """The main plot, emptied of the last kind's items."""
        self.plot.clear()
        self.cm_image, self.cm_texts = None, []
        return self.plot

    def _names(self, run, k: int) -> list[str]:
        """Short tick labels: the dataset's class names where short, else indices."""
        names = (self.result or {}).get("class_names") or []
        return [str(names[i]) if i < len(names) and len(str(names[i])) <= 6 else str(i)
                for i in range(k)]

    def _gallery(self, run, res: dict):
        x = res["wrong_x"]
        if x.ndim == 4:
            yield from self._image_gallery(res)
        else:
            self._table_gallery(res)

    def _image_gallery(self, res: dict):
        """Up to GALLERY images, their items created once (a row per part) and then only
        updated."""
        x = res["wrong_x"]
        self.table.hide()
        self.gallery.show()
        if len(self.slots) < GALLERY:
            for n in range(len(self.slots), GALLERY):
                yield                           # a box and its label per part
                r, c = 2 * (n // GALLERY_COLS), n % GALLERY_COLS
                vb, item = style.image_box(self.gallery, r, c)
                label = self.gallery.addLabel("", row=r + 1, col=c, size="7pt")
                self.slots.append((vb, item, label))
        names = self._names(None, res["confusion"].shape[0])
        for n, (vb, item, label) in enumerate(self.slots):
            if n % GALLERY_COLS == 0:
                yield
            if n < len(x):
                img = x[n]
                item.setImage(img[0] if img.shape[0] == 1 else np.moveaxis(img[:3], 0, -1))
                t, p = int(res["wrong_true"][n]), int(res["wrong_pred"][n])
                _set_label(label, f"{names[t]}→{names[p]} "
                                  f"({100 * float(res['wrong_conf'][n]):.0f}%)")
            else:
                item.clear()
                _set_label(label, "")

    def _table_gallery(self, res: dict) -> None:
        x = res["wrong_x"]
        self.gallery.hide()
        self.table.show()
        self.table.setRowCount(len(res["wrong_index"]))
        for r, idx in enumerate(res["wrong_index"]):
            flat = np.asarray(x[r]).ravel()
            text = ", ".join(f"{v:.2f}" if isinstance(v, (float, np.floating)) else str(v)
                             for v in flat[:6]) + (" …" if flat.size > 6 else "")
            for c, v in enumerate((str(int(idx)), text, str(res["wrong_true"][r]),
                                   f"{res['wrong_pred'][r]} "
                                   f"({100 * float(res['wrong_conf'][r]):.0f}%)")):
                self.table.setItem(r, c, QTableWidgetItem(v))
        self.table.resizeColumnsToContents()

    # -- regression ------------------------------------------------------------------------
    def _regression(self, res: dict, step: int):
        seq = "examples" in res
        to_one = seq and np.asarray(res["examples"]["true"]).ndim < 3 and \
            np.asarray(res["examples"]["pred"]).ndim < 3
        if self._mode != ("reg", seq, to_one):
            self._mode = None                   # until every item is made
            p = self._clear_plot()
            self.gallery.clear()
            self.slots = []
            self.table.hide()
            style.setup_plot(p, "predicted", "true")
            for side in ("left", "bottom"):     # a confusion matrix set class names
                p.getAxis(side).setTicks(None)
            p.invertY(False)
            p.setMouseEnabled(True, True)
            p.setAspectLocked(True)
            self.diag = p.plot(pen=pg.mkPen("#888888", width=1, style=Qt.DashLine))
            self.scatter = pg.ScatterPlotItem(size=4, pen=None,
                                              brush=style.class_color(0, 140))
            p.addItem(self.scatter)
            self.main_range.restart()
            self.examples = []
            if seq:
                yield
                self.gallery.show()
                q = self.sequence_plot
                q.clear()                       # the curves of an earlier run
                self.gallery.addItem(q)
                self.examples_range.restart()
                names = ("input, then the target", "prediction") if to_one else \
                    ("true", "predicted")
                for i in range(SEQUENCES):      # then the curves, a pair per part (all
                    yield                       # eight with the legend: 35 ms)
                    self.examples.append(
                        (q.plot(pen=pg.mkPen(style.class_color(i), width=1.5),
                                name=names[0] if i == 0 else None),
                         None if to_one else
                         q.plot(pen=pg.mkPen(style.class_color(i), width=1.5,
                                             style=Qt.DashLine),
                                name=names[1] if i == 0 else None)))
                if to_one:      # the guesses: one item (an item each cost 1 ms a frame)
                    self.guesses = pg.ScatterPlotItem(symbol="x", size=10, name=names[1])
                    q.addItem(self.guesses)
                    self._guess_pens = [pg.mkPen(style.class_color(i), width=2)
                                        for i in range(SEQUENCES)]
                    self._guess_brushes = [pg.mkBrush(style.class_color(i))
                                           for i in range(SEQUENCES)]
            else:
                self.gallery.hide()
            self._mode = ("reg", seq, to_one)
            yield
        t, p = res["true"], res["pred"]
        self.scatter.setData(t, p)
        finite = np.isfinite(t)
        lo, hi = (float(np.min(t[finite])), float(np.max(t[finite]))) if finite.any() else (0, 1)
        self.diag.setData([lo, hi], [lo, hi])
        self.main_range.update(None, [t, p], xs=[t, p])
        if seq:
            yield
            ex = res["examples"]
            guessed: list[tuple[int, float]] = []
            for i, (true_c, pred_c) in enumerate(self.examples):
                if i < len(ex["true"]):
                    tt = np.asarray(ex["true"][i])
                    pp = np.asarray(ex["pred"][i])
                    if pred_c is not None:    # many-to-many: the first output over time
                        true_c.setData(tt.reshape(len(tt), -1)[:, 0])
                        pred_c.setData(pp.reshape(len(pp), -1)[:, 0])
                    else:                     # many-to-one: the input, then target and guess
                        xs = np.asarray(ex["x"][i]).reshape(len(ex["x"][i]), -1)[:, 0]
                        true_c.setData(np.append(xs, tt.ravel()[:1]))
                        guessed.append((len(xs), float(pp.ravel()[0])))
            drawn = [c.getData() for pair in self.examples for c in pair if c is not None]
            if to_one:          # each guess a cross in its example's colour
                n = len(guessed)
                self.guesses.setData([g[0] for g in guessed], [g[1] for g in guessed],
                                     pen=self._guess_pens[:n], brush=self._guess_brushes[:n])
                drawn.append(self.guesses.getData())
            self.examples_range.update(None, [y for _, y in drawn if y is not None],
                                       xs=[x for x, _ in drawn if x is not None])
        with np.errstate(over="ignore", invalid="ignore"):
            diff = t.astype(np.float64) - p
            mse = float(np.mean(diff * diff)) if t.size else float("nan")
        self.set_note(f"step {step} · {t.size} validation values · mean squared error "
                      f"{mse:.4g}; on the dashed diagonal a prediction is exact")


def _set_text(item: pg.TextItem, text: str, color: str) -> None:
    """Only a change costs: a text item re-lays out its HTML on every set."""
    if getattr(item, "shown", None) != (text, color):
        item.shown = (text, color)
        item.setText(text)
        item.setColor(color)


def _set_label(label: pg.LabelItem, text: str) -> None:
    """Only a change costs: a new text resizes the label and lays the gallery out again."""
    if label.text != text:
        label.setText(text, size="7pt")
