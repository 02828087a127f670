"""Weights files: round trip (params and BatchNorm state), and every refusal, all-or-nothing."""
from __future__ import annotations

import errno
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

import compute.project as proj
from compute.errors import ProjectError
from compute.graph import Graph
from compute.model import build_model
from compute.weights import load_weights, model_arrays, save_weights


def net(units: int = 16, batchnorm: bool = True, extra: bool = False) -> Graph:
    g = Graph()
    g.add_node("x", "Input", {"shape": [3]})
    g.add_node("fc1", "Dense", {"units": units, "activation": "relu"})
    g.add_node("fc2", "Dense", {"units": 2, "use_bias": False})
    g.add_node("out", "Output", {"loss": "cross_entropy"})
    chain = ["x", "fc1"]
    if batchnorm:
        g.add_node("bn", "BatchNorm", {})
        chain.append("bn")
    if extra:
        g.add_node("fc_extra", "Dense", {"units": units})
        chain.append("fc_extra")
    g.chain(*chain, "fc2", "out")
    return g


def snapshot(model) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in model_arrays(model).items()}


def assert_unchanged(model, before: dict) -> None:
    after = model_arrays(model)
    assert after.keys() == before.keys()
    for k in before:
        np.testing.assert_array_equal(after[k], before[k])


@pytest.fixture
def trained(tmp_path):
    """A model whose BatchNorm running statistics have moved, saved to w.npz."""
    model = build_model(net(), seed=1)
    rng = np.random.default_rng(0)
    model.loss_and_grads(rng.normal(2.0, 3.0, (32, 3)), rng.integers(0, 2, 32))
    path = tmp_path / "w.npz"
    save_weights(model, path)
    return model, path


def test_round_trip_restores_params_and_state(trained):
    model, path = trained
    assert set(np.load(path).files) == {"fc1/W", "fc1/b", "bn/gamma", "bn/beta",
                                        "bn/running_mean", "bn/running_var", "fc2/W"}
    assert not np.allclose(model.layers["bn"].state["running_mean"], 0)
    other = build_model(net(), seed=2)
    live = other.params["fc1"]["W"]
    load_weights(other, path)
    assert other.params["fc1"]["W"] is live           # loaded in place: the live store
    for k, v in model_arrays(model).items():
        np.testing.assert_array_equal(model_arrays(other)[k], v)
    x = np.random.default_rng(3).normal(size=(5, 3))
    np.testing.assert_array_equal(other.forward(x), model.forward(x))


def test_float64_model_loads_float32_file(trained):
    model, path = trained
    wide = build_model(net(), seed=0, dtype=np.float64)
    load_weights(wide, path)
    assert wide.params["fc1"]["W"].dtype == np.float64
    np.testing.assert_array_equal(wide.params["fc1"]["W"], model.params["fc1"]["W"])


def test_wrong_shape_names_key_and_shapes_and_loads_nothing(tmp_path):
    small = build_model(net(units=8), seed=0)
    path = tmp_path / "w.npz"
    save_weights(small, path)
    big = build_model(net(units=16), seed=5)
    before = snapshot(big)
    with pytest.raises(ProjectError) as info:
        load_weights(big, path)
    assert str(info.value) == (f'{path}: "fc1/W" has shape (3, 8) but the model expects '
                               f'(3, 16)')
    assert_unchanged(big, before)


def test_later_mismatch_loads_nothing(tmp_path):
    """fc1 fits, fc2 does not: fc1 must not have been overwritten either."""
    model = build_model(net(batchnorm=False), seed=0)
    arrays = {k: np.ones_like(v) for k, v in model_arrays(model).items()}
    arrays["fc2/W"] = np.ones((16, 3), np.float32)
    path = tmp_path / "w.npz"
    np.savez(path, **arrays)
    before = snapshot(model)
    with pytest.raises(ProjectError, match=r'"fc2/W" has shape \(16, 3\) but the model '
                                           r'expects \(16, 2\)'):
        load_weights(model, path)
    assert_unchanged(model, before)


def test_missing_keys(trained, tmp_path):
    _, path = trained
    model = build_model(net(extra=True), seed=0)
    with pytest.raises(ProjectError, match=r'w\.npz: missing "fc_extra/W", "fc_extra/b": '
                                           r'the file was saved from another network'):
        load_weights(model, path)
    no_bn = build_model(net(batchnorm=False), seed=0)
    p2 = tmp_path / "nobn.npz"
    save_weights(no_bn, p2)
    with pytest.raises(ProjectError, match=r'missing "bn/gamma", "bn/beta", '
                                           r'"bn/running_mean" \(and 1 more\)'):
        load_weights(build_model(net(), seed=0), p2)


def test_extra_keys(trained):
    _, path = trained
    model = build_model(net(batchnorm=False), seed=0)
    before = snapshot(model)
    with pytest.raises(ProjectError, match=r'"bn/gamma" does not fit: the model has no '
                                           r'node "bn"'):
        load_weights(model, path)
    assert_unchanged(model, before)
    arrays = {k: v.copy() for k, v in model_arrays(model).items()}
    arrays["fc2/b"] = np.zeros(2, np.float32)      # fc2 has use_bias=False
    np.savez(path, **arrays)
    with pytest.raises(ProjectError, match=r'"fc2/b" does not fit: the model has no such '
                                           r'param'):
        load_weights(model, path)


def test_wrong_dtype_and_non_finite_values(tmp_path):
    model = build_model(net(batchnorm=False), seed=0)
    arrays = {k: v.copy() for k, v in model_arrays(model).items()}
    path = tmp_path / "w.npz"
    np.savez(path, **{**arrays, "fc1/b": np.zeros(16, np.int64)})
    with pytest.raises(ProjectError, match=r'"fc1/b" has dtype int64 but the model expects '
                                           r'float32'):
        load_weights(model, path)
    np.savez(path, **{**arrays, "fc1/b": np.zeros(16, np.complex64)})
    with pytest.raises(ProjectError, match=r'"fc1/b" has dtype complex64, not numbers'):
        load_weights(model, path)
    bad = arrays["fc1/W"].copy()
    bad[1, 2] = np.nan
    np.savez(path, **{**arrays, "fc1/W": bad})
    before = snapshot(model)
    with pytest.raises(ProjectError, match=r'"fc1/W" contains NaN or infinite values'):
        load_weights(model, path)
    assert_unchanged(model, before)


def test_object_arrays_are_refused_before_reading(tmp_path):
    model = build_model(net(batchnorm=False), seed=0)
    arrays = {k: v.copy() for k, v in model_arrays(model).items()}
    obj = np.empty(16, dtype=object)
    obj[:] = [Exploit(tmp_path / "pwned")] * 16
    path = tmp_path / "w.npz"
    np.savez(path, **{**arrays, "fc1/b": obj})
    with pytest.raises(ProjectError, match=r'"fc1/b" is an object array; refused'):
        load_weights(model, path)
    assert not (tmp_path / "pwned").exists()


class Exploit:
    """Unpickling this creates a file: the tests prove it never happens."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_disguised_as_npz_is_never_unpickled(tmp_path):
    model = build_model(net(batchnorm=False), seed=0)
    marker = tmp_path / "pwned"
    path = tmp_path / "w.npz"
    path.write_bytes(pickle.dumps(Exploit(marker)))
    with pytest.raises(ProjectError, match=r"w\.npz: not a weights file \(\.npz archive\)"):
        load_weights(model, path)
    # a zip whose member claims to be an array but holds a pickle
    with zipfile.ZipFile(path, "w") as zf:
        for key in model_arrays(model):
            zf.writestr(f"{key}.npy", pickle.dumps(Exploit(marker)))
    with pytest.raises(ProjectError, match=r"w\.npz: damaged weights file"):
        load_weights(model, path)
    assert not marker.exists()


def test_not_an_npz(tmp_path):
    model = build_model(net(batchnorm=False), seed=0)
    for content in (b"", b'{"format": "netwright"}', b"PK\x03\x04 truncated"):
        path = tmp_path / "w.npz"
        path.write_bytes(content)
        with pytest.raises(ProjectError, match=r"w\.npz: (not a weights file|damaged)"):
            load_weights(model, path)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(ProjectError, match=r'unexpected entry "readme.txt"'):
        load_weights(model, path)
    with pytest.raises(ProjectError, match=r"nope\.npz: no such file"):
        load_weights(model, tmp_path / "nope.npz")
    with pytest.raises(ProjectError, match="not a file"):
        load_weights(model, tmp_path)


def test_truncated_npz_loads_nothing(trained, tmp_path):
    model, path = trained
    data = path.read_bytes()
    other = build_model(net(), seed=9)
    before = snapshot(other)
    for cut in (len(data) // 3, len(data) - 30):
        bad = tmp_path / "cut.npz"
        bad.write_bytes(data[:cut])
        with pytest.raises(ProjectError, match=r"cut\.npz: "):
            load_weights(other, bad)
        assert_unchanged(other, before)


def test_save_is_atomic(trained, monkeypatch):
    model, path = trained
    before = path.read_bytes()
    model.params["fc1"]["W"] += 1

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(proj.os, "fsync", full)
    with pytest.raises(ProjectError, match=r"w\.npz: could not save \(the disk is full\)"):
        save_weights(model, path)
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == ["w.npz"]
