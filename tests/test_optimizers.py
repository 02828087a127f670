"""Optimizers, schedules and clipping against torch.optim and the formulas they follow."""
import math

import numpy as np
import pytest
import torch

from compute.errors import ProjectError
from compute.optimizers import (OPTIMIZERS, SCHEDULES, clip_gradients, make_optimizer,
                                make_schedule)

SHAPES = [(3, 4), (5,), (2, 1, 3, 3)]

# our spec -> (torch class, torch kwargs): the same update rule under each convention
TORCH = {
    "sgd": ({"type": "sgd", "lr": 0.1}, torch.optim.SGD, {"lr": 0.1}),
    "momentum": ({"type": "momentum", "lr": 0.05, "momentum": 0.8}, torch.optim.SGD,
                 {"lr": 0.05, "momentum": 0.8}),
    "nesterov": ({"type": "nesterov", "lr": 0.05, "momentum": 0.9}, torch.optim.SGD,
                 {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    "rmsprop": ({"type": "rmsprop", "lr": 0.01, "rho": 0.95, "eps": 1e-6}, torch.optim.RMSprop,
                {"lr": 0.01, "alpha": 0.95, "eps": 1e-6}),
    "adam": ({"type": "adam", "lr": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-7},
             torch.optim.Adam, {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-7}),
}


def arrays(rng, dtype=np.float32):
    return [rng.normal(size=s).astype(dtype) for s in SHAPES]


def run_both(name, steps, dtype=np.float32, seed=0):
    spec, cls, kw = TORCH[name]
    rng = np.random.default_rng(seed)
    params = arrays(rng, dtype)
    tparams = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    ours, theirs = make_optimizer(spec), cls(tparams, **kw)
    for _ in range(steps):
        grads = arrays(rng, dtype)
        ours.step(params, grads)
        for t, g in zip(tparams, grads):
            t.grad = torch.tensor(g)
        theirs.step()
    return params, [t.detach().numpy() for t in tparams]


@pytest.mark.parametrize("name", list(TORCH))
@pytest.mark.parametrize("steps", [1, 7])
def test_matches_torch(name, steps):
    ours, theirs = run_both(name, steps)
    for a, b in zip(ours, theirs):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["momentum", "adam"])
def test_float64_matches_torch_closely(name):
    ours, theirs = run_both(name, 5, dtype=np.float64)
    for a, b in zip(ours, theirs):
        assert a.dtype == np.float64
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_momentum_is_the_course_form():
    """v ← αv − εg; θ ← θ + v, written out by hand, also when ε changes between steps."""
    rng = np.random.default_rng(3)
    theta = rng.normal(size=6)
    opt = make_optimizer({"type": "momentum", "lr": 0.1, "momentum": 0.9})
    want, v = theta.copy(), np.zeros(6)
    for lr in (0.1, 0.05, 0.01):
        g = rng.normal(size=6)
        opt.lr = lr
        opt.step([theta], [g])
        v = 0.9 * v - lr * g
        want = want + v
    np.testing.assert_allclose(theta, want, rtol=1e-13)


def test_rmsprop_puts_eps_outside_the_root():
    """The documented difference from Goodfellow's √(δ + r): a large δ makes it visible."""
    theta, g = np.array([1.0]), np.array([0.5])
    opt = make_optimizer({"type": "rmsprop", "lr": 0.1, "rho": 0.5, "eps": 0.25})
    opt.step([theta], [g])
    r = 0.5 * 0.25
    assert theta[0] == pytest.approx(1.0 - 0.1 * 0.5 / (math.sqrt(r) + 0.25), rel=1e-12)


def test_adam_first_step_moves_by_lr():
    """Bias correction makes the first step ε·sign(g) (up to δ), whatever the scale of g."""
    theta = np.zeros(4)
    g = np.array([1e-3, -2.0, 50.0, -0.1])
    make_optimizer({"type": "adam", "lr": 0.01}).step([theta], [g])
    np.testing.assert_allclose(theta, -0.01 * np.sign(g), rtol=1e-4)


def test_updates_in_place_and_accepts_views():
    base = np.zeros((4, 4), np.float32)
    strided = base[:, ::2]                          # not contiguous: written back
    flat = np.zeros(3, np.float32)
    make_optimizer({"type": "sgd", "lr": 1.0}).step(
        [strided, flat], [np.ones((4, 2), np.float32), np.ones(3, np.float64)])
    assert np.all(base[:, ::2] == -1) and np.all(base[:, 1::2] == 0)
    assert np.all(flat == -1) and flat.dtype == np.float32


def test_step_refuses_mismatched_lists():
    opt = make_optimizer({"type": "sgd"})
    with pytest.raises(ValueError):
        opt.step([np.zeros(3)], [])
    with pytest.raises(ValueError):
        opt.step([np.zeros(3)], [np.zeros(4)])


@pytest.mark.parametrize("name", list(TORCH))
def test_state_dict_round_trip(name, tmp_path):
    """Stopping after 3 steps, saving to npz and resuming equals 6 steps without a pause."""
    spec = TORCH[name][0]
    rng = np.random.default_rng(5)
    start = arrays(rng)
    grads = [arrays(rng) for _ in range(6)]
    straight = [p.copy() for p in start]
    opt = make_optimizer(spec)
    for g in grads:
        opt.step(straight, g)

    paused = [p.copy() for p in start]
    first = make_optimizer(spec)
    for g in grads[:3]:
        first.step(paused, g)
    np.savez(tmp_path / "opt.npz", **first.state_dict())
    with np.load(tmp_path / "opt.npz", allow_pickle=False) as f:
        state = {key: f[key] for key in f.files}
    second = make_optimizer(spec)
    second.load_state_dict(state)
    for g in grads[3:]:
        second.step(paused, g)
    for a, b in zip(straight, paused):
        np.testing.assert_array_equal(a, b)
    assert int(second.state_dict()["step"]) == 6


def test_state_dict_is_a_copy():
    p = [np.zeros(3)]
    opt = make_optimizer({"type": "momentum"})
    opt.step(p, [np.ones(3)])
    saved = opt.state_dict()
    opt.step(p, [np.ones(3)])
    np.testing.assert_allclose(saved["velocity/0"], -0.01 * np.ones(3))


def test_bad_state_is_refused():
    opt = make_optimizer({"type": "adam"})
    opt.step([np.zeros(3)], [np.ones(3)])
    state = opt.state_dict()
    with pytest.raises(ProjectError, match='missing "v/0"'):
        make_optimizer({"type": "adam"}).load_state_dict(
            {k: v for k, v in state.items() if k != "v/0"})
    with pytest.raises(ProjectError, match='unexpected entry "velocity/0"'):
        make_optimizer({"type": "adam"}).load_state_dict({**state, "velocity/0": np.zeros(3)})
    with pytest.raises(ProjectError, match='missing "step"'):
        make_optimizer({"type": "adam"}).load_state_dict({"m/0": np.zeros(3)})
    other = make_optimizer({"type": "adam"})
    other.load_state_dict(state)
    with pytest.raises(ProjectError, match='"m/0" has 3 values but parameter 0 has 4'):
        other.step([np.zeros(4)], [np.ones(4)])
    again = make_optimizer({"type": "adam"})
    again.load_state_dict(state)
    with pytest.raises(ProjectError, match="entries for 1 parameters, the model has 2"):
        again.step([np.zeros(3), np.zeros(2)], [np.ones(3), np.ones(2)])


def test_specs_fill_defaults():
    opt = make_optimizer({"type": "adam"})
    assert (opt.lr, opt.beta1, opt.beta2, opt.eps) == (0.001, 0.9, 0.999, 1e-8)
    assert make_optimizer({"type": "momentum", "lr": 0.1}).momentum == 0.9
    for name, params in OPTIMIZERS.items():
        assert params[0].name == "lr"
        assert make_optimizer({"type": name}).type_name == name


def test_default_is_plain_gradient_descent_as_in_a_project_file():
    from compute.settings import resolve_training

    opt = make_optimizer(None)
    assert (opt.type_name, opt.lr) == ("sgd", 0.01)
    partial = make_optimizer({"lr": 0.5})              # no "type": still sgd
    assert (partial.type_name, partial.lr) == ("sgd", 0.5)
    theta, g = np.array([1.0, -2.0]), np.array([0.5, 4.0])
    partial.step([theta], [g])
    np.testing.assert_allclose(theta, [1.0 - 0.25, -2.0 - 2.0])   # θ ← θ − εg, no state
    # the engine and the file format agree on what a missing or partial spec means
    for spec in ({}, {"optimizer": {"lr": 0.5}}):
        resolved = resolve_training(spec)["optimizer"]
        again = make_optimizer(resolved)
        built = make_optimizer(spec.get("optimizer"))
        assert (again.type_name, again.lr) == (built.type_name, built.lr)


@pytest.mark.parametrize("spec, message", [
    ({"type": "momentum", "momentun": 0.9},
     'training.optimizer: unknown param "momentun" (did you mean \'momentum\'?)'),
    ({"type": "adamw"}, 'training.optimizer: unknown type "adamw" (did you mean "adam"?)'),
    ({"type": "sgd", "lr": -1}, "training.optimizer: lr must be >= 0"),
    ({"type": "adam", "beta1": "high"}, "training.optimizer: beta1 must be a number"),
    ({"type": "momentum", "momentum": 1.5}, "training.optimizer: momentum must be <="),
    ("adam", "training.optimizer: expected an object"),
])
def test_bad_optimizer_specs_name_the_field(spec, message):
    with pytest.raises(ProjectError) as info:
        make_optimizer(spec)
    assert message in str(info.value)


def torch_lrs(scheduler_cls, kwargs, epochs, steps, per_step):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.5)
    sched = scheduler_cls(opt, **kwargs)
    out = []
    for _ in range(epochs):
        for _ in range(steps):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            if per_step:
                sched.step()
        if not per_step:
            sched.step()
    return out


@pytest.mark.parametrize("spec, cls, kwargs, per_step", [
    ({"type": "step", "step_size": 2, "gamma": 0.5}, torch.optim.lr_scheduler.StepLR,
     {"step_size": 2, "gamma": 0.5}, False),
    ({"type": "exponential", "gamma": 0.7}, torch.optim.lr_scheduler.ExponentialLR,
     {"gamma": 0.7}, False),
    ({"type": "cosine", "min_lr": 0.01}, torch.optim.lr_scheduler.CosineAnnealingLR,
     {"T_max": 5 * 3, "eta_min": 0.01}, True),
    ({"type": "constant"}, torch.optim.lr_scheduler.ConstantLR,
     {"factor": 1.0, "total_iters": 0}, False),
])
def test_schedules_match_torch(spec, cls, kwargs, per_step):
    epochs, steps = 5, 3
    fn = make_schedule(spec, 0.5, epochs, steps)
    ours = [fn(e, e * steps + s) for e in range(epochs) for s in range(steps)]
    np.testing.assert_allclose(ours, torch_lrs(cls, kwargs, epochs, steps, per_step),
                               rtol=1e-12)


def test_schedule_defaults_and_ends():
    assert make_schedule(None, 0.3, 10, 4)(9, 39) == 0.3
    cosine = make_schedule({"type": "cosine"}, 0.2, 2, 5)
    assert cosine(0, 0) == pytest.approx(0.2)
    assert cosine(1, 10) == pytest.approx(0.0, abs=1e-15)
    assert cosine(1, 12) == pytest.approx(0.0, abs=1e-15)      # clamped after the end
    assert make_schedule({"type": "step"}, 1.0, 30, 1)(10, 10) == pytest.approx(0.1)
    assert set(SCHEDULES) == {"constant", "step", "exponential", "cosine"}


@pytest.mark.parametrize("spec, message", [
    ({"type": "cosin"}, 'training.schedule: unknown type "cosin" (did you mean "cosine"?)'),
    ({"type": "step", "step_size": 0}, "training.schedule: step_size must be >= 1"),
    ({"type": "exponential", "gama": 0.9}, 'training.schedule: unknown param "gama"'),
])
def test_bad_schedules_name_the_field(spec, message):
    with pytest.raises(ProjectError) as info:
        make_schedule(spec, 0.1, 3, 3)
    assert message in str(info.value)


def test_clip_by_norm_matches_torch():
    rng = np.random.default_rng(7)
    grads = arrays(rng)
    tparams = [torch.zeros(g.shape, requires_grad=True) for g in grads]
    for t, g in zip(tparams, grads):
        t.grad = torch.tensor(g.copy())
    want_norm = float(torch.nn.utils.clip_grad_norm_(tparams, 1.5))
    norm = clip_gradients(grads, norm=1.5)
    assert norm == pytest.approx(want_norm, rel=1e-6)
    for g, t in zip(grads, tparams):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-6)
    total = math.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads))
    assert total == pytest.approx(1.5, rel=1e-5)


def test_clip_by_norm_leaves_small_gradients():
    grads = [np.array([0.3, -0.4])]
    assert clip_gradients(grads, norm=1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(grads[0], [0.3, -0.4])


def test_clip_by_value_matches_torch():
    rng = np.random.default_rng(8)
    grads = arrays(rng)
    want = [torch.tensor(g).clamp(-0.5, 0.5).numpy() for g in grads]
    before = math.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads))
    assert clip_gradients(grads, value=0.5) == pytest.approx(before, rel=1e-6)
    for g, w in zip(grads, want):
        np.testing.assert_array_equal(g, w)


def test_clip_by_value_then_norm():
    grads = [np.array([3.0, -4.0, 0.5])]
    norm = clip_gradients(grads, norm=1.0, value=1.0)
    assert norm == pytest.approx(math.sqrt(25.25))
    np.testing.assert_allclose(grads[0], np.array([1.0, -1.0, 0.5]) / 1.5, rtol=1e-5)


def test_clip_leaves_non_finite_gradients_for_the_trainer():
    grads = [np.array([np.inf, 1.0])]
    assert math.isinf(clip_gradients(grads, norm=1.0))
    assert grads[0][1] == 1.0
