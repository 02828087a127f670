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
