"""designer/pyside_fix.py must really take effect: without it PySide6 6.12 on Python 3.11
runs the reference counts of None/True/False down until the interpreter frees them
(seen as rare segfaults and "bool_dealloc" aborts in long sessions)."""
from __future__ import annotations

import sys

import pytest

import designer  # noqa: F401  (applies the fix)
from designer import pyside_fix


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="immortal singletons since 3.12")
def test_the_singletons_are_immortal_once_designer_is_imported():
    assert pyside_fix._applied
    for obj in (None, True, False):
        assert sys.getrefcount(obj) > pyside_fix.BOOST
    assert pyside_fix.apply() is True                 # idempotent: no second boost
    assert sys.getrefcount(None) < 2 * pyside_fix.BOOST


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="immortal singletons since 3.12")
def test_signals_and_slots_returning_none_leave_the_singletons_alive(qapp):
    """What the fix guards against, measured: many emits and None-returning slots."""
    from PySide6.QtCore import QObject, Signal

    class Emitter(QObject):
        fired = Signal(object)

    e = Emitter()
    seen = []
    e.fired.connect(lambda v: seen.append(v))       # a slot returning None
    for i in range(5000):
        e.fired.emit(i)
    assert len(seen) == 5000
    for obj in (None, True, False):         # whatever PySide takes, far from zero
        assert sys.getrefcount(obj) > 1 << 30
