"""Netwright's desktop application (PySide6 + pyqtgraph). Imports compute, never the reverse."""

# PySide6 6.12 on Python 3.11 gives back references to None/True/False it does not own,
# which ends in a fatal none_dealloc; make those immortal before any signal is emitted.
from . import pyside_fix  # noqa: E402

pyside_fix.apply()
