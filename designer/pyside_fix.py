"""Work around reference-count bugs of PySide6 6.12 on Python 3.11.

PySide6 6.12 takes references it does not own from the singletons `None`, `True` and
`False`: `SignalInstance.emit()` and `.disconnect()` return `True` without a reference,
and a Python override or slot called from C++ (paintEvent, eventFilter, a QTimer's
slot...) that returns `None` gives one reference too many back. From Python 3.12 on these
singletons are immortal (PEP 683) and nothing happens; on 3.11 their counts run down by
thousands a second while a window repaints and a run emits events, until the interpreter
frees `None` and aborts ("none_dealloc: deallocating None", "bool_dealloc").

`apply()` does for 3.11 what 3.12 does: it makes the three singletons effectively
immortal by adding 2**40 to their reference counts (a run would need to leak for decades
to use that up). It is idempotent and does nothing on 3.12 or later.
"""
from __future__ import annotations

import ctypes
import sys

BOOST = 1 << 40
SLACK = 100
_applied = False


def apply() -> bool:
    """Make None, True and False immortal on Python < 3.12; returns whether it did."""
    global _applied
    if _applied or sys.version_info >= (3, 12) or not hasattr(sys, "getrefcount"):
        return _applied
    counts = [ctypes.c_ssize_t.from_address(id(obj)) for obj in (None, True, False)]
    # the layout we expect: ob_refcnt first, so it reads what sys.getrefcount reads (give
    # or take the few references that come and go meanwhile; the counts are thousands)
    if any(abs(c.value - sys.getrefcount(obj)) > SLACK
           for c, obj in zip(counts, (None, True, False))):
        return False
    for c in counts:
        c.value += BOOST
    _applied = True
    return True
