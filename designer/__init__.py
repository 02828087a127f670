"""Netwright's desktop application (PySide6 + pyqtgraph). Imports compute, never the reverse."""

# PySide6 6.12's Signal.emit leaks a reference to Python's True per call, which ends in a
# fatal bool_dealloc; the fix patches emit only where the bug is present.
from .editor import qtfix  # noqa: E402,F401
