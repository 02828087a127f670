"""Dropout, BatchNorm and Sampling: the harness in both modes, then what each mode means."""
import numpy as np
import pytest

import compute
from compute.errors import TrainingError
from tests.harness import Case, build, forward_backward, run, run_layer_test

CASES = [
    Case("Dropout", {"rate": 0.5}, [(6,)], training=True),
    Case("Dropout", {"rate": 0.2}, [(2, 3, 3)], training=True),
    Case("Dropout", {"rate": 0.3}, [(4,)]),
    Case("BatchNorm", {}, [(4,)], batch=5, training=True),
    Case("BatchNorm", {"eps": 1e-3}, [(3, 4)], training=True),
    Case("BatchNorm", {"momentum": 0.5}, [(2, 3, 3)], training=True),
    Case("BatchNorm", {}, [(3, 2, 2)]),
    Case("BatchNorm", {}, [(2, 3)]),
    Case("Sampling", {}, [(4,), (4,)], training=True),
    Case("Sampling", {"beta": 0.5}, [(3, 2), (3, 2)], training=True),
    Case("Sampling", {"beta": 0.0}, [(3,), (3,)], training=True),
    Case("Sampling", {}, [(4,), (4,)]),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_layer(case):
    run_layer_test(case)


# -- Dropout ------------------------------------------------------------------------------
def test_dropout_is_identity_at_inference():
    layer, p, (x,) = build(Case("Dropout", {"rate": 0.7}, [(50,)]))
    np.testing.assert_array_equal(run(layer, p, [x], False), x)
    dx = layer.backward(p, np.ones_like(x))[0][0]
    np.testing.assert_array_equal(dx, np.ones_like(x))


def test_dropout_drops_at_rate_and_keeps_the_expectation():
    layer, p, _ = build(Case("Dropout", {"rate": 0.25}, [(1000,)], batch=20))
    x = np.ones((20, 1000), np.float32)
    y = run(layer, p, [x], True)
    assert y.dtype == np.float32
    dropped = np.mean(y == 0)
    assert abs(dropped - 0.25) < 0.01
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / 0.75], rtol=1e-6)
    assert abs(y.mean() - 1.0) < 0.02


def test_dropout_masks_differ_between_steps_and_follow_the_rng():
    layer, p, (x,) = build(Case("Dropout", {"rate": 0.5}, [(100,)]))
    layer.rng = np.random.default_rng(0)
    a = layer.forward(p, [x], True)
    b = layer.forward(p, [x], True)
    assert not np.array_equal(a, b)
    layer.rng = np.random.default_rng(0)
    np.testing.assert_array_equal(layer.forward(p, [x], True), a)


# -- BatchNorm ----------------------------------------------------------------------------
@pytest.mark.parametrize("shape, axes", [((4,), (0,)), ((3, 4), (0, 1)), ((2, 3, 3), (0, 2, 3))])
def test_batchnorm_training_normalises_over_the_right_axes(shape, axes):
    layer, p, (x,) = build(Case("BatchNorm", {}, [shape], batch=6))
    x = x * 3.0 + 2.0
    p = {"gamma": np.ones_like(p["gamma"]), "beta": np.zeros_like(p["beta"])}
    y = run(layer, p, [x], True)
    np.testing.assert_allclose(y.mean(axis=axes), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=axes), 1.0, rtol=1e-4)   # eps makes it < 1
    # gamma scales and beta shifts per feature/channel
    p2 = {"gamma": np.full_like(p["gamma"], 2.0), "beta": np.arange(p["beta"].size, dtype=float)}
    y2 = run(layer, p2, [x], True)
    bshape = (-1, 1, 1) if len(shape) == 3 else (-1,)
    np.testing.assert_allclose(y2, 2.0 * y + p2["beta"].reshape(bshape), atol=1e-12)


def test_batchnorm_running_stats_and_inference():
    layer, p, (x,) = build(Case("BatchNorm", {"momentum": 0.8}, [(2, 3, 3)], batch=4))
    assert set(layer.state) == {"running_mean", "running_var"}
    mean_ref = layer.state["running_mean"]
    np.testing.assert_array_equal(layer.state["running_var"], 1.0)
    run(layer, p, [x], True)
    batch_mean = x.mean(axis=(0, 2, 3))
    batch_var = x.var(axis=(0, 2, 3), ddof=1)          # unbiased, as PyTorch
    np.testing.assert_allclose(layer.state["running_mean"], 0.2 * batch_mean, rtol=1e-12)
    np.testing.assert_allclose(layer.state["running_var"], 0.8 + 0.2 * batch_var, rtol=1e-12)
    assert layer.state["running_mean"] is mean_ref          # updated in place
    # inference uses the running statistics, and leaves them alone
    before = {k: v.copy() for k, v in layer.state.items()}
    y = run(layer, p, [x], False)
    rm = layer.state["running_mean"].reshape(1, -1, 1, 1)
    rv = layer.state["running_var"].reshape(1, -1, 1, 1)
    want = (x - rm) / np.sqrt(rv + 1e-5) * p["gamma"].reshape(1, -1, 1, 1) \
        + p["beta"].reshape(1, -1, 1, 1)
    np.testing.assert_allclose(y, want, rtol=1e-12)
    for k in before:
        np.testing.assert_array_equal(layer.state[k], before[k])


def test_batchnorm_running_stats_converge_to_the_data():
    layer, p, _ = build(Case("BatchNorm", {}, [(3,)]))
    rng = np.random.default_rng(0)
    for _ in range(200):
        run(layer, p, [rng.normal([1.0, -2.0, 5.0], [0.5, 2.0, 1.0], (64, 3))], True)
    np.testing.assert_allclose(layer.state["running_mean"], [1.0, -2.0, 5.0], atol=0.15)
    np.testing.assert_allclose(layer.state["running_var"], [0.25, 4.0, 1.0], rtol=0.15)


def test_batchnorm_inference_gradient_with_real_running_stats():
    """Eval-mode backward is the affine map's: checked by finite differences."""
    case = Case("BatchNorm", {}, [(2, 3)])
    layer, p, (x,) = build(case)
    layer.state["running_mean"][:] = [0.5, -1.0, 2.0]
    layer.state["running_var"][:] = [0.3, 2.0, 1.5]
    proj = np.random.default_rng(3).normal(size=x.shape)
    run(layer, p, [x], False)
    dxs, grads = layer.backward(p, proj)
    inv = 1 / np.sqrt(layer.state["running_var"] + 1e-5)
    np.testing.assert_allclose(dxs[0], proj * p["gamma"] * inv, rtol=1e-12)
    xhat = (x - layer.state["running_mean"]) * inv
    np.testing.assert_allclose(grads["gamma"], (proj * xhat).sum(axis=(0, 1)), rtol=1e-12)
    np.testing.assert_allclose(grads["beta"], proj.sum(axis=(0, 1)), rtol=1e-12)


def test_batchnorm_refuses_one_value_per_feature_in_training():
    layer, p, (x,) = build(Case("BatchNorm", {}, [(3,)], batch=1))
    with pytest.raises(TrainingError, match='BatchNorm "node".*batch of 1'):
        run(layer, p, [x], True)
    run(layer, p, [x], False)                      # inference on one sample is fine
    conv, pc, (img,) = build(Case("BatchNorm", {}, [(2, 2, 2)], batch=1))
    run(conv, pc, [img], True)                     # 4 positions per channel are enough


def test_batchnorm_params_are_not_penalized():
    cls = compute.layer_class("BatchNorm")
    assert cls.penalized == ()
    assert "l2" not in {p.name for p in cls.params}
    layer, p, _ = build(Case("BatchNorm", {}, [(2, 4, 4)]))
    assert set(p) == {"gamma", "beta"} and p["gamma"].shape == (2,)
    fresh = layer.init_params(np.random.default_rng(0))
    np.testing.assert_array_equal(fresh["gamma"], 1.0)
    np.testing.assert_array_equal(fresh["beta"], 0.0)


def test_batchnorm_refuses_rank_four():
    g = compute.Graph()
    g.add_node("x", "Input", shape=[1, 2, 3, 4])
    g.add_node("bn", "BatchNorm")
    g.connect("x", "bn")
    assert "BatchNorm" in g.infer_shapes().errors["bn"]


# -- Sampling -----------------------------------------------------------------------------
def test_sampling_formula_and_kl():
    case = Case("Sampling", {"beta": 2.0}, [(3,), (3,)], batch=4, training=True)
    layer, p, (mean, logvar) = build(case)
    z = run(layer, p, [mean, logvar], True)
    eps = np.random.default_rng(1234).standard_normal(mean.shape)   # the harness's rng
    np.testing.assert_allclose(z, mean + np.exp(logvar / 2) * eps, rtol=1e-12)
    # KL(N(μ, σ²) ‖ N(0, 1)) per sample, summed over features, averaged over the batch
    var = np.exp(logvar)
    kl = 0.5 * np.sum(var + mean ** 2 - 1.0 - np.log(var)) / 4
    assert layer.extra_loss == pytest.approx(2.0 * kl, rel=1e-12)


def test_sampling_at_inference_is_the_mean_without_kl():
    case = Case("Sampling", {}, [(3,), (3,)])
    layer, p, inputs, y, proj, dxs, _ = forward_backward(case)
    np.testing.assert_array_equal(y, inputs[0])
    assert layer.extra_loss == 0.0
    np.testing.assert_array_equal(dxs[0], proj)
    np.testing.assert_array_equal(dxs[1], 0.0)


def test_sampling_kl_is_zero_for_the_prior():
    layer, p, (mean, logvar) = build(Case("Sampling", {}, [(5,), (5,)], training=True))
    run(layer, p, [np.zeros_like(mean), np.zeros_like(logvar)], True)
    assert layer.extra_loss == pytest.approx(0.0, abs=1e-15)


def test_sampling_needs_equal_shapes():
    g = compute.Graph()
    g.add_node("mu", "Input", shape=[4])
    g.add_node("lv", "Input", shape=[3])
    g.add_node("z", "Sampling")
    g.connect("mu", "z")
    g.connect("lv", "z")
    assert "same shape" in g.infer_shapes().errors["z"]
