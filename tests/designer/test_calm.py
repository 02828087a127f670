"""designer/training/calm.py: the window's garbage collection and heap while a run is on."""
from __future__ import annotations

import gc
import os
import sys

import pytest

from designer.training import calm


def test_a_run_start_freezes_what_lives_now_out_of_full_collections():
    before = gc.get_freeze_count()
    keep = [[] for _ in range(100)]        # lists: objects the collector tracks
    calm.run_starting()
    assert gc.get_freeze_count() >= before + len(keep)


def test_garbage_is_collected_on_the_gui_thread_only(qapp):
    """Automatic collection is off once the window is up (it could run on the host's
    reader thread and destroy Qt objects there); the GUI thread's timer collects instead."""
    import weakref

    calm.collect_on_gui_thread()
    assert not gc.isenabled()
    assert calm._collector is not None and calm._collector.isActive()

    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a                 # a reference cycle: only the collector frees it
    gone = weakref.ref(a)
    del a, b
    junk = [[] for _ in range(gc.get_threshold()[0] + 10)]   # past generation 0's threshold
    assert gone() is not None                # nothing collected it behind our back
    assert calm.collect_due() >= 0
    assert gone() is None
    del junk


HEAP_PROBE = """
import ctypes, sys, threading
from designer.training import calm
if sys.argv[1] == "steady":
    assert calm.steady_heap()
where = []
def allocate():     # on another thread, as the host's reader decodes a snapshot
    block = bytearray(2 << 20)
    address = ctypes.addressof((ctypes.c_char * len(block)).from_buffer(block))
    with open("/proc/self/maps") as f:
        heap = [l.split()[0] for l in f if l.rstrip().endswith("[heap]")]
    start, end = (int(x, 16) for x in heap[0].split("-")) if heap else (0, 0)
    where.append(start <= address < end)
t = threading.Thread(target=allocate)
t.start()
t.join()
print(where[0])
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux")
def test_a_steady_heap_serves_every_thread_from_the_main_heap():
    """Without it a thread's 2 MiB block comes from a mapping of its own (an arena that
    grows a page at a time, or an mmap), each a change to the memory map; with it, from
    the main heap, which grows 64 MiB at a time."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]

    def from_main_heap(mode: str) -> bool:
        out = subprocess.run([sys.executable, "-c", HEAP_PROBE, mode], cwd=root,
                             capture_output=True, text=True, timeout=60,
                             env={**os.environ, "PYTHONPATH": str(root)})
        assert out.returncode == 0, out.stderr
        return out.stdout.strip() == "True"

    assert not from_main_heap("plain")
    assert from_main_heap("steady")
