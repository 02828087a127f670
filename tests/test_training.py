"""The trainer: reproducibility, control from another thread, early stopping, divergence,
autoencoders, augmentation, events, probes and the run folder."""
from __future__ import annotations

import json
import math
import threading
import time

import numpy as np
import pytest
from sklearn.metrics import r2_score

from compute.errors import GraphError, TrainingError
from compute.events import Compiling, EpochEnd, Finished, RunStarted, Snapshot, StepEnd
from compute.graph import Graph
from compute.model import build_model
from compute.project import Project, load_project
from compute.training import History, Trainer, train
from compute.training.metrics import Metrics
from compute.training.summary import Summarized
from compute.weights import load_weights, model_arrays


# -- small projects, written as dicts -------------------------------------------------------
def mlp_graph(units=(16,), act="tanh", out_units=2, loss="cross_entropy", shape=(2,),
              dropout=None) -> dict:
    """A chain: Input, Flatten (for images), Dense layers, Dense, Reshape back (for
    autoencoders), Output."""
    nodes = [{"id": "x", "type": "Input", "params": {"shape": list(shape)}}]
    if len(shape) > 1:
        nodes.append({"id": "flat", "type": "Flatten", "params": {}})
    for i, u in enumerate(units, 1):
        nodes.append({"id": f"h{i}", "type": "Dense", "params": {"units": u, "activation": act}})
        if dropout:
            nodes.append({"id": f"drop{i}", "type": "Dropout", "params": {"rate": dropout}})
    nodes.append({"id": "fc", "type": "Dense", "params": {"units": out_units}})
    if len(shape) > 1 and out_units == int(np.prod(shape)):
        nodes.append({"id": "back", "type": "Reshape", "params": {"shape": list(shape)}})
    nodes.append({"id": "out", "type": "Output", "params": {"loss": loss}})
    ids = [n["id"] for n in nodes]
    return {"nodes": nodes, "edges": [{"source": a, "target": b} for a, b in zip(ids, ids[1:])]}


def make_project(graph: dict | None = None, data: dict | None = None, name: str = "test",
                 **training) -> Project:
    data = data or {"dataset": "moons", "params": {"n_samples": 100}}
    settings = {"epochs": 2, "batch_size": 16, "optimizer": {"type": "adam", "lr": 0.01},
                **training}
    return Project(name, Graph.from_dict(graph or mlp_graph()), data, settings)


def diverging_project(**training) -> Project:
    """ReLU regression with plain SGD at lr 10: the gradients explode within a few steps."""
    settings = {"epochs": 20, "batch_size": 10, "optimizer": {"type": "sgd", "lr": 10.0},
                **training}
    return make_project(mlp_graph((32, 32), "relu", 1, "mse", (1,)),
                        {"dataset": "regression_1d", "params": {"n_samples": 100}}, **settings)


def weights_of(model) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in model_arrays(model).items()}


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


# -- reproducibility --------------------------------------------------------------------------
def test_same_seed_gives_identical_weights_however_often_one_looks():
    project = make_project(mlp_graph((16,), dropout=0.2), epochs=3,
                           data={"dataset": "moons", "params": {"n_samples": 100},
                                 "input_noise": 0.05})
    plain = Trainer(project, snapshot_every=0)
    h1 = plain.run()

    def consume_rng(model):          # a probe running dropout must not shift training
        model.forward(np.zeros((4, 2), np.float32), training=True)
        return model.rng.random()

    watched = Trainer(project, snapshot_every=1, diagnostics_every=1,
                      probes={"rng": consume_rng})
    h2 = watched.run()
    assert same_weights(weights_of(plain.model), weights_of(watched.model))
    assert h1["loss"] == h2["loss"] and h1["val_loss"] == h2["val_loss"]

    other = Trainer(project, seed=1, snapshot_every=0)
    other.run()
    assert not same_weights(weights_of(plain.model), weights_of(other.model))


def test_train_function_returns_history_with_the_trained_model():
    history = train(make_project(), epochs=1)
    assert isinstance(history, History)
    assert history.reason == "completed" and len(history.epochs) == 1
    assert history.epochs[0]["epoch"] == 1
    assert history.model is not None and history.model.params


@pytest.mark.parametrize("batch_size, steps", [(1, 80), (16, 5), (30, 3), (10**6, 1)])
def test_batch_size_one_minibatch_or_full(batch_size, steps):
    # 100 moons samples, validation_split 0.2: 80 training samples
    trainer = Trainer(make_project(batch_size=batch_size))
    assert trainer.feed.steps_per_epoch == steps
    assert sum(len(x) for x, _ in trainer.feed.epoch()) == 80


# -- events ------------------------------------------------------------------------------------
def test_event_sequence_and_contents():
    events = []
    trainer = Trainer(make_project(epochs=2, batch_size=20), callbacks=[events.append],
                      snapshot_every=3, diagnostics_every=2)
    history = trainer.run()
    events = [e for e in events if not isinstance(e, Compiling)]   # only with a cold cache
    kinds = [type(e) for e in events]
    assert kinds[0] is RunStarted and kinds[1] is Snapshot
    assert kinds[-2] is Snapshot and kinds[-1] is Finished
    started = events[0]
    assert (started.epochs, started.steps_per_epoch, started.train_samples,
            started.val_samples, started.task) == (2, 4, 80, 20, "classification")
    assert [r["node"] for r in started.summary] == ["x", "h1", "fc", "out"]

    steps = [e for e in events if isinstance(e, StepEnd)]
    assert [s.step for s in steps] == list(range(1, 9))
    assert [s.epoch for s in steps] == [1] * 4 + [2] * 4
    for s in steps:
        assert math.isfinite(s.loss) and s.lr == 0.01 and s.samples_per_s > 0
        if s.step % 2 == 1:           # steps 1, 3, ... ran with diagnostics (step - 1 even)
            assert set(s.grad_norms) >= {"h1", "fc"} and s.grad_norms["h1"]["weights"] > 0
            assert s.activations["h1"]["saturated_fraction"] is not None   # tanh
        else:
            assert s.grad_norms == {} and s.activations == {}

    ends = [e for e in events if isinstance(e, EpochEnd)]
    assert [(e.epoch, e.step) for e in ends] == [(1, 4), (2, 8)]
    # each EpochEnd comes right after its epoch's last step (or that step's snapshot)
    for end in ends:
        i = events.index(end)
        before = [e for e in events[:i] if isinstance(e, StepEnd)][-1]
        assert before.step == end.step
    assert set(ends[0].metrics) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr",
                                    "seconds"}
    snaps = [e for e in events if isinstance(e, Snapshot)]
    assert [s.step for s in snaps] == [0, 3, 6, 8]
    done = events[-1]
    assert done.reason == "completed" and done.epochs_run == 2
    assert done.history == history.epochs
    assert trainer.state == "finished"


def test_kernels_compiled_during_a_run_are_reported_before_the_step_that_waits():
    """A kernel Numba has to compile (not load from its cache) during the run sends a
    `Compiling` event from the training thread; a compile on another thread does not."""
    from numba import njit

    @njit(cache=False)
    def fresh_kernel_for_this_test(x):
        return x * 2.0

    @njit(cache=False)
    def compiled_elsewhere(x):
        return x + 1.0

    events = []

    def compile_during_the_run(event):
        events.append(event)
        if isinstance(event, RunStarted):
            fresh_kernel_for_this_test(1.0)
            other = threading.Thread(target=compiled_elsewhere, args=(1.0,))
            other.start()
            other.join()

    Trainer(make_project(epochs=1), callbacks=[compile_during_the_run]).run()
    compiles = [e for e in events if isinstance(e, Compiling)]
    assert [e.kernel for e in compiles][-1:] == ["fresh_kernel_for_this_test"]
    assert "compiled_elsewhere" not in [e.kernel for e in compiles]
    assert [e.count for e in compiles] == list(range(1, len(compiles) + 1))
    first_step = next(i for i, e in enumerate(events) if isinstance(e, StepEnd))
    assert events.index(compiles[-1]) < first_step
    # outside a run nothing is reported (the listener is gone)
    n = len(events)
    fresh_kernel_for_this_test(1)          # an int: a new signature, compiled now
    assert len(events) == n


def test_snapshot_holds_activations_weights_and_probe_results():
    snaps = []

    def broken(model):
        raise RuntimeError("probe bug")

    trainer = Trainer(make_project(epochs=1), callbacks=[
        lambda e: snaps.append(e) if isinstance(e, Snapshot) else None],
        probes={"val_out": lambda m: m.forward(trainer.feed.x_val[:3]), "broken": broken},
        snapshot_samples=5)
    trainer.run()
    first, last = snaps[0], snaps[-1]
    assert first.inputs.shape == (5, 2)
    np.testing.assert_array_equal(first.inputs, trainer.feed.x_val[:5])
    np.testing.assert_array_equal(first.targets, trainer.feed.t_val[:5])
    assert set(first.activations) == {"x", "h1", "fc", "out"}
    assert first.activations["h1"].shape == (5, 16)
    # the last snapshot shows the final model, not a view of live arrays
    np.testing.assert_array_equal(last.weights["h1"]["W"], trainer.model.params["h1"]["W"])
    assert not np.array_equal(first.weights["h1"]["W"], last.weights["h1"]["W"])
    assert first.weights["h1"]["W"] is not trainer.model.params["h1"]["W"]
    expected = trainer.model.forward(trainer.feed.x_val[:3])
    np.testing.assert_array_equal(last.probes["val_out"], expected)
    assert isinstance(last.probes["broken"], RuntimeError)


def test_snapshots_carry_the_summary_the_panels_draw():
    """Percentiles of every layer's activations, dead ReLU units and the update-to-weight
    ratio since the snapshot before: added in the window's training process (Summarized),
    so the window only files them; a headless run does not pay for them."""
    snaps, plain = [], []
    trainer = Trainer(make_project(mlp_graph((32, 8), "relu"), epochs=2, snapshot_every=3),
                      callbacks=[lambda e: plain.append(e) if isinstance(e, Snapshot) else None],
                      snapshot_samples=16)
    trainer.callbacks.append(Summarized(
        trainer.model, lambda e: snaps.append(e) if isinstance(e, Snapshot) else None))
    trainer.run()
    assert len(snaps) >= 3 and len(plain) == len(snaps)
    assert all(p.summary == {} for p in plain)
    for before, snap in zip([None] + snaps, snaps):
        s = snap.summary
        assert set(s["bands"]) == {"h1", "h2", "fc", "out"}          # every node but the input
        for node, pct in s["bands"].items():
            np.testing.assert_allclose(pct, np.percentile(snap.activations[node],
                                                          [5, 25, 50, 75, 95]))
        assert set(s["dead_units"]) == {"h1", "h2"}                     # the ReLU layers
        for node, fraction in s["dead_units"].items():
            never = ~(snap.activations[node] != 0).any(axis=0)
            assert fraction == pytest.approx(never.mean())
        if before is None:
            assert s["update_ratios"] == {}
            continue
        steps = snap.step - before.step
        for node in ("h1", "h2", "fc"):
            new, old = (np.concatenate([w.astype(np.float64).ravel()
                                        for w in x.weights[node].values()])
                        for x in (snap, before))
            expect = np.linalg.norm(new - old) / np.linalg.norm(old) / steps
            assert s["update_ratios"][node] == pytest.approx(expect, rel=1e-6)


# -- control from another thread ------------------------------------------------------------
def wait_for(condition, timeout=10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.005)
    return False


def test_pause_resume_and_stop_from_another_thread():
    events = []
    trainer = Trainer(make_project(epochs=100_000, batch_size=8), callbacks=[events.append],
                      snapshot_every=0)
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("h", trainer.run()))
    thread.start()
    try:
        assert wait_for(lambda: trainer.step >= 5)
        trainer.pause()
        assert wait_for(lambda: trainer.state == "paused")
        paused_at = trainer.step
        time.sleep(0.3)
        assert trainer.step == paused_at          # a paused run takes no step
        trainer.resume()
        assert wait_for(lambda: trainer.step > paused_at + 3)
        assert trainer.state == "running"
    finally:
        trainer.stop()
        thread.join(10)
    assert not thread.is_alive()
    assert result["h"].reason == "stopped"
    assert isinstance(events[-1], Finished) and events[-1].reason == "stopped"
    steps = [e.step for e in events if isinstance(e, StepEnd)]
    assert steps[-1] == trainer.step


def test_stop_wakes_a_paused_run():
    trainer = Trainer(make_project(epochs=100_000), snapshot_every=0)
    thread = threading.Thread(target=trainer.run)
    thread.start()
    assert wait_for(lambda: trainer.step >= 2)
    trainer.pause()
    assert wait_for(lambda: trainer.state == "paused")
    trainer.stop()
    thread.join(10)
    assert not thread.is_alive() and trainer.history.reason == "stopped"



def test_loading_the_kernels_before_the_run_leaves_the_model_as_it_was():
    """The run's kernel warm-up (a training step with diagnostics and an inference pass
    on two samples) is undone: weights, BatchNorm statistics and the random generator."""
    graph = mlp_graph((8,), "relu", dropout=0.5)
    graph["nodes"].insert(2, {"id": "bn", "type": "BatchNorm", "params": {}})
    ids = [n["id"] for n in graph["nodes"]]
    graph["edges"] = [{"source": a, "target": b} for a, b in zip(ids, ids[1:])]
    trainer = Trainer(make_project(graph))
    before = {k: v.copy() for k, v in model_arrays(trainer.model).items()}
    assert any(k.startswith("bn/") and "mean" in k for k in before)
    rng = trainer.model.rng.bit_generator.state
    trainer._load_kernels()
    after = model_arrays(trainer.model)
    assert set(after) == set(before)
    for k, v in before.items():
        np.testing.assert_array_equal(after[k], v, err_msg=k)
    assert trainer.model.rng.bit_generator.state == rng

# -- early stopping ----------------------------------------------------------------------------
def test_early_stopping_restores_the_best_weights(tmp_path):
    # few noisy points and a wide network: the validation loss soon rises
    project = make_project(mlp_graph((64, 64), "relu"),
                           {"dataset": "moons", "params": {"n_samples": 40, "noise": 0.4},
                            "validation_split": 0.5},
                           epochs=300, batch_size=20, optimizer={"type": "adam", "lr": 0.05},
                           early_stopping={"patience": 3, "min_delta": 0.0})
    trainer = Trainer(project, run_dir=tmp_path / "run")
    history = trainer.run()
    assert history.reason == "early_stopped"
    val = history["val_loss"]
    best = int(np.argmin(val))
    assert history.best_epoch == best + 1
    assert len(val) == best + 1 + 3                    # patience epochs after the best
    assert "restored the best weights" in history.message
    # the model holds the best epoch's weights: re-evaluating gives its validation loss
    assert trainer.evaluate()["val_loss"] == pytest.approx(val[best], rel=1e-6)
    saved = build_model(project.graph)
    load_weights(saved, tmp_path / "run" / "best.npz")
    assert same_weights(weights_of(saved), weights_of(trainer.model))
    load_weights(saved, tmp_path / "run" / "last.npz")
    assert not same_weights(weights_of(saved), weights_of(trainer.model))


# -- divergence --------------------------------------------------------------------------------
def test_divergence_names_a_layer_and_keeps_the_last_good_weights(tmp_path):
    before = {}

    def remember(event):             # the weights after every good step
        if isinstance(event, StepEnd):
            before.update(step=event.step, weights=weights_of(trainer.model))

    trainer = Trainer(diverging_project(), callbacks=[remember], run_dir=tmp_path / "run")
    history = trainer.run()
    assert history.reason == "diverged"
    assert trainer.step == before["step"]
    msg = history.message
    assert f"step {trainer.step + 1}" in msg
    assert any(f'layer "{n}"' in msg for n in ("h1", "h2", "fc", "out"))
    assert "lower learning rate" in msg and "gradient_clip" in msg
    assert same_weights(weights_of(trainer.model), before["weights"])
    saved = build_model(trainer.project.graph)
    load_weights(saved, tmp_path / "run" / "last.npz")          # finite, so it loads
    assert same_weights(weights_of(saved), before["weights"])
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert json.loads(lines[-1])["reason"] == "diverged"


def test_weights_that_overflow_fall_back_to_the_last_copy():
    # corrupt a weight between two steps: the next step finds it and restores the copy
    # taken at the start of the run (the last good weights the trainer holds)
    trainer = Trainer(make_project(epochs=1, batch_size=8), snapshot_every=0)
    start = weights_of(trainer.model)

    def poison(event):
        if isinstance(event, StepEnd) and event.step == 2:
            trainer.model.params["fc"]["W"][0, 0] = np.inf

    trainer.callbacks.append(poison)
    history = trainer.run()
    assert history.reason == "diverged"
    assert 'layer "fc"' in history.message and '"W"' in history.message
    assert "from step 0" in history.message, history.message
    assert same_weights(weights_of(trainer.model), start)


def test_gradient_clipping_keeps_the_same_run_finite():
    history = Trainer(diverging_project(epochs=3, gradient_clip={"norm": 1.0})).run()
    assert history.reason == "completed"
    assert all(math.isfinite(v) for v in history["loss"])


# -- targets, augmentation and metrics -------------------------------------------------------
DIGITS = {"dataset": "digits", "params": {"classes": 2}}


def test_denoising_autoencoder_trains_on_its_input():
    data = {**DIGITS, "target": "input", "input_noise": 0.3}
    events = []
    trainer = Trainer(make_project(mlp_graph((16,), "relu", 64, "mse", (1, 8, 8)), data,
                                   epochs=4, batch_size=32), callbacks=[events.append])
    history = trainer.run()
    assert events[0].task == "reconstruction"
    assert {"mse", "r2", "val_mse", "val_r2"} <= set(history.epochs[0])
    assert history["val_loss"][-1] < history["val_loss"][0]
    ds = trainer.dataset
    snap = next(e for e in events if isinstance(e, Snapshot))
    np.testing.assert_array_equal(snap.targets, ds.x_val[:16])     # clean targets
    noise = snap.inputs - snap.targets                               # noisy inputs
    assert 0.25 < float(noise.std()) < 0.35
    # training batches: noisy input, clean target
    xb, tb = next(trainer.feed.epoch())
    assert not np.array_equal(xb, tb)
    assert any(np.array_equal(tb[0], row) for row in ds.x_train)


def test_augmentation_applies_to_training_batches_only():
    data = {**DIGITS, "augmentation": [{"type": "flip", "horizontal": True,
                                        "probability": 1.0}]}
    seen = {}
    project = make_project(mlp_graph((16,), "relu", 2, "cross_entropy", (1, 8, 8)), data,
                           epochs=1, batch_size=10**6, shuffle=False)

    def look(event):
        if isinstance(event, StepEnd):          # the last forward pass was training's
            seen["train_input"] = trainer.model.values["x"].copy()
        if isinstance(event, EpochEnd):
            seen["val_loss"] = event.metrics["val_loss"]

    trainer = Trainer(project, callbacks=[look])
    trainer.run()
    ds = trainer.dataset
    np.testing.assert_array_equal(seen["train_input"], ds.x_train[..., ::-1])
    # validation used the data as it is: the same loss as evaluating the clean arrays
    assert trainer.evaluate()["val_loss"] == pytest.approx(seen["val_loss"], rel=1e-9)
    model = trainer.model
    clean = model.layers["out"]
    model.forward(ds.x_val)
    assert clean.loss(ds.y_val)[0] == pytest.approx(seen["val_loss"], rel=1e-5)


def test_regression_reports_mse_and_r2_like_scikit_learn():
    project = make_project(mlp_graph((16,), "tanh", 1, "mse", (1,)),
                           {"dataset": "regression_1d", "params": {"n_samples": 100}},
                           epochs=3, batch_size=8)
    trainer = Trainer(project)
    history = trainer.run()
    last = history.epochs[-1]
    assert {"mse", "r2", "val_mse", "val_r2"} <= set(last)
    pred = trainer.model.forward(trainer.feed.x_val)
    t = trainer.feed.t_val
    assert last["val_mse"] == pytest.approx(float(np.mean((pred - t) ** 2)), rel=1e-5)
    assert last["val_r2"] == pytest.approx(r2_score(t, pred), rel=1e-5)
    assert last["val_loss"] == pytest.approx(last["val_mse"] / 2, rel=1e-5)


def test_metrics_over_batches_equal_metrics_over_the_whole_arrays():
    rng = np.random.default_rng(0)
    probs = rng.random((50, 4, 3))
    labels = rng.integers(0, 3, (50, 4))
    m = Metrics("softmax")
    for s in range(0, 50, 7):
        m.update(probs[s:s + 7], labels[s:s + 7])
    assert m.result()["accuracy"] == pytest.approx(np.mean(probs.argmax(-1) == labels))
    onehot = np.eye(3)[labels]
    m.reset()
    m.update(probs, onehot)
    assert m.result()["accuracy"] == pytest.approx(np.mean(probs.argmax(-1) == labels))

    p1, y1 = rng.random((40, 1)), rng.integers(0, 2, 40)
    m = Metrics("sigmoid")
    m.update(p1[:25], y1[:25])
    m.update(p1[25:], y1[25:])
    assert m.result()["accuracy"] == pytest.approx(np.mean((p1[:, 0] > 0.5) == y1))

    y = rng.normal(3.0, 2.0, (60, 5))
    pred = y + rng.normal(0, 0.5, y.shape)
    m = Metrics("regression")
    for s in range(0, 60, 11):
        m.update(pred[s:s + 11], y[s:s + 11])
    out = m.result("val_")
    assert out["val_mse"] == pytest.approx(np.mean((pred - y) ** 2))
    assert out["val_r2"] == pytest.approx(r2_score(y, pred, multioutput="variance_weighted"))


# -- refusing what cannot train ----------------------------------------------------------------
def test_a_network_that_does_not_fit_its_data_is_refused_in_words():
    with pytest.raises(TrainingError, match=r'Input "x" takes samples of shape \[3\].*\[2\]'):
        Trainer(make_project(mlp_graph(shape=(3,))))
    with pytest.raises(TrainingError, match=r'Output "out" gets 3 values.*2 classes'):
        Trainer(make_project(mlp_graph(out_units=3)))
    two_inputs = {
        "nodes": [{"id": "x", "type": "Input", "params": {"shape": [2]}},
                  {"id": "y", "type": "Input", "params": {"shape": [2]}},
                  {"id": "add", "type": "Add", "params": {}},
                  {"id": "fc", "type": "Dense", "params": {"units": 2}},
                  {"id": "out", "type": "Output", "params": {}}],
        "edges": [{"source": "x", "target": "add", "port": 0},
                  {"source": "y", "target": "add", "port": 1},
                  {"source": "add", "target": "fc"}, {"source": "fc", "target": "out"}]}
    with pytest.raises(GraphError, match='exactly one Input node.*"x", "y"'):
        Trainer(make_project(two_inputs))


def test_a_failing_callback_ends_the_run_with_an_error():
    events = []

    def fail(event):
        events.append(event)
        if isinstance(event, StepEnd) and event.step == 3:
            raise ValueError("callback bug")

    trainer = Trainer(make_project(), callbacks=[fail])
    with pytest.raises(ValueError, match="callback bug"):
        trainer.run()
    assert isinstance(events[-1], Finished) and events[-1].reason == "error"
    assert "callback bug" in events[-1].message


# -- the run folder ----------------------------------------------------------------------------
def test_run_folder_holds_project_metrics_and_weights(tmp_path):
    project = make_project(epochs=5, batch_size=16)
    history = train(project, epochs=3, lr=0.02, seed=4, run_dir=tmp_path / "run")
    run = tmp_path / "run"
    assert sorted(p.name for p in run.iterdir()) == ["best.npz", "last.npz", "metrics.jsonl",
                                                     "project.netw"]
    trained = load_project(run / "project.netw")
    assert trained.training["epochs"] == 3 and trained.training["seed"] == 4
    assert trained.training["optimizer"] == {"type": "adam", "lr": 0.02}
    assert trained.graph == project.graph and trained.data == project.data

    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert records[0]["event"] == "run_started" and records[0]["settings"]["seed"] == 4
    assert records[-1] == {"event": "finished", "reason": "completed",
                           "message": "completed 3 epochs", "epochs_run": 3,
                           "best_epoch": history.best_epoch, "steps": 15}
    ends = [r for r in records if r["event"] == "epoch_end"]
    assert [{k: v for k, v in r.items() if k not in ("event", "step")} for r in ends] == \
        history.epochs
    assert [r["step"] for r in records if r["event"] == "step"] == list(range(1, 16))

    # the copy retrains to the same weights, and last.npz is what the run ended with
    again = train(trained)
    model = build_model(project.graph)
    load_weights(model, run / "last.npz")
    assert same_weights(weights_of(model), weights_of(again.model))
    best = Trainer(trained)
    load_weights(best.model, run / "best.npz")
    assert best.evaluate()["val_loss"] == pytest.approx(min(history["val_loss"]), rel=1e-6)
