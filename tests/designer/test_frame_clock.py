"""The session's frame clock: one view redrawn per tick, in turn, each at most FPS a second
(designer/training/session.py). A tick's redraw and the repaint it causes then make one
short turn of the event loop instead of every panel's in one long one."""
from __future__ import annotations

import time

from PySide6.QtCore import QObject

from designer.panels import base as panel_base

from .test_training_support import open_window, spirals_mlp


class FakeView(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.stale = True
        self.drawn = 0

    def refresh(self, force: bool = False, paced: bool = True) -> bool:
        if not (self.stale or force):
            return False
        self.drawn += 1
        return True


def test_one_view_per_tick_in_turn_skipping_views_with_nothing_new(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path, spirals_mlp(epochs=1), "clock")
    session = w.training.session
    session.views.clear()
    views = [FakeView() for _ in range(3)]
    for v in views:
        session.add_view(v)
    for _ in range(6):
        assert session._draw_one()
    assert [v.drawn for v in views] == [2, 2, 2]
    views[1].stale = False
    for _ in range(4):
        session._draw_one()
    assert [v.drawn for v in views] == [4, 2, 4]
    for v in views:
        v.stale = False
    assert not session._draw_one()          # nothing stale: the clock may stop
    session._catch_up()                     # every view at once, unpaced
    assert [v.drawn for v in views] == [4, 2, 4]      # (none stale, none forced)


def test_a_panel_redraws_at_most_fps_times_a_second_unless_asked(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path, spirals_mlp(epochs=1), "paced")
    panel = w.training.panels["loss"]
    w.training.panel_docks["loss"].raise_()
    qtbot.waitUntil(panel.on_screen, timeout=2000)
    panel.dirty = True
    assert panel.refresh() is True
    panel.dirty = True
    assert panel.refresh() is False and panel.dirty       # too soon: stays stale
    assert panel.refresh(paced=False) is True             # a catch-up does not wait
    panel.dirty = True
    time.sleep(1.0 / panel_base.FPS + 0.01)
    assert panel.refresh() is True


def test_a_runs_end_is_taken_in_turns_of_its_own(qtbot, tmp_path, monkeypatch):
    """The host's last messages (the final events, the trained weights, the end) arrive in
    one turn; keeping the weights (a model built) and the final diagnosis each wait for a
    turn of their own, so no frame holds them all."""
    from compute.weights import model_arrays
    from designer.training.session import RunResult

    from .test_training_support import click, wait_finished

    w = open_window(qtbot, tmp_path, spirals_mlp(epochs=1), "end")
    session = w.training.session
    click(qtbot, w, "train")
    run = wait_finished(qtbot, w)
    result = RunResult(model_arrays(session.model), session.evaluation, session.model_graph)
    calls: list[str] = []
    keep, diagnose = session._keep_result, session._diagnose
    monkeypatch.setattr(session, "_keep_result",
                        lambda *a: (calls.append("keep"), keep(*a)))
    monkeypatch.setattr(session, "_diagnose",
                        lambda *a, **k: (calls.append("diagnose"), diagnose(*a, **k)))
    session._on_events([run.finished, result])      # as the worker hands them over,
    session._on_done()                               # with the end, in one turn
    assert calls == [] and session.settling
    qtbot.waitUntil(lambda: not session.settling, timeout=5000)
    assert calls[:2] == ["keep", "diagnose"]
