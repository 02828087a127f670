"""style.SteadyRange: the loss plot's view follows its data without moving every frame."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest

from designer.panels.style import SteadyRange


def test_follows_growing_data_but_moves_only_when_it_must(plot):
    steady = SteadyRange(plot)
    curve = plot.plot()
    y = np.linspace(2.0, 1.0, 50)
    curve.setData(np.arange(50), y)
    assert steady.update(1000, [y])                          # first fit: x is the whole run
    (x0, x1), (y0, y1) = plot.getViewBox().viewRange()
    assert (x0, x1) == pytest.approx((0, 1000)) and y0 < 1.0 and y1 > 2.0
    assert not any(plot.getViewBox().autoRangeEnabled())   # pyqtgraph no longer refits
    assert not steady.update(1000, [y[:40]])                 # still inside, not too loose
    assert steady.update(1000, [np.append(y, 2.5)])         # a spike above: moves
    assert plot.getViewBox().viewRange()[1][1] > 2.5
    assert steady.update(1000, [np.full(10, 2.45)])          # a quarter of the span: tightens
    steady.restart()
    assert steady.update(1000, [y])
    for low in (0.99, 0.98, 0.97, 0.96):                     # new lows within the margin
        assert not steady.update(1000, [np.append(y, low)])
    assert steady.update(1000, [np.append(y, 0.9)])          # past it: moves
    assert plot.getViewBox().viewRange()[1][0] < 0.9
    assert steady.update(1000, [np.array([np.nan, 1.5])])   # NaN ignored, no crash
    assert not steady.update(1000, [np.array([np.nan])])    # nothing finite: left alone


def test_log_axis_ranges_are_in_decades(plot):
    plot.setLogMode(y=True)
    steady = SteadyRange(plot)
    assert steady.update(10, [np.array([1e-3, 0.0, -1.0, 10.0])], log=True)  # <= 0 ignored
    y0, y1 = plot.getViewBox().viewRange()[1]
    assert y0 < -3 < 1 < y1 < 2


def test_a_zoom_by_the_user_stops_the_following_and_auto_range_resumes_it(plot):
    steady = SteadyRange(plot)
    steady.update(100, [np.array([0.0, 1.0])])
    view = plot.getViewBox()
    view.sigRangeChangedManually.emit([True, True])         # what a wheel or drag emits
    view.setRange(yRange=(0.4, 0.5), padding=0)
    assert not steady.update(100, [np.array([0.0, 5.0])])
    assert view.viewRange()[1] == pytest.approx([0.4, 0.5])
    view.enableAutoRange()                                   # pyqtgraph's "A" button
    assert steady.update(100, [np.array([0.0, 5.0])])
    assert view.viewRange()[1][1] > 5.0


def test_x_values_are_followed_like_y_values(plot):
    """A histogram's view (weights panel): x fits the bin edges, and moves only when they
    leave it or fill less than half of it."""
    steady = SteadyRange(plot)
    edges, counts = np.linspace(-1.0, 1.0, 41), np.arange(40.0)
    assert steady.update(None, [counts, np.zeros(1)], xs=[edges])
    (x0, x1), (y0, y1) = plot.getViewBox().viewRange()
    assert x0 < -1.0 and x1 > 1.0 and y0 < 0.0 and y1 > 39.0
    assert not steady.update(None, [counts, np.zeros(1)], xs=[edges * 0.9])   # inside
    assert steady.update(None, [counts, np.zeros(1)], xs=[edges * 1.5])       # wider
    assert plot.getViewBox().viewRange()[0][1] > 1.5
    assert steady.update(None, [counts, np.zeros(1)], xs=[edges * 0.3])       # too loose
    assert plot.getViewBox().viewRange()[0][1] < 0.5


def test_a_move_is_applied_at_once_not_in_the_next_paint(plot):
    """Applied in the paint, the new transform moved the items, which asked for a second
    paint of the whole view in the same turn (the predictions panel: six paints). The
    view's own flag (pyqtgraph 0.14: `_matrixNeedsUpdate`) says whether it is pending."""
    vb = plot.getViewBox()
    assert SteadyRange(plot).update(100, [np.array([0.0, 50.0])])
    assert vb._matrixNeedsUpdate is False


def test_a_zoom_stops_the_following_and_restart_resumes_it(plot):
    steady = SteadyRange(plot)
    y = np.linspace(1.0, 2.0, 20)
    assert steady.update(100, [y])
    view = plot.getViewBox()
    view.setRange(yRange=(1.4, 1.6), padding=0)
    view.sigRangeChangedManually.emit(view.state["mouseEnabled"])   # as a user's zoom
    assert not steady.update(100, [np.append(y, 5.0)])               # the zoom stays
    steady.restart()                                  # a new run, kind of data or scale
    assert steady.update(100, [np.append(y, 5.0)])
    (_, _), (y0, y1) = view.viewRange()
    assert y0 <= 1.0 and y1 >= 5.0
