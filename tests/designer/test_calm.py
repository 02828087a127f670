"""designer/training/calm.py: the window's garbage collection while a run is on."""
from __future__ import annotations

import gc

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
