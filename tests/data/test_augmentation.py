"""Augmentation: determinism under the rng, shape preservation, and each step does what it says."""
from __future__ import annotations

import numpy as np
import pytest

from compute.data import AUGMENTATIONS, make_augmenter
from compute.data.transforms import (flip_images, rotate_images, shift_images,
                                     shift_sequences)
from compute.errors import ProjectError

IMG = (2, 7, 6)
SEQ = (12, 3)
IMAGE_STEPS = ["translate", "flip", "crop", "rotate", "brightness", "contrast", "noise"]
SEQ_STEPS = ["noise", "jitter", "scaling", "time_shift"]


def images(n: int = 16, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n,) + IMG).astype(np.float32)


def sequences(n: int = 16, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n,) + SEQ).astype(np.float32)


def run(specs, x, seed=0, shape=None):
    aug = make_augmenter(specs, shape or x.shape[1:])
    return aug(x, np.random.default_rng(seed))


def test_registry():
    assert set(AUGMENTATIONS) == set(IMAGE_STEPS) | set(SEQ_STEPS)
    for params in AUGMENTATIONS.values():
        for p in params:
            assert p.validate(p.default) == p.default


@pytest.mark.parametrize("name, make", [(s, images) for s in IMAGE_STEPS]
                         + [(s, sequences) for s in SEQ_STEPS])
def test_each_step_is_deterministic_keeps_shape_and_leaves_the_input(name, make):
    x = make()
    before = x.copy()
    a = run([{"type": name}], x, seed=3)
    b = run([{"type": name}], x, seed=3)
    c = run([{"type": name}], x, seed=4)
    assert a.shape == x.shape and a.dtype == x.dtype
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert not np.array_equal(a, x)
    assert np.array_equal(x, before)


def test_a_chain_is_deterministic_and_empty_is_identity():
    x = images()
    chain = [{"type": "translate", "max_shift": 1}, {"type": "flip", "vertical": True},
             {"type": "rotate", "max_angle": 10}, {"type": "noise", "std": 0.01}]
    assert np.array_equal(run(chain, x, seed=9), run(chain, x, seed=9))
    assert np.array_equal(run([], x), x) and np.array_equal(run(None, x), x)


# -- each transform does what it says ---------------------------------------------------
def test_shift_images_moves_content():
    x = np.zeros((2, 1, 5, 5), np.float32)
    x[:, 0, 2, 2] = 1.0
    out = shift_images(x, np.array([1, -2]), np.array([2, 0]))
    assert out[0, 0, 3, 4] == 1.0 and out[0].sum() == 1.0
    assert out[1, 0, 0, 2] == 1.0 and out[1].sum() == 1.0
    edge = shift_images(np.arange(5.0).reshape(1, 1, 1, 5), np.array([0]), np.array([2]), "edge")
    assert edge.ravel().tolist() == [0, 0, 0, 1, 2]
    gone = shift_images(x, np.array([0, 0]), np.array([3, 3]), pad=3)
    assert gone.sum() == 0.0


def matching_shifts(out, x, m, fill="zeros"):
    """For each sample, the (dy, dx) in [-m, m]² whose shift of x gives out (or None)."""
    found = []
    for n in range(len(x)):
        hits = [(dy, dx) for dy in range(-m, m + 1) for dx in range(-m, m + 1)
                if np.array_equal(shift_images(x[n:n + 1], np.array([dy]), np.array([dx]),
                                               fill, pad=m)[0], out[n])]
        found.append(hits[0] if hits else None)
    return found


@pytest.mark.parametrize("spec, fill", [({"type": "translate", "max_shift": 2}, "zeros"),
                                        ({"type": "crop", "padding": 2}, "zeros"),
                                        ({"type": "crop", "padding": 1, "fill": "reflect"},
                                         "reflect"),
                                        ({"type": "crop", "padding": 2, "fill": "edge"}, "edge")])
def test_translate_and_crop_are_shifts_within_range(spec, fill):
    x = images(32)
    m = spec.get("max_shift", spec.get("padding"))
    shifts = matching_shifts(run([spec], x, seed=1), x, m, fill)
    assert None not in shifts
    assert len(set(shifts)) > 5 and any(s != (0, 0) for s in shifts)


def test_flip_flips():
    x = images(64)
    out = run([{"type": "flip"}], x, seed=2)
    mirrored = np.array([np.array_equal(o, s[..., ::-1]) for o, s in zip(out, x)])
    same = np.array([np.array_equal(o, s) for o, s in zip(out, x)])
    assert np.all(mirrored ^ same) and 10 < mirrored.sum() < 54
    always = run([{"type": "flip", "horizontal": False, "vertical": True, "probability": 1.0}], x)
    assert np.array_equal(always, x[:, :, ::-1, :])
    both = flip_images(x, np.ones(64, bool), np.ones(64, bool))
    assert np.array_equal(both, x[:, :, ::-1, ::-1])


def test_rotate_quarter_turn_is_rot90_and_zero_angle_is_identity():
    x = np.random.default_rng(0).random((3, 2, 5, 5)).astype(np.float32)
    quarter = rotate_images(x, np.array([90.0, -90.0, 180.0]))
    assert np.allclose(quarter[0], np.rot90(x[0], 1, axes=(1, 2)), atol=1e-6)
    assert np.allclose(quarter[1], np.rot90(x[1], -1, axes=(1, 2)), atol=1e-6)
    assert np.allclose(quarter[2], x[2, :, ::-1, ::-1], atol=1e-6)
    assert np.allclose(rotate_images(x, np.zeros(3)), x, atol=1e-6)
    assert np.array_equal(run([{"type": "rotate", "max_angle": 0}], x), x)


def test_rotate_small_angle_turns_a_bar():
    x = np.zeros((1, 1, 21, 21), np.float32)
    x[0, 0, 10, 2:19] = 1.0                       # a horizontal bar through the centre
    out = rotate_images(x, np.array([10.0]))[0, 0]
    ys, xs = np.nonzero(out > 0.3)
    slope = np.polyfit(xs - 10.0, -(ys - 10.0), 1)[0]   # y up, as displayed
    assert np.isclose(np.degrees(np.arctan(slope)), 10.0, atol=1.5)
    assert out[10, 10] > 0.9 and np.isclose(out.sum(), x.sum(), rtol=0.05)


def test_brightness_and_contrast():
    x = images(40)
    out = run([{"type": "brightness", "max_delta": 0.3}], x)
    delta = (out - x).reshape(40, -1)
    assert np.allclose(delta, delta[:, :1], atol=1e-6) and np.abs(delta).max() <= 0.3
    assert delta[:, 0].std() > 0.05
    out = run([{"type": "contrast", "max_change": 0.5}], x)
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    assert np.allclose(out.mean(axis=(1, 2, 3), keepdims=True), mean, atol=1e-5)
    factor = ((out - mean) / (x - mean)).reshape(40, -1)
    assert np.allclose(factor, factor[:, :1], rtol=1e-3)
    assert factor.min() >= 0.5 - 1e-4 and factor.max() <= 1.5 + 1e-4 and factor.std() > 0.05


def test_noise_and_jitter_add_gaussian_noise_of_the_given_std():
    x = images(200)
    residual = run([{"type": "noise", "std": 0.2}], x) - x
    assert abs(residual.std() - 0.2) < 0.01 and abs(residual.mean()) < 0.01
    s = sequences(200)
    residual = run([{"type": "jitter", "std": 0.05}], s) - s
    assert abs(residual.std() - 0.05) < 0.003


def test_scaling_multiplies_each_feature_of_a_sequence():
    s = sequences(50) + 3.0
    out = run([{"type": "scaling", "std": 0.2}], s)
    ratio = out / s
    assert np.allclose(ratio, ratio[:, :1, :], rtol=1e-5)       # constant over time
    assert abs(ratio[:, 0, :].std() - 0.2) < 0.05


def test_time_shift_shifts_along_time():
    s = np.arange(6, dtype=np.float32).reshape(1, 6, 1)
    assert shift_sequences(s, np.array([2]), "edge").ravel().tolist() == [0, 0, 0, 1, 2, 3]
    assert shift_sequences(s, np.array([-1]), "zeros").ravel().tolist() == [1, 2, 3, 4, 5, 0]
    assert shift_sequences(s, np.array([1]), "wrap").ravel().tolist() == [5, 0, 1, 2, 3, 4]
    x = sequences(30)
    out = run([{"type": "time_shift", "max_shift": 3}], x, seed=5)
    steps = []
    for n in range(30):
        hits = [k for k in range(-3, 4)
                if np.array_equal(shift_sequences(x[n:n + 1], np.array([k]))[0], out[n])]
        assert hits
        steps.append(hits[0])
    assert len(set(steps)) > 3


def test_probability_picks_samples():
    x = images(100)
    assert np.array_equal(run([{"type": "noise", "probability": 0.0}], x), x)
    out = run([{"type": "noise", "probability": 0.3}], x, seed=1)
    changed = np.array([not np.array_equal(o, s) for o, s in zip(out, x)])
    assert 15 < changed.sum() < 45


# -- errors at make time -------------------------------------------------------------------
@pytest.mark.parametrize("specs, shape, message", [
    ([{"type": "flip"}], SEQ, "data.augmentation[0] (flip): applies to images (C, H, W), "
                              "but the inputs are shape (12, 3)"),
    ([{"type": "noise"}, {"type": "time_shift"}], IMG, "data.augmentation[1] (time_shift): "
                                                      "applies to sequences"),
    ([{"type": "jitter"}], (2,), "applies to sequences (T, F), but the inputs are shape (2,)"),
    ([{"type": "flp"}], IMG, 'data.augmentation[0]: unknown augmentation "flp" '
                             '(did you mean "flip"?)'),
    ([{"type": "flip", "horizontl": True}], IMG, 'data.augmentation[0] (flip): unknown param '
                                                 '"horizontl"'),
    ([{"type": "rotate", "max_angle": 500}], IMG, "max_angle must be <= 180"),
    ([{"type": "noise", "probability": 2}], IMG, "probability must be <= 1"),
    ([{"type": "flip", "horizontal": False}], IMG, "neither horizontal nor vertical is set"),
    ([{"type": "translate", "max_shift": 6}], IMG, "max_shift 6 must be smaller than the image"),
    ([{"type": "time_shift", "max_shift": 12}], SEQ, "smaller than the sequence length 12"),
    ([{"max_shift": 1}], IMG, 'data.augmentation[0]: expected an object with a "type"'),
    (["flip"], IMG, 'data.augmentation[0]: expected an object with a "type"'),
    ({"type": "flip"}, IMG, "data.augmentation: expected a list of steps"),
    ("flip", IMG, "data.augmentation: expected a list of steps"),
])
def test_bad_specs_are_project_errors_naming_the_step(specs, shape, message):
    with pytest.raises(ProjectError) as err:
        make_augmenter(specs, shape)
    assert message in str(err.value)


def test_token_inputs_take_no_augmentation():
    with pytest.raises(ProjectError, match=r"^net\.aug\[0\] \(noise\): .*token ids"):
        make_augmenter([{"type": "noise"}], (10,), where="net.aug", input_dtype="int")
    assert make_augmenter([], (10,), input_dtype="int")(np.ones((2, 10)), None).shape == (2, 10)
