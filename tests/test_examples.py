"""The example projects: every file loads, round-trips, builds and checks, and trains
(shortened) to the result projects/RESULTS.json states for it.

RESULTS.json is the one place the stated results live: docs/examples.md (and the README's
table, once generated) come from it through projects/results.py, and a test here keeps
them in step. Each entry's `short_*` fields are the shortened run this module trains:
`short_epochs` epochs (instead of the file's `epochs`) on the file's own data, which must
reach `short_min` (or stay under `short_max`). The shortened runs have the same seed as
the full ones, so they are reproducible; the bounds leave room for the last bits that
differ between machines (BLAS, CPU), not for luck.
"""
from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

import compute
from compute.cli import main as cli_main
from compute.project import dumps_project

ROOT = Path(__file__).resolve().parents[1]
PROJECTS = ROOT / "projects"
RESULTS = json.loads((PROJECTS / "RESULTS.json").read_text(encoding="utf-8"))
FILES = sorted(p.name for p in PROJECTS.glob("*.netw"))
REQUIRED = ("xor_mlp", "spirals_mlp", "digits_mlp", "lenet_digits", "resnet_digits",
            "inception_digits", "dense_autoencoder", "vae_digits", "conv_denoising_unet",
            "rnn_adding", "lstm_adding", "gru_tagger", "lstm_sine")
# trained together in test_lstm_remembers_where_the_rnn_forgets
PAIR = ("rnn_adding.netw", "lstm_adding.netw")


def results_module():
    spec = importlib.util.spec_from_file_location("example_results", PROJECTS / "results.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def short_run(name: str) -> dict:
    """Train one example as its RESULTS entry shortens it; the last epoch's metrics."""
    project = compute.load_project(PROJECTS / name)
    history = compute.train(project, epochs=RESULTS[name]["short_epochs"])
    assert history.reason == "completed", history.message
    return history.last


def reached(entry: dict, value: float) -> bool:
    if "short_min" in entry:
        return value >= entry["short_min"]
    return value <= entry["short_max"]


# -- the files ------------------------------------------------------------------------------
def test_every_example_has_one_stated_result():
    assert {f"{n}.netw" for n in REQUIRED} <= set(FILES)
    assert set(RESULTS) == set(FILES)
    for name, entry in RESULTS.items():
        assert entry["metric"].startswith("val_"), name
        assert ("short_min" in entry) != ("short_max" in entry), name
        assert entry["short_epochs"] >= 1 and entry["seconds"] > 0, name
        # the full run's stated result clears the bar the shortened run must clear
        assert reached(entry, entry["full"]), name
        assert entry["shows"] and entry["dataset"], name


@pytest.mark.parametrize("name", FILES)
def test_example_round_trips(name, tmp_path):
    path = PROJECTS / name
    text = path.read_text(encoding="utf-8")
    project = compute.load_project(path)
    assert project.to_dict() == json.loads(text)
    assert dumps_project(project.to_dict()) == text        # written as the editor writes
    copy_path = tmp_path / name
    compute.save_project(project, copy_path)
    again = compute.load_project(copy_path)
    assert again.to_dict() == project.to_dict()
    assert copy_path.read_text(encoding="utf-8") == text


@pytest.mark.parametrize("name", FILES)
def test_example_builds_and_checks(name, capsys):
    project = compute.load_project(PROJECTS / name)
    assert project.name and project.data.get("dataset") and project.training
    model = compute.build_model(project.graph, seed=0)
    assert len(model.input_ids) == 1 and len(model.output_ids) == 1
    assert cli_main(["check", str(PROJECTS / name)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f'Project "{project.name}"')
    assert "training and" in out          # the data loaded and the network fits it


@pytest.mark.parametrize("name", FILES)
def test_example_is_laid_out_left_to_right(name):
    """Every node placed, every wire going right or, where a long network wraps into bands
    read like lines of text (so it fits the window's canvas at a readable size), down to
    a later band; no two nodes on one spot."""
    graph = compute.load_project(PROJECTS / name).graph
    pos = {n: graph.node(n).position for n in graph.nodes}
    assert all(p is not None for p in pos.values()), name
    for e in graph.edges:
        (xs, ys), (xt, yt) = pos[e.source], pos[e.target]
        assert xs < xt or yt >= ys + 60, (e.source, e.target)
    ids = list(pos)
    for i, a in enumerate(ids):         # nodes are at least 150 x 56 px on the canvas
        for b in ids[i + 1:]:
            (xa, ya), (xb, yb) = pos[a], pos[b]
            assert abs(xa - xb) >= 150 or abs(ya - yb) >= 60, (a, b)


def test_tables_come_from_the_results():
    """docs/examples.md (and the README once it has the table) show RESULTS.json."""
    results = results_module()
    for doc in (ROOT / "docs" / "examples.md", ROOT / "README.md"):
        text = doc.read_text(encoding="utf-8")
        if doc.name == "examples.md" or results.END in text:
            table = results.table_for(doc, RESULTS)
            assert results.update_text(text, table) == text, \
                f"{doc} is out of date: run python3 projects/results.py {doc.name}"
            for name in FILES:
                assert f"[{Path(name).stem}](" in table
                assert (doc.parent / results.link_of(doc, name)).is_file()


# -- training -------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("name", [f for f in FILES if f not in PAIR])
def test_example_reaches_its_stated_result(name):
    entry = RESULTS[name]
    value = short_run(name)[entry["metric"]]
    assert math.isfinite(value)
    assert reached(entry, value), (f"{name}: {entry['metric']} {value:.4f} after "
                                   f"{entry['short_epochs']} epochs")


def test_the_adding_pair_differs_only_in_the_cell():
    rnn, lstm = (compute.load_project(PROJECTS / n).to_dict() for n in PAIR)
    cells = [n["type"] for d in (rnn, lstm) for n in d["graph"]["nodes"]
             if n["id"] == "memory"]
    assert cells == ["SimpleRNN", "LSTM"]
    for d in (rnn, lstm):
        del d["name"]
        for n in d["graph"]["nodes"]:
            if n["id"] == "memory":
                del n["type"]
    assert rnn == lstm


@pytest.mark.slow
def test_lstm_remembers_where_the_rnn_forgets():
    """The adding problem: the LSTM learns the sum; the vanilla RNN, trained the same way,
    stays near the 1/6 MSE of always answering 1.0."""
    rnn_name, lstm_name = PAIR
    metric = RESULTS[lstm_name]["metric"]
    rnn, lstm = short_run(rnn_name)[metric], short_run(lstm_name)[metric]
    assert reached(RESULTS[lstm_name], lstm), f"LSTM {metric} {lstm:.4f}"
    assert reached(RESULTS[rnn_name], rnn), f"RNN {metric} {rnn:.4f}"
    assert lstm < RESULTS[lstm_name]["beats_by"] * rnn, (lstm, rnn)
