"""`compute.prepare` and `netwright-cli prepare`: kernels compiled on worker processes
into Numba's cache, so that later processes compile nothing.

Real preparations run in subprocesses with their own empty cache folder
(NUMBA_CACHE_DIR is read when Numba is imported); the failure paths use a fake worker.
"""
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from compute import prepare
from compute.cli import main as cli

ROOT = Path(__file__).resolve().parents[1]
SPECIMENS = ["workload:tiny", "example:xor_mlp"]


def python(code_or_args, cache: Path, *args: str) -> subprocess.CompletedProcess:
    command = ([sys.executable, "-c", code_or_args, *args] if isinstance(code_or_args, str)
               else [sys.executable, *code_or_args])
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=600)


@pytest.fixture(scope="module")
def prepared_cache(tmp_path_factory):
    """A cache folder filled by `netwright-cli prepare` for SPECIMENS on two workers."""
    cache = tmp_path_factory.mktemp("numba-cache")
    first = python(["-m", "compute.cli", "prepare", "--jobs", "2", "--only", *SPECIMENS],
                   cache)
    return cache, first


def test_the_cli_prepares_each_specimen_and_then_knows_it_is_done(prepared_cache):
    cache, first = prepared_cache
    assert first.returncode == 0, first.stderr[-3000:]
    lines = first.stdout.splitlines()
    assert {line.split()[1].rstrip(":") for line in lines if line.startswith("[")} == \
        set(SPECIMENS)
    assert any(line.startswith("[2/2] ") for line in lines)
    tiny = next(line for line in lines if "workload:tiny:" in line)
    assert int(tiny.split(": ")[1].split()[0]) > 0          # it compiled kernels
    assert "prepared 2 of 2 specimens" in lines[-1] and "on 2 processes" in lines[-1]
    again = python(["-m", "compute.cli", "prepare", "--only", *SPECIMENS], cache)
    assert again.returncode == 0 and again.stdout.startswith("already prepared")


def test_a_later_process_loads_every_kernel_from_the_cache(prepared_cache):
    cache, _ = prepared_cache
    out = python("import json, sys\n"
                 "from compute import prepare\n"
                 "names = sys.argv[1:]\n"
                 "print(json.dumps({'prepared': prepare.prepared(names),\n"
                 "                  'all': prepare.prepared(),\n"
                 "                  'compiled': [prepare.run_specimen(n) for n in names]}))",
                 cache, *SPECIMENS)
    assert out.returncode == 0, out.stderr[-3000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found == {"prepared": True, "all": False, "compiled": [0, 0]}


def test_a_failing_specimen_is_named_the_others_still_prepare_and_no_stamp(prepared_cache):
    cache, _ = prepared_cache
    out = python("import json\n"
                 "from compute.prepare import Preparation, prepared\n"
                 "names = ['workload:nope', 'example:xor_mlp', 'oops']\n"
                 "outcomes = Preparation(names, jobs=2).run()\n"
                 "print(json.dumps({'errors': {o.specimen: o.error for o in outcomes},\n"
                 "                  'prepared': prepared(names)}))", cache)
    assert out.returncode == 0, out.stderr[-3000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["prepared"] is False
    errors = found["errors"]
    assert errors["example:xor_mlp"] is None
    assert errors["workload:nope"].startswith("ValueError: no benchmark workload 'nope'")
    assert "unknown specimen 'oops'" in errors["oops"]


def test_the_cli_refuses_unknown_specimens_and_bad_job_counts(capsys):
    assert cli(["prepare", "--only", "workload:nope"]) == 2
    assert "no specimen workload:nope" in capsys.readouterr().err
    assert cli(["prepare", "--jobs", "0", "--only", "workload:tiny"]) == 2
    assert "--jobs must be at least 1" in capsys.readouterr().err


def test_the_specimens_cover_the_workloads_and_examples_heaviest_first():
    names = prepare.specimens()
    assert names[0] == "workload:lenet"
    assert {n for n in names if n.startswith("workload:")} == {
        f"workload:{k}" for k in ("mlp", "lenet", "resnet", "lstm", "gru", "rnn", "tiny")}
    examples = {p.stem for p in (ROOT / "projects").glob("*.netw")}
    assert {n.split(":")[1] for n in names if n.startswith("example:")} == examples


def test_the_stamp_changes_with_a_kernel_source_or_the_specimens(tmp_path):
    source = tmp_path / "dense.py"
    source.write_text("x = 1\n")
    key = prepare.stamp_key(["workload:tiny"], kernels=tmp_path)
    assert prepare.stamp_key(["workload:tiny"], kernels=tmp_path) == key
    assert prepare.stamp_key(["workload:mlp"], kernels=tmp_path) != key
    os.utime(source, ns=(1, 1))          # Numba's cache goes by the same stamp
    assert prepare.stamp_key(["workload:tiny"], kernels=tmp_path) != key


def fake_worker(monkeypatch, code: str) -> None:
    monkeypatch.setattr(prepare, "WORKER", [sys.executable, "-c", code])


def test_a_worker_that_dies_is_reported_with_its_last_words(monkeypatch):
    fake_worker(monkeypatch, "import sys; sys.stdin.readline(); "
                             "sys.stderr.write('MemoryError: no room\\n'); sys.exit(3)")
    seen = []
    work = prepare.Preparation(["workload:a", "workload:b"], jobs=1,
                               progress=lambda o, done, total: seen.append((o, done, total)))
    outcomes = work.run()
    assert len(outcomes) == 1 and outcomes[0].specimen == "workload:a"
    assert outcomes[0].error == "the worker process ended: MemoryError: no room"
    assert seen == [(outcomes[0], 1, 2)]


def test_cancel_ends_the_workers_at_once(monkeypatch):
    fake_worker(monkeypatch, "import sys, time; sys.stdin.readline(); time.sleep(600)")
    work = prepare.Preparation(["workload:a", "workload:b", "workload:c"], jobs=2)
    runner = threading.Thread(target=work.run)
    runner.start()
    while len(work._procs) < 2 and runner.is_alive():
        runner.join(0.05)
    work.cancel()
    runner.join(30)
    assert not runner.is_alive()
    assert work.outcomes == []               # nothing reported after a cancel
    assert all(p.poll() is not None for p in work._procs)


def test_specimens_are_prepared_heaviest_first_whatever_the_order_asked():
    asked = ["example:xor_mlp", "workload:rnn", "oops", "workload:lenet"]
    assert prepare.Preparation(asked).names == ["oops", "workload:lenet", "workload:rnn",
                                                "example:xor_mlp"]
