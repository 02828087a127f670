"""The session's frame clock: one view redrawn per tick, in turn, each at most FPS a second
(designer/training/session.py). A tick's redraw and the repaint it causes then make one
short turn of the event loop instead of every panel's in one long one."""
from __future__ import annotations

import time

from PySide6.QtCore import QObject

from designer.panels import base as panel_base
from designer.training import session as session_module

from .test_training_support import click, open_window, spirals_mlp, wait_finished


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


def test_the_trainer_waits_while_a_frame_is_drawn(qtbot, tmp_path):
    """During a tick's redraw and its repaint the session's gate is closed (a trainer
    waits between steps); it opens once the frame is done."""
    w = open_window(qtbot, tmp_path, spirals_mlp(epochs=1), "gate")
    session = w.training.session
    session.views.clear()
    view = FakeView()
    seen = []

    def refresh(force=False, paced=True) -> bool:
        seen.append(session._frame_done.is_set())
        return view.stale
    view.refresh = refresh
    session.add_view(view)
    session._tick()
    assert seen == [False] and not session._frame_done.is_set()
    qtbot.waitUntil(session._frame_done.is_set, timeout=1000)
    view.stale = False          # a tick that draws nothing leaves the gate open
    session._tick()
    assert seen == [False, False] and session._frame_done.is_set()


def _record_set_up(monkeypatch) -> list[float]:
    """Times at which runs' trainers are built (the start of their set-up)."""
    built: list[float] = []
    real = session_module.Trainer

    def trainer(*args, **kwargs):
        built.append(time.perf_counter())
        return real(*args, **kwargs)
    monkeypatch.setattr(session_module, "Trainer", trainer)
    return built


def test_a_run_sets_up_once_the_window_has_drawn_its_start(qtbot, tmp_path, monkeypatch):
    """The set-up (model, data, kernels: Python holding the GIL) waits for the first tick
    with nothing left to redraw, instead of sharing the GIL with the run's first frames."""
    built = _record_set_up(monkeypatch)
    monkeypatch.setattr(session_module, "START_WAIT_S", 30.0)   # only the settling counts
    w = open_window(qtbot, tmp_path, spirals_mlp(epochs=1), "settle")
    session = w.training.session
    session.views.clear()
    view, settled = FakeView(), []

    def refresh(force=False, paced=True) -> bool:
        view.drawn += 1
        if view.drawn <= 3:             # the run's start takes three frames to draw
            return True
        if not settled:
            settled.append(time.perf_counter())
        return False
    view.refresh = refresh
    session.add_view(view)
    click(qtbot, w, "train")
    wait_finished(qtbot, w)
    assert len(built) == 1 and settled and built[0] >= settled[0]


def test_a_window_that_never_settles_delays_the_set_up_only_so_long(qtbot, tmp_path,
                                                                    monkeypatch):
    built = _record_set_up(monkeypatch)
    w = open_window(qtbot, tmp_path, spirals_mlp(epochs=1), "busy")
    session = w.training.session
    session.views.clear()
    session.add_view(FakeView())        # stale at every tick: the window never settles
    start = time.perf_counter()
    click(qtbot, w, "train")
    wait_finished(qtbot, w)
    assert session.current.finished is not None
    assert built and built[0] - start >= session_module.START_WAIT_S * 0.9


def test_the_gate_waits_at_most_a_frame_s_share_however_often_asked(qtbot, tmp_path,
                                                                     monkeypatch):
    """The trainer asks between layers, steps and probes: while a frame is drawn it waits,
    but all its waits for one frame add up to FRAME_GATE_S at most."""
    w = open_window(qtbot, tmp_path, spirals_mlp(epochs=1), "share")
    session = w.training.session
    waits = []
    monkeypatch.setattr(session._frame_done, "wait", waits.append)
    session._frame_done.set()
    session._gate()
    assert waits == []                                  # no frame: no wait
    session._frame_done.clear()
    session._frame_started = time.perf_counter()
    session._gate()
    assert len(waits) == 1 and 0 < waits[0] <= session_module.FRAME_GATE_S
    session._frame_started = time.perf_counter() - session_module.FRAME_GATE_S
    session._gate()
    assert len(waits) == 1                              # this frame's share is spent
    session._frame_done.set()
