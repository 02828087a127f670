"""Feature maps, filters, the misclassified gallery, autoencoder views and regression
plots, each from a real (short) run started in the window."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QRect

from compute.events import Snapshot

from designer.panels import base as panel_base
from designer.panels import style
from designer.panels.features import FeatureMapsPanel
from designer.training.overlay import CMAP
from .test_training_support import (click, lenet_digits, open_window, record_events,
                                    wait_finished)


def _snapshots(seen):
    return [e for e in seen if isinstance(e, Snapshot)]


def test_lenet_feature_maps_filters_and_gallery(qtbot, tmp_path):
    project = lenet_digits(epochs=2)
    project["data"]["params"] = {"classes": 3}
    project["graph"]["nodes"][7]["params"]["units"] = 3
    w = open_window(qtbot, tmp_path, project, "lenet")
    seen = record_events(w)
    click(qtbot, w, "train")
    run = wait_finished(qtbot, w)
    assert run.finished.reason == "completed", run.error
    last = _snapshots(seen)[-1]
    panel = w.training.panels["features"]
    keys = list(panel.images)
    assert keys == ["input", "conv1", "conv1/W", "pool1", "conv2", "conv2/W", "pool2"]
    sample = 2
    panel.sample.setValue(sample)
    # each image is the mosaic of that layer's real maps for the chosen sample
    for node in ("conv1", "pool2"):
        maps = last.activations[node][sample]
        expect = style.mosaic(maps, cols=len(maps) if len(maps) <= 8 else
                              min(16, -(-len(maps) // 2)), normalize="each")
        np.testing.assert_array_equal(panel.images[node].image, expect)
    filters = panel.images["conv1/W"].image
    W = last.weights["conv1"]["W"]
    assert filters.shape == (3, 6 * 3 + 5)                     # 6 filters of 3x3 in a row
    k = 0.5 + 0.5 * W[:, 0] / np.abs(W).max()
    np.testing.assert_allclose(filters[:, :3], k[0], rtol=1e-6)
    assert "label" in panel.caption.text()
    # predictions: confusion matrix over the validation split, gallery of the mistakes
    pred = w.training.panels["predictions"]
    res = pred.result
    assert res["confusion"].shape == (3, 3)
    assert res["confusion"].sum() == run.started.val_samples
    wrong = res["confusion"].sum() - np.trace(res["confusion"])
    assert len(res["wrong_index"]) == min(wrong, 24)
    # weights: one histogram per weighted layer, conv layers included
    weights = w.training.panels["weights"]
    assert list(weights.hists) == ["conv1", "conv2", "fc1", "fc2"]
    assert weights.view.minimumHeight() == 2 * panel_base.SMALL_ROW_PX + \
        panel_base.WIDE_ROW_PX                   # two rows of three, the ratio plot
    # activations: the title names the layer and stays; dead units are in the corner
    acts = w.training.panels["activations"]
    w.training.panel_docks["activations"].raise_()
    acts.refresh(force=True)
    for node, bands in acts.bands.items():
        assert bands.plot.titleLabel.text.startswith(f"{node} (")
        assert "dead" not in bands.plot.titleLabel.text
        dead = run.dead_units.get(node)
        expect = f"dead units {100 * dead.rows[-1][1]:.0f}%" if dead is not None and \
            len(dead) else ""
        if node not in run.saturated:
            assert bands.status.text == expect
    assert any(b.status.text.startswith("dead units") for b in acts.bands.values())
    assert acts.view.minimumHeight() >= panel_base.SMALL_ROW_PX * -(-len(acts.bands) // 3)
    # the canvas: every node with a gradient is tinted, edges carry their source's colour
    overlay = w.training.overlay
    cmap = pg.colormap.get(CMAP)
    for node in ("conv1", "conv2", "fc1", "fc2"):
        shown = w.scene.nodes[node].overlay_color
        assert shown is not None
        assert shown == cmap.map(overlay.positions[node], mode="qcolor")
    edge = w.scene.edges[("pool1", 0)]
    assert edge.source == "conv1" and edge.overlay_color == cmap.map(
        overlay.positions[("conv1", "pool1", 0)], mode="qcolor")
    assert overlay.legend.isVisible()
    w.training.actions["overlay"].setChecked(False)
    assert w.scene.nodes["conv1"].overlay_color is None and not overlay.legend.isVisible()


@pytest.mark.parametrize("name", ["lenet_digits", "resnet_digits", "spirals_mlp"])
def test_the_opened_example_is_clear_of_the_gradient_legend(qtbot, name):
    """The legend is pinned to the canvas's bottom-left corner while the canvas is
    tinted; the fit on opening keeps that strip free."""
    from pathlib import Path

    from designer import app

    [w] = app.start(str(Path(__file__).parents[2] / "projects" / f"{name}.netw"))
    qtbot.addWidget(w)
    app._windows.clear()
    qtbot.wait(50)                               # the second fit, at the final size
    overlay, view = w.training.overlay, w.canvas

    def legend_in_view():
        return QRect(view.viewport().mapFrom(view, overlay.legend.pos()),
                     overlay.legend.size())

    legend, port = legend_in_view(), view.viewport().rect()
    assert port.contains(legend) and legend.bottom() > port.bottom() - 30   # in the corner
    for node, item in w.scene.nodes.items():
        shown = view.mapFromScene(item.sceneBoundingRect()).boundingRect()
        assert port.contains(shown), node                                  # all in view
        assert not shown.intersects(legend), node
    view.horizontalScrollBar().setValue(view.horizontalScrollBar().value() + 100)
    view.verticalScrollBar().setValue(view.verticalScrollBar().value() + 100)
    assert legend_in_view() == legend            # panning moves the nodes, not the legend


def _dense_autoencoder() -> dict:
    def node(i, t, p, x):
        return {"id": i, "type": t, "params": p, "position": [x, 0]}

    nodes = [node("image", "Input", {"shape": [1, 8, 8]}, 0), node("flat", "Flatten", {}, 150),
             node("enc", "Dense", {"units": 16, "activation": "relu"}, 300),
             node("code", "Dense", {"units": 3}, 450),
             node("dec", "Dense", {"units": 64, "activation": "sigmoid"}, 600),
             node("shape", "Reshape", {"shape": [1, 8, 8]}, 750),
             node("out", "Output", {"loss": "mse"}, 900)]
    return {"format": "netwright", "version": 1, "name": "Autoencoder",
            "graph": {"nodes": nodes, "edges": [{"source": a["id"], "target": b["id"], "port": 0}
                                                for a, b in zip(nodes, nodes[1:])]},
            "data": {"dataset": "digits", "params": {"classes": 4}, "target": "input",
                     "input_noise": 0.1},
            "training": {"epochs": 2, "batch_size": 32,
                         "optimizer": {"type": "adam", "lr": 0.01}}}


def test_autoencoder_reconstructions_and_latent_space(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path, _dense_autoencoder(), "ae")
    seen = record_events(w)
    click(qtbot, w, "train")
    run = wait_finished(qtbot, w)
    assert run.finished.reason == "completed", run.error
    last = _snapshots(seen)[-1]
    panel = w.training.panels["autoencoder"]
    # rows: noisy input, reconstruction, clean target (a denoising autoencoder)
    assert len(panel.images) == 3 * 8
    np.testing.assert_array_equal(panel.images[0].image, last.inputs[0, 0])
    np.testing.assert_array_equal(panel.images[8].image, last.activations["out"][0, 0])
    np.testing.assert_array_equal(panel.images[16].image, last.targets[0, 0])
    lat = last.probes["latent"]
    assert lat["node"] == "code" and lat["dims"] == 3 and lat["xy"].shape[1] == 2
    np.testing.assert_array_equal(panel.codes, lat["xy"])
    assert set(np.unique(lat["labels"])) <= {0, 1, 2, 3}
    assert "PCA of 3-D codes" in panel.latent_plot.titleLabel.text
    # an autoencoder has no decision boundary or class confusion to show
    assert "boundary" not in last.probes and "predictions" not in last.probes
    # a snapshot is drawn a row of images per frame, so that each paint renders 8 images
    for item in panel.images:
        item.setImage(np.zeros((2, 2)))
    panel.dirty = True
    panel.on_screen = lambda: True
    for row in range(3):
        assert panel.refresh(paced=False)
        updated = [item.image.shape != (2, 2) for item in panel.images]
        assert updated == [True] * (8 * (row + 1)) + [False] * (8 * (2 - row)), row
    assert panel.refresh(paced=False) and panel._unfinished is None     # the latent space
    np.testing.assert_array_equal(panel.images[16].image, last.targets[0, 0])


def test_regression_curve_and_predicted_versus_true(qtbot, tmp_path):
    def node(i, t, p, x):
        return {"id": i, "type": t, "params": p, "position": [x, 0]}

    nodes = [node("x", "Input", {"shape": [1]}, 0),
             node("h", "Dense", {"units": 16, "activation": "tanh"}, 200),
             node("y", "Dense", {"units": 1}, 400), node("out", "Output", {"loss": "mse"}, 600)]
    project = {"format": "netwright", "version": 1, "name": "Curve",
               "graph": {"nodes": nodes, "edges": [{"source": a["id"], "target": b["id"]}
                                                   for a, b in zip(nodes, nodes[1:])]},
               "data": {"dataset": "regression_1d"},
               "training": {"epochs": 20, "optimizer": {"type": "adam", "lr": 0.02}}}
    w = open_window(qtbot, tmp_path, project, "curve")
    seen = record_events(w)
    click(qtbot, w, "train")
    run = wait_finished(qtbot, w)
    last = _snapshots(seen)[-1]
    model = w.training.session.model
    boundary = w.training.panels["boundary"]
    cx, cy = boundary.curve.xData, boundary.curve.yData
    np.testing.assert_allclose(cy, model.forward(cx[:, None].astype(np.float32))[:, 0],
                               rtol=1e-5, atol=1e-6)
    pred = w.training.panels["predictions"]
    res = last.probes["predictions"]
    assert res["kind"] == "regression" and pred.result is res
    np.testing.assert_array_equal(pred.scatter.data["x"], res["true"])
    np.testing.assert_array_equal(pred.scatter.data["y"], res["pred"])
    mse = float(np.mean((res["true"].astype(np.float64) - res["pred"]) ** 2))
    # the same mean squared error the trainer reports for the validation split
    assert mse == pytest.approx(run.epochs[-1]["val_mse"], rel=1e-4)
    assert w.training.panels["loss"].metric_name == "r2"
    assert "R²" in w.training.panels["loss"].metric_plot.getAxis("left").labelText


def test_feature_panel_lists_only_what_a_snapshot_has():
    acts = {"x": np.zeros((2, 1, 4, 4), np.float32), "c": np.ones((2, 3, 4, 4), np.float32),
            "r": np.ones((2, 5, 7), np.float32), "d": np.ones((2, 6), np.float32)}
    snap = Snapshot(1, 10, acts["x"], np.array([0, 1]), acts,
                    {"c": {"W": np.ones((3, 1, 3, 3), np.float32)}})
    types = {"x": "Input", "c": "Conv2D", "r": "LSTM", "d": "Dense"}
    kinds = [(k, kind) for k, _, kind in FeatureMapsPanel.entries(snap, types, True)]
    assert kinds == [("input", "input"), ("c", "maps"), ("c/W", "filters"), ("r", "sequence")]
    assert FeatureMapsPanel.image(snap, "r", "sequence", 0).shape == (7, 5)


def test_loss_and_metric_sit_side_by_side_in_a_wide_short_panel(qtbot, tmp_path):
    """The window's bottom dock is wide and short: stacked plots would each get a sliver."""
    from .test_training_support import spirals_mlp

    w = open_window(qtbot, tmp_path, spirals_mlp(epochs=1), "layout")
    panel = w.training.panels["loss"]
    panel.resize(1400, 260)
    assert panel.side_by_side
    grid = panel.view.ci.layout
    assert grid.itemAt(0, 1) is panel.metric_plot and panel.loss_plot.getAxis("bottom").isVisible()
    panel.resize(600, 700)
    assert not panel.side_by_side
    assert grid.itemAt(1, 0) is panel.metric_plot
    assert not panel.loss_plot.getAxis("bottom").isVisible()


def test_a_probe_that_failed_in_the_training_process_is_said_in_its_panel(qtbot, tmp_path,
                                                                         monkeypatch):
    """A probe's exception crosses from the host as a RemoteError: the panel names it
    instead of waiting for a snapshot that has come."""
    from types import SimpleNamespace

    from compute.wire import RemoteError

    w = open_window(qtbot, tmp_path, lenet_digits(epochs=1), "failed_probe")
    error = RemoteError("ValueError: cannot reshape array of size 0")
    snap = Snapshot(1, 5, np.zeros((1, 2), np.float32), None, {}, {},
                    {"predictions": error, "boundary": error})
    run = SimpleNamespace(snapshot=snap)
    for key in ("predictions", "boundary"):
        panel = w.training.panels[key]
        monkeypatch.setattr(type(panel), "run", property(lambda p: run))
        panel.refresh(force=True)
        assert "could not be computed: ValueError: cannot reshape" in panel._note.text()


def test_predictions_panel_sets_up_one_plot_for_each_kind_of_result(qtbot, tmp_path):
    """The main plot is made with the panel (making one took 20-30 ms of a frame while
    training) and set up anew when the kind of result changes, back and forth."""
    from .test_training_support import spirals_mlp

    w = open_window(qtbot, tmp_path, spirals_mlp(epochs=1), "kinds")
    pred = w.training.panels["predictions"]
    plot, view = pred.plot, pred.plot.getViewBox()
    cls = {"kind": "classification", "confusion": np.array([[3, 1], [0, 4]]),
           "accuracy": 0.875, "wrong_index": np.array([1]),
           "wrong_x": np.zeros((1, 2), np.float32), "wrong_true": np.array([0]),
           "wrong_pred": np.array([1]), "wrong_conf": np.array([0.6])}
    reg = {"kind": "regression", "true": np.linspace(0.0, 1.0, 5),
           "pred": np.linspace(0.0, 1.0, 5) + 0.1}
    for _ in range(2):
        pred.result = cls
        list(pred._classification(None, cls, 5))
        assert pred.plot is plot and pred.cm_image in plot.items
        assert len(pred.cm_texts) == 4 and all(t in plot.items for t in pred.cm_texts)
        assert view.yInverted() and not any(view.state["mouseEnabled"])
        assert [label for _, label in plot.getAxis("bottom")._tickLevels[0]] == ["0", "1"]
        # a fixed view on the matrix: new counts neither measure nor move anything
        assert list(view.autoRangeEnabled()) == [False, False]
        shown = view.viewRange()
        (x0, x1), (y0, y1) = shown
        assert x0 <= 0 and x1 >= 2 and y0 <= 0 and y1 >= 2 and min(x1 - x0, y1 - y0) < 2.1
        assert not any(t in view.addedItems for t in pred.cm_texts)    # not in its bounds
        more = dict(cls, confusion=np.array([[300, 1], [0, 40000]]))
        list(pred._classification(None, more, 6))
        assert [t.textItem.toPlainText() for t in pred.cm_texts] == ["300", "1", "0", "40000"]
        assert view.viewRange() == shown
        pred.result = reg
        list(pred._regression(reg, 6))
        assert pred.plot is plot and pred.cm_image is None and pred.cm_texts == []
        assert set(plot.items) == {pred.scatter, pred.diag}     # the matrix is gone
        assert not view.yInverted() and all(view.state["mouseEnabled"])
        assert plot.getAxis("bottom")._tickLevels is None       # no class names
        assert plot.getAxis("left")._tickLevels is None
        np.testing.assert_array_equal(pred.scatter.data["y"], reg["pred"])
        (x0, x1), (y0, y1) = view.viewRange()                     # it follows the data
        assert x0 <= 0.0 and x1 >= 1.0 and y0 <= 0.1 and y1 >= 1.1


def test_the_sequence_examples_plot_is_made_once_and_holds_one_run_at_a_time(qtbot,
                                                                            tmp_path):
    """Made with the panel (17-24 ms of a run's first snapshot otherwise), put in the
    gallery for sequence results, its curves made anew for each."""
    from .test_training_support import spirals_mlp

    w = open_window(qtbot, tmp_path, spirals_mlp(epochs=1), "sequences")
    pred = w.training.panels["predictions"]
    q = pred.sequence_plot
    rng = np.random.default_rng(0)
    seq = {"kind": "regression", "true": rng.random(8), "pred": rng.random(8),
           "examples": {"x": rng.random((4, 6, 1)), "true": rng.random((4, 6, 1)),
                        "pred": rng.random((4, 6, 1))}}
    reg = {"kind": "regression", "true": np.linspace(0.0, 1.0, 5),
           "pred": np.linspace(0.0, 1.0, 5)}
    for _ in range(2):
        pred.reset(None)
        list(pred._regression(seq, 3))
        assert pred.sequence_plot is q and q in pred.gallery.ci.items
        assert len(q.listDataItems()) == 8 and len(q.legend.items) == 2
        np.testing.assert_array_equal(pred.examples[2][1].getData()[1],
                                      seq["examples"]["pred"][2, :, 0])
        list(pred._regression(reg, 4))
        assert q not in pred.gallery.ci.items and pred.gallery.isHidden()


def test_many_to_one_examples_show_the_input_then_the_target_and_each_guess_as_a_cross(
        qtbot, tmp_path):
    """For a sequence read into one value: each example's input over time, its target at
    the next step, and the model's guess there as a cross of the same colour (the four
    crosses one item: an item each cost a millisecond a frame)."""
    from .test_training_support import spirals_mlp

    w = open_window(qtbot, tmp_path, spirals_mlp(epochs=1), "to-one")
    pred = w.training.panels["predictions"]
    rng = np.random.default_rng(1)
    res = {"kind": "regression", "true": rng.random(8), "pred": rng.random(8),
           "examples": {"x": rng.random((3, 6, 1)), "true": rng.random((3, 1)),
                        "pred": rng.random((3, 1))}}
    pred.reset(None)
    list(pred._regression(res, 5))
    ex = res["examples"]
    for i in range(3):
        true_c, guess_c = pred.examples[i]
        assert guess_c is None
        np.testing.assert_array_equal(true_c.getData()[1],
                                      np.append(ex["x"][i, :, 0], ex["true"][i, 0]))
    x, y = pred.guesses.getData()
    np.testing.assert_array_equal(x, [6, 6, 6])
    np.testing.assert_allclose(y, ex["pred"][:, 0])
    assert pred.guesses in pred.sequence_plot.items and len(pred.sequence_plot.legend.items) == 2
    pens = [p.color().name() for p in pred.guesses.data["pen"]]
    assert pens == [pg.mkColor(style.class_color(i)).name() for i in range(3)]
