"""style.ValueAxis: a log axis marks decades (and 2x, 5x them over a short span), not
every 2-9x, whose labels crowded and whose grid lines were most of a repaint."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest

from designer.panels import style


@pytest.fixture
def log_plot(plot):
    return style.setup_plot(plot, "value", log_y=True)


def ticks(plot, lo: float, hi: float) -> list[float]:
    """The tick values (as powers of ten) the left axis draws for a view from lo to hi."""
    axis = plot.getAxis("left")
    assert isinstance(axis, style.ValueAxis)
    plot.setYRange(np.log10(lo), np.log10(hi), padding=0)
    levels = axis.tickValues(np.log10(lo), np.log10(hi), 400)
    return sorted(10 ** v for _, values in levels for v in values)


def test_many_decades_get_decades_only(log_plot):
    got = np.log10(ticks(log_plot, 1e-7, 1e1))
    assert np.allclose(got, np.round(got))                      # powers of ten only
    assert 4 <= len(got) <= 9 and np.ptp(np.diff(got)) == 0     # evenly, not crowded


def test_under_two_decades_adds_two_and_five_times_a_decade(log_plot):
    assert ticks(log_plot, 0.0003, 0.006) == pytest.approx([0.0005, 0.001, 0.002, 0.005])
    assert ticks(log_plot, 0.011, 0.04) == pytest.approx([0.02])      # no decade inside


def test_the_grid_and_labels_follow_those_ticks(log_plot, qtbot):
    curve = log_plot.plot(np.arange(3), np.array([1e-6, 1e-3, 10.0]))
    log_plot.enableAutoRange()
    qtbot.wait(50)
    axis = log_plot.getAxis("left")
    picture = pg.QtGui.QPicture()
    painter = pg.QtGui.QPainter(picture)
    try:
        _, tick_specs, text_specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    texts = [t for _, _, t in text_specs]
    assert 3 <= len(texts) <= 8 and "0.01" in texts            # decades only
    assert len(tick_specs) == len(texts)                        # a grid line per label
    assert curve.isVisible()


def test_a_linear_axis_is_unchanged(plot):
    style.setup_plot(plot, "loss")
    plain = pg.AxisItem("left")
    plain.setStyle(maxTickLevel=0)
    assert plot.getAxis("left").tickValues(0, 1, 300) == plain.tickValues(0, 1, 300)


def test_a_plot_set_up_again_keeps_its_axis(plot):
    style.setup_plot(plot, "predicted", "true")
    axis = plot.getAxis("left")
    style.setup_plot(plot, "true class", "predicted class")
    assert plot.getAxis("left") is axis and axis.labelText == "true class"


def test_a_change_of_range_sets_no_axis_label_again(plot, monkeypatch):
    """pyqtgraph sets each axis's label HTML again at every range change while its SI
    prefix is automatic, hidden axes (top, right) included: a text layout each."""
    style.setup_plot(plot, "loss", "step")
    set_again = []
    for name in ("left", "bottom", "top", "right"):
        label = plot.getAxis(name).label
        monkeypatch.setattr(label, "setHtml", lambda html, n=name: set_again.append(n))
    plot.setXRange(0, 1000, padding=0)
    plot.setYRange(1e-4, 3e-4, padding=0)
    assert set_again == []
    plain = pg.PlotItem()           # the same change on a plot left as pyqtgraph makes it
    label = plain.getAxis("top").label
    monkeypatch.setattr(label, "setHtml", lambda html: set_again.append("plain top"))
    plain.setXRange(0, 1000, padding=0)
    assert set_again == ["plain top"]
