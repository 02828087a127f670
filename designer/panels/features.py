"""Panel 4: feature maps and learned filters, like the course's convolution slides.

For one validation sample of the snapshot (chosen with the spin box), every layer whose
output is an image stack (C, H, W) — convolutions, pooling — shows its C maps as a grid,
each map scaled on its own so its pattern shows; sequence layers (T, F) show their state
over time as one heat map. Conv2D filters are shown on one symmetric scale (blue
negative, red positive), one row per output channel's input slices.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSpinBox

from . import style
from .base import Panel

MAX_MAPS = 64
MAX_FILTER_IN = 8
MAPS_CMAP = "viridis"
FILTER_CMAP = "CET-D1"


class FeatureMapsPanel(Panel):
    title = "Feature maps"
    kinds = frozenset({"started", "snapshot"})

    def __init__(self, session, parent=None) -> None:
        super().__init__(session, parent)
        lay = self.layout_with_note()
        row = QHBoxLayout()
        row.addWidget(QLabel("validation sample"))
        self.sample = QSpinBox()
        self.sample.setRange(0, 0)
        self.sample.valueChanged.connect(lambda _: self.refresh(force=True))
        row.addWidget(self.sample)
        self.show_filters = QCheckBox("learned filters")
        self.show_filters.setChecked(True)
        self.show_filters.toggled.connect(lambda _: self._rebuild())
        row.addWidget(self.show_filters)
        self.caption = QLabel()
        row.addWidget(self.caption, 1)
        lay.addLayout(row)
        self.view = self.add_graphics(lay)
        self.images: dict[str, pg.ImageItem] = {}
        self._layout_key: tuple | None = None

    def reset(self, run) -> None:
        self.view.clear()
        self.images = {}
        self._layout_key = None

    def _rebuild(self) -> None:
        self.reset(self.run)
        self.refresh(force=True)

    @staticmethod
    def entries(snapshot, types: dict[str, str], filters: bool) -> list[tuple[str, str, str]]:
        """(key, title, kind) of every image this snapshot gives, in graph order."""
        out = []
        inputs = snapshot.inputs
        if isinstance(inputs, np.ndarray) and inputs.ndim in (3, 4):
            out.append(("input", "input", "input"))
        for node, act in snapshot.activations.items():
            t = types.get(node, "")
            if t in ("Input",):
                continue
            if act.ndim == 4:
                out.append((node, f"{node} ({t}) · {act.shape[1]} maps "
                                  f"{act.shape[2]}×{act.shape[3]}", "maps"))
            elif act.ndim == 3 and t not in ("Output",):
                out.append((node, f"{node} ({t}) · state over {act.shape[1]} steps", "sequence"))
            if filters and t == "Conv2D" and "W" in snapshot.weights.get(node, {}):
                w = snapshot.weights[node]["W"]
                out.append((node + "/W", f"{node} filters {w.shape[0]}×{w.shape[1]}"
                                         f"@{w.shape[2]}×{w.shape[3]}", "filters"))
        return out

    def redraw(self):
        run = self.run
        snap = run.snapshot if run else None
        if snap is None:
            self.set_note("Feature maps of convolution and pooling layers appear at the "
                          "first snapshot.")
            return
        entries = self.entries(snap, run.node_types, self.show_filters.isChecked())
        if not entries:
            self.set_note("This network has no convolution, pooling or sequence layers: "
                          "nothing to show as maps.")
            return
        self.set_note("")
        batch = len(snap.inputs) if isinstance(snap.inputs, np.ndarray) else 1
        self.sample.setRange(0, max(batch - 1, 0))
        i = min(self.sample.value(), batch - 1)
        key = tuple(e[0] for e in entries)
        if key != self._layout_key:
            self._layout_key = None             # until every plot is made
            yield from self._build(entries)
            self._layout_key = key
        label = ""
        if isinstance(snap.targets, np.ndarray) and snap.targets.ndim == 1 and \
                snap.targets.dtype.kind in "iu":
            label = f"label {int(snap.targets[i])}"
        self.caption.setText(f"step {snap.step} · sample {i} {label}")
        for k, _, kind in entries:
            self.images[k].setImage(self.image(snap, k, kind, i), autoLevels=False,
                                    levels=(0.0, 1.0))
            yield

    def _build(self, entries):
        """One small titled image per entry: maps on the left, a conv layer's filters on
        its right, so each layer reads as one row. A title over a view box, not a plot
        (whose axes, hidden here, made it 2-3x dearer); one image per part."""
        self.view.clear()
        self.images = {}
        row = -1
        for k, title, kind in entries:
            yield
            if kind != "filters":
                row += 1
            col = 1 if kind == "filters" else 0
            self.view.addLabel(title, row=2 * row, col=col, size="8pt")
            cmap = {"filters": FILTER_CMAP, "input": None}.get(kind, MAPS_CMAP)
            self.images[k] = style.image_box(self.view, 2 * row + 1, col, cmap)[1]

    @staticmethod
    def image(snap, key: str, kind: str, i: int) -> np.ndarray:
        """The 2-D array (values in [0, 1], NaN gaps) drawn for one entry."""
        if kind == "input":
            x = snap.inputs[i]
            x = x.reshape((1,) + x.shape) if x.ndim == 2 else x
            return style.mosaic(x, normalize="each")
        if kind == "filters":
            w = snap.weights[key[:-2]]["W"]
            w = w[:MAX_MAPS, :MAX_FILTER_IN]
            o, c, kh, kw = w.shape
            if c == 1:
                return style.mosaic(w[:, 0], cols=_cols(o), normalize="all")
            # one column per output filter, its input slices down the column
            return style.mosaic(np.swapaxes(w, 0, 1).reshape(c * o, kh, kw), cols=o,
                                normalize="all")
        a = snap.activations[key][i]
        if kind == "sequence":
            a = a.T[None]                        # (1, F, T): features down, time across
            return style.mosaic(a, normalize="each")
        a = a[:MAX_MAPS]
        return style.mosaic(a, cols=_cols(len(a)), normalize="each")


def _cols(k: int) -> int:
    """Maps per mosaic row: one row up to 8, then rows of at most 16."""
    return k if k <= 8 else min(16, -(-k // 2))
