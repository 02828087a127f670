"""Plots made ahead, while the window has nothing to draw (issue 5).

Making a pyqtgraph plot (its axes, its menus and their widgets) takes 8-13 ms on an idle
machine and 20-36 ms beside a training run: more than a frame's share, and with the paint
after it, frames of 50-60 ms. The weights and activations panels make one plot per layer
at a run's first snapshot. They take them from here (`add_plot`) instead, and the frame
clock makes spares in its idle ticks, one per tick (`TrainingSession._tick`), never while
a run trains.
"""
from __future__ import annotations

import pyqtgraph as pg

from .. import theme
from . import style

KEEP = 24           # the weights and activations panels of a network of a dozen layers


class SparePlots:
    """Up to `keep` plots made ahead; spares of another theme (their axes' colours) are
    dropped."""

    def __init__(self, keep: int = KEEP) -> None:
        self.keep = keep
        self._plots: list[pg.PlotItem] = []
        self._theme: str | None = None

    def __len__(self) -> int:
        self._check_theme()
        return len(self._plots)

    def take(self) -> pg.PlotItem:
        """A spare, or a new plot if none is left."""
        self._check_theme()
        return self._plots.pop() if self._plots else make_plot()

    def make_one(self) -> bool:
        """Make one spare if fewer than `keep` are ready; whether it did."""
        if len(self) >= self.keep:
            return False
        self._plots.append(make_plot())
        return True

    def _check_theme(self) -> None:
        name = theme.current().name
        if name != self._theme:
            self._plots.clear()
            self._theme = name


def make_plot() -> pg.PlotItem:
    """A plot as the panels set them up (`style.setup_plot` keeps its left axis)."""
    style.configure_pyqtgraph()
    return pg.PlotItem(axisItems={"left": style.ValueAxis("left")})


spares = SparePlots()


def add_plot(view: pg.GraphicsLayoutWidget, menu: bool = True, **where) -> pg.PlotItem:
    """``view.addPlot(**where)`` with a spare plot; `menu`: its context menu."""
    plot = spares.take()
    plot.setMenuEnabled(menu)
    view.addItem(plot, **where)
    return plot
