"""netwright-cli end to end: real subprocesses for what a person types, `main()` in-process
for the many small bad-input cases."""
from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from compute.cli import ProgressBar, main
from compute.events import Compiling, EpochEnd, Finished, RunStarted, StepEnd
from compute.model import build_model
from compute.project import save_project
from compute.weights import load_weights, save_weights
from compute.training import train
from tests.test_training import diverging_project, make_project, mlp_graph

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    return subprocess.run([sys.executable, "-m", "compute.cli", *map(str, args)], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=timeout)


def write(tmp_path: Path, project, name: str = "p.netw") -> Path:
    return save_project(project, tmp_path / name)


def assert_one_clean_line(stderr: str, *fragments: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and lines[0].startswith("netwright-cli: ")
    for f in fragments:
        assert f in lines[0], lines[0]


def test_check_prints_the_layer_table(tmp_path):
    path = write(tmp_path, make_project(mlp_graph((16,)), name="Moons MLP"))
    r = cli("check", path, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == 'Project "Moons MLP"'
    header = next(line for line in lines if line.startswith("Node"))
    assert header.split() == ["Node", "Type", "Output", "shape", "Params", "MACs"]
    rows = {line.split()[0]: line.split() for line in lines if line[:3] in ("x  ", "h1 ",
                                                                           "fc ", "out")}
    assert rows["h1"] == ["h1", "Dense", "(16)", "48", "32"]
    assert rows["fc"] == ["fc", "Dense", "(2)", "34", "32"]
    assert "Total params: 82" in lines
    assert "Multiply-adds per sample: 64" in lines
    assert any(line.startswith("data: moons, 80 training and 20 validation") for line in lines)


def test_train_writes_the_run_folder(tmp_path):
    path = write(tmp_path, make_project(epochs=5))
    r = cli("train", path, "--epochs", 2, "--batch-size", 20, "--lr", 0.02, "--seed", 3,
            "--out", "run", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    # not a terminal: one progress line per epoch
    assert [line.split()[:2] for line in r.stderr.splitlines()] == [["epoch", "1/2"],
                                                                    ["epoch", "2/2"]]
    assert "completed 2 epochs" in r.stdout and "run folder: run" in r.stdout
    run = tmp_path / "run"
    assert {p.name for p in run.iterdir()} == {"project.netw", "metrics.jsonl", "best.npz",
                                               "last.npz"}
    trained = json.loads((run / "project.netw").read_text())["training"]
    assert (trained["epochs"], trained["batch_size"], trained["seed"],
            trained["optimizer"]["lr"]) == (2, 20, 3, 0.02)
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["event"] for r in records if r["event"] != "step"] == [
        "run_started", "epoch_end", "epoch_end", "finished"]
    model = build_model(make_project().graph)
    load_weights(model, run / "best.npz")
    load_weights(model, run / "last.npz")


def test_evaluate_and_predict_with_saved_weights(tmp_path):
    history = train(make_project(epochs=2), run_dir=tmp_path / "run")
    run = tmp_path / "run"
    r = cli("evaluate", run / "project.netw", "--weights", run / "best.npz", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    scores = dict(line.split(": ") for line in r.stdout.splitlines())
    assert float(scores["val_loss"]) == pytest.approx(min(history["val_loss"]), rel=1e-5)
    best = history.epochs[history.best_epoch - 1]
    assert float(scores["val_accuracy"]) == pytest.approx(best["val_accuracy"], rel=1e-5)

    x = np.random.default_rng(0).normal(size=(7, 2)).astype(np.float32)
    np.savez(tmp_path / "x.npz", X=x)
    r = cli("predict", run / "project.netw", "--weights", run / "last.npz", "--input", "x.npz",
            "--output", "y.npz", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    with np.load(tmp_path / "y.npz") as out:
        assert list(out.keys()) == ["Y"]
        np.testing.assert_allclose(out["Y"], history.model.forward(x), rtol=1e-6)


def test_bad_files_exit_2_with_one_line_and_no_traceback(tmp_path):
    path = write(tmp_path, make_project())
    text = path.read_text()
    broken = tmp_path / "broken.netw"
    broken.write_text(text[: len(text) // 2])
    r = cli("train", broken, cwd=tmp_path)
    assert r.returncode == 2
    assert_one_clean_line(r.stderr, "broken.netw", "invalid JSON")
    assert broken.read_text() == text[: len(text) // 2]          # left as it was

    other = build_model(make_project(mlp_graph((8,))).graph)    # another network's weights
    save_weights(other, tmp_path / "other.npz")
    r = cli("evaluate", path, "--weights", "other.npz", cwd=tmp_path)
    assert r.returncode == 2
    assert_one_clean_line(r.stderr, "other.npz", "h1/W")


@pytest.mark.parametrize("case", ["missing_project", "no_output", "bad_option",
                                  "missing_weights", "weights_not_npz", "input_without_X",
                                  "input_wrong_shape", "unfit_data"])
def test_bad_input_cases_in_process(tmp_path, monkeypatch, capsys, case):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, make_project())
    weights = tmp_path / "w.npz"
    save_weights(build_model(make_project().graph), weights)
    np.savez(tmp_path / "x.npz", X=np.zeros((3, 2), np.float32))
    np.savez(tmp_path / "nox.npz", inputs=np.zeros((3, 2), np.float32))
    np.savez(tmp_path / "x3.npz", X=np.zeros((3, 3), np.float32))
    no_output = mlp_graph()
    no_output["nodes"] = no_output["nodes"][:-1]
    no_output["edges"] = no_output["edges"][:-1]
    write(tmp_path, make_project(no_output), "no_output.netw")
    write(tmp_path, make_project(mlp_graph(shape=(3,))), "unfit.netw")
    predict = ["predict", str(path), "--weights", str(weights), "--output", "y.npz", "--input"]
    argv, fragment = {
        "missing_project": (["check", "nothere.netw"], "nothere.netw: no such file"),
        "no_output": (["check", "no_output.netw"], "no Output node"),
        "bad_option": (["train", str(path), "--epochs", "many"], "--epochs"),
        "missing_weights": (["evaluate", str(path), "--weights", "gone.npz"], "gone.npz"),
        "weights_not_npz": (["evaluate", str(path), "--weights", str(path)], "not a weights"),
        "input_without_X": (predict + ["nox.npz"], 'no array "X"'),
        "input_wrong_shape": (predict + ["x3.npz"], 'Input "x"'),
        "unfit_data": (["train", "unfit.netw"], "set the Input shape to [2]"),
    }[case]
    assert main(argv) == 2
    out = capsys.readouterr()
    assert_one_clean_line(out.err, fragment)
    assert not (tmp_path / "y.npz").exists() and not (tmp_path / "runs").exists()


def test_train_names_its_run_folder_after_the_project(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, make_project(name="Moons: small MLP", epochs=1))
    assert main(["train", str(path), "--quiet"]) == 0
    out = capsys.readouterr()
    assert out.err == ""                                            # --quiet
    (folder,) = (tmp_path / "runs").iterdir()
    assert folder.name.startswith("moons-small-mlp-")
    assert (folder / "last.npz").is_file() and str(folder.relative_to(tmp_path)) in out.out


def test_a_diverging_run_exits_1(tmp_path):
    path = write(tmp_path, diverging_project())
    r = cli("train", path, "--out", "run", "--quiet", cwd=tmp_path)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr and "Warning" not in r.stderr
    assert "diverged" in r.stderr and 'layer "' in r.stderr and "learning rate" in r.stderr
    records = [json.loads(x) for x in (tmp_path / "run/metrics.jsonl").read_text().splitlines()]
    assert records[-1]["reason"] == "diverged"
    load_weights(build_model(diverging_project().graph), tmp_path / "run/last.npz")


def test_ctrl_c_stops_cleanly_and_keeps_the_last_checkpoint(tmp_path):
    path = write(tmp_path, make_project(epochs=1_000_000, batch_size=4))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "compute.cli", "train", str(path), "--out",
                             "run", "--quiet"], cwd=tmp_path, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "run/last.npz").exists() and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "stopped at epoch" in out
    records = [json.loads(x) for x in (tmp_path / "run/metrics.jsonl").read_text().splitlines()]
    assert records[-1]["event"] == "finished" and records[-1]["reason"] == "stopped"
    model = build_model(make_project().graph)
    load_weights(model, tmp_path / "run/last.npz")                 # complete and loadable


def test_progress_bar_redraws_in_place_on_a_terminal_and_prints_epochs_elsewhere():
    events = [RunStarted("p", [], 2, 3, 30, 10, "classification")]
    events += [StepEnd(1, s, 0.5, 0.01, 1234.0) for s in (1, 2, 3)]
    events += [EpochEnd(1, 3, {"loss": 0.5, "accuracy": 0.75, "val_loss": 0.625,
                               "lr": 0.01, "seconds": 1.5}),
               StepEnd(2, 4, 0.25, 0.01, 1234.0), Finished("stopped", "stopped", 1)]
    epoch_line = "epoch 1/2  loss 0.5000  accuracy 0.7500  val_loss 0.6250  (1.5 s)\n"
    tty, log = io.StringIO(), io.StringIO()
    for stream, is_tty in ((tty, True), (log, False)):
        bar = ProgressBar(stream, tty=is_tty, interval=0.0)
        for event in events:
            bar(event)
    frames = tty.getvalue().split("\r")
    assert frames[1].startswith("epoch 1/2  step 1/3  loss 0.5000  1,234 samples/s  ETA ")
    assert frames[3].startswith("epoch 1/2  step 3/3")
    assert epoch_line in tty.getvalue()
    assert frames[-2].startswith("epoch 2/2  step 1/3  loss 0.2500")
    assert frames[-1] == "\x1b[K"                    # the bar is cleared at the end
    assert log.getvalue() == epoch_line


def test_progress_bar_says_when_the_first_run_compiles_kernels():
    events = [RunStarted("p", [], 1, 3, 30, 10, "classification"),
              Compiling("conv2d_forward", 1, 0.0), Compiling("conv2d_backward", 2, 4.2),
              StepEnd(1, 1, 0.5, 0.01, 1234.0), Finished("completed", "done", 1)]
    tty, log = io.StringIO(), io.StringIO()
    for stream, is_tty in ((tty, True), (log, False)):
        bar = ProgressBar(stream, tty=is_tty, interval=0.0)
        for event in events:
            bar(event)
    assert log.getvalue() == ("compiling the kernels this network needs (first run on this "
                              "machine; Numba caches them)...\n"
                              "compiled 2 kernels in 4.2 s (cached for later runs)\n")
    frames = tty.getvalue().split("\r")
    assert frames[1] == ("compiling kernels (first run on this machine): conv2d_forward "
                         "(1, 0 s)\x1b[K")
    assert frames[2] == ("compiling kernels (first run on this machine): conv2d_backward "
                         "(2, 4 s)\x1b[K")
    assert "compiled 2 kernels in 4.2 s" in tty.getvalue()


def test_predict_uses_one_key_per_input_and_output_node_when_there_are_several(
        tmp_path, monkeypatch, capsys):
    from compute.graph import Graph
    from compute.project import Project

    graph = Graph.from_dict({
        "nodes": [{"id": "a", "type": "Input", "params": {"shape": [2]}},
                  {"id": "b", "type": "Input", "params": {"shape": [2]}},
                  {"id": "sum", "type": "Add", "params": {}},
                  {"id": "reg", "type": "Dense", "params": {"units": 3}},
                  {"id": "cls", "type": "Dense", "params": {"units": 2}},
                  {"id": "value", "type": "Output", "params": {"loss": "mse"}},
                  {"id": "label", "type": "Output", "params": {"loss": "cross_entropy"}}],
        "edges": [{"source": "a", "target": "sum", "port": 0},
                  {"source": "b", "target": "sum", "port": 1},
                  {"source": "sum", "target": "reg"}, {"source": "sum", "target": "cls"},
                  {"source": "reg", "target": "value"}, {"source": "cls", "target": "label"}]})
    monkeypatch.chdir(tmp_path)
    path = save_project(Project("two heads", graph), tmp_path / "p.netw")
    model = build_model(graph, seed=5)
    save_weights(model, tmp_path / "w.npz")
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(300, 2)), rng.normal(size=(300, 2))   # more than one batch
    np.savez(tmp_path / "x.npz", a=a, b=b)
    assert main(["predict", str(path), "--weights", "w.npz", "--input", "x.npz",
                 "--output", "y.npz"]) == 0, capsys.readouterr().err
    expected = model.forward({"a": a, "b": b})
    with np.load(tmp_path / "y.npz") as out:
        assert sorted(out.keys()) == ["label", "value"]
        for key in ("label", "value"):
            np.testing.assert_allclose(out[key], expected[key], rtol=1e-6)
