"""Project files: round trips, defaults, every refusal and its place, migration, atomic saves."""
from __future__ import annotations

import copy
import errno
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import compute.jsonio as jsonio
import compute.project as proj
from compute.errors import NetwrightError, ProjectError
from compute.graph import Graph
from compute.project import (CURRENT_VERSION, MIGRATIONS, Project, load_project, parse_project,
                             resolve_data, resolve_training, save_project)

ROOT = Path(__file__).resolve().parents[1]

FULL = {
    "format": "netwright", "version": 1, "name": "Two spirals",
    "graph": {
        "nodes": [
            {"id": "x", "type": "Input", "params": {"shape": [2]}, "position": [0, 0]},
            {"id": "h1", "type": "Dense", "params": {"units": 16, "activation": "tanh"},
             "position": [200.5, -40]},
            {"id": "h2", "type": "Dense", "params": {"units": 2}, "position": [400, 0]},
            {"id": "out", "type": "Output", "params": {"loss": "cross_entropy"},
             "position": [600, 0]},
        ],
        "edges": [{"source": "x", "target": "h1", "port": 0},
                  {"source": "h1", "target": "h2", "port": 0},
                  {"source": "h2", "target": "out", "port": 0}],
    },
    "data": {"dataset": "spirals", "params": {"n_samples": 300, "noise": 0.1},
             "validation_split": 0.25, "target": "labels", "input_noise": 0.0,
             "augmentation": [{"type": "noise", "std": 0.01}]},
    "training": {"epochs": 5, "batch_size": 16, "seed": 3, "shuffle": True,
                 "optimizer": {"type": "adam", "lr": 0.01, "beta1": 0.8},
                 "schedule": {"type": "step", "step_size": 2, "gamma": 0.5},
                 "regularization": {"l2": 0.001},
                 "gradient_clip": {"norm": 5.0},
                 "early_stopping": {"patience": 3, "min_delta": 0.001},
                 "snapshot_every": 10},
}


def write(tmp_path: Path, content, name: str = "p.netw") -> Path:
    path = tmp_path / name
    data = content if isinstance(content, bytes) else \
        (content if isinstance(content, str) else json.dumps(content)).encode("utf-8")
    path.write_bytes(data)
    return path


def with_(path: str, value, base=None) -> dict:
    """A copy of FULL (or `base`) with the dotted `path` set to `value` (or deleted)."""
    d = copy.deepcopy(FULL if base is None else base)
    *parents, last = path.split(".")
    target = d
    for p in parents:
        target = target[int(p)] if isinstance(target, list) else target[p]
    if isinstance(target, list):
        target[int(last)] = value
    elif value is DELETE:
        del target[last]
    else:
        target[last] = value
    return d


DELETE = object()


# -- round trips and the written form ----------------------------------------------------------
def test_round_trip_to_dict_save_load_is_identical(tmp_path):
    project = Project.from_dict(FULL)
    d = project.to_dict()
    assert d == FULL
    path = tmp_path / "spirals.netw"
    assert save_project(project, path) == path
    assert project.path == path
    loaded = load_project(path)
    assert loaded.to_dict() == d
    assert loaded.path == path and loaded.base_dir == tmp_path
    first = path.read_bytes()
    save_project(loaded, path)
    assert path.read_bytes() == first          # saving again changes nothing


DOC = ROOT / "docs" / "project-format.md"


def test_documented_example_loads_and_is_written_exactly_as_documented(tmp_path):
    text = DOC.read_text(encoding="utf-8")
    block = text.split("```json\n", 1)[1].split("```", 1)[0]
    path = write(tmp_path, block)
    project = load_project(path)
    assert project.graph.nodes == ["image", "conv1", "pool1", "flat", "drop", "fc", "out"]
    assert project.graph.check()            # the example can also run
    assert project.to_dict() == json.loads(block)
    save_project(project, tmp_path / "again.netw")
    assert (tmp_path / "again.netw").read_text(encoding="utf-8") == block


def test_documentation_names_every_field():
    from compute.data import AUGMENTATIONS, DATASETS
    from compute.optimizers import OPTIMIZERS, SCHEDULES

    text = DOC.read_text(encoding="utf-8")
    names = set(proj.TOP_KEYS) | set(proj.DATA_KEYS) | set(proj.TRAINING_KEYS)
    names |= {p.name for p in proj.REGULARIZATION + proj.EARLY_STOPPING}
    names |= set(DATASETS) | set(AUGMENTATIONS) | set(OPTIMIZERS) | set(SCHEDULES)
    for table in (OPTIMIZERS, SCHEDULES, AUGMENTATIONS):
        names |= {p.name for params in table.values() for p in params}
    names |= {p.name for info in DATASETS.values() for p in info.params}
    missing = sorted(n for n in names if f"`{n}`" not in text)
    assert not missing, f"docs/project-format.md does not document {missing}"


def test_written_file_is_diff_friendly(tmp_path):
    path = tmp_path / "p.netw"
    save_project(Project.from_dict(FULL), path)
    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n") and not text.endswith("\n\n")
    lines = text.splitlines()
    assert lines[1] == '  "format": "netwright",' and lines[2] == '  "version": 1,'
    assert list(json.loads(text)) == ["format", "version", "name", "graph", "data", "training"]
    # one node and one edge per line, positions as short numbers
    assert '      {"id": "x", "type": "Input", "params": {"shape": [2]}, "position": [0, 0]},' \
        in lines
    assert '        "position": [200.5, -40]' in lines     # too long for one line: split
    assert '      {"source": "x", "target": "h1", "port": 0},' in lines
    assert '    "optimizer": {"type": "adam", "lr": 0.01, "beta1": 0.8},' in lines
    assert all(len(line) <= 100 for line in lines)


def test_positions_are_rounded_and_keys_ordered():
    g = Graph()
    g.add_node("x", "Input", {"shape": [3]}, position=(10.04999, -3.0000001))
    p = Project("n", g, {"target": "input", "dataset": "moons"},
                {"seed": 1, "epochs": 2})
    d = Project.from_dict(p.to_dict()).to_dict()
    assert d["graph"]["nodes"][0]["position"] == [10, -3]
    assert list(d["data"]) == ["dataset", "target"]
    assert list(d["training"]) == ["epochs", "seed"]


def test_unicode_name_round_trips(tmp_path):
    project = Project.from_dict({**FULL, "name": "Spirales — réseau à 2 couches ✓"})
    path = tmp_path / "u.netw"
    save_project(project, path)
    assert "réseau" in path.read_text(encoding="utf-8")
    assert load_project(path).name == project.name


# -- partial and empty sections ------------------------------------------------------------------
def test_minimal_file_is_an_empty_project(tmp_path):
    path = write(tmp_path, {"format": "netwright", "version": 1}, "draft.netw")
    project = load_project(path)
    assert project.name == "draft"
    assert len(project.graph) == 0 and project.data == {} and project.training == {}
    assert project.to_dict() == {"format": "netwright", "version": 1, "name": "draft",
                                 "graph": {"nodes": [], "edges": []}, "data": {},
                                 "training": {}}


def test_half_drawn_graph_saves_and_reopens(tmp_path):
    g = Graph()
    g.add_node("x", "Input", {"shape": [4]}, position=(0, 0))
    g.add_node("fc", "Dense", {"units": 3}, position=(150, 20))
    g.add_node("lonely", "Dense", {}, position=(300, 20))   # no input, no Output anywhere
    g.connect("x", "fc")
    path = tmp_path / "wip.netw"
    save_project(Project("work in progress", g), path)
    again = load_project(path)
    assert again.graph == g
    assert again.graph.validate()                 # not runnable yet, but a valid file


def test_partial_sections_keep_only_what_was_given():
    project = Project.from_dict({"format": "netwright", "version": 1,
                                 "data": {"dataset": "xor"},
                                 "training": {"optimizer": {"lr": 0.5}}})
    assert project.data == {"dataset": "xor"}
    assert project.training == {"optimizer": {"lr": 0.5}}


def test_resolve_training_defaults_follow_the_contract():
    t = resolve_training({})
    assert t["epochs"] == 10 and t["batch_size"] == 32 and t["seed"] == 0
    assert t["optimizer"] == {"type": "sgd", "lr": 0.01}
    assert t["schedule"] == {"type": "constant"}
    assert t["regularization"] == {"l1": 0, "l2": 0, "weight_noise": 0}
    assert t["gradient_clip"] is None and t["early_stopping"] is None
    assert t["shuffle"] is True and t["snapshot_every"] == 50
    assert resolve_training(None) == t


def test_resolve_training_fills_nested_defaults():
    t = resolve_training({"optimizer": {"type": "momentum"}, "early_stopping": {},
                          "schedule": {"type": "exponential"}, "gradient_clip": {"value": 1},
                          "regularization": {"l1": 0.01}})
    assert t["optimizer"] == {"type": "momentum", "lr": 0.01, "momentum": 0.9}
    assert t["early_stopping"] == {"patience": 5, "min_delta": 0.0}
    assert t["schedule"] == {"type": "exponential", "gamma": 0.95}
    assert t["gradient_clip"] == {"value": 1.0}
    assert t["regularization"] == {"l1": 0.01, "l2": 0.0, "weight_noise": 0.0}
    assert resolve_training({"optimizer": {"lr": 0.3}})["optimizer"] == {"type": "sgd",
                                                                          "lr": 0.3}


def test_resolve_data_defaults():
    assert resolve_data({}) == {"dataset": None, "params": {}, "validation_split": 0.2,
                                "target": "labels", "input_noise": 0.0, "augmentation": []}
    d = resolve_data({"dataset": "moons", "augmentation": [{"type": "noise"}],
                      "target": "input", "input_noise": 0.3})
    assert d["params"] == {"n_samples": 400, "noise": 0.1, "seed": 0}
    assert d["augmentation"] == [{"type": "noise", "std": 0.05, "probability": 1.0}]
    assert d["target"] == "input" and d["input_noise"] == 0.3


def test_resolve_refuses_bad_values():
    with pytest.raises(ProjectError, match=r"^training\.batch_size: must be >= 1"):
        resolve_training({"batch_size": 0})
    with pytest.raises(ProjectError, match=r"^data\.validation_split: must be <= 0\.9"):
        resolve_data({"validation_split": 0.95})


# -- refusals: each names the file and the place, and leaves the file untouched ----------------
V1 = '{"format": "netwright", "version": 1, '
BAD_TEXT = [
    ('{"format": "netwright",\n  "version": 1\n  "name": "x"}',
     "line 3 column 3: invalid JSON (Expecting ',' delimiter)"),
    (json.dumps(FULL, indent=2)[:-40], "invalid JSON"),                     # truncated
    ("", "line 1 column 1: invalid JSON (Expecting value)"),
    ("[1, 2]", "the top level must be a JSON object"),
    ('"netwright"', "the top level must be a JSON object"),
    ('{"version": 1}', 'not a Netwright project (no "format": "netwright" field)'),
    ('{"format": "keras", "version": 1}', 'format: must be "netwright"'),
    ('{"format": "netwright"}', 'missing field "version"'),
    ('{"format": "netwright", "version": "1"}', "version: must be an integer >= 0"),
    ('{"format": "netwright", "version": 3}',
     "written by a newer Netwright (version 3); this version reads up to 1"),
    (V1 + '"name": "a",\n"x": NaN}', "line 2 column 6: NaN is not valid JSON"),
    (V1 + '"training": {"epochs": Infinity}}', "Infinity is not valid JSON"),
    (V1 + '"training": {"optimizer": {"lr": -Infinity}}}', "-Infinity is not valid JSON"),
    (V1 + '"training": {"epochs": 1e999}}', "number 1e999 is too large"),
    (V1 + '"training": {"seed": ' + "9" * 5000 + "}}", "integer with more than 30 digits"),
    (V1 + '"training": {"seed": 99999999999999999999}}', "training.seed: must be <= "),
    (V1 + '\n"name": "a",\n"name"  :  "b"}', 'line 3 column 1: duplicate key "name"'),
    (V1 + '"data": {"params": {}, "dataset": "xor", "params": {}}}', 'duplicate key "params"'),
    (V1 + '"x": ' + "[" * 100 + "]" * 100 + "}", "nested more than 64 levels deep"),
    ("[" * 100_000, "nested more than 64 levels deep"),
    (V1 + '"name": "\\ud800"}', "not valid Unicode"),
    (V1 + '"name": 7}', "name: must be a non-empty text"),
    (V1 + '"trainig": {}}', 'unknown field "trainig" (did you mean "training"?)'),
    ('{"format": "netwright", "version": 0, "layers": 5}', "layers: must be a list"),
    ('{"format": "netwright", "version": 0, "graph": {}}', 'keeps its graph in "layers"'),
]


@pytest.mark.parametrize("text,expected", BAD_TEXT, ids=[e[:40] for _, e in BAD_TEXT])
def test_malformed_text_is_refused_with_its_place(tmp_path, text, expected):
    path = write(tmp_path, text)
    before = path.read_bytes()
    with pytest.raises(ProjectError) as info:
        load_project(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: "), msg
    assert expected in msg, msg
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["p.netw"]


BAD_FIELDS = [
    ("graph.nodes.1.params", {"unitz": 3},
     'graph.nodes[1] "h1": unknown param "unitz" (did you mean \'units\'?)'),
    ("graph.nodes.1.type", "Dens", 'graph.nodes[1] "h1": unknown layer type \'Dens\''),
    ("graph.nodes.2.id", "h1", 'graph.nodes[2]: duplicate node id "h1"'),
    ("graph.nodes.1.params", {"units": 0}, 'graph.nodes[1] "h1": units must be >= 1'),
    ("graph.nodes.1.position", [0, "a"], "position must be two finite numbers"),
    ("graph.nodes.1.position", False, 'graph.nodes[1] "h1": position must be two finite '
                                      'numbers [x, y], got False'),   # found by the fuzz test
    ("graph.edges.1", {"source": "h1", "target": "nowhere"},
     'graph.edges[1]: target "nowhere" is not a node of the graph'),
    ("graph.edges.1", {"source": "h1", "target": "h2", "port": 3}, "graph.edges[1]: "),
    ("graph.nodes", {}, "graph.nodes: must be a list"),
    ("graph", [], "graph: must be an object"),
    ("data", [], "data: must be an object"),
    ("data.dataset", "spiral", 'data.dataset: unknown dataset "spiral" (did you mean '
                               '"spirals"?)'),
    ("data.dataset", 3, "data.dataset: must be a dataset id"),
    ("data.params", {"n_sample": 10}, 'data.params: unknown field "n_sample" (did you mean '
                                      '"n_samples"?)'),
    ("data.params", {"noise": -1}, "data.params.noise: must be >= 0"),
    ("data.validation_split", 0.95, "data.validation_split: must be <= 0.9"),
    ("data.validation_split", "0.2", "data.validation_split: must be a number"),
    ("data.target", "output", "data.target: must be one of labels, input"),
    ("data.input_noise", -0.1, "data.input_noise: must be >= 0"),
    ("data.augmentation", {"type": "noise"}, "data.augmentation: must be a list"),
    ("data.augmentation", [{"type": "nois"}],
     'data.augmentation[0].type: unknown type "nois" (did you mean "noise"?)'),
    ("data.augmentation", [{"std": 1}], 'data.augmentation[0]: missing field "type"'),
    ("data.augmentation", [{"type": "noise", "std": -1}],
     "data.augmentation[0].std: must be >= 0"),
    ("data.colour", 1, 'data: unknown field "colour"'),
    ("training.epochs", 0, "training.epochs: must be >= 1, got 0"),
    ("training.epochs", "10", "training.epochs: must be an integer"),
    ("training.epochs", True, "training.epochs: must be an integer"),
    ("training.batch_size", 2.5, "training.batch_size: must be an integer"),
    ("training.seed", -1, "training.seed: must be >= 0"),
    ("training.shuffle", "yes", "training.shuffle: must be true or false"),
    ("training.epoch", 3, 'training: unknown field "epoch" (did you mean "epochs"?)'),
    ("training.optimizer", {"type": "adam", "lr": 0}, "training.optimizer.lr: must be > 0"),
    ("training.optimizer", {"type": "adam", "lr": -0.1}, "training.optimizer.lr: must be > 0"),
    ("training.optimizer", {"type": "adamw"}, 'training.optimizer.type: unknown type "adamw"'),
    ("training.optimizer", {"type": "sgd", "momentum": 0.9},
     'training.optimizer: unknown field "momentum"'),
    ("training.optimizer", "adam", "training.optimizer: must be an object"),
    ("training.schedule", {"type": "step", "gama": 0.5},
     'training.schedule: unknown field "gama" (did you mean "gamma"?)'),
    ("training.schedule", {"type": "step", "step_size": 0}, "training.schedule.step_size: "
                                                            "must be >= 1"),
    ("training.regularization", {"l2": -1}, "training.regularization.l2: must be >= 0"),
    ("training.regularization", {"dropout": 0.5}, "training.regularization: unknown field"),
    ("training.gradient_clip", {}, 'training.gradient_clip: give "norm" or "value"'),
    ("training.gradient_clip", {"norm": 0}, 'training.gradient_clip: give "norm" or "value"'),
    ("training.gradient_clip", {"max": 1}, 'training.gradient_clip: unknown field "max"'),
    ("training.early_stopping", {"patience": 0}, "training.early_stopping.patience: must be "
                                                 ">= 1"),
    ("training.early_stopping", {"min_delta": -1}, "training.early_stopping.min_delta: must "
                                                   "be >= 0"),
    ("training.snapshot_every", -5, "training.snapshot_every: must be >= 0"),
]


@pytest.mark.parametrize("where,value,expected", BAD_FIELDS,
                         ids=[f"{w}={json.dumps(v)[:20]}" for w, v, _ in BAD_FIELDS])
def test_bad_fields_are_refused_with_their_place(tmp_path, where, value, expected):
    path = write(tmp_path, json.dumps(with_(where, value), indent=2))
    before = path.read_bytes()
    with pytest.raises(ProjectError) as info:
        load_project(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}: "), msg
    assert expected in msg, msg
    assert path.read_bytes() == before


def test_data_params_need_a_dataset():
    d = with_("data.dataset", DELETE)
    with pytest.raises(ProjectError, match=r"^data\.params: no dataset is chosen"):
        Project.from_dict(d)


def test_not_utf8_is_refused(tmp_path):
    path = write(tmp_path, b'{"format": "netwright",\n "name": "caf\xe9"}')
    with pytest.raises(ProjectError, match=r": line 2 column 14: not UTF-8 text \(byte 0xe9\)"):
        load_project(path)


def test_utf8_byte_order_mark_is_accepted(tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbf" + json.dumps(FULL).encode())
    assert load_project(path).to_dict() == FULL


def test_huge_file_is_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "huge.netw"
    with open(path, "wb") as f:                  # sparse: no disk space used
        f.truncate(proj.MAX_BYTES + 1)
    opened = []
    monkeypatch.setattr("builtins.open", lambda *a, **k: opened.append(a) or 1 / 0)
    with pytest.raises(ProjectError, match="larger than 50 MB"):
        load_project(path)
    assert not opened
    with pytest.raises(ProjectError, match="larger than 50 MB"):
        parse_project(b" " * (proj.MAX_BYTES + 1))


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ProjectError, match=r"nope\.netw: no such file"):
        load_project(tmp_path / "nope.netw")
    with pytest.raises(ProjectError, match="is a folder"):
        load_project(tmp_path)


def test_from_dict_refuses_values_json_cannot_hold():
    for bad in ({**FULL, "name": float("nan")}, {**FULL, "x": {1, 2}},
                {**FULL, "data": {1: 2}}, {**FULL, "training": {"seed": 10**40}}):
        with pytest.raises(ProjectError):
            Project.from_dict(bad)


# -- versions and migration ----------------------------------------------------------------------
V0 = {
    "format": "netwright", "version": 0, "name": "draft",
    "layers": [
        {"name": "x", "type": "Input", "config": {"shape": [2]}, "x": 0, "y": 0},
        {"name": "fc", "type": "Dense", "config": {"units": 2}, "x": 200, "y": 10.25},
        {"name": "out", "type": "Output", "config": {"loss": "cross_entropy"}},
    ],
    "links": [{"from": "x", "to": "fc", "input": 0}, {"from": "fc", "to": "out"}],
    "data": {"dataset": "xor"},
    "training": {"epochs": 3, "optimizer": "momentum", "learning_rate": 0.1,
                 "momentum": 0.8},
}


def test_migration_0_to_1(tmp_path):
    path = write(tmp_path, json.dumps(V0, indent=2))
    before = path.read_bytes()
    project = load_project(path)
    assert path.read_bytes() == before           # migrating never rewrites the file
    assert project.to_dict() == {
        "format": "netwright", "version": 1, "name": "draft",
        "graph": {"nodes": [{"id": "x", "type": "Input", "params": {"shape": [2]},
                             "position": [0, 0]},
                            {"id": "fc", "type": "Dense", "params": {"units": 2},
                             "position": [200, 10.2]},
                            {"id": "out", "type": "Output", "params": {"loss": "cross_entropy"}}],
                  "edges": [{"source": "x", "target": "fc", "port": 0},
                            {"source": "fc", "target": "out", "port": 0}]},
        "data": {"dataset": "xor"},
        "training": {"epochs": 3, "optimizer": {"type": "momentum", "lr": 0.1,
                                                 "momentum": 0.8}}}
    save_project(project, path)
    assert json.loads(path.read_text())["version"] == CURRENT_VERSION


def test_migration_of_a_bare_learning_rate():
    d = {"format": "netwright", "version": 0, "training": {"learning_rate": 0.2}}
    assert Project.from_dict(d).training == {"optimizer": {"lr": 0.2}}
    assert resolve_training(Project.from_dict(d).training)["optimizer"] == {"type": "sgd",
                                                                            "lr": 0.2}


def test_migration_does_not_change_its_input():
    d = copy.deepcopy(V0)
    MIGRATIONS[0](d)
    assert d == V0


def test_migrated_errors_still_name_the_place():
    bad = copy.deepcopy(V0)
    bad["layers"][1]["config"] = {"unitz": 2}
    with pytest.raises(ProjectError, match=r'graph\.nodes\[1\] "fc": unknown param "unitz"'):
        Project.from_dict(bad)
    bad = copy.deepcopy(V0)
    bad["layers"][1]["colour"] = "red"
    with pytest.raises(ProjectError, match=r'graph\.nodes\[1\]: unknown field "colour"'):
        Project.from_dict(bad)


def test_every_old_version_has_a_migration_applied_in_order(monkeypatch):
    assert sorted(MIGRATIONS) == list(range(CURRENT_VERSION))
    calls = []

    def to_2(d):
        calls.append(d["version"])
        return {**d, "version": 2, "name": d["name"] + " (v2)"}

    monkeypatch.setattr(proj, "CURRENT_VERSION", 2)
    monkeypatch.setitem(MIGRATIONS, 1, to_2)
    out = proj.migrate(copy.deepcopy(V0))
    assert calls == [1] and out["version"] == 2 and out["name"] == "draft (v2)"


# -- atomic saving ---------------------------------------------------------------------------------
@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "p.netw"
    save_project(Project.from_dict(FULL), path)
    return path


def changed_project() -> Project:
    return Project.from_dict(with_("name", "changed"))


def test_disk_full_leaves_the_old_file_and_no_temp_file(saved, monkeypatch):
    before = saved.read_bytes()

    def full(f, data):
        f.write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(proj, "_write", full)
    with pytest.raises(ProjectError) as info:
        save_project(changed_project(), saved)
    assert str(info.value).startswith(f"{saved}: could not save (the disk is full)")
    assert saved.read_bytes() == before
    assert os.listdir(saved.parent) == ["p.netw"]


def test_failing_fsync_or_rename_leaves_the_old_file(saved, monkeypatch):
    before = saved.read_bytes()
    monkeypatch.setattr(jsonio.os, "replace", lambda a, b: (_ for _ in ()).throw(
        PermissionError(errno.EACCES, "Permission denied")))
    with pytest.raises(ProjectError, match="could not save"):
        save_project(changed_project(), saved)
    assert saved.read_bytes() == before and os.listdir(saved.parent) == ["p.netw"]


def test_killed_between_write_and_rename_leaves_the_old_file(saved):
    before = saved.read_bytes()
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(ROOT)!r})
        import compute.jsonio as jsonio
        import compute.project as proj
        from tests.test_project import changed_project
        jsonio.os.replace = lambda a, b: os.kill(os.getpid(), signal.SIGKILL)
        proj.save_project(changed_project(), {str(saved)!r})
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                            timeout=120)
    assert result.returncode == -9, result.stderr.decode()
    assert saved.read_bytes() == before
    leftovers = [p for p in saved.parent.iterdir() if p != saved]
    assert len(leftovers) == 1 and leftovers[0].name.startswith(".p.netw.")
    assert json.loads(leftovers[0].read_text())["name"] == "changed"   # fully written
    assert load_project(saved).name == "Two spirals"


def test_saving_an_invalid_project_writes_nothing(saved):
    before = saved.read_bytes()
    project = Project.from_dict(FULL)
    project.training["epochs"] = 0               # edited by hand, bypassing validation
    with pytest.raises(ProjectError, match=r"not saved: training\.epochs: must be >= 1"):
        save_project(project, saved)
    assert saved.read_bytes() == before and os.listdir(saved.parent) == ["p.netw"]


def test_save_keeps_permissions_and_needs_a_path(saved):
    os.chmod(saved, 0o640)
    save_project(changed_project(), saved)
    assert saved.stat().st_mode & 0o777 == 0o640
    with pytest.raises(ProjectError, match="no path"):
        save_project(Project())


def test_save_through_a_symlink_keeps_the_link(saved, tmp_path):
    link = tmp_path / "link.netw"
    link.symlink_to(saved)
    save_project(changed_project(), link)
    assert link.is_symlink() and load_project(saved).name == "changed"


def test_values_set_in_python_are_saved_as_json(tmp_path):
    project = Project.from_dict(FULL)
    project.data = {"dataset": "image_folder", "params": {"path": "imgs", "size": (16, 12)}}
    save_project(project, tmp_path / "p.netw")
    assert load_project(tmp_path / "p.netw").data["params"]["size"] == [16, 12]


def test_save_into_missing_folder_names_the_path(tmp_path):
    target = tmp_path / "no" / "such" / "p.netw"
    with pytest.raises(ProjectError, match=r"p\.netw: could not save"):
        save_project(Project.from_dict(FULL), target)


def test_errors_are_netwright_errors():
    assert issubclass(ProjectError, NetwrightError)


def test_split_modules_stay_importable_from_compute_project():
    """Other modules import these names from compute.project; they are the layers' own."""
    import compute.settings as settings

    for name in ("atomic_write", "check_tree", "parse_json", "MAX_BYTES"):
        assert getattr(proj, name) is getattr(jsonio, name)
    assert proj.dumps_project is jsonio.dumps_stable
    for name in ("DATA_FIELDS", "DATA_KEYS", "TRAINING_FIELDS", "TRAINING_KEYS",
                 "REGULARIZATION", "EARLY_STOPPING", "check_data", "check_training",
                 "resolve_data", "resolve_training"):
        assert getattr(proj, name) is getattr(settings, name)
    assert all(hasattr(proj, name) for name in proj.__all__)
