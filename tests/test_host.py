"""compute/training/host.py: training in a child process, driven over compute.wire frames."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from queue import Empty, Queue

import numpy as np
import pytest

from compute import wire
from compute.events import Finished, RunStarted, Snapshot, StepEnd
from compute.training.host import NICE
from compute.training.trainer import Trainer
from compute.weights import model_arrays

from .test_training import make_project, weights_of

ROOT = Path(__file__).resolve().parents[1]


class Host:
    """A host process and everything it sent, message by message, in order."""

    def __init__(self) -> None:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.proc = subprocess.Popen([sys.executable, "-m", "compute.training.host"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.messages: Queue = Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            while True:
                for m in wire.read(self.proc.stdout):
                    self.messages.put(m)
        except (EOFError, OSError, ValueError):
            self.messages.put(("eof",))

    def send(self, *message) -> None:
        wire.write(self.proc.stdin, message)

    def until(self, test, timeout: float = 60.0) -> list:
        """Messages up to and including the first that passes `test`."""
        got, end = [], time.monotonic() + timeout
        while True:
            try:
                m = self.messages.get(timeout=max(0.0, end - time.monotonic()))
            except Empty:
                raise AssertionError(f"nothing passed the test in {timeout} s; got "
                                     f"{[_kind(x) for x in got][-10:]}") from None
            got.append(m)
            if test(m):
                return got

    def run(self, project, **job) -> list:
        self.send("run", {"project": project.to_dict(), "path": None, **job})
        return self.until(lambda m: m == ("end",))

    def close(self) -> int:
        if self.proc.poll() is None:
            self.proc.stdin.close()
        return self.proc.wait(30)


def _kind(m) -> str:
    return m[0] if isinstance(m, tuple) else type(m).__name__


@pytest.fixture(scope="module")
def host():
    h = Host()
    yield h
    assert h.close() == 0


def test_a_run_sends_the_trainers_events_and_the_weights_it_would_have_trained(host):
    project = make_project(epochs=3, batch_size=16, snapshot_every=5)
    got = host.run(project)
    kinds = [_kind(m) for m in got]
    assert kinds[0] == "RunStarted" and kinds[-1] == "end"
    assert kinds[-2] == "result" and kinds[-3] == "Finished"
    steps = [m for m in got if isinstance(m, StepEnd)]
    assert [s.step for s in steps] == list(range(1, len(steps) + 1))
    finished = next(m for m in got if isinstance(m, Finished))
    assert finished.reason == "completed" and finished.epochs_run == 3
    snaps = [m for m in got if isinstance(m, Snapshot)]
    assert snaps and "boundary" in snaps[-1].probes          # the window's probes ran there
    assert ("state", "running", 0) in got
    # the same project trained here, in this process, ends with the same weights
    local = Trainer(make_project(epochs=3, batch_size=16, snapshot_every=5))
    local.run()
    result = next(m for m in got if _kind(m) == "result")[1]
    assert result["graph"] == project.graph.to_dict()
    assert result["evaluation"] == pytest.approx(local.evaluate())
    expected = weights_of(local.model)
    assert set(result["arrays"]) == set(expected)
    for k, v in expected.items():
        np.testing.assert_allclose(result["arrays"][k], v, rtol=1e-5, atol=1e-6, err_msg=k)


def test_pause_resume_and_stop(host):
    host.send("run", {"project": make_project(epochs=5000).to_dict(), "path": None})
    host.until(lambda m: isinstance(m, StepEnd) and m.step >= 20)
    host.send("pause")
    got = host.until(lambda m: _kind(m) == "state" and m[1] == "paused")
    paused_at = got[-1][2]
    assert max(m.step for m in got if isinstance(m, StepEnd)) == paused_at   # none after
    time.sleep(0.3)
    assert host.messages.empty()                        # nothing while paused
    host.send("resume")
    host.until(lambda m: isinstance(m, StepEnd) and m.step > paused_at + 5)
    host.send("stop")
    got = host.until(lambda m: m == ("end",))
    finished = next(m for m in got if isinstance(m, Finished))
    assert finished.reason == "stopped"


def test_a_run_starts_from_the_weights_it_is_given(host):
    """Sent as arrays (the window's kept model) or as a weights file: a run stopped before
    its first step gives them back unchanged."""
    project = make_project(epochs=5)
    start = {k: np.full_like(v, 0.25) for k, v in model_arrays(Trainer(project).model).items()}
    host.send("run", {"project": project.to_dict(), "path": None, "initial": start})
    host.send("stop")
    got = host.until(lambda m: m == ("end",))
    result = next(m for m in got if _kind(m) == "result")[1]
    assert all(np.array_equal(result["arrays"][k], v) for k, v in start.items())
    wrong = dict(start, **{"fc/W": np.zeros((3, 3), np.float32)})
    got = host.run(project, initial=wrong)
    failed = next(m for m in got if _kind(m) == "failed")
    assert "do not fit this network" in failed[1]


def test_errors_are_reported_and_the_host_serves_the_next_run(host):
    bad = make_project().to_dict()
    bad["graph"]["nodes"][1]["params"]["units"] = -3
    host.send("run", {"project": bad, "path": None})
    got = host.until(lambda m: m == ("end",))
    failed = [m for m in got if _kind(m) == "failed"]
    assert len(failed) == 1 and "h1" in failed[0][1]          # the message names the node
    host.send("dance")
    got = host.until(lambda m: _kind(m) == "failed")
    assert "unknown command 'dance'" in got[-1][1]
    got = host.run(make_project(epochs=1))                     # still serving
    assert any(isinstance(m, RunStarted) for m in got) and got[-2][0] == "result"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice: Linux")
def test_every_thread_of_the_host_runs_at_a_lower_priority(host):
    host.send("run", {"project": make_project(epochs=5000).to_dict(), "path": None})
    host.until(lambda m: isinstance(m, StepEnd) and m.step >= 5)
    try:
        tids = [int(t) for t in os.listdir(f"/proc/{host.proc.pid}/task")]
        assert len(tids) >= 3                          # main, the job, the sender at least
        assert all(os.getpriority(os.PRIO_PROCESS, t) >= NICE for t in tids)
        # and as batch work, the threads started after the renice included
        assert all(os.sched_getscheduler(t) == os.SCHED_BATCH for t in tids)
    finally:
        host.send("stop")
        host.until(lambda m: m == ("end",))


def test_the_host_ends_when_told_or_when_its_window_is_gone():
    h = Host()
    h.send("quit")
    assert h.proc.wait(60) == 0
    h = Host()
    h.send("run", {"project": make_project(epochs=5000).to_dict(), "path": None})
    h.until(lambda m: isinstance(m, StepEnd))
    h.proc.stdin.close()                          # the window closed its end
    assert h.proc.wait(60) == 0                   # the run stopped, the process ended


def test_a_message_that_cannot_be_sent_becomes_a_warning_and_the_rest_still_goes():
    from compute.training.host import _frame

    batch = wire.decode(bytearray(_frame([StepEnd(1, 1, 0.5, 0.1, 10.0), {"f": print},
                                          ("end",)])))
    assert isinstance(batch[0], StepEnd) and batch[2] == ("end",)
    assert batch[1][0] == "warning" and "builtin_function_or_method" in batch[1][1]
