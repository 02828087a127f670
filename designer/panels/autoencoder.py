"""Panel 7b: what an autoencoder makes of its input, and where it puts it.

Top: the snapshot's inputs beside their reconstructions (and the clean targets when the
inputs are noisy: a denoising autoencoder). Bottom: the bottleneck's codes for validation
samples, projected to 2-D with PCA when wider, coloured by class.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from . import style
from .base import Panel

SHOWN = 8


class AutoencoderPanel(Panel):
    title = "Autoencoder"
    kinds = frozenset({"started", "snapshot"})
    # a row of images per frame: set at once, three rows' images were rendered in one
    # 25-60 ms paint (frames of 60-80 ms); a row paints in about 10 ms
    parts_per_frame = 1

    def __init__(self, session, parent=None) -> None:
        super().__init__(session, parent)
        lay = self.layout_with_note()
        self.view = self.add_graphics(lay)
        self.latent = self.add_graphics(lay)
        self.latent_plot = style.setup_plot(self.latent.addPlot(), "component 2", "component 1")
        self.latent_plot.setDownsampling(auto=False)
        self.latent_plot.setClipToView(False)
        self.scatter = pg.ScatterPlotItem(size=5, pen=None)
        self.latent_plot.addItem(self.scatter)
        self.images: list[pg.ImageItem] = []
        self.lines: list[tuple] = []
        self._key = None
        self.codes: np.ndarray | None = None

    def reset(self, run) -> None:
        self.view.clear()
        self.images, self.lines, self._key = [], [], None
        self.scatter.clear()

    @staticmethod
    def is_autoencoder(run) -> bool:
        return run is not None and (run.settings.get("data") or {}).get("target") == "input"

    def redraw(self):
        run = self.run
        if not self.is_autoencoder(run):
            self.set_note("For autoencoders (data target: input): reconstructions beside "
                          "their inputs, and the latent space.")
            return
        snap = run.snapshot
        if snap is None:
            self.set_note("Waiting for the first snapshot…")
            return
        out = snap.activations.get(run.output_node)
        if out is not None and isinstance(snap.inputs, np.ndarray):
            yield from self._reconstructions(
                snap.inputs[:SHOWN], out[:SHOWN],
                snap.targets[:SHOWN] if isinstance(snap.targets, np.ndarray) else None)
        lat = snap.probes.get("latent")
        if isinstance(lat, dict):
            yield
            self._latent(lat)
        self.set_note(f"step {snap.step} · rows: input, reconstruction"
                      + (", clean target" if self._noisy(snap) else "")
                      + (f" · the latent space could not be computed: {lat}"
                         if isinstance(lat, Exception) else ""))

    @staticmethod
    def _noisy(snap) -> bool:
        return isinstance(snap.targets, np.ndarray) and snap.targets.shape == snap.inputs.shape \
            and not np.array_equal(snap.targets, snap.inputs)

    def _reconstructions(self, x: np.ndarray, y: np.ndarray, t: np.ndarray | None):
        """Inputs over their reconstructions; one image box made per part (a row of
        eight at once was a 35 ms part), one row of images set per part."""
        rows = [x, y.reshape(x.shape) if y.size == x.size else y]
        if t is not None and t.shape == x.shape and not np.array_equal(t, x):
            rows.append(t)
        images = x.ndim == 4
        key = (images, len(rows), len(x))
        if key != self._key:
            self._key = None                    # until every item is made
            self.view.clear()
            self.images, self.lines = [], []
            for r in range(len(rows)):
                for i in range(len(x)):
                    if images:
                        yield
                        self.images.append(style.image_box(self.view, r, i)[1])
            if not images:
                p = self.view.addPlot()
                style.setup_plot(p, "value", "feature")
                self.lines = [(p.plot(pen=pg.mkPen(style.class_color(i), width=1.5)),
                               p.plot(pen=pg.mkPen(style.class_color(i), width=1.5,
                                                   style=pg.QtCore.Qt.DashLine)))
                              for i in range(min(len(x), 3))]
            self._key = key
        if images:
            lo, hi = float(np.nanmin(x)), float(np.nanmax(x))
            for r, arr in enumerate(rows):
                if r:
                    yield
                for i in range(len(x)):
                    img = arr[i]
                    img = img[0] if img.shape[0] == 1 else np.moveaxis(img[:3], 0, -1)
                    self.images[r * len(x) + i].setImage(img, autoLevels=False,
                                                         levels=(lo, hi if hi > lo else lo + 1))
        else:
            for i, (a, b) in enumerate(self.lines):
                a.setData(x[i].ravel())
                b.setData(rows[1][i].ravel())

    def _latent(self, lat: dict) -> None:
        xy, labels = lat["xy"], lat["labels"]
        self.codes = xy
        if labels is not None:
            brushes = style.class_brushes(labels, 200)
        else:
            brushes = pg.mkBrush(style.class_color(0, 200))
        self.scatter.setData(xy[:, 0], xy[:, 1], brush=brushes)
        ev = lat.get("explained") or []
        how = ("PCA of " if lat["dims"] > 2 else "") + f"{lat['dims']}-D codes of " \
              f"\"{lat['node']}\""
        if lat["dims"] > 2 and len(ev) == 2:
            how += f" ({100 * (ev[0] + ev[1]):.0f}% of the variance)"
        if self.latent_plot.titleLabel.text != how:      # a new title lays the plot out
            self.latent_plot.setTitle(how, size="8pt")
