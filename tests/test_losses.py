"""The three losses of compute/losses.py: gradients by finite differences in float64,
values and gradients against torch, and refusal of targets that do not fit."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from compute import losses
from compute.errors import TrainingError
from tests.harness import numeric_grad, rel_error

RNG = np.random.default_rng(0)


def targets(loss, shape, kind, rng):
    """A target for logits of `shape`: class indices, one-hot, 0/1 labels or real values."""
    k = shape[-1]
    if kind == "index":
        return rng.integers(0, k, shape[:-1])
    if kind == "onehot":
        return np.eye(k)[rng.integers(0, k, shape[:-1])]
    if kind == "soft":
        t = rng.random(shape)
        return t / t.sum(axis=-1, keepdims=True)
    if kind == "binary":
        return rng.integers(0, 2, shape).astype(float)
    return rng.normal(size=shape)


CASES = [
    ("cross_entropy", (5, 4), "index"),
    ("cross_entropy", (5, 4), "onehot"),
    ("cross_entropy", (5, 3), "soft"),
    ("cross_entropy", (3, 6, 4), "index"),        # per time step (N, T, K)
    ("cross_entropy", (3, 6, 4), "onehot"),
    ("binary_cross_entropy", (6, 1), "binary"),
    ("binary_cross_entropy", (4, 3), "binary"),
    ("binary_cross_entropy", (4, 3), "real01"),
    ("binary_cross_entropy", (2, 5, 3), "binary"),
    ("mse", (5, 3), "real"),
    ("mse", (5, 1), "real"),
    ("mse", (3, 4, 2), "real"),
]


def make(loss, shape, kind, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 2, shape)
    if kind == "real01":
        t = rng.random(shape)
    else:
        t = targets(loss, shape, kind, rng)
    return z, t


@pytest.mark.parametrize("loss, shape, kind", CASES, ids=str)
def test_gradient_matches_finite_differences(loss, shape, kind):
    z, t = make(loss, shape, kind)
    fn = losses.FUNCTIONS[loss]
    value, dz = fn(z, t)
    assert dz.dtype == np.float64 and dz.shape == z.shape
    num = numeric_grad(lambda: fn(z, t)[0], z)
    assert rel_error(dz, num) < 1e-7


def torch_value(loss, z, t):
    """Our convention in torch terms: the sum over everything divided by N (or N·T)."""
    zt = torch.tensor(z, requires_grad=True)
    m = z.shape[0] * (z.shape[1] if z.ndim == 3 else 1)
    if loss == "cross_entropy":
        if t.shape == z.shape:
            target = torch.tensor(t)
        else:
            target = torch.tensor(t, dtype=torch.long)
        logits = zt.permute(0, 2, 1) if z.ndim == 3 else zt   # torch wants classes on axis 1
        if target.ndim == 3:
            target = target.permute(0, 2, 1)
        value = F.cross_entropy(logits, target, reduction="sum") / m
    elif loss == "binary_cross_entropy":
        value = F.binary_cross_entropy_with_logits(zt, torch.tensor(t), reduction="sum") / m
    else:
        # DESIGN's MSE is 1/(2N) Σ ||ŷ − y||², half the sum over N (torch's mean is over all)
        value = 0.5 * F.mse_loss(zt, torch.tensor(t), reduction="sum") / m
    value.backward()
    return float(value.detach()), zt.grad.numpy()


@pytest.mark.parametrize("loss, shape, kind", CASES, ids=str)
def test_matches_torch(loss, shape, kind):
    z, t = make(loss, shape, kind, seed=1)
    value, dz = losses.FUNCTIONS[loss](z, t)
    want, want_dz = torch_value(loss, z, t)
    assert value == pytest.approx(want, rel=1e-12)
    np.testing.assert_allclose(dz, want_dz, rtol=1e-10, atol=1e-14)


def test_mse_is_half_of_torch_mean_times_features():
    """1/(2N) Σ over features = torch's mean over all elements · K / 2."""
    z, t = make("mse", (6, 4), "real")
    ours = losses.mse(z, t)[0]
    assert ours == pytest.approx(float(F.mse_loss(torch.tensor(z), torch.tensor(t))) * 4 / 2)


@pytest.mark.parametrize("loss", losses.NAMES)
def test_float32_stays_float32_and_agrees(loss):
    shape = (8, 3)
    z, t = make(loss, shape, {"cross_entropy": "index", "binary_cross_entropy": "binary",
                              "mse": "real"}[loss], seed=2)
    v64, d64 = losses.FUNCTIONS[loss](z, t)
    v32, d32 = losses.FUNCTIONS[loss](z.astype(np.float32), t)
    assert d32.dtype == np.float32
    assert v32 == pytest.approx(v64, rel=1e-5)
    np.testing.assert_allclose(d32, d64, rtol=1e-4, atol=1e-6)


def test_cross_entropy_is_stable_for_huge_logits():
    z = np.array([[1000.0, 0.0, -1000.0], [-500.0, 500.0, 0.0]])
    value, dz = losses.cross_entropy(z, np.array([2, 1]))
    assert np.isfinite(value) and value == pytest.approx(2000.0 / 2)
    assert np.all(np.isfinite(dz))


def test_binary_cross_entropy_is_stable_for_huge_logits():
    z = np.array([[800.0], [-800.0], [30.0]])
    value, dz = losses.binary_cross_entropy(z, np.array([0.0, 1.0, 1.0]))
    assert np.isfinite(value) and value == pytest.approx((800 + 800 + np.log1p(np.exp(-30))) / 3)
    np.testing.assert_allclose(dz[:, 0], [1 / 3, -1 / 3, (1 / (1 + np.exp(-30)) - 1) / 3])


def test_binary_cross_entropy_accepts_labels_without_the_unit_axis():
    z = RNG.normal(size=(5, 1))
    t = RNG.integers(0, 2, 5).astype(float)
    assert losses.binary_cross_entropy(z, t)[0] == losses.binary_cross_entropy(z, t[:, None])[0]


def test_index_and_onehot_targets_agree():
    z = RNG.normal(size=(3, 5, 4))
    idx = RNG.integers(0, 4, (3, 5))
    a, da = losses.cross_entropy(z, idx)
    b, db = losses.cross_entropy(z, np.eye(4)[idx])
    assert a == pytest.approx(b, rel=1e-14)
    np.testing.assert_allclose(da, db, rtol=1e-14)
    c, _ = losses.cross_entropy(z, idx.astype(np.float32))        # whole floats are fine
    assert c == pytest.approx(a, rel=1e-14)


@pytest.mark.parametrize("loss, z_shape, target, message", [
    ("cross_entropy", (4, 3), np.array([0, 1, 3, 2]), "class indices must be integers in 0..2"),
    ("cross_entropy", (4, 3), np.array([0, -1, 1, 2]), "class indices must be integers in 0..2"),
    ("cross_entropy", (4, 3), np.array([0, 1.5, 1, 2]), "class indices must be integers"),
    ("cross_entropy", (4, 3), np.zeros((4, 2)), "targets of shape (4, 2) do not fit outputs"),
    ("cross_entropy", (2, 5, 3), np.zeros((2, 4)), "targets of shape (2, 4) do not fit"),
    ("binary_cross_entropy", (4, 2), np.zeros((4,)), "targets of shape (4,) do not fit"),
    ("mse", (4, 2), np.zeros((4, 3)), "targets of shape (4, 3) do not fit outputs of shape (4, 2)"),
])
def test_bad_targets_name_the_output(loss, z_shape, target, message):
    with pytest.raises(TrainingError) as info:
        losses.FUNCTIONS[loss](np.zeros(z_shape), target, 'Output "scores"')
    assert str(info.value).startswith('Output "scores": ')
    assert message in str(info.value)


def test_count_averages_over_time_steps():
    assert losses.count((7, 3)) == 7
    assert losses.count((7, 5, 3)) == 35
    z = np.zeros((2, 3, 1))
    value, _ = losses.mse(z, np.ones((2, 3, 1)))
    assert value == pytest.approx(0.5)            # 1/(2·N·T) · 6
