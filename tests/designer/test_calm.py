"""designer/training/calm.py: what keeps the window smooth beside the training thread."""
from __future__ import annotations

import gc
import os
import sys
import threading

import pytest

from designer.training import calm

linux = pytest.mark.skipif(not sys.platform.startswith("linux"),
                           reason="threads are reniced one by one on Linux only")


@linux
def test_background_threads_get_a_lower_priority_and_the_gui_thread_keeps_its_own():
    ready, done = threading.Event(), threading.Event()
    tid: list[int] = []

    def background():
        tid.append(threading.get_native_id())
        ready.set()
        done.wait(10)

    t = threading.Thread(target=background)
    t.start()
    try:
        ready.wait(10)
        main = threading.main_thread().native_id
        before = os.getpriority(os.PRIO_PROCESS, main)
        calm.lower_background_threads()
        assert os.getpriority(os.PRIO_PROCESS, tid[0]) >= calm.TRAINING_NICE
        assert os.getpriority(os.PRIO_PROCESS, main) == before
        calm.lower_background_threads()            # again: the thread keeps its priority
        assert os.getpriority(os.PRIO_PROCESS, tid[0]) >= calm.TRAINING_NICE
    finally:
        done.set()
        t.join()


def test_the_switch_interval_is_short_during_a_run_and_restored_after():
    usual = sys.getswitchinterval()
    calm.run_starting()
    calm.run_starting()                    # a second window's run: still one saved value
    try:
        assert sys.getswitchinterval() == pytest.approx(calm.SWITCH_INTERVAL_S)
    finally:
        calm.run_ended()
    assert sys.getswitchinterval() == pytest.approx(usual)
    calm.run_ended()                       # nothing saved: nothing changes
    assert sys.getswitchinterval() == pytest.approx(usual)


def test_settle_freezes_what_lives_now_out_of_full_collections():
    before = gc.get_freeze_count()
    keep = [[] for _ in range(100)]        # lists: objects the collector tracks
    calm.settle()
    assert gc.get_freeze_count() >= before + len(keep)


def test_garbage_is_collected_on_the_gui_thread_only(qapp):
    """Automatic collection is off once the window is up (it could run on the training
    thread and destroy Qt objects there); the GUI thread's timer collects instead."""
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
