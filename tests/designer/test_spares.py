"""Plots made ahead (designer/panels/spares.py): the frame clock makes them while the
window is idle, never while a run trains, and the weights and activations panels take
them instead of making plots in a frame of a run."""
from __future__ import annotations

import pyqtgraph as pg

from designer import theme
from designer.panels import spares as spares_module
from designer.panels import style
from designer.panels.spares import SparePlots
from designer.training import session as session_module

from .test_training_support import click, lenet_digits, open_window, wait_finished


def _fresh(monkeypatch, keep: int) -> SparePlots:
    pool = SparePlots(keep)
    monkeypatch.setattr(spares_module, "spares", pool)
    monkeypatch.setattr(session_module, "spares", pool)
    return pool


def test_spares_up_to_keep_taken_last_made_first_then_new_ones(qapp):
    pool = SparePlots(keep=2)
    assert pool.make_one() and pool.make_one() and not pool.make_one()
    assert len(pool) == 2
    made = list(pool._plots)
    assert pool.take() is made[1] and pool.take() is made[0]
    fresh = pool.take()                         # none left: made on the spot
    assert isinstance(fresh, pg.PlotItem) and fresh not in made
    assert isinstance(fresh.getAxis("left"), style.ValueAxis)


def test_spares_of_another_theme_are_dropped(qapp):
    pool = SparePlots(keep=3)
    old = theme.current()
    try:
        theme.apply(theme.by_name("light"))
        pool.make_one()
        light = pool._plots[0]
        theme.apply(theme.by_name("dark"))
        assert len(pool) == 0                   # its axes have the light theme's colours
        assert pool.take() is not light
    finally:
        theme.apply(old)


def test_an_idle_window_makes_spares_and_a_run_uses_them(qtbot, tmp_path, monkeypatch):
    pool = _fresh(monkeypatch, keep=30)
    w = open_window(qtbot, tmp_path, lenet_digits(epochs=1), "spares")
    qtbot.waitUntil(lambda: len(pool) == 30, timeout=20000)
    ahead = set(map(id, pool._plots))
    w.training.panel_docks["weights"].raise_()
    session = w.training.session
    made_while_busy = []
    real = pool.make_one
    monkeypatch.setattr(pool, "make_one",
                        lambda: made_while_busy.append(session.busy) or real())
    click(qtbot, w, "train")
    wait_finished(qtbot, w)
    weights = w.training.panels["weights"]
    plots = [c.getViewBox().parentItem() for c in weights.hists.values()]
    assert plots and all(isinstance(p, pg.PlotItem) for p in plots)
    assert {id(p) for p in plots} <= ahead      # every histogram's plot was made ahead
    assert id(weights.ratio_plot) in ahead
    assert not any(made_while_busy)             # none made while the run trained
    assert not plots[0].menuEnabled() and weights.ratio_plot.menuEnabled()


def test_spares_wait_until_a_runs_end_is_drawn_and_the_window_is_quiet(qtbot, tmp_path,
                                                                       monkeypatch):
    """After a run, the frame clock makes spares only after QUIET_TICKS ticks in a row with
    no run and nothing to redraw: the run's last frames and its kept result come first,
    not between spares of 20-30 ms each."""
    pool = _fresh(monkeypatch, keep=3)
    w = open_window(qtbot, tmp_path, lenet_digits(epochs=3), "quiet")
    session = w.training.session
    qtbot.waitUntil(lambda: len(pool) == 3, timeout=20000)
    pool._plots.clear()                         # spares to make again after the run
    ticks: list = []                            # (a run on, drew) per tick; "spare"
    draw_one = session._draw_one

    def logged_draw() -> bool:
        drew = draw_one()
        ticks.append((session.busy, drew))
        return drew
    monkeypatch.setattr(session, "_draw_one", logged_draw)
    real = pool.make_one
    monkeypatch.setattr(pool, "make_one", lambda: ticks.append("spare") or real())
    # the loss panel redraws at each batch of steps (the weights panel only at snapshots:
    # a one-epoch run could end before it drew while training)
    w.training.panel_docks["loss"].raise_()
    click(qtbot, w, "train")
    wait_finished(qtbot, w)
    qtbot.waitUntil(lambda: len(pool) == 3, timeout=20000)
    first = ticks.index("spare")
    assert (True, True) in ticks[:first]         # the run was drawn while it trained
    quiet = session_module.QUIET_TICKS + 1        # the quiet ticks, and the one making it
    assert ticks[first - quiet:first] == [(False, False)] * quiet
