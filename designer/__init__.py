"""Netwright's desktop application (PySide6 + pyqtgraph). Imports compute, never the reverse."""
