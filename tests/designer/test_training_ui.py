"""Training a real project from the window by clicking, and what the panels then hold."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PySide6.QtCore import Qt

from compute.events import EpochEnd, RunStarted, Snapshot, StepEnd
from compute.project import Project, load_project
from compute.training.trainer import train
from compute.weights import load_weights
from compute import build_model
from designer.training import session as session_module

from .test_training_support import (click, open_window, record_events, spirals_mlp,
                                    wait_finished)


@pytest.fixture
def spirals(qtbot, tmp_path):
    return open_window(qtbot, tmp_path, spirals_mlp(epochs=12), "spirals")


def data(curve) -> tuple[np.ndarray, np.ndarray]:
    """What a curve was given (getData() would return only the part in view)."""
    return curve.xData, curve.yData


def _events(seen, cls):
    return [e for e in seen if isinstance(e, cls)]


def test_panels_hold_the_trainers_values(qtbot, spirals, tmp_path):
    w = spirals
    seen = record_events(w)
    click(qtbot, w, "train")
    run = wait_finished(qtbot, w)
    assert run.finished.reason == "completed"
    steps, epochs = _events(seen, StepEnd), _events(seen, EpochEnd)
    started = _events(seen, RunStarted)[0]
    assert len(steps) == started.epochs * started.steps_per_epoch == run.step
    panels = w.training.panels

    # loss: one raw point per step, equal to the StepEnd losses; validation per epoch
    x, y = data(panels["loss"].raw)
    assert len(x) == len(steps)
    np.testing.assert_array_equal(y, [e.loss for e in steps])
    vx, vy = data(panels["loss"].val)
    np.testing.assert_array_equal(vx, [e.step for e in epochs])
    np.testing.assert_allclose(vy, [e.metrics["val_loss"] for e in epochs])
    ax, ay = data(panels["loss"].val_metric)
    np.testing.assert_allclose(ay, [e.metrics["val_accuracy"] for e in epochs])
    sx, sy = data(panels["loss"].smooth)
    assert len(sy) == len(y) and np.isfinite(sy).all()

    # the same project trains to the same numbers headless (to float32 summation order)
    headless = train(Project.from_dict(spirals_mlp(epochs=12)))
    np.testing.assert_allclose([e["val_loss"] for e in headless.epochs],
                               [e.metrics["val_loss"] for e in epochs], rtol=1e-4)

    # gradient norms: one curve per layer with weights, last value = last diagnostic step
    diag = [e for e in steps if e.grad_norms]
    curves = panels["gradients"].curves
    assert set(curves) == {"h1", "h2", "logits"}
    for node, curve in curves.items():
        reported = [e.grad_norms[node]["weights"] for e in diag if node in e.grad_norms]
        gx, gy = data(curve)
        assert len(gy) == len(reported)
        assert gy[-1] == pytest.approx(reported[-1])
    # ...in a view that holds them all, across the whole run, without pyqtgraph's
    # auto-range (which refitted it, and drew both axes anew, at every frame)
    view = panels["gradients"].plot.getViewBox()
    (vx0, vx1), (vy0, vy1) = view.viewRange()
    assert not any(view.autoRangeEnabled())
    assert vx0 <= 0 and vx1 >= run.total_steps
    logs = np.log10(np.concatenate([data(c)[1] for c in curves.values()]))
    assert vy0 <= np.nanmin(logs) and vy1 >= np.nanmax(logs)

    # activations: percentile bands of the last snapshot's real activations
    last = _events(seen, Snapshot)[-1]
    bands = panels["activations"].bands
    assert {"h1", "h2", "logits"} <= set(bands)
    mx, my = data(bands["h1"].median)
    assert my[-1] == pytest.approx(np.percentile(last.activations["h1"], 50), rel=1e-6)

    # predictions: confusion matrix of the final weights on the validation split
    res = panels["predictions"].result
    assert res["confusion"].sum() == started.val_samples
    assert res["accuracy"] == pytest.approx(epochs[-1].metrics["val_accuracy"])
    assert w.training.session.evaluation["val_accuracy"] == pytest.approx(res["accuracy"])

    # weights: the histograms count every weight of the final model
    for node, curve in panels["weights"].hists.items():
        edges, counts = data(curve)
        W = last.weights[node]["W"]
        assert counts.sum() == W.size
        ref, _ = np.histogram(W, bins=len(counts))
        np.testing.assert_array_equal(counts, ref)
    # and the update ratios the training process summarised, from the second snapshot on
    ratios = panels["weights"].ratios
    run_ratios = w.training.session.current.update_ratio
    assert set(ratios) == {"h1", "h2", "logits"} == set(run_ratios)
    for node, curve in ratios.items():
        _, ys = data(curve)
        np.testing.assert_allclose(ys, run_ratios[node].values())
        assert len(ys) >= 1 and (ys > 0).all()

    # decision boundary: the final model's outputs over the grid
    b = last.probes["boundary"]
    model = w.training.session.model
    x0, x1, y0, y1 = b["extent"]
    g = b["values"].shape[0]
    gx, gy = np.meshgrid(np.linspace(x0, x1, g), np.linspace(y0, y1, g))
    grid = np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)
    np.testing.assert_allclose(panels["boundary"].values.reshape(g * g, -1),
                               model.forward(grid), rtol=1e-5, atol=1e-6)
    assert "no convolution" in panels["features"]._note.text()

    # the weights were saved beside the project, and load into the graph
    saved = tmp_path / "spirals.weights.npz"         # written on the saver's thread
    qtbot.waitUntil(lambda: "Weights saved" in w.training.dock.evaluation.text(),
                    timeout=10_000)
    assert saved.exists()
    fresh = build_model(load_project(tmp_path / "spirals.netw").graph, seed=5)
    load_weights(fresh, saved)
    np.testing.assert_array_equal(fresh.params["h1"]["W"], model.params["h1"]["W"])


def test_pause_and_stop_take_effect_within_a_second(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path, spirals_mlp(epochs=2000), "long")
    session = w.training.session
    click(qtbot, w, "train")
    qtbot.waitUntil(lambda: session.current.step > 50, timeout=60_000)
    click(qtbot, w, "pause")
    qtbot.waitUntil(lambda: session.worker.trainer_state == "paused", timeout=1000)
    held = session.worker.trainer_step            # the step the trainer paused after
    assert session.current.step == held           # the window saw them all, in order
    qtbot.wait(300)
    assert session.current.step == held           # and no step came while paused
    assert session.worker.trainer_state == "paused"
    assert w.training.actions["pause"].text() == "&Resume"
    click(qtbot, w, "pause")               # resume
    qtbot.waitUntil(lambda: session.current.step > held + 20, timeout=5000)
    click(qtbot, w, "stop")
    qtbot.waitUntil(lambda: not session.busy, timeout=1000)
    run = session.current
    assert run.finished.reason == "stopped"
    assert run.step < 2000 * 20
    assert w.training.actions["train"].isEnabled()


def test_stop_while_paused(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path, spirals_mlp(epochs=2000), "long")
    session = w.training.session
    click(qtbot, w, "train")
    qtbot.waitUntil(lambda: session.current.step > 10, timeout=60_000)
    click(qtbot, w, "pause")
    qtbot.waitUntil(lambda: session.worker.trainer_state == "paused", timeout=1000)
    click(qtbot, w, "stop")
    qtbot.waitUntil(lambda: not session.busy, timeout=1000)
    assert session.current.finished.reason == "stopped"


def _diverging_project() -> dict:
    def node(i, t, p, x):
        return {"id": i, "type": t, "params": p, "position": [x, 0]}

    nodes = [node("x", "Input", {"shape": [1]}, 0),
             node("hidden", "Dense", {"units": 32, "activation": "relu"}, 200),
             node("y", "Dense", {"units": 1}, 400), node("out", "Output", {"loss": "mse"}, 600)]
    return {"format": "netwright", "version": 1, "name": "Diverging",
            "graph": {"nodes": nodes, "edges": [{"source": a["id"], "target": b["id"], "port": 0}
                                                for a, b in zip(nodes, nodes[1:])]},
            "data": {"dataset": "regression_1d"},
            "training": {"epochs": 20, "optimizer": {"type": "momentum", "lr": 10.0}}}


def test_a_diverging_run_shows_the_message_and_keeps_the_document(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path, _diverging_project(), "diverging")
    doc = w.document
    before = json.dumps(doc.project.to_dict(), sort_keys=True)
    undo_count = doc.undo_stack.count()
    click(qtbot, w, "train")
    run = wait_finished(qtbot, w)
    assert run.finished.reason == "diverged"
    banner = w.training.dock.banner
    assert banner.isVisible() and banner.text() == run.finished.message
    assert "diverged" in banner.text() and "learning rate" in banner.text()
    assert w.statusBar().currentMessage() == run.finished.message
    assert json.dumps(doc.project.to_dict(), sort_keys=True) == before
    assert doc.undo_stack.count() == undo_count and not doc.is_dirty()
    findings = w.training.session.findings
    assert findings[0].kind == "diverged" and findings[0].node in ("hidden", "y", "out")
    panel = w.training.panels["diagnosis"]
    w.training.panel_docks["diagnosis"].raise_()
    assert panel.list.count() >= 1 and "diverged" in panel.views[0].label.text()
    assert not (tmp_path / "diverging.weights.npz").exists()
    # clicking the finding selects its node on the canvas
    item = panel.list.item(0)
    rect = panel.list.visualItemRect(item)
    qtbot.mouseClick(panel.list.viewport(), Qt.LeftButton, pos=rect.center())
    assert w.document.selection == [findings[0].node]
    # the offered fix lowers the learning rate, as one undoable edit
    qtbot.mouseClick(panel.views[0].button, Qt.LeftButton)
    assert doc.project.training["optimizer"]["lr"] == pytest.approx(1.0)
    doc.undo_stack.undo()
    assert doc.project.training["optimizer"]["lr"] == 10.0
    # the same findings again (a run's end repeats them) keep their rows; new ones or a
    # new width build them anew
    views = list(panel.views)
    panel.show_findings(list(findings))
    assert panel.views == views
    panel.show_findings(findings[:1] + findings)
    assert len(panel.views) == len(findings) + 1 and panel.views[0] is not views[0]
    views = list(panel.views)
    panel.resize(panel.width() + 40, panel.height())
    qtbot.waitUntil(lambda: panel.views[0] is not views[0])


def test_a_hidden_diagnosis_panel_builds_its_rows_when_it_is_shown(qtbot, tmp_path):
    """Rebuilding the rows takes 15-22 ms: not in a run's end frame for a panel that
    cannot be seen."""
    from designer.training.diagnosis import Finding

    w = open_window(qtbot, tmp_path, spirals_mlp(epochs=1), "hidden")
    panel = w.training.panels["diagnosis"]
    w.training.panel_docks["loss"].raise_()
    qtbot.waitUntil(lambda: not panel.on_screen())
    found = [Finding("lr_too_small", "warning", "hidden", "The loss barely moves",
                     "detail", "raise the learning rate")]
    panel.show_findings(found)
    assert panel.list.count() == 0 and panel.findings == found
    assert panel.refresh() is False                 # the frame clock skips it meanwhile
    w.training.panel_docks["diagnosis"].raise_()    # its tab chosen: it catches up
    qtbot.waitUntil(lambda: panel.list.count() == 1)
    assert panel.views[0].finding is found[0] and "barely" in panel.views[0].label.text()


def test_many_findings_wrap_to_the_list_and_never_scroll_sideways(qtbot, tmp_path):
    """Enough rows to need the vertical scroll bar, which shows only once they are in: the
    rows leave room for it, and the list has no horizontal one."""
    from designer.training.diagnosis import Finding

    w = open_window(qtbot, tmp_path, spirals_mlp(epochs=1), "many")
    panel = w.training.panels["diagnosis"]
    w.training.panel_docks["diagnosis"].raise_()
    qtbot.waitUntil(panel.on_screen)
    qtbot.wait(50)                                   # laid out, no rows, no scroll bar
    assert not panel.list.verticalScrollBar().isVisible()
    found = [Finding("vanishing", "warning", f"h{i}", f"Vanishing gradients in h{i}",
                     "its gradient norm is far below the others' " * 3, "use ReLU")
             for i in range(15)]
    panel.show_findings(found)
    qtbot.wait(50)
    assert panel.list.count() == 15 and panel.list.verticalScrollBar().isVisible()
    assert not panel.list.horizontalScrollBar().isVisible()
    port = panel.list.viewport().width()
    assert all(view.width() <= port for view in panel.views)


def test_a_network_that_cannot_train_shows_why(qtbot, tmp_path):
    project = spirals_mlp(epochs=1)
    project["graph"]["nodes"][0]["params"]["shape"] = [3]       # spirals give 2 features
    w = open_window(qtbot, tmp_path, project, "bad")
    before = json.dumps(w.document.project.to_dict(), sort_keys=True)
    click(qtbot, w, "train")
    run = wait_finished(qtbot, w)
    assert run.error and '"x"' in run.error and "[2]" in run.error
    assert w.training.dock.banner.text() == run.error
    assert w.training.session.findings[0].node == "x"
    assert json.dumps(w.document.project.to_dict(), sort_keys=True) == before
    assert w.training.actions["train"].isEnabled()


def test_decision_boundary_changes_as_training_proceeds(qtbot, tmp_path, monkeypatch):
    # every snapshot the project asks for, however fast the run (the session's limit of
    # a few a second would leave a fast run only one or two)
    monkeypatch.setattr(session_module, "SNAPSHOTS_PER_S", 1e6)
    w = open_window(qtbot, tmp_path, spirals_mlp(epochs=150), "spirals")
    panel = w.training.panels["boundary"]
    seen = record_events(w)
    shown: list[np.ndarray] = []

    def draw(kinds):         # what the panel shows each time a snapshot arrives
        if "snapshot" in kinds:
            panel.refresh(force=True)
            assert panel.values is w.training.session.current.snapshot.probes["boundary"]["values"]
            shown.append(panel.values)

    w.training.session.updated.connect(draw)
    click(qtbot, w, "train")
    wait_finished(qtbot, w)
    grids = [s.probes["boundary"]["values"] for s in _events(seen, Snapshot)]
    assert len(grids) >= 3
    assert np.abs(grids[0] - grids[-1]).max() > 0.2          # the boundary moved
    changed = [not np.allclose(a, b) for a, b in zip(grids, grids[1:])]
    assert sum(changed) >= len(changed) - 1                  # at (almost) every snapshot
    # the panel drew the trainer's own grids; how many frames it got depends on how fast
    # the run is against the 20 frames/s clock, so only the last one is pinned down
    assert shown and np.array_equal(shown[-1], grids[-1])


def test_run_comparison_shows_two_runs(qtbot, spirals):
    w = spirals
    click(qtbot, w, "train")
    first = wait_finished(qtbot, w)
    # change the learning rate in the settings form, as a user would
    field = w.training.dock.training.opt_form.field("lr")
    field.editor.setValue(0.01)
    field.editor.editingFinished.emit()
    assert w.document.project.training["optimizer"]["lr"] == 0.01
    click(qtbot, w, "train")
    second = wait_finished(qtbot, w)
    assert list(w.training.session.runs) == [first, second]
    assert second.name == "run 2: lr 0.03 → 0.01"
    loss = w.training.panels["loss"]
    (run, smooth, val, metric), = loss.ghosts.values()
    assert run is first
    np.testing.assert_allclose(data(val)[1], first.metric("val_loss")[1])
    labels = [label.text for _, label in loss.legend.items]
    assert first.name in labels and any(second.name in t for t in labels)
    x, y = data(loss.raw)
    np.testing.assert_array_equal(y, second.loss.data()[1])
    w.training.actions["clear_runs"].trigger()
    assert not loss.ghosts and list(w.training.session.runs) == []


def test_continue_from_the_current_weights_and_reset(qtbot, spirals):
    w = spirals
    dock = w.training.dock
    assert not dock.continue_box.isEnabled()
    click(qtbot, w, "train")
    first = wait_finished(qtbot, w)
    assert dock.continue_box.isEnabled()
    dock.continue_box.setChecked(True)
    click(qtbot, w, "train")
    second = wait_finished(qtbot, w)
    # starting from trained weights, the second run begins where the first ended
    assert second.loss.data()[1][:20].mean() < 0.5 * first.loss.data()[1][:20].mean()
    click(qtbot, w, "reset")
    assert w.training.session.model is None and not dock.continue_box.isChecked()
    assert w.training.dock.banner.text().startswith("Weights reset")
    click(qtbot, w, "train")
    third = wait_finished(qtbot, w)          # fresh weights: the same start as the first run
    np.testing.assert_allclose(third.loss.data()[1][:5], first.loss.data()[1][:5], rtol=1e-4)


def test_settings_edits_are_undoable(qtbot, spirals):
    w = spirals
    doc = w.document
    sec = w.training.dock.training
    sec.stochastic.click()
    assert doc.project.training["batch_size"] == 1
    sec.full_batch.click()
    qtbot.waitUntil(lambda: sec.train_samples is not None, timeout=10_000)
    sec.full_batch.click()
    assert doc.project.training["batch_size"] == 320
    sec.optimizer.setCurrentText("momentum")
    assert doc.project.training["optimizer"]["type"] == "momentum"
    sec.early.setChecked(True)
    assert doc.project.training["early_stopping"] == {"patience": 5, "min_delta": 0.0}
    for _ in range(4):
        doc.undo_stack.undo()
    assert doc.project.training == spirals_mlp(epochs=12)["training"]
    assert sec.optimizer.currentText() == "adam"
    data = w.training.dock.data
    data.dataset.setCurrentIndex(data.dataset.findData("moons"))
    assert doc.project.data["dataset"] == "moons"
    doc.undo_stack.undo()
    assert data.dataset.currentData() == "spirals"


def test_closing_the_window_ends_the_run(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path, spirals_mlp(epochs=2000), "long")
    session = w.training.session
    click(qtbot, w, "train")
    qtbot.waitUntil(lambda: session.current.step > 10, timeout=60_000)
    w.close()
    qtbot.waitUntil(lambda: not session.busy, timeout=3000)
    assert session.current.finished.reason == "stopped"


def test_opening_another_project_starts_afresh(qtbot, spirals, tmp_path):
    w = spirals
    click(qtbot, w, "train")
    wait_finished(qtbot, w)
    assert w.training.session.model is not None
    other = tmp_path / "other.netw"
    other.write_text(json.dumps(spirals_mlp(epochs=3, hidden=8)), "utf-8")
    assert w.open_path(other, ask=False)
    session = w.training.session
    assert session.model is None and len(session.runs) == 0
    raw = w.training.panels["loss"].raw.yData
    assert raw is None or len(raw) == 0
    assert w.training.dock.progress.format() == "idle"
    assert not w.training.dock.continue_box.isEnabled()


def test_the_dock_says_kernels_are_compiling_until_the_first_step(qtbot, spirals):
    """A first run on a machine waits for Numba: the dock says so instead of sitting at
    0 % (the trainer's `Compiling` events, see tests/test_training.py)."""
    from compute.events import Compiling

    w = spirals
    session, dock = w.training.session, w.training.dock
    session.runs.new_run(w.document.project.to_dict())
    session.worker.state = "running"
    try:
        session._on_events([RunStarted("spirals", [], 2, 10, 100, 20, "classification"),
                            Compiling("dense_forward", 3, 2.4)])
        dock._progress(force=True)
        assert dock.progress.format() == "compiling kernels…"
        assert dock.progress.maximum() == 0                  # busy, not stuck at 0 %
        assert dock.status.text().startswith("Compiling dense_forward (3 kernels, 2 s).")
        session._on_events([StepEnd(1, 1, 0.7, 0.01, 500.0)])
        dock._progress(force=True)
        assert dock.progress.maximum() == 20 and dock.progress.format() == "%p%"
        assert dock.status.text().startswith("epoch 1/2 · step 1/20")
    finally:
        session.worker.state = "idle"
