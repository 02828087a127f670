"""Model-level behaviour of compute/model.py with every kind of node: the whole loss and
its gradients by finite differences in float64 (fan-out, penalties, two Outputs, KL),
weight noise, diagnostics, train/inference modes and determinism."""
import numpy as np
import pytest

import compute
from compute import Regularization, build_model
from compute.errors import TrainingError
from tests.harness import numeric_grad, rel_error


def branching_graph() -> compute.Graph:
    """h feeds three nodes (a, b and the Concat); d feeds both ports of an Add."""
    g = compute.Graph()
    g.add_node("x", "Input", shape=[4])
    g.add_node("h", "Dense", units=5, activation="tanh", l1=0.02)
    g.add_node("a", "Dense", units=3, activation="sigmoid")
    g.add_node("b", "Dense", units=3, activation="elu", l2=0.03)
    g.add_node("sum", "Add")
    g.add_node("bn", "BatchNorm", momentum=0.5)
    g.add_node("twice", "Add")
    g.add_node("cat", "Concat")
    g.add_node("fc", "Dense", units=3)
    g.add_node("out", "Output", loss="cross_entropy")
    g.chain("x", "h", "a", "sum", "bn")
    g.chain("h", "b", "sum")
    g.connect("bn", "twice", 0)
    g.connect("bn", "twice", 1)
    g.chain("h", "cat")
    g.chain("twice", "cat", "fc", "out")
    return g


def two_output_graph() -> compute.Graph:
    """A classifier head and a VAE-style head (Sampling with its KL) on one trunk."""
    g = compute.Graph()
    g.add_node("x", "Input", shape=[3])
    g.add_node("h", "Dense", units=6, activation="tanh")
    g.add_node("drop", "Dropout", rate=0.3)
    g.add_node("cls", "Dense", units=3, l2=0.01)
    g.add_node("labels", "Output", loss="cross_entropy")
    g.add_node("mu", "Dense", units=2)
    g.add_node("logvar", "Dense", units=2)
    g.add_node("z", "Sampling", beta=0.5)
    g.add_node("dec", "Dense", units=3)
    g.add_node("recon", "Output", loss="mse")
    g.chain("x", "h", "drop", "cls", "labels")
    g.chain("drop", "mu", "z")
    g.chain("drop", "logvar", "z")
    g.chain("z", "dec", "recon")
    return g


def perturb(model: compute.Model, seed: int = 1) -> None:
    """Non-zero biases and BatchNorm params, so that every gradient is really checked."""
    rng = np.random.default_rng(seed)
    for p in model.params.values():
        for k in p:
            p[k] += rng.normal(0, 0.2, p[k].shape)


def check_model_gradients(model, x, target) -> None:
    """Every parameter's gradient from loss_and_grads against central differences.

    Stochastic layers draw from a generator reset before every evaluation, so the loss is
    one smooth function of the weights.
    """
    def loss():
        fresh = np.random.default_rng(99)
        for layer in model.layers.values():
            layer.rng = fresh
        return model.loss_and_grads(x, target)[0]

    loss()
    fresh = np.random.default_rng(99)
    for layer in model.layers.values():
        layer.rng = fresh
    _, grads = model.loss_and_grads(x, target)
    assert set(grads) == set(model.params)
    for n, p in model.params.items():
        for k, w in p.items():
            num = numeric_grad(loss, w)
            err = rel_error(grads[n][k], num)
            assert err < 1e-6, f"{n}/{k}: rel. error {err:.2e}"


@pytest.mark.parametrize("reg", [None, Regularization(l1=0.01, l2=0.05)], ids=["own", "global"])
def test_fan_out_gradients_match_finite_differences(reg):
    model = build_model(branching_graph(), seed=0, dtype=np.float64, regularization=reg)
    perturb(model)
    rng = np.random.default_rng(2)
    check_model_gradients(model, rng.normal(size=(6, 4)), rng.integers(0, 3, 6))


def test_two_outputs_dropout_and_kl_gradients_match_finite_differences():
    model = build_model(two_output_graph(), seed=0, dtype=np.float64,
                        regularization=Regularization(l2=0.02))
    perturb(model)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5, 3))
    target = {"labels": rng.integers(0, 3, 5), "recon": rng.normal(size=(5, 3))}
    check_model_gradients(model, x, target)


def test_loss_is_the_sum_of_its_parts():
    """Both Outputs' losses + the KL + L1/L2 penalties (own first, global where 0)."""
    reg = Regularization(l1=0.004, l2=0.02)
    model = build_model(two_output_graph(), seed=1, dtype=np.float64, regularization=reg)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(4, 3))
    target = {"labels": rng.integers(0, 3, 4), "recon": rng.normal(size=(4, 3))}
    loss, _ = model.loss_and_grads(x, target)
    parts = sum(model.layers[n].loss(target[n])[0] for n in ("labels", "recon"))
    kl = model.layers["z"].extra_loss
    assert kl > 0
    penalty = 0.0
    for n, layer in model.layers.items():
        for name in layer.penalized:
            w = model.params[n][name]
            l1 = layer.cfg["l1"] or reg.l1
            l2 = layer.cfg["l2"] or reg.l2
            penalty += l1 * np.abs(w).sum() + 0.5 * l2 * (w * w).sum()
    assert model.penalty_strengths("cls") == (0.004, 0.01)     # its own l2 wins
    assert loss == pytest.approx(parts + kl + penalty, rel=1e-12)


def test_biases_and_batchnorm_params_are_not_penalized():
    model = build_model(branching_graph(), seed=0, dtype=np.float64,
                        regularization=Regularization(l1=0.5, l2=0.5))
    rng = np.random.default_rng(5)
    x, t = rng.normal(size=(4, 4)), rng.integers(0, 3, 4)
    reg_grads = model.loss_and_grads(x, t)[1]
    model.regularization = Regularization()
    plain_grads = model.loss_and_grads(x, t)[1]
    for n, p in model.params.items():
        for k in p:
            same = np.allclose(reg_grads[n][k], plain_grads[n][k], rtol=1e-12, atol=1e-15)
            assert same == (k != "W"), f"{n}/{k}"


def test_weight_noise_changes_the_loss_and_restores_the_weights():
    noisy = build_model(relu_sigmoid_graph(), seed=0,
                        regularization=Regularization(weight_noise=0.3))
    plain = build_model(relu_sigmoid_graph(), seed=0)
    rng = np.random.default_rng(6)
    x = rng.normal(size=(8, 4)).astype(np.float32)
    t = rng.integers(0, 3, 8)
    before = {n: {k: v.copy() for k, v in p.items()} for n, p in noisy.params.items()}
    losses = [noisy.loss_and_grads(x, t)[0] for _ in range(3)]
    clean = plain.loss_and_grads(x, t)[0]
    assert all(abs(v - clean) > 1e-4 for v in losses)
    assert len(set(losses)) == 3                                 # fresh noise every step
    for n, p in noisy.params.items():     # exactly: (w + e) − e would drift by rounding
        for k, v in p.items():
            np.testing.assert_array_equal(v, before[n][k], err_msg=f"{n}/{k}")
    # inference never sees the noise
    np.testing.assert_array_equal(noisy.forward(x), plain.forward(x))


def relu_sigmoid_graph() -> compute.Graph:
    g = compute.Graph()
    g.add_node("x", "Input", shape=[4])
    g.add_node("r", "Dense", units=8, activation="relu")
    g.add_node("s", "Dense", units=6, activation="sigmoid")
    g.add_node("t", "Dense", units=5, activation="tanh")
    g.add_node("fc", "Dense", units=3)
    g.add_node("out", "Output", loss="cross_entropy")
    g.chain("x", "r", "s", "t", "fc", "out")
    return g


def test_diagnostics_report_dead_relus_and_saturation():
    model = build_model(relu_sigmoid_graph(), seed=0)
    p = model.params
    p["r"]["b"][:4] = -100.0                   # four of eight ReLUs can never fire
    p["s"]["W"] *= 200.0                       # sigmoids pushed into their flat tails
    rng = np.random.default_rng(7)
    x = rng.normal(size=(32, 4)).astype(np.float32)
    t = rng.integers(0, 3, 32)
    loss, grads = model.loss_and_grads(x, t, diagnostics=True)
    acts, norms = model.diagnostics["activations"], model.diagnostics["grad_norms"]
    assert set(acts) == {"r", "s", "t", "fc", "out"}
    r, s, tt = model.values["r"], model.values["s"], model.values["t"]
    assert acts["r"]["zero_fraction"] == pytest.approx(np.mean(r == 0))
    assert acts["r"]["zero_fraction"] >= 0.5
    assert acts["r"]["saturated_fraction"] is None
    assert acts["s"]["saturated_fraction"] == pytest.approx(np.mean(np.abs(s - 0.5) >= 0.49))
    assert acts["s"]["saturated_fraction"] > 0.8
    assert acts["s"]["zero_fraction"] is None
    assert acts["t"]["saturated_fraction"] == pytest.approx(np.mean(np.abs(tt) >= 0.99))
    assert acts["fc"]["zero_fraction"] is None and acts["fc"]["saturated_fraction"] is None
    for n, y in (("r", r), ("s", s), ("t", tt)):
        assert acts[n]["mean"] == pytest.approx(float(y.mean()), rel=1e-4, abs=1e-6)
        assert acts[n]["std"] == pytest.approx(float(y.std()), rel=1e-3, abs=1e-6)
    for n in ("r", "s", "t", "fc"):
        want = np.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads[n].values()))
        assert norms[n]["weights"] == pytest.approx(want, rel=1e-5)
    # the gradient reaching fc's output is the fused softmax-CE's (p − t)/N
    probs = model.values["out"]
    dz = (probs - np.eye(3)[t]) / 32
    assert norms["fc"]["activations"] == pytest.approx(float(np.linalg.norm(dz)), rel=1e-4)
    # dead units pass no gradient: their weight columns get exactly zero
    assert np.all(grads["r"]["W"][:, :4] == 0) and np.all(grads["r"]["b"][:4] == 0)


def test_no_diagnostics_unless_asked():
    model = build_model(relu_sigmoid_graph(), seed=0)
    x = np.zeros((2, 4), np.float32)
    model.loss_and_grads(x, np.array([0, 1]))
    assert model.diagnostics == {}


def dropout_graph(rate=0.5) -> compute.Graph:
    g = compute.Graph()
    g.add_node("x", "Input", shape=[20])
    g.add_node("h", "Dense", units=30, activation="tanh")
    g.add_node("drop", "Dropout", rate=rate)
    g.add_node("fc", "Dense", units=2)
    g.add_node("out", "Output", loss="cross_entropy")
    g.chain("x", "h", "drop", "fc", "out")
    return g


def test_dropout_is_active_only_in_training():
    model = build_model(dropout_graph(), seed=0)
    x = np.random.default_rng(8).normal(size=(16, 20)).astype(np.float32)
    a, b = model.forward(x), model.forward(x)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(model.values["drop"], model.values["h"])
    t1 = model.forward(x, training=True)
    dropped = model.values["drop"]
    assert 0.3 < np.mean(dropped == 0) < 0.7
    kept = dropped != 0
    np.testing.assert_allclose(dropped[kept], 2.0 * model.values["h"][kept], rtol=1e-6)
    assert not np.array_equal(t1, model.forward(x, training=True))
    # the backward pass sees the same dropped activations as the forward pass
    t = np.zeros(16, int)
    _, grads = model.loss_and_grads(x, t)
    dz = (model.values["out"] - np.eye(2)[t]) / 16
    np.testing.assert_allclose(grads["fc"]["W"], model.values["drop"].T @ dz, rtol=1e-5,
                               atol=1e-7)


def test_batchnorm_running_stats_are_state_not_parameters():
    g = compute.Graph()
    g.add_node("x", "Input", shape=[2, 4, 4])
    g.add_node("bn", "BatchNorm")
    g.add_node("flat", "Flatten")
    g.add_node("out", "Output", loss="mse")
    g.chain("x", "bn", "flat", "out")
    model = build_model(g, seed=0)
    names = {(n, k) for n, k, _ in model.parameters()}
    assert names == {("bn", "gamma"), ("bn", "beta")}
    state = model.layers["bn"].state
    x = np.random.default_rng(9).normal(2.0, 1.0, (8, 2, 4, 4)).astype(np.float32)
    model.loss_and_grads(x, np.zeros((8, 32), np.float32))
    np.testing.assert_allclose(state["running_mean"], 0.1 * x.mean(axis=(0, 2, 3)), rtol=1e-5)
    frozen = {k: v.copy() for k, v in state.items()}
    model.forward(x)                                    # inference leaves them alone
    for k in frozen:
        np.testing.assert_array_equal(state[k], frozen[k])


def run_steps(seed: int, steps: int = 3):
    """Losses, gradients and final weights of a few SGD steps on a stochastic model."""
    model = build_model(two_output_graph(), seed=seed,
                        regularization=Regularization(weight_noise=0.05))
    rng = np.random.default_rng(10)
    x = rng.normal(size=(6, 3)).astype(np.float32)
    target = {"labels": rng.integers(0, 3, 6), "recon": rng.normal(size=(6, 3))}
    losses, last = [], None
    for _ in range(steps):
        loss, grads = model.loss_and_grads(x, target)
        losses.append(loss)
        for n, p in model.params.items():
            for k in p:
                p[k] -= 0.1 * grads[n][k]
        last = grads
    return losses, last, model.params


def test_deterministic_under_the_seed():
    l1, g1, p1 = run_steps(seed=3)
    l2, g2, p2 = run_steps(seed=3)
    assert l1 == l2
    for n in p1:
        for k in p1[n]:
            np.testing.assert_array_equal(p1[n][k], p2[n][k])
            np.testing.assert_array_equal(g1[n][k], g2[n][k])
    l3, _, p3 = run_steps(seed=4)
    assert l3 != l1
    assert not np.array_equal(p3["h"]["W"], p1["h"]["W"])


def test_bad_targets_name_the_output():
    model = build_model(two_output_graph(), seed=0)
    x = np.zeros((4, 3), np.float32)
    with pytest.raises(TrainingError, match='Output "labels": class indices'):
        model.loss_and_grads(x, {"labels": np.array([0, 1, 2, 3]), "recon": np.zeros((4, 3))})
    with pytest.raises(TrainingError, match='Output "recon": targets of shape'):
        model.loss_and_grads(x, {"labels": np.array([0, 1, 2, 0]), "recon": np.zeros((4, 2))})
    with pytest.raises(TrainingError, match='no target given for Output "recon"'):
        model.loss_and_grads(x, {"labels": np.array([0, 1, 2, 0])})
