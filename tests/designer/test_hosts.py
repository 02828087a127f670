"""designer/training/hosts.py and the worker: runs train in a reused child process, and a
process that dies takes nothing of the window with it."""
from __future__ import annotations

import os
import signal
import sys

import pytest

from designer.training import hosts

from .test_training_support import click, open_window, spirals_mlp, wait_finished


def test_runs_train_in_one_host_process_kept_for_the_next_run(qtbot, tmp_path):
    w = open_window(qtbot, tmp_path, spirals_mlp(epochs=2), "reuse")
    session = w.training.session
    click(qtbot, w, "train")
    host = session.worker._host
    assert host is not None and host.proc.pid != os.getpid() and host.alive
    wait_finished(qtbot, w)
    assert session.worker._host is None and host in hosts._idle    # kept, idle
    click(qtbot, w, "train")
    assert session.worker._host is host                            # and used again
    wait_finished(qtbot, w)
    assert session.current.finished.reason == "completed" and session.model is not None


def test_a_spare_host_is_started_ahead_and_taken_first():
    hosts.close_all()
    hosts.spare()
    assert len(hosts._idle) == 1
    spare = hosts._idle[0]
    hosts.spare()                                   # one waiting is enough
    assert hosts._idle == [spare]
    assert hosts.take() is spare and hosts._idle == []
    hosts.give_back(spare)
    assert hosts._idle == [spare]


@pytest.mark.skipif(sys.platform == "win32", reason="kills with SIGKILL")
def test_a_host_that_dies_mid_run_is_an_error_in_the_window_and_the_next_run_works(
        qtbot, tmp_path):
    w = open_window(qtbot, tmp_path, spirals_mlp(epochs=2000), "crash")
    session = w.training.session
    before = w.document.project.to_dict()
    click(qtbot, w, "train")
    qtbot.waitUntil(lambda: session.current.step > 10, timeout=60_000)
    host = session.worker._host
    os.kill(host.proc.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: not session.busy, timeout=5000)
    assert "ended unexpectedly" in session.current.error
    assert "ended unexpectedly" in w.training.dock.banner.text()    # shown, not on stderr
    assert w.document.project.to_dict() == before              # the document is intact
    assert host not in hosts._idle
    assert w.training.actions["train"].isEnabled()
    w.document.project.training["epochs"] = 2
    click(qtbot, w, "train")
    assert session.worker._host is not host
    wait_finished(qtbot, w)
    assert session.current.finished.reason == "completed"


def test_a_frame_cut_short_by_the_host_dying_is_its_death_not_a_broken_message():
    """Killed while writing a frame, a host leaves half of it in the pipe: that is the
    host ending (the window says "ended unexpectedly"), not a bug in the messages."""
    code = ("import os, sys; from compute import wire; "
            "frame = wire.encode([('warning', 'x' * 100000)]); "
            "os.write(1, frame[:len(frame) // 2]); "
            "sys.stderr.write('Killed\\n'); os._exit(9)")
    got = []
    host = hosts.HostProcess([sys.executable, "-c", code])
    host.sink = got.extend
    assert host.ended.wait(30)
    host.close()
    assert got == [("exited", 9, "Killed")]


def test_a_live_host_that_sends_a_broken_frame_is_ended_and_says_why():
    code = "import os, time; os.write(1, b'\\xff' * 64); time.sleep(60)"
    got = []
    host = hosts.HostProcess([sys.executable, "-c", code])
    host.sink = got.extend
    assert host.ended.wait(30)
    host.close()
    assert got[0][0] == "failed" and "broken message" in got[0][1]
    assert got[1][0] == "exited"


def test_a_host_that_cannot_start_says_why():
    """Its stderr goes on to ours, and its last line comes with the exit (the window's
    message then names the cause, e.g. a missing package)."""
    got = []
    host = hosts.HostProcess([sys.executable, "-c",
                              "import sys; sys.stderr.write('ImportError: no numba\\n'); "
                              "sys.exit(3)"])
    host.sink = got.extend
    assert host.ended.wait(30)
    host.close()
    assert got == [("exited", 3, "ImportError: no numba")]
    assert host not in hosts._all


def test_sending_never_waits_for_the_host_to_read():
    """A host still starting reads nothing for a second, and a job with its starting
    weights is larger than the pipe holds: `send` queues, a writer thread writes."""
    import threading

    import numpy as np

    host = hosts.HostProcess([sys.executable, "-c", "import time; time.sleep(60)"])
    sent = []
    t = threading.Thread(target=lambda: sent.append(
        host.send(("run", {"initial": {"w": np.zeros(1 << 20, np.float32)}}))))
    t.start()
    t.join(20)                         # (a guard against a hang, not a timing)
    assert not t.is_alive() and sent == [True]
    host.proc.kill()
    host.close()
    assert not host.alive and host.send(("stop",)) is False
