"""Colours and plot set-up shared by the panels: node colours match the canvas.

Each layer's curve takes its family's colour from the theme (the colour of its node header
on the canvas); several layers of one family get lighter and darker shades of it, in graph
order, so curves stay tellable apart and still say "this is a convolution".
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsItem

from compute.layers import layer_class

from .. import theme

CLASS_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                "#7f7f7f", "#bcbd22", "#17becf")
SHADES = (100, 135, 75, 165, 60, 190)     # QColor.lighter/darker factors, in turn


def family_of(layer_type: str) -> str:
    try:
        return layer_class(layer_type).family
    except ValueError:
        return ""


def node_colors(node_types: dict[str, str]) -> dict[str, QColor]:
    """A colour per node: its family's, shaded by its rank within the family."""
    th = theme.current()
    rank: dict[str, int] = {}
    out = {}
    for node, typ in node_types.items():
        fam = family_of(typ)
        i = rank.get(fam, 0)
        rank[fam] = i + 1
        base = th.family_color(fam)
        f = SHADES[i % len(SHADES)]
        out[node] = base.lighter(f) if i % 2 == 0 else base.darker(int(10000 / f))
    return out


def class_color(k: int, alpha: int = 255) -> QColor:
    c = QColor(CLASS_COLORS[k % len(CLASS_COLORS)])
    c.setAlpha(alpha)
    return c


def class_brushes(labels, alpha: int = 255) -> list:
    """One brush per point, shared by the points of a class: pyqtgraph renders a scatter
    symbol once per distinct brush object (600 points with a brush each: 40-50 ms)."""
    return _per_class(labels, lambda k: pg.mkBrush(class_color(k, alpha)))


def class_pens(labels, width: float = 1.5) -> list:
    """One pen per point, shared by the points of a class (see `class_brushes`)."""
    return _per_class(labels, lambda k: pg.mkPen(class_color(k), width=width))


def _per_class(labels, make) -> list:
    made: dict[int, object] = {}
    out = []
    for v in labels:
        k = int(v)
        if k not in made:
            made[k] = make(k)
        out.append(made[k])
    return out


def faded(c: QColor, alpha: int = 90) -> QColor:
    out = QColor(c)
    out.setAlpha(alpha)
    return out


def configure_pyqtgraph() -> None:
    """Background and foreground from the theme; images row-major like NumPy."""
    th = theme.current()
    pg.setConfigOptions(background=th.base, foreground=th.text, imageAxisOrder="row-major",
                        antialias=False)


class ValueAxis(pg.AxisItem):
    """The left axis of every plot. On a log scale it marks decades, and also 2× and 5×
    them where the view spans under two decades, instead of pyqtgraph's every 2-9×: those
    crowded their labels ("0.006 0.005 0.004"), and across eight decades of gradient
    norms their 70 grid lines were most of a repaint (10-15 ms of a 25 ms one)."""

    def logTickValues(self, minVal, maxVal, size, stdTicks):
        levels = super().logTickValues(minVal, maxVal, size, stdTicks)
        decades = [level for level in levels if level[0] is not None]
        if decades and maxVal - minVal >= 2.0:
            return decades
        steps = [v for spacing, values in levels if spacing is None for v in values
                 if _is_one_two_five(v)]
        return decades + ([(None, steps)] if steps else [])


def _is_one_two_five(log_value: float) -> bool:
    multiple = 10.0 ** (log_value % 1.0)
    return any(abs(multiple - m) < 1e-6 * m for m in (1.0, 2.0, 5.0, 10.0))


SMALL_AXIS_WIDTH = 44        # pixels: "-0.25", "1e+03" and "0.001" fit at 8 pt


def setup_plot(plot: pg.PlotItem, left: str = "", bottom: str = "step",
               log_y: bool = False, small: bool = False) -> pg.PlotItem:
    """Labels, a light grid, and the settings that keep long runs cheap to draw. A
    `small` plot (one of a panel's grid) gets a left axis of fixed width: an axis fits its
    width to its tick labels, and in a grid one new label width laid out every plot
    again, so every axis was drawn anew at every snapshot (half of a 60-100 ms frame)."""
    # horizontal grid lines at the major ticks only: grid lines are drawn across the whole
    # plot on every repaint, and with the minor ticks' lines too they cost more than the
    # curves (measured on a wide loss panel: 70 ms per frame, 18 ms without them)
    if not isinstance(plot.getAxis("left"), ValueAxis):    # a plot set up again keeps it
        plot.setAxisItems({"left": ValueAxis("left")})
    plot.showGrid(x=False, y=True, alpha=0.12)
    if left:
        plot.setLabel("left", left)
    if bottom:
        plot.setLabel("bottom", bottom)
    plot.setLogMode(y=log_y)
    for axis in ("left", "bottom", "top", "right"):
        # "loss (x0.001)" helps no one; and with it on, every axis, hidden ones too, set
        # its label's HTML again at each change of the view's range (0.3-4 ms each)
        plot.getAxis(axis).enableAutoSIPrefix(False)
    for axis in ("left", "bottom"):
        item = plot.getAxis(axis)
        item.setStyle(maxTickLevel=0)
        # drawn from a pixmap until its ticks change: replaying an axis's text took about
        # 1 ms per axis at every repaint (measured: the dozen small plots' axes were half
        # of a 35 ms weights-panel frame)
        item.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
    if small:
        plot.getAxis("left").setWidth(SMALL_AXIS_WIDTH)
    plot.setClipToView(True)
    plot.setDownsampling(auto=True, mode="peak")
    return plot


class SteadyRange:
    """Keeps a plot's view on its data as auto-range does, but moves it only when the data
    leaves it or fills less than half of it, and never per frame.

    pyqtgraph's auto-range recomputes the data bounds and rebuilds both axes on every
    repaint of a growing curve: on a wide loss panel that was half of each 20 ms frame.
    The user stays in charge: a zoom or pan (the view's manual-range signal) stops the
    following, pyqtgraph's "A" button (auto-range) starts it again.
    """

    def __init__(self, plot: pg.PlotItem) -> None:
        self.view = plot.getViewBox()
        self.follow = True
        self.stale = True                 # the next update fits the data exactly
        self.view.sigRangeChangedManually.connect(self._manual)

    def _manual(self, *_args) -> None:
        self.follow = False

    def restart(self) -> None:
        """Fit the data exactly at the next update, and follow it again: a new run, a new
        kind of data, or a new scale (a range zoomed on the last one means nothing now)."""
        self.follow = self.stale = True

    def update(self, x_max: float | None, ys: list, log: bool = False,
               xs: list | None = None) -> bool:
        """Fit x to [0, x_max] (None: leave x, e.g. linked to another plot), or with `xs`
        to their values as y, and y to the finite values of `ys` (log10 of the positive
        ones on a log axis); True if moved."""
        view = self.view
        if any(view.autoRangeEnabled()):          # the start, or the "A" button
            view.disableAutoRange()
            self.follow, self.stale = True, True
        if not self.follow:
            return False
        y = _extent(ys, log)
        if y is None:
            return False
        (x0, x1), (y0, y1) = view.viewRange()
        x = _extent(xs, False) if xs is not None else None
        if x is not None:
            move_x = self.stale or _leaves((x0, x1), x)
            x = _padded(x)
        else:
            move_x = x_max is not None and (self.stale or x1 < x_max or x1 > 2 * x_max)
            x = (0, max(x_max, 1)) if x_max is not None else None
        move_y = self.stale or _leaves((y0, y1), y)
        if not (move_x or move_y):
            return False
        self.stale = False
        view.setRange(xRange=x if move_x else None, yRange=_padded(y) if move_y else None,
                      padding=0)
        # the new transform now, not in the next paint: applied there, it moves the
        # items, which asks for a second paint of the whole view in the same turn
        view.updateMatrix()
        return True


def _extent(arrays: list, log: bool) -> tuple[float, float] | None:
    """(least, greatest) of the finite values (log10 of the positive ones on a log axis)."""
    values = [np.asarray(a, np.float64).ravel() for a in arrays if a is not None and len(a)]
    v = np.concatenate(values) if values else np.empty(0)
    v = np.log10(v[v > 0]) if log else v[np.isfinite(v)]
    if not v.size:
        return None
    return float(v.min()), float(v.max())


def _padded(extent: tuple[float, float]) -> tuple[float, float]:
    """The view for an extent: 5 % more on each side. Whether to move is judged on the
    data itself (`_leaves`), so a loss reaching a new low a little at a time moves the
    view once it has used up that margin, not at each new low (each move redraws the
    axes and sets every curve again)."""
    lo, hi = extent
    pad = 0.05 * ((hi - lo) or abs(hi) or 1.0)
    return lo - pad, hi + pad


def _leaves(view: tuple[float, float], data: tuple[float, float]) -> bool:
    """Whether data has left the view or fills less than half of it."""
    inside = view[0] <= data[0] and data[1] <= view[1]
    return not inside or (view[1] - view[0]) > 2 * (data[1] - data[0])


def legend(plot: pg.PlotItem, offset: tuple[int, int] = (-10, 10)) -> pg.LegendItem:
    """A small legend in a corner (offset's signs pick it), on a translucent backing so
    that curves running under it never strike through its text."""
    backing = QColor(theme.current().base)
    backing.setAlpha(210)
    return plot.addLegend(offset=offset, labelTextSize="8pt", brush=backing)


def image_box(layout: pg.GraphicsLayout, row: int | None = None, col: int | None = None,
              cmap: str | None = None) -> tuple[pg.ViewBox, pg.ImageItem]:
    """A fixed view box (rows downward, square pixels, no mouse or menu) in `layout` (at
    row, col, or next) holding one image, coloured by `cmap` or in plain grey: a grey
    image needs no colour map, whose 256-entry colour table pyqtgraph builds at every
    render (170 µs an image, 80 without)."""
    box = layout.addViewBox(row=row, col=col, lockAspect=True, enableMenu=False)
    box.setMouseEnabled(False, False)
    box.invertY(True)
    item = pg.ImageItem()
    if cmap is not None:
        item.setColorMap(pg.colormap.get(cmap))
    box.addItem(item)
    return box, item


def positive(y: np.ndarray) -> np.ndarray:
    """Values for a log axis: non-positive ones become NaN (a gap), never a crash."""
    y = np.asarray(y, np.float64).copy()
    y[~(y > 0)] = np.nan
    return y


def mosaic(maps: np.ndarray, cols: int | None = None, pad: int = 1,
           normalize: str = "each") -> np.ndarray:
    """Tile (K, H, W) maps into one image with `pad` NaN gaps (drawn transparent).

    `normalize` "each" scales every map to [0, 1] on its own (feature maps: shapes, not
    magnitudes); "all" shares one scale, symmetric around 0 (filters: signs matter).
    """
    k, h, w = maps.shape
    cols = cols or int(np.ceil(np.sqrt(k)))
    rows = int(np.ceil(k / cols))
    out = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad), np.nan, np.float32)
    m = maps.astype(np.float32)
    if normalize == "each":
        lo = np.nanmin(m.reshape(k, -1), axis=1)[:, None, None]
        hi = np.nanmax(m.reshape(k, -1), axis=1)[:, None, None]
        m = (m - lo) / np.where(hi > lo, hi - lo, 1.0)
    else:
        s = float(np.nanmax(np.abs(m))) or 1.0
        m = 0.5 + 0.5 * m / s
    for i in range(k):
        r, c = divmod(i, cols)
        out[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = m[i]
    return out
