"""Importers on small files written by the tests: CSV, NPZ, IDX (plain and gzipped), images."""
from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from compute.data import load_dataset
from compute.errors import ProjectError


def load(tmp_path: Path, dataset: str, split: float = 0.0, seed: int = 0, **params):
    return load_dataset({"dataset": dataset, "params": params, "validation_split": split},
                        base_dir=tmp_path, seed=seed)


def fails(tmp_path: Path, dataset: str, **params) -> str:
    with pytest.raises(ProjectError) as err:
        load(tmp_path, dataset, **params)
    return str(err.value)


def write(tmp_path: Path, name: str, text: str) -> str:
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_text(text, encoding="utf-8")
    return name


# -- CSV ---------------------------------------------------------------------------------
IRIS = """sepal,petal,colour,species
5.1,1.4,red,setosa
4.9,1.5,blue,setosa
6.3,4.7,red,versicolor
5.8,4.1,green,versicolor
7.1,5.9,blue,virginica
6.5,5.5,red,virginica
"""


def test_csv_text_target_becomes_classes_and_text_features_one_hot(tmp_path):
    write(tmp_path, "data/iris.csv", IRIS)
    d = load(tmp_path, "csv", path="data/iris.csv", target="species", standardize=False)
    assert d.task == "classification" and d.class_names == ["setosa", "versicolor", "virginica"]
    assert d.y_train.tolist() == [0, 0, 1, 1, 2, 2] and d.y_train.dtype == np.int64
    assert d.x_train.dtype == np.float32 and d.input_shape == (5,)
    # sepal, petal, then colour one-hot in sorted order: blue, green, red
    assert d.x_train[0].tolist() == pytest.approx([5.1, 1.4, 0, 0, 1])
    assert d.x_train[3].tolist() == pytest.approx([5.8, 4.1, 0, 1, 0])
    by_index = load(tmp_path, "csv", path="data/iris.csv", target=-1, standardize=False)
    assert np.array_equal(by_index.x_train, d.x_train)
    assert np.array_equal(load(tmp_path, "csv", path="data/iris.csv", target=3,
                               standardize=False).y_train, d.y_train)


def test_csv_numeric_targets_infer_the_task_unless_told(tmp_path):
    ints = "a,b,label\n" + "".join(f"{i * 0.5},{i % 3},{i % 4}\n" for i in range(20))
    write(tmp_path, "ints.csv", ints)
    d = load(tmp_path, "csv", path="ints.csv")
    assert d.task == "classification" and d.class_names == ["0", "1", "2", "3"]
    reg = load(tmp_path, "csv", path="ints.csv", task="regression")
    assert reg.task == "regression" and reg.y_train.shape == (20, 1)
    assert reg.y_train.dtype == np.float32 and reg.num_classes is None
    floats = "a,y\n" + "".join(f"{i},{i * 0.37}\n" for i in range(20))
    write(tmp_path, "floats.csv", floats)
    assert load(tmp_path, "csv", path="floats.csv").task == "regression"
    many = "a,y\n" + "".join(f"{i},{i}\n" for i in range(30))     # 30 distinct integers
    write(tmp_path, "many.csv", many)
    assert load(tmp_path, "csv", path="many.csv").task == "regression"
    forced = load(tmp_path, "csv", path="floats.csv", task="classification")
    assert forced.num_classes == 20 and forced.class_names[1] == "0.37"


def test_csv_delimiter_no_header_quotes_and_blank_lines(tmp_path):
    write(tmp_path, "semi.csv", '1;2;"x"\n\n3;4;"y"\n5;6;x\n')
    d = load(tmp_path, "csv", path="semi.csv", delimiter=";", header=False, target="2",
             standardize=False)
    assert d.x_train.tolist() == [[1, 2], [3, 4], [5, 6]]
    assert d.y_train.tolist() == [0, 1, 0] and d.class_names == ["x", "y"]


def test_csv_standardises_with_training_statistics_only(tmp_path):
    rng = np.random.default_rng(0)
    feats = rng.normal(5.0, 2.0, (40, 2))
    rows = "".join(f"{a},{b},red,{i}\n" if i % 2 else f"{a},{b},blue,{i}\n"
                   for i, (a, b) in enumerate(feats))
    write(tmp_path, "t.csv", "a,b,c,row\n" + rows)
    d = load(tmp_path, "csv", split=0.25, path="t.csv", task="regression")
    train_rows = d.y_train[:, 0].astype(int)
    val_rows = d.y_val[:, 0].astype(int)
    assert len(val_rows) == 10 and not set(train_rows) & set(val_rows)
    mean, std = feats[train_rows].mean(axis=0), feats[train_rows].std(axis=0)
    assert np.allclose(d.feature_mean[:2], mean, atol=1e-5)
    assert np.allclose(d.x_train[:, :2], (feats[train_rows] - mean) / std, atol=1e-5)
    assert np.allclose(d.x_val[:, :2], (feats[val_rows] - mean) / std, atol=1e-5)
    assert not np.allclose(mean, feats.mean(axis=0), atol=1e-3)     # not the full-data mean
    # one-hot columns are left as 0/1
    assert set(np.unique(d.x_train[:, 2:])) == {0.0, 1.0}
    assert d.feature_mean[2:].tolist() == [0, 0] and d.feature_std[2:].tolist() == [1, 1]
    # a different split seed gives different statistics
    other = load(tmp_path, "csv", split=0.25, seed=5, path="t.csv", task="regression")
    assert not np.allclose(other.feature_mean, d.feature_mean)


@pytest.mark.parametrize("text, params, message", [
    ("a,b,c\n1,2,3\n4,5,6\n7,8\n", {}, "data: CSV file bad.csv line 4: expected 3 columns, got 2"),
    ("a,b,c\n1,2,3\n4,5,6,7\n", {}, "line 3: expected 3 columns, got 4"),
    ("a,b,c\n1,2,3\n", {"target": "lable"}, 'data.params.target: CSV file bad.csv has no column '
                                           '"lable"'),
    ("a,b,label\n1,2,3\n", {"target": "lable"}, '(did you mean "label"?)'),
    ("a,b,c\n1,2,3\n", {"target": 5}, "bad.csv has no column 5 (it has 3 columns)"),
    ("a,b,c\n1,2,3\n4,,6\n", {}, 'bad.csv line 3 column "b": empty value'),
    ("a,b,c\n1,2,3\n4,5,6\n7,x8,9\n", {}, 'line 4 column "b": "x8" is not a finite number'),
    ("a,b,c\n1,2,3\n4,nan,6\n7,8,9\n", {}, 'line 3 column "b": "nan" is not a finite number'),
    ("a,b,c\n1,2,3\n4,5,six\n", {"task": "regression"}, 'line 3 column "c": "six" is not a '
                                                       "finite number (a regression target"),
    ("a,b,c\n", {}, "bad.csv: no data rows"),
    ("", {}, "bad.csv: the file is empty"),
    ("y\n1\n2\n", {}, "needs at least two columns"),
])
def test_csv_errors_name_file_line_and_column(tmp_path, text, params, message):
    write(tmp_path, "bad.csv", text)
    assert message in fails(tmp_path, "csv", path="bad.csv", **params)


def test_csv_tab_and_space_delimiters(tmp_path):
    write(tmp_path, "t.tsv", "a\tb\ty\n1\t2\tcat\n3\t4\tdog\n")
    d = load(tmp_path, "csv", path="t.tsv", delimiter="tab", standardize=False)
    assert d.x_train.tolist() == [[1, 2], [3, 4]] and d.class_names == ["cat", "dog"]
    write(tmp_path, "s.txt", "a b y\n1  2 0\n3 4 1\n")
    d = load(tmp_path, "csv", path="s.txt", delimiter="space", standardize=False)
    assert d.x_train.tolist() == [[1, 2], [3, 4]]


@pytest.mark.parametrize("path", ["", "  "])
def test_an_unchosen_path_is_valid_until_loading(tmp_path, path):
    assert 'data.params: "path" is required for csv' in fails(tmp_path, "csv", path=path)


def test_csv_missing_and_undecodable_files(tmp_path):
    assert "data: CSV file data/nope.csv: no such file" in fails(tmp_path, "csv",
                                                                 path="data/nope.csv")
    (tmp_path / "latin.csv").write_bytes(b"a,b\n\xe9\xff,1\n")
    assert "CSV file latin.csv: not a UTF-8 text file" in fails(tmp_path, "csv", path="latin.csv")
    (tmp_path / "folder.csv").mkdir()
    assert "folder.csv: not a file" in fails(tmp_path, "csv", path="folder.csv")


def test_csv_paths_are_relative_to_base_dir(tmp_path, monkeypatch):
    write(tmp_path, "proj/d.csv", "a,y\n1,0\n2,1\n")
    monkeypatch.chdir(tmp_path)
    d = load_dataset({"dataset": "csv", "params": {"path": "d.csv"}}, base_dir=tmp_path / "proj")
    assert d.num_classes == 2
    absolute = load_dataset({"dataset": "csv", "params": {"path": str(tmp_path / "proj/d.csv")}},
                            base_dir="/")
    assert absolute.num_classes == 2


# -- NPZ ---------------------------------------------------------------------------------
def test_npz_classification_regression_and_tokens(tmp_path):
    x = np.arange(24, dtype=np.float64).reshape(6, 2, 2)
    np.savez(tmp_path / "cls.npz", X=x, y=np.array([0, 1, 2, 0, 1, 2]),
             class_names=np.array(["a", "b", "c"]))
    d = load(tmp_path, "npz", path="cls.npz")
    assert d.task == "classification" and d.class_names == ["a", "b", "c"]
    assert d.x_train.dtype == np.float32 and d.input_shape == (2, 2)
    assert np.array_equal(d.x_train, x.astype(np.float32))
    np.savez(tmp_path / "reg.npz", X=x, y=np.linspace(0, 1, 6))
    r = load(tmp_path, "npz", path="reg.npz")
    assert r.task == "regression" and r.y_train.shape == (6, 1) and r.y_train.dtype == np.float32
    forced = load(tmp_path, "npz", path="cls.npz", task="regression")
    assert forced.task == "regression"
    tokens = np.array([[1, 2, 3], [3, 2, 1]])
    np.savez(tmp_path / "tok.npz", X=tokens, y=np.array([[0, 1, 0], [1, 0, 1]]))
    t = load(tmp_path, "npz", path="tok.npz", tokens=True)
    assert t.input_dtype == "int" and t.x_train.dtype == np.int64
    assert t.y_train.shape == (2, 3) and t.class_names == ["0", "1"]


@pytest.mark.parametrize("arrays, params, message", [
    ({"x": np.zeros((3, 2)), "y": np.zeros(3)}, {}, 'has no array "X" (it has: x, y)'),
    ({"X": np.zeros((3, 2)), "y": np.zeros(4)}, {}, "X has 3 samples but y has shape (4,)"),
    ({"X": np.zeros(3), "y": np.zeros(3)}, {}, "X must have a sample axis and a feature axis"),
    ({"X": np.array([[np.nan, 1.0]]), "y": np.zeros(1)}, {}, 'array "X" holds NaN'),
    ({"X": np.zeros((2, 2)), "y": np.array([0.5, 1.0])}, {"task": "classification"},
     "class labels in y must be integers >= 0"),
    ({"X": np.zeros((2, 2)), "y": np.array([-1, 1])}, {}, "class labels in y must be integers"),
    ({"X": np.full((2, 2), 0.5), "y": np.array([0, 1])}, {"tokens": True},
     "token ids in X must be integers >= 0"),
    ({"X": np.zeros((2, 2)), "y": np.array(["a", "b"])}, {}, 'array "y" must be numeric'),
    ({"X": np.zeros((2, 2)), "y": np.array([0, 3]), "class_names": np.array(["a"])}, {},
     "class_names must be 4 or more strings"),
])
def test_npz_errors(tmp_path, arrays, params, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    assert message in fails(tmp_path, "npz", path="bad.npz", **params)


def test_npz_never_unpickles(tmp_path):
    objects = np.empty(2, dtype=object)
    objects[:] = [{"a": 1}, [2]]
    np.savez(tmp_path / "obj.npz", X=np.zeros((2, 2)), y=objects)
    message = fails(tmp_path, "npz", path="obj.npz")
    assert "data: NPZ file obj.npz: holds Python objects, which are never unpickled" in message
    np.save(tmp_path / "plain.npy", np.zeros((2, 2)))
    assert "not an .npz archive" in fails(tmp_path, "npz", path="plain.npy")
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 not really a zip")
    assert "data: NPZ file junk.npz: cannot read" in fails(tmp_path, "npz", path="junk.npz")


# -- IDX ---------------------------------------------------------------------------------
def idx_bytes(arr: np.ndarray, code: int = 0x08) -> bytes:
    dtype = {0x08: ">u1", 0x0B: ">i2", 0x0D: ">f4"}[code]
    head = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return head + arr.astype(dtype).tobytes()


def write_idx(path: Path, arr: np.ndarray, gz: bool, code: int = 0x08) -> None:
    data = idx_bytes(arr, code)
    path.write_bytes(gzip.compress(data) if gz else data)


@pytest.mark.parametrize("gz", [True, False])
def test_idx_reads_mnist_format(tmp_path, gz):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (12, 5, 4), dtype=np.uint8)
    labels = rng.integers(0, 10, 12).astype(np.uint8)
    labels[:10] = np.arange(10)
    write_idx(tmp_path / "imgs.idx3", images, gz)
    write_idx(tmp_path / "lbls.idx1", labels, gz)
    d = load(tmp_path, "idx", images="imgs.idx3", labels="lbls.idx1")
    assert d.x_train.shape == (12, 1, 5, 4) and d.x_train.dtype == np.float32
    assert np.allclose(d.x_train[:, 0], images / 255.0) and d.x_train.max() <= 1.0
    assert np.array_equal(d.y_train, labels) and d.num_classes == 10
    assert d.class_names == [str(i) for i in range(10)]
    few = load(tmp_path, "idx", images="imgs.idx3", labels="lbls.idx1", max_samples=5)
    assert few.x_train.shape[0] == 5


def test_idx_scales_wider_types_into_unit_range(tmp_path):
    write_idx(tmp_path / "i", np.array([[[-3.0, 1.0]], [[5.0, 0.0]]]), False, code=0x0D)
    write_idx(tmp_path / "l", np.array([0, 1]), False, code=0x0B)
    d = load(tmp_path, "idx", images="i", labels="l")
    assert d.x_train[:, 0, 0].tolist() == [[0.0, 0.5], [1.0, 0.375]]


def test_idx_errors_name_the_file(tmp_path):
    images = np.zeros((4, 3, 3), np.uint8)
    write_idx(tmp_path / "ok.gz", images, True)
    write_idx(tmp_path / "three.idx", np.zeros(3, np.uint8), False)
    good = idx_bytes(images)
    (tmp_path / "short.idx").write_bytes(good[:-5])
    (tmp_path / "long.idx").write_bytes(good + b"xx")
    (tmp_path / "magic.idx").write_bytes(b"\x01\x02\x08\x01" + good[4:])
    (tmp_path / "broken.gz").write_bytes(gzip.compress(good)[:-10])
    write_idx(tmp_path / "labels2d", np.zeros((4, 2), np.uint8), False)
    cases = {
        ("short.idx", "three.idx"): "data: IDX file short.idx: file ended early (header "
                                    "(4, 3, 3) needs 36 bytes of data, found 31)",
        ("long.idx", "three.idx"): "long.idx: file is longer than its header says",
        ("magic.idx", "three.idx"): "data: IDX file magic.idx: not an IDX file (bad magic",
        ("broken.gz", "three.idx"): "data: IDX file broken.gz: cannot read",
        ("ok.gz", "three.idx"): "IDX files ok.gz and three.idx hold 4 images but 3 labels",
        ("ok.gz", "labels2d"): "IDX file labels2d: expected labels of shape (N,)",
        ("three.idx", "ok.gz"): "IDX file three.idx: expected images of shape (N, H, W)",
        ("ok.gz", "missing.gz"): "data: IDX file missing.gz: no such file",
    }
    for (imgs, lbls), message in cases.items():
        assert message in fails(tmp_path, "idx", images=imgs, labels=lbls), (imgs, lbls)


# -- image folder ------------------------------------------------------------------------
def make_folder(root: Path) -> None:
    for cls, value in (("dog", 255), ("cat", 0)):
        (root / cls).mkdir(parents=True)
        for i in range(3):
            size = (6 + i, 5)
            Image.new("L", size, value).save(root / cls / f"{i}.png")
    Image.new("RGB", (4, 4), (255, 0, 0)).save(root / "cat" / "3.jpg")
    (root / "cat" / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir()


def test_image_folder_grayscale_and_rgb(tmp_path):
    make_folder(tmp_path / "imgs")
    d = load(tmp_path, "image_folder", path="imgs", size=[6, 7])
    assert d.class_names == ["cat", "dog"] and d.input_shape == (1, 6, 7)
    assert d.y_train.tolist() == [0, 0, 0, 0, 1, 1, 1]
    assert d.x_train.dtype == np.float32
    assert np.all(d.x_train[:3] == 0) and np.all(d.x_train[4:] == 1)
    # the red jpg in grayscale: luminance 0.299
    assert np.allclose(d.x_train[3], 0.299, atol=0.02)
    rgb = load(tmp_path, "image_folder", path="imgs", mode="rgb", size=4)
    assert rgb.input_shape == (3, 4, 4)
    red = rgb.x_train[3]
    assert red[0].min() > 0.95 and red[1].max() < 0.05 and red[2].max() < 0.05
    again = load(tmp_path, "image_folder", path="imgs", mode="rgb", size=4)
    assert np.array_equal(again.x_train, rgb.x_train)


def test_image_folder_errors_name_the_file(tmp_path):
    make_folder(tmp_path / "imgs")
    (tmp_path / "imgs" / "cat" / "3.png").write_bytes(b"\x89PNG garbage")
    message = fails(tmp_path, "image_folder", path="imgs")
    assert message == "data: image folder imgs/cat/3.png: cannot read image"
    (tmp_path / "empty" / "only").mkdir(parents=True)
    assert "image folder empty/only: no images" in fails(tmp_path, "image_folder", path="empty")
    (tmp_path / "flat").mkdir()
    assert "image folder flat: no class subfolders" in fails(tmp_path, "image_folder",
                                                            path="flat")
    assert "image folder gone: no such folder" in fails(tmp_path, "image_folder", path="gone")
    assert "data.params: size must be" in fails(tmp_path, "image_folder", path="imgs", size=0)
