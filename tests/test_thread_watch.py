"""tests/benchmarks/thread_watch.py: the latency benchmark's view of a thread from /proc."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc: Linux")
def test_the_watcher_sees_a_sleeping_thread_asleep_in_its_system_call():
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    watcher = subprocess.Popen(
        [sys.executable, "-m", "tests.benchmarks.thread_watch", str(sleeper.pid),
         str(sleeper.pid)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)                 # the sleeper is in its sleep by then
        start = time.perf_counter()
        time.sleep(0.3)
        watcher.stdin.write(f"query {start} {time.perf_counter()}\n")
        watcher.stdin.flush()
        seen = json.loads(watcher.stdout.readline())
    finally:
        sleeper.kill()
        watcher.stdin.write("quit\n")
        watcher.stdin.close()
        watcher.wait(10)
        sleeper.wait()
    assert seen["samples"] >= 30                                 # about one a millisecond
    assert seen["GUI states"] == {"S": seen["samples"]}           # asleep throughout
    assert set(seen["GUI syscalls"]) <= {"select", "clock_nanosleep", "nanosleep"}
    assert seen["GUI ran ms"] < 5
    assert seen["window's major page faults"] == 0                 # nothing read from disk
    assert set(seen["khugepaged states"]) <= {"S", "R", "D", "I", "?"}  # "?": none here
