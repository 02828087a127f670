"""Bounded buffers, honest smoothing and the run history the panels draw from."""
from __future__ import annotations

import numpy as np
import pytest

from compute.events import EpochEnd, Finished, RunStarted, Snapshot, StepEnd
from compute.training.summary import activation_bands, dead_units, update_ratios
from designer.training.history import RunHistory, Thinned
from designer.training.series import Series, debiased_ema


def naive_ema(y, w, beta):
    s, total, out = 0.0, 0.0, []
    for yi, wi in zip(y, w):
        a = beta ** wi
        s = a * s + (1 - a) * yi
        total += wi
        out.append(s / (1 - beta ** total))
    return np.array(out)


@pytest.mark.parametrize("beta", [0.0, 0.3, 0.9, 0.99, 0.999])
def test_debiased_ema_matches_the_recurrence(beta):
    rng = np.random.default_rng(1)
    y = rng.standard_normal(700) + 3
    w = np.ones(700)
    w[:300] = 8          # thinned points stand for 8 steps each
    np.testing.assert_allclose(debiased_ema(y, w, beta), naive_ema(y, w, beta) if beta else y,
                               rtol=1e-9, atol=1e-12)


def test_ema_starts_at_the_first_value_and_nan_poisons_what_follows():
    y = np.array([2.0, 2.0, np.nan, 1.0])
    out = debiased_ema(y, np.ones(4), 0.9)
    assert out[0] == pytest.approx(2.0) and out[1] == pytest.approx(2.0)   # debiased
    assert np.isnan(out[2:]).all()


def test_series_keeps_every_point_until_full():
    s = Series(64)
    for i in range(64):
        s.append(i, i * 0.5)
    x, y = s.data()
    np.testing.assert_array_equal(x, np.arange(64))
    np.testing.assert_array_equal(y, np.arange(64) * 0.5)


def test_series_of_100000_points_stays_bounded_and_keeps_spikes_and_the_last_point():
    s = Series(4096)
    rng = np.random.default_rng(0)
    y = 1.0 + 0.01 * rng.standard_normal(100_000)
    y[54_321] = 50.0            # one spike
    y[77_777] = -3.0            # one dip
    bytes_before = s.nbytes()
    for i, v in enumerate(y):
        s.append(i + 1, v)
    x, ys = s.data()
    assert len(x) <= 4096 + s.width and s.count == 100_000
    assert s.nbytes() == bytes_before                         # preallocated, never grown
    assert ys.max() == 50.0 and x[np.argmax(ys)] == 54_322
    assert ys.min() == -3.0 and x[np.argmin(ys)] == 77_778
    assert (x[-1], ys[-1]) == (100_000, y[-1]) == s.last
    assert np.all(np.diff(x) > 0)                             # still in step order
    # the smoothed curve over the thinned points agrees with smoothing every raw point
    sx, sy = s.smoothed(0.99)
    full = naive_ema(y, np.ones(len(y)), 0.99)
    assert sy[-1] == pytest.approx(full[-1], rel=0.02)


def test_nan_survives_thinning():
    s = Series(16)
    for i in range(200):
        s.append(i, float("nan") if i == 150 else 1.0)
    assert np.isnan(s.data()[1]).any()


def test_thinned_rows_stay_bounded():
    t = Thinned(capacity=100)
    for i in range(100_000):
        t.append(i, i * 2.0)
    assert len(t) <= 100 and t.steps()[0] == 0
    np.testing.assert_array_equal(t.values(), t.steps() * 2)


def _started(steps_per_epoch=10, epochs=2):
    return RunStarted("p", [{"node": "x", "type": "Input", "shape": (2,), "params": 0, "macs": 0},
                            {"node": "h", "type": "Dense", "shape": (4,), "params": 12, "macs": 8},
                            {"node": "out", "type": "Output", "shape": (4,), "params": 0,
                             "macs": 0}],
                      epochs, steps_per_epoch, 100, 20, "classification")


def test_history_files_each_event_and_stays_bounded_over_100000_steps():
    graph = {"nodes": [{"id": "h", "type": "Dense", "params": {"activation": "relu"}}]}
    run = RunHistory("run 1", {"graph": graph}, capacity=1024)
    assert run.handle(_started(10_000, 10)) == "started"
    for i in range(1, 100_001):
        run.handle(StepEnd(1 + i // 10_000, i, 1.0 / i, 0.01, 1000.0,
                           {"h": {"weights": 0.5, "activations": 0.25}} if i % 7 == 0 else {},
                           {"h": {"mean": 0.1, "std": 1.0, "zero_fraction": 0.4,
                                  "saturated_fraction": None}} if i % 7 == 0 else {}))
    assert run.step == 100_000 and run.loss.count == 100_000
    assert len(run.loss) <= 1024 + run.loss.width
    assert len(run.grad_norms["h"]) <= 1024 + run.grad_norms["h"].width
    assert run.latest_grad_norms() == {"h": 0.5}
    assert run.latest_out_grad_norms() == {"h": 0.25}
    assert set(run.dead) == {"h"} and not run.saturated
    run.handle(EpochEnd(1, 10_000, {"loss": 0.5, "val_loss": 0.6, "accuracy": 0.8}))
    np.testing.assert_array_equal(run.metric("val_loss")[1], [0.6])
    acts = {"x": np.zeros((4, 2), np.float32),
            "h": np.array([[0, 1, 0, 2], [0, 3, 0, 0], [0, 1, 0, 1], [0, 2, 0, 0]], np.float32)}
    weights = {"h": {"W": np.ones((2, 4), np.float32)}}
    summary = {"bands": activation_bands(acts, skip=["x"]),
               "dead_units": dead_units(acts, ["h"]),
               "update_ratios": update_ratios(weights, None, 100)}
    run.handle(Snapshot(1, 100, np.zeros((4, 2), np.float32), None, acts, weights, {}, summary))
    weights2 = {"h": {"W": np.full((2, 4), 1.5, np.float32)}}
    summary = {**summary, "update_ratios": update_ratios(weights2, weights, 100)}
    run.handle(Snapshot(1, 200, np.zeros((4, 2), np.float32), None, acts, weights2, {}, summary))
    assert set(run.bands) == {"h"} and len(run.update_ratio["h"].rows) == 1
    assert run.dead_units["h"].values()[-1] == pytest.approx(0.5)    # units 0 and 2 never fire
    steps, pct = run.bands["h"].steps(), run.bands["h"].values()
    np.testing.assert_allclose(pct[-1], np.percentile(acts["h"], [5, 25, 50, 75, 95]))
    # ‖ΔW‖/‖W‖ per step between the two snapshots: 0.5 relative change over 100 steps
    assert run.update_ratio["h"].values()[-1] == pytest.approx(0.5 / 100)
    assert run.handle(Finished("completed", "done", 10)) == "finished" and not run.running
    with pytest.raises(TypeError):
        run.handle("not an event")
