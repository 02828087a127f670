"""Work around a reference-counting bug in some PySide6 builds (seen with 6.12.0).

There, `SignalInstance.emit` returns ``True`` without taking a new reference, so every
emit from Python code (ours, the panels', pyqtgraph's) takes one reference away from the
``True`` singleton; once enough signals were emitted the interpreter aborts with "Fatal
Python error: bool_dealloc: deallocating True or False". The bug is detected once, at
import, by emitting a probe signal; only then is `emit` wrapped to give the reference
back. On a correct build nothing is changed.
"""
from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal, SignalInstance

_incref = ctypes.pythonapi.Py_IncRef
_incref.argtypes = [ctypes.py_object]
_incref.restype = None


class _Probe(QObject):
    ping = Signal()


def _emit_steals_a_reference() -> bool:
    probe = _Probe()
    before = sys.getrefcount(True)
    probe.ping.emit()
    probe.ping.emit()
    lost = before - sys.getrefcount(True)
    for _ in range(max(lost, 0)):       # give back what the probe itself took
        _incref(True)
    return lost > 0


def install() -> bool:
    """Wrap `SignalInstance.emit` if this PySide6 needs it; True when wrapped."""
    if getattr(SignalInstance.emit, "_netwright_fixed", False):
        return True
    if not _emit_steals_a_reference():
        return False
    original = SignalInstance.emit

    def emit(self, *args):
        result = original(self, *args)
        if result is True or result is False:
            _incref(result)
        return result

    emit._netwright_fixed = True
    SignalInstance.emit = emit
    return True


FIXED = install()
