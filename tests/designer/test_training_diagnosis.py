"""The diagnosis rules on synthetic histories: each finding fires when it should, names
its node, offers its fix, and stays quiet on a healthy run."""
from __future__ import annotations

import numpy as np
import pytest

from compute.events import EpochEnd, Finished, RunStarted, StepEnd
from designer.training import diagnosis as d
from designer.training.history import RunHistory

rng = np.random.default_rng(0)


def healthy_losses(n=400):
    return 2.0 * np.exp(-np.arange(n) / 80) + 0.05 + 0.02 * rng.random(n)


def test_divergence_names_the_layer_from_the_trainers_message():
    msg = 'training diverged at epoch 2, step 40: NaN/Inf first appeared in layer "conv2"'
    f = d.diverged(np.array([1.0, 2.0]), "diverged", msg, ["conv1", "conv2", "out"], "out", 0.5)
    assert (f.kind, f.severity, f.node) == ("diverged", "error", "conv2")
    assert f.patch == {"optimizer.lr": 0.05} and "clip" in f.fix
    nan = d.diverged(np.array([1.0, np.nan]), None, "", ["out"], "out", None)
    assert nan.node == "out" and nan.patch == {"gradient_clip": {"norm": 1.0}}
    assert d.diverged(healthy_losses(), "completed", "", ["out"], "out", 0.1) is None


def test_learning_rate_too_small_and_too_large():
    flat = 2.3 + 0.01 * rng.standard_normal(500)
    f = d.lr_too_small(flat, steps_per_epoch=50, output="out", lr=1e-5)
    assert f.kind == "lr_too_small" and f.patch == {"optimizer.lr": 1e-4}
    assert d.lr_too_small(healthy_losses(), 50, "out", 0.01) is None
    assert d.lr_too_small(flat[:60], 50, "out", 1e-5) is None        # too early to say
    rising = np.linspace(0.5, 3.0, 300) + 0.05 * rng.random(300)
    r = d.loss_rising(rising, "out", 0.3)
    assert r.kind == "loss_rising" and r.patch == {"optimizer.lr": 0.03}
    assert d.loss_rising(healthy_losses(), "out", 0.3) is None


def test_vanishing_and_exploding_gradients_relative_to_the_other_layers():
    norms = {"fc1": np.full(30, 1e-5), "fc2": np.full(30, 0.02), "fc3": np.full(30, 0.05),
             "fc4": np.full(30, 0.04)}
    types = {n: "Dense" for n in norms}
    found = d.gradient_flow(norms, types, {"fc1": "sigmoid"})
    assert [(f.kind, f.node) for f in found] == [("vanishing", "fc1")]
    assert "ReLU" in found[0].fix
    rnn = d.gradient_flow({"rnn": np.full(30, 1e-6), "fc": np.full(30, 0.1),
                           "fc2": np.full(30, 0.2)}, {"rnn": "SimpleRNN"})
    assert rnn[0].node == "rnn" and "LSTM" in rnn[0].fix
    boom = d.gradient_flow({"a": np.full(30, 5e4), "b": np.full(30, 0.1),
                            "c": np.full(30, 0.2)}, {})
    assert [(f.kind, f.node) for f in boom] == [("exploding", "a")]
    assert boom[0].patch == {"gradient_clip": {"norm": 1.0}}
    even = {n: np.full(30, 0.1 * (i + 1)) for i, n in enumerate("abcd")}
    assert d.gradient_flow(even, {}) == []
    # a deep sigmoid stack: most layers vanish, and the healthy top layer is not called
    # exploding for standing far above their median
    deep = {f"s{i}": np.full(30, 10.0 ** -(9 - i)) for i in range(1, 8)}
    deep["logits"] = np.full(30, 0.17)
    found = d.gradient_flow(deep, {n: "Dense" for n in deep},
                            {n: "sigmoid" for n in deep if n != "logits"})
    assert {f.kind for f in found} == {"vanishing"} and "logits" not in {f.node for f in found}


def test_dead_relus_from_snapshots_or_zero_fractions():
    found = d.dead_relus({"conv1": np.array([0.2, 0.7, 0.8])}, {"conv1": np.full(10, 0.6)})
    assert [(f.kind, f.node) for f in found] == [("dead_relu", "conv1")]
    assert "leaky" in found[0].fix
    # half of the outputs at zero is what a healthy ReLU gives
    assert d.dead_relus({}, {"fc": np.full(20, 0.5)}) == []
    assert d.dead_relus({}, {"fc": np.full(20, 0.95)})[0].node == "fc"


def test_saturated_sigmoid():
    f = d.saturation({"h": np.full(20, 0.8), "g": np.full(20, 0.1)}, {"h": "sigmoid"})
    assert [(x.kind, x.node) for x in f] == [("saturated", "h")]
    assert "sigmoid" in f[0].title


def _epochs(train, val, acc=None):
    rows = []
    for i, (t, v) in enumerate(zip(train, val)):
        row = {"epoch": i + 1, "step": 10 * (i + 1), "loss": t, "val_loss": v}
        if acc is not None:
            row["accuracy"] = acc[i]
        rows.append(row)
    return rows


def test_overfitting_when_validation_rises_while_training_falls():
    rows = _epochs([1.0, 0.6, 0.4, 0.3, 0.2, 0.1, 0.05], [1.0, 0.7, 0.5, 0.55, 0.65, 0.8, 0.9])
    f = d.overfitting(rows, "out")
    assert f.kind == "overfitting" and "epoch 3" in f.detail
    assert f.patch == {"early_stopping": {"patience": 3, "min_delta": 0.0}}
    good = _epochs([1.0, 0.6, 0.4, 0.3, 0.2], [1.0, 0.7, 0.5, 0.45, 0.42])
    assert d.overfitting(good, "out") is None


def test_underfitting_when_accuracy_stays_low_and_flat():
    flat = _epochs([1.0, 0.9, 0.89, 0.889, 0.889, 0.889], [1, 0.95, 0.93, 0.93, 0.93, 0.93],
                   acc=[0.5, 0.6, 0.62, 0.62, 0.62, 0.62])
    f = d.underfitting(flat, "classification", "out", 6, final=True)
    assert (f.kind, f.severity) == ("underfitting", "warning")
    still = _epochs([1.0, 0.8, 0.6], [1, 0.8, 0.6], acc=[0.5, 0.6, 0.7])
    g = d.underfitting(still, "classification", "out", 3, final=True)
    assert g.severity == "info" and g.patch == {"epochs": 6}
    assert d.underfitting(still, "classification", "out", 3, final=False) is None
    fine = _epochs([1.0, 0.5, 0.2], [1, 0.5, 0.2], acc=[0.8, 0.95, 0.99])
    assert d.underfitting(fine, "classification", "out", 3, final=True) is None


def test_apply_patch_changes_only_the_named_keys():
    t = {"epochs": 5, "optimizer": {"type": "adam", "lr": 0.1}}
    out = d.apply_patch(t, {"optimizer.lr": 0.01, "gradient_clip": {"norm": 1.0}})
    assert out == {"epochs": 5, "optimizer": {"type": "adam", "lr": 0.01},
                   "gradient_clip": {"norm": 1.0}}
    assert t["optimizer"]["lr"] == 0.1


def _run(losses, grad=None, zero=None, epochs=(), finished=None, types=None):
    types = types or {"x": "Input", "h1": "Dense", "h2": "Dense", "out": "Output"}
    graph = {"nodes": [{"id": "h1", "params": {"activation": "relu"}, "type": "Dense"},
                       {"id": "h2", "params": {"activation": "sigmoid"}, "type": "Dense"}]}
    run = RunHistory("r", {"graph": graph, "training": {"optimizer": {"lr": 0.1}}})
    run.handle(RunStarted("p", [{"node": n, "type": t} for n, t in types.items()], 10, 20, 200,
                          50, "classification"))
    for i, loss in enumerate(losses):
        g = {n: {"weights": v[i]} for n, v in (grad or {}).items()}
        a = {n: {"zero_fraction": v[i]} for n, v in (zero or {}).items()}
        run.handle(StepEnd(1, i + 1, float(loss), 0.1, 100.0, g, a))
    for row in epochs:
        run.handle(EpochEnd(row["epoch"], row["step"], row))
    if finished:
        run.handle(finished)
    return run


def test_diagnose_a_whole_run():
    n = 300
    run = _run(healthy_losses(n), grad={"h1": np.full(n, 1e-6), "h2": np.full(n, 0.1),
                                        "out": np.full(n, 0.2)},
               zero={"h1": np.full(n, 0.97)})
    kinds = {(f.kind, f.node) for f in d.diagnose(run)}
    assert kinds == {("vanishing", "h1"), ("dead_relu", "h1")}
    healthy = _run(healthy_losses(n), grad={"h1": np.full(n, 0.1), "h2": np.full(n, 0.2)})
    assert d.diagnose(healthy) == []
    boom = _run([1.0, 5.0, float("nan")],
                finished=Finished("diverged", 'diverged; first in layer "h2"', 1))
    found = d.diagnose(boom, final=True)
    assert [(f.kind, f.node) for f in found] == [("diverged", "h2")]
    assert found[0].patch == {"optimizer.lr": pytest.approx(0.01)}
