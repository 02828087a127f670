"""Redraws in parts (designer/panels/base.py): a panel whose redraw yields between its
parts does at most FRAME_BUDGET_S of it per frame and goes on at the next; `force` starts
over and finishes; a new run drops what was left. The heavy panels are written so, and
finish with the same picture as a redraw done at once."""
from __future__ import annotations

import time

import numpy as np

from designer.panels import base as panel_base
from designer.panels.base import Panel

from .test_training_support import click, lenet_digits, open_window, wait_finished


class Parts(Panel):
    """Five parts of 5 ms each; records which ran."""

    def __init__(self, session) -> None:
        super().__init__(session)
        self.done: list[int] = []
        self.on_screen = lambda: True

    def redraw(self):
        for i in range(5):
            time.sleep(0.005)
            self.done.append(i)
            yield


def _panel(qtbot, tmp_path, name) -> Parts:
    w = open_window(qtbot, tmp_path, lenet_digits(epochs=1), name)
    panel = Parts(w.training.session)
    qtbot.addWidget(panel)
    return panel


def test_a_redraw_in_parts_stops_at_the_budget_and_goes_on_next_time(qtbot, tmp_path,
                                                                     monkeypatch):
    monkeypatch.setattr(panel_base, "FRAME_BUDGET_S", 0.012)
    panel = _panel(qtbot, tmp_path, "parts")
    calls = 0
    while True:
        calls += 1
        assert panel.refresh()          # unpaced: a redraw left unfinished goes on at once
        if panel._unfinished is None:
            break
    assert panel.done == [0, 1, 2, 3, 4]
    assert 2 <= calls <= 4              # 12 ms of 5 ms parts: 3 parts per call at most
    assert panel.frames == 1            # one redraw, drawn over several frames
    assert not panel.refresh()          # nothing stale left


class Clock:
    """A stand-in for the `time` module in panels/base.py: parts move it on by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def perf_counter(self) -> float:
        return self.now

    monotonic = perf_counter


def test_a_part_that_would_not_fit_in_the_budget_waits_for_the_next_frame(
        qtbot, tmp_path, monkeypatch):
    """Parts of 6, 1 and 6 ms with a 12 ms budget: after 7 ms a part as long as the
    longest so far (6 ms) would end at 13 ms, so the frame ends there (it used to run it
    and end at 13 ms, or later with longer parts)."""
    clock = Clock()
    monkeypatch.setattr(panel_base, "time", clock)
    monkeypatch.setattr(panel_base, "FRAME_BUDGET_S", 0.012)
    panel = _panel(qtbot, tmp_path, "fit")

    def redraw():
        for i, ms in enumerate((6, 1, 6)):
            clock.now += ms / 1000
            panel.done.append(i)
            yield
    panel.redraw = redraw
    assert panel.refresh() and panel.done == [0, 1]
    assert panel.refresh() and panel.done == [0, 1, 2] and panel._unfinished is None


def test_a_panel_may_cap_its_parts_per_frame(qtbot, tmp_path, monkeypatch):
    """Parts quick to set but slow to paint (histograms): at most `parts_per_frame` of
    them per frame, whatever time is left; `force` is not capped."""
    monkeypatch.setattr(panel_base, "time", Clock())          # no part takes any time
    panel = _panel(qtbot, tmp_path, "capped")
    panel.redraw = lambda: (panel.done.append(i) for i in range(5))
    panel.parts_per_frame = 2
    seen = []
    while panel.refresh(paced=False):
        seen.append(list(panel.done))
        if panel._unfinished is None:
            break
    assert seen == [[0, 1], [0, 1, 2, 3], [0, 1, 2, 3, 4]]
    panel.done.clear()
    assert panel.refresh(force=True) and panel.done == [0, 1, 2, 3, 4]


def test_a_part_announced_heavy_begins_a_frame_of_its_own(qtbot, tmp_path, monkeypatch):
    """Cheap parts, then one announced heavy (`ALONE`): the frame ends before it, however
    much budget is left, and it is the next frame's first part; `force` goes through."""
    monkeypatch.setattr(panel_base, "time", Clock())          # no part takes any time
    panel = _panel(qtbot, tmp_path, "alone")

    def redraw():
        for i in range(5):
            panel.done.append(i)
            yield panel_base.ALONE if i == 1 else None
    panel.redraw = redraw
    assert panel.refresh(paced=False) and panel.done == [0, 1]
    assert panel.refresh(paced=False) and panel.done == [0, 1, 2, 3, 4]
    assert panel._unfinished is None
    panel.done.clear()
    assert panel.refresh(force=True) and panel.done == [0, 1, 2, 3, 4]


def test_force_starts_over_and_finishes(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(panel_base, "FRAME_BUDGET_S", 0.0)
    panel = _panel(qtbot, tmp_path, "force")
    assert panel.refresh() and panel.done == [0]        # one part per call
    assert panel.refresh(force=True)
    assert panel.done == [0, 0, 1, 2, 3, 4] and panel._unfinished is None


def test_a_new_run_drops_the_rest_of_a_redraw(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(panel_base, "FRAME_BUDGET_S", 0.0)
    panel = _panel(qtbot, tmp_path, "drop")
    panel.refresh()
    panel.refresh()
    panel._on_run_started(None)
    assert panel._unfinished is None and panel.dirty
    panel.done.clear()
    while panel.refresh(paced=False) and panel._unfinished is not None:
        pass
    assert panel.done == [0, 1, 2, 3, 4]                # a fresh redraw, from the start


def test_a_new_runs_reset_is_a_part_of_the_first_frame(qtbot, tmp_path, monkeypatch):
    """A run begins: the panel's reset counts against the frame's budget like any part (it
    ran before the budget's clock started, and a run's first frame was the panel's
    longest). A reset of 10 ms in a 12 ms budget leaves no room for a 5 ms part."""
    clock = Clock()
    monkeypatch.setattr(panel_base, "time", clock)
    monkeypatch.setattr(panel_base, "FRAME_BUDGET_S", 0.012)
    panel = _panel(qtbot, tmp_path, "reset")
    resets = []

    def reset(run):
        clock.now += 0.010
        resets.append(run)
    panel.reset = reset

    def redraw():
        for i in range(2):
            clock.now += 0.005
            panel.done.append(i)
            yield
    panel.redraw = redraw
    panel._on_run_started(None)
    assert panel.refresh(paced=False) and resets == [None] and panel.done == []
    assert panel.refresh(paced=False) and panel.done == [0, 1] and resets == [None]


def _state(w) -> dict:
    """What the heavy panels show: their plots and the data in them."""
    t = w.training.panels
    acts, weights, feats = t["activations"], t["weights"], t["features"]
    return {
        "bands": {n: [c.getData()[1].copy() for c in b.curves] + [b.median.getData()[1]]
                  for n, b in acts.bands.items()},
        "hists": {n: h.getData()[1].copy() for n, h in weights.hists.items()},
        "ratios": {n: c.getData()[1] for n, c in weights.ratios.items()},
        "images": {k: i.image.copy() for k, i in feats.images.items()},
        "confusion": t["predictions"].cm_image.image.copy(),
        "gallery": [s[1].image for s in t["predictions"].slots],
    }


def test_heavy_panels_drawn_one_part_per_frame_end_as_if_drawn_at_once(qtbot, tmp_path,
                                                                       monkeypatch):
    w = open_window(qtbot, tmp_path, lenet_digits(epochs=1), "heavy")
    click(qtbot, w, "train")
    wait_finished(qtbot, w)                 # every panel redrawn at once (force)
    at_once = _state(w)
    keys = ("activations", "weights", "features", "predictions")
    monkeypatch.setattr(panel_base, "FRAME_BUDGET_S", 0.0)
    for key in keys:                        # again from nothing, one part per call
        panel = w.training.panels[key]
        panel.reset(w.training.session.current)
        if hasattr(panel, "shown"):
            panel.shown = {}
        panel.dirty = True
        monkeypatch.setattr(panel, "on_screen", lambda: True)
        calls = 0
        while panel.refresh(paced=False) and panel._unfinished is not None:
            calls += 1
        assert calls >= 4, f"{key} drew in {calls + 1} parts"
    in_parts = _state(w)
    assert in_parts.keys() == at_once.keys()
    for what in at_once:
        a, b = at_once[what], in_parts[what]
        if isinstance(a, dict):
            assert a.keys() == b.keys(), what
            a, b = list(a.values()), list(b.values())
        assert len(a) == len(b), what
        for x, y in zip(a, b):
            np.testing.assert_array_equal(np.asarray(x, float), np.asarray(y, float),
                                          err_msg=what)


def test_a_panel_paces_its_redraws_at_its_own_rate(qtbot, tmp_path):
    """Panels of many plots that change only at snapshots redraw fewer times a second
    (`Panel.fps`); the weights panel at most twice."""
    panel = _panel(qtbot, tmp_path, "fps")
    panel.fps = 2
    assert panel.refresh(force=True)
    panel.dirty = True
    time.sleep(1.0 / panel_base.FPS + 0.01)     # past the default pace, not this one's
    assert not panel.refresh() and panel.dirty
    assert panel.refresh(paced=False)
    from designer.panels.weights import WeightsPanel
    assert WeightsPanel.fps == 2 < panel_base.FPS


def test_a_fixed_grid_keeps_its_plots_in_place_as_plots_are_added_and_fits_its_width(
        qtbot, tmp_path):
    """`fix_grid`: a plot added (or a longer title) lays out only itself, never the
    plots already drawn (each layout redrew them all), and the columns share the view's
    width as it changes."""
    panel = _panel(qtbot, tmp_path, "grid")
    view = panel.add_graphics(panel.layout_with_note(), scroll=True)
    panel.resize(900, 400)
    panel.show()
    qtbot.waitExposed(panel)
    panel.fix_grid(view, 2, 0, 3)
    first = view.addPlot(row=0, col=0)
    first.setTitle("x (Input)", size="8pt")
    qtbot.wait(20)
    before = first.geometry()
    names = ["c", "b1_conv1 (Conv2D)", "stem_bn (BatchNorm)", "b2 (Add)", "fc (Dense)"]
    for i, name in enumerate(names, 1):     # titles of other widths, as layers have
        view.addPlot(row=i // 3, col=i % 3).setTitle(name, size="8pt")
    qtbot.wait(20)
    assert first.geometry() == before
    assert view.minimumHeight() == 2 * panel_base.SMALL_ROW_PX
    panel.resize(600, 400)
    qtbot.wait(20)
    lay = view.ci.layout
    widths = [lay.itemAt(0, c).geometry().width() for c in range(3)]
    assert len(set(round(x) for x in widths)) == 1               # equal columns
    left, _, right, _ = lay.getContentsMargins()
    filled = sum(widths) + 2 * lay.horizontalSpacing() + left + right
    assert abs(filled - view.width()) <= 2                     # and filling it


def test_the_loss_panel_sets_its_epoch_curves_again_only_when_an_epoch_came(qtbot, tmp_path):
    """The validation and metric curves (with symbols, whose points pyqtgraph rebuilds at
    every setData) change once an epoch: a redraw between epochs leaves them alone."""
    from .test_training_support import spirals_mlp

    w = open_window(qtbot, tmp_path, spirals_mlp(epochs=2), "epochs")
    click(qtbot, w, "train")
    run = wait_finished(qtbot, w)
    panel = w.training.panels["loss"]
    calls = []
    set_data = panel.val.setData
    panel.val.setData = lambda *a, **k: (calls.append(a), set_data(*a, **k))
    panel.refresh(force=True)
    assert calls == []                      # nothing new since wait_finished's redraw
    last = run.epochs[-1]
    run.epochs.append(dict(last, step=last["step"] + 1, val_loss=last["val_loss"] / 2))
    panel.refresh(force=True)
    assert len(calls) == 1
    np.testing.assert_array_equal(panel.val.yData, run.metric("val_loss")[1])
    panel.log_box.setChecked(True)          # another view of the same points: set again
    assert len(calls) == 2
    np.testing.assert_array_equal(panel.val.yData, run.metric("val_loss")[1])   # positive


def test_the_loss_panels_epoch_curves_mark_each_epoch_only_while_there_are_few(qtbot,
                                                                             tmp_path):
    """A marker per epoch up to MARKED_EPOCHS; beyond, the line alone (a hundred markers
    on three curves made 20 ms paints), with every value still on it."""
    from designer.panels.loss import MARKED_EPOCHS

    from .test_training_support import spirals_mlp

    w = open_window(qtbot, tmp_path, spirals_mlp(epochs=2), "marks")
    click(qtbot, w, "train")
    run = wait_finished(qtbot, w)
    panel = w.training.panels["loss"]
    curves = (panel.val, panel.train_metric, panel.val_metric)
    assert [c.opts["symbol"] for c in curves] == ["o", "s", "o"]
    last = run.epochs[-1]
    while len(run.epochs) <= MARKED_EPOCHS:
        run.epochs.append(dict(last, step=last["step"] + len(run.epochs)))
    panel.refresh(force=True)
    assert [c.opts["symbol"] for c in curves] == [None, None, None]
    np.testing.assert_array_equal(panel.val.yData, run.metric("val_loss")[1])
    assert len(panel.val_metric.xData) == len(run.epochs) == MARKED_EPOCHS + 1
    del run.epochs[MARKED_EPOCHS:]                  # as few as the line allows: marked
    panel.refresh(force=True)
    assert [c.opts["symbol"] for c in curves] == ["o", "s", "o"]
