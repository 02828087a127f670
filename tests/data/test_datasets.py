"""Built-in datasets: shapes, dtypes, determinism, content, and validation of the data section."""
from __future__ import annotations

import numpy as np
import pytest

from compute.data import DATASETS, Dataset, load_dataset
from compute.data.datasets_seq import _sentiment_vocab, _tagging_vocab
from compute.errors import ProjectError

GENERATED = ["spirals", "moons", "circles", "xor", "blobs", "regression_1d", "regression_2d",
             "digits", "xo", "sine", "adding", "tagging", "sequence_classification"]
IMPORTERS = ["csv", "npz", "idx", "image_folder"]
SEEDED = [d for d in GENERATED if d != "digits"]


def load(name: str, split: float = 0.2, seed: int = 0, **params) -> Dataset:
    return load_dataset({"dataset": name, "params": params, "validation_split": split},
                        seed=seed)


def both(d: Dataset, part: str) -> np.ndarray:
    return np.concatenate([getattr(d, f"{part}_train"), getattr(d, f"{part}_val")])


def test_registry_lists_every_source_in_order():
    assert list(DATASETS) == GENERATED + IMPORTERS
    for ident, info in DATASETS.items():
        assert info.id == ident and info.title and info.doc
        assert info.task in ("classification", "regression", "auto")
        for p in info.params:
            if p.kind != "path":
                assert p.validate(p.default) == p.default, (ident, p.name)


@pytest.mark.parametrize("name", GENERATED)
def test_shapes_dtypes_and_labels(name):
    d = load(name)
    n_train, n_val = len(d.x_train), len(d.x_val)
    assert len(d.y_train) == n_train and len(d.y_val) == n_val and n_train > 0
    assert n_val == round(0.2 * (n_train + n_val))
    assert d.x_train.shape[1:] == d.x_val.shape[1:] == d.input_shape
    want_x = np.int64 if d.input_dtype == "int" else np.float32
    assert d.x_train.dtype == d.x_val.dtype == want_x
    assert d.description and "\n" not in d.description and d.name == name
    assert np.all(np.isfinite(d.x_train))
    y = both(d, "y")
    if d.task == "classification":
        assert y.dtype == np.int64 and y.min() >= 0 and y.max() < d.num_classes
        assert len(d.class_names) == d.num_classes
        assert len(np.unique(y)) == d.num_classes       # every class occurs
    else:
        assert d.task == "regression" and y.dtype == np.float32 and y.ndim >= 2
        assert d.num_classes is None and np.all(np.isfinite(y))


@pytest.mark.parametrize("name", GENERATED)
def test_same_params_same_data_and_the_split_follows_the_seed(name):
    a, b, c = load(name), load(name), load(name, seed=1)
    for part in ("x_train", "y_train", "x_val", "y_val"):
        assert np.array_equal(getattr(a, part), getattr(b, part))
    assert not np.array_equal(a.y_val, c.y_val) or not np.array_equal(a.x_val, c.x_val)
    # another split seed regroups the same samples
    key = lambda d: np.sort(both(d, "x").reshape(len(both(d, "x")), -1), axis=0)
    assert np.array_equal(key(a), key(c))


@pytest.mark.parametrize("name", SEEDED)
def test_the_seed_param_changes_the_data(name):
    assert not np.array_equal(load(name).x_train, load(name, seed=7).x_train)
    assert not np.array_equal(load(name, seed=3).x_train, load(name, seed=7).x_train)


@pytest.mark.parametrize("name", ["spirals", "xo", "sine", "tagging", "digits"])
def test_zero_validation_split_gives_empty_arrays_of_the_right_shape(name):
    d = load(name, split=0.0)
    assert d.x_val.shape == (0,) + d.input_shape and d.x_val.dtype == d.x_train.dtype
    assert d.y_val.shape == (0,) + d.y_train.shape[1:] and d.y_val.dtype == d.y_train.dtype


def test_n_samples_and_largest_split():
    d = load("moons", split=0.9, n_samples=50)
    assert (len(d.x_train), len(d.x_val)) == (5, 45)


# -- content: each generator draws what it says -----------------------------------------
def test_two_d_geometry_without_noise():
    c = load("circles", noise=0.0, factor=0.3)
    r = np.hypot(*both(c, "x").T)
    assert np.allclose(r, np.where(both(c, "y") == 0, 1.0, 0.3), atol=1e-6)
    x = load("xor", noise=0.0)
    pts = both(x, "x")
    assert np.array_equal(both(x, "y"), (pts[:, 0] > 0) != (pts[:, 1] > 0))
    s = load("spirals", noise=0.0, classes=3)
    assert s.num_classes == 3 and np.all(np.hypot(*both(s, "x").T) <= 1.0 + 1e-6)
    b = load("blobs", classes=5, noise=0.01)
    pts, y = both(b, "x"), both(b, "y")
    means = np.array([pts[y == k].mean(axis=0) for k in range(5)])
    assert b.num_classes == 5 and np.allclose(np.hypot(*means.T), 0.7, atol=0.01)
    m = load("moons", noise=0.0)
    pts, y = both(m, "x") + np.array([0.5, 0.25]), both(m, "y")
    assert np.allclose(np.hypot(*pts[y == 0].T), 1.0, atol=1e-6)


def test_regressions_without_noise_are_their_functions():
    d = load("regression_1d", noise=0.0, function="cubic")
    x, y = both(d, "x"), both(d, "y")
    assert x.shape[1:] == (1,) and np.allclose(y, 2 * x**3 - x, atol=1e-6)
    assert np.all(np.abs(x) <= 1)
    d = load("regression_2d", noise=0.0, surface="saddle")
    x, y = both(d, "x"), both(d, "y")
    assert np.allclose(y[:, 0], x[:, 0] ** 2 - x[:, 1] ** 2, atol=1e-6)
    noisy = load("regression_1d", noise=0.5, function="cubic")
    x, y = both(noisy, "x"), both(noisy, "y")
    assert 0.4 < np.std(y - (2 * x**3 - x)) < 0.6


def test_digits_are_sklearn_images_scaled_to_unit_range():
    d = load("digits", split=0.0)
    assert d.x_train.shape == (1797, 1, 8, 8) and d.input_shape == (1, 8, 8)
    assert d.x_train.min() == 0.0 and d.x_train.max() == 1.0
    assert d.class_names == [str(i) for i in range(10)]
    three = load("digits", classes=3, split=0.0)
    assert three.num_classes == 3 and set(np.unique(three.y_train)) == {0, 1, 2}


def test_xo_glyphs():
    d = load("xo", noise=0.0, max_shift=0.0, split=0.0, n_samples=200)
    x, y = d.x_train[:, 0], d.y_train
    assert d.input_shape == (1, 9, 9) and d.class_names == ["X", "O"]
    assert x.min() >= 0 and x.max() <= 1
    # an X crosses the centre and is symmetric; an O leaves the centre empty
    assert np.all(x[y == 0, 4, 4] > 0.6) and np.all(x[y == 1, 4, 4] < 0.05)
    assert np.allclose(x[y == 0], x[y == 0][:, :, ::-1], atol=1e-6)
    assert np.allclose(x[y == 1], x[y == 1].transpose(0, 2, 1), atol=1e-6)
    noisy = load("xo", split=0.0, n_samples=200)
    assert noisy.x_train.min() >= 0 and noisy.x_train.max() <= 1
    assert not np.array_equal(noisy.x_train, d.x_train)


def test_sine_many_to_one_and_many_to_many_agree():
    one = load("sine", noise=0.0, length=15, mode="many_to_one", split=0.0)
    many = load("sine", noise=0.0, length=15, mode="many_to_many", split=0.0)
    assert one.x_train.shape == (500, 15, 1) and one.y_train.shape == (500, 1)
    assert many.y_train.shape == (500, 15, 1) and many.input_shape == (15, 1)
    assert np.array_equal(one.x_train, many.x_train)
    assert np.allclose(many.y_train[:, :-1], many.x_train[:, 1:], atol=1e-6)
    assert np.allclose(one.y_train, many.y_train[:, -1], atol=1e-6)


def test_adding_problem_targets_are_the_marked_sums():
    d = load("adding", length=30, n_samples=300, split=0.0)
    x, y = d.x_train, d.y_train
    assert x.shape == (300, 30, 2) and y.shape == (300, 1)
    marks = x[:, :, 1]
    assert np.all(marks.sum(axis=1) == 2)
    assert np.all(marks[:, :15].sum(axis=1) == 1) and np.all(marks[:, 15:].sum(axis=1) == 1)
    assert np.allclose(y[:, 0], (x[:, :, 0] * marks).sum(axis=1), atol=1e-6)


def test_tagging_follows_its_rule():
    d = load("tagging", vocab_size=60, length=10, split=0.0)
    x, y = d.x_train, d.y_train
    assert d.input_dtype == "int" and x.shape == y.shape == (1000, 10)
    assert x.min() >= 0 and x.max() < 60 and d.class_names == ["other", "name"]
    w = _tagging_vocab(60)
    after_title = np.zeros_like(y, bool)
    after_title[:, 1:] = np.isin(x[:, :-1], w["titles"])
    assert np.array_equal(y == 1, np.isin(x, w["names"]) | after_title)
    ambiguous = np.isin(x, w["ambiguous"])
    assert (y[ambiguous] == 1).any() and (y[ambiguous] == 0).any()   # context decides


def test_sentiment_follows_its_rule_and_needs_order():
    d = load("sequence_classification", vocab_size=48, length=12, split=0.0)
    x, y = d.x_train, d.y_train
    assert d.input_dtype == "int" and x.shape == (1000, 12) and y.shape == (1000,)
    assert x.max() < 48
    w = _sentiment_vocab(48)
    score = np.zeros(len(x))
    for n, row in enumerate(x):
        for t, tok in enumerate(row):
            sign = -1 if t > 0 and row[t - 1] == 0 else 1
            score[n] += sign * ((tok in w["positive"]) - (tok in w["negative"]))
    assert np.all(score != 0) and np.array_equal(y, (score > 0).astype(np.int64))
    negated = (x[:, :-1] == 0) & np.isin(x[:, 1:], np.r_[w["positive"], w["negative"]])
    assert negated.any(axis=1).mean() > 0.2
    assert 0.35 < y.mean() < 0.65


# -- validation of the data section -------------------------------------------------------
@pytest.mark.parametrize("spec, message", [
    ({"dataset": "spirals", "params": {"nosie": 0.1}},
     'data.params: unknown param "nosie" (did you mean \'noise\'?)'),
    ({"dataset": "spirals", "params": {"noise": -1}}, "data.params: noise must be >= 0"),
    ({"dataset": "spirals", "params": {"n_samples": "many"}}, "data.params: n_samples must be"),
    ({"dataset": "sine", "params": {"mode": "one"}}, "data.params: mode must be one of"),
    ({"dataset": "spiral"}, 'data.dataset: unknown dataset \'spiral\' (did you mean "spirals"?)'),
    ({"dataset": 3}, "data.dataset: unknown dataset 3"),
    ({"params": {}}, "data: no dataset chosen"),
    ({"dataset": "xor", "params": [1]}, "data.params: expected an object"),
    ({"dataset": "xor", "validation_split": 0.95}, "data.validation_split: must be a number"),
    ({"dataset": "xor", "validation_split": -0.1}, "data.validation_split"),
    ({"dataset": "xor", "validation_split": "0.2"}, "data.validation_split"),
    ({"dataset": "xor", "validation_split": True}, "data.validation_split"),
    ({"dataset": "csv", "params": {}}, 'data.params: "path" is required for csv'),
    ({"dataset": "idx", "params": {"images": "a.idx"}}, '"labels" is required for idx'),
    ("spirals", "data: expected an object"),
])
def test_bad_data_sections_name_the_place(spec, message):
    with pytest.raises(ProjectError) as err:
        load_dataset(spec)
    assert message in str(err.value)


def test_where_prefixes_messages_and_trainer_keys_are_ignored():
    with pytest.raises(ProjectError, match=r"^project\.data\.params: unknown param"):
        load_dataset({"dataset": "xor", "params": {"bad": 1}}, where="project.data")
    d = load_dataset({"dataset": "xor", "target": "input", "input_noise": 0.1,
                      "augmentation": [{"type": "noise"}], "params": None})
    assert d.x_train.shape[1:] == (2,)
