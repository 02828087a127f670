"""`netwright PROJECT` on a machine without a screen trains the project in the terminal."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROJECT = """{"format": "netwright", "version": 1, "name": "tiny",
 "graph": {"nodes": [{"id": "x", "type": "Input", "params": {"shape": [2]}},
                     {"id": "h", "type": "Dense", "params": {"units": 4, "activation": "tanh"}},
                     {"id": "o", "type": "Dense", "params": {"units": 2}},
                     {"id": "out", "type": "Output", "params": {}}],
           "edges": [{"source": "x", "target": "h"}, {"source": "h", "target": "o"},
                     {"source": "o", "target": "out"}]},
 "data": {"dataset": "xor", "params": {"n_samples": 64}},
 "training": {"epochs": 2, "batch_size": 16}}
"""


def run_app(args, cwd):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-c", "import sys, designer.app as a; "
                           "sys.exit(a.main(sys.argv[1:]))", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_without_a_screen_the_project_trains_headless(tmp_path):
    path = tmp_path / "tiny.netw"
    path.write_text(PROJECT)
    out = run_app([str(path)], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "no display found" in out.stderr
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1 and (runs[0] / "last.npz").exists()


def test_without_a_screen_and_no_project_says_what_to_do(tmp_path):
    out = run_app([], tmp_path)
    assert out.returncode == 2
    assert "netwright-cli train PROJECT" in out.stderr
    assert "Traceback" not in out.stderr
