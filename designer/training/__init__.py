"""Training from the window: the worker thread, the training dock and the live panels."""


def install(window) -> None:
    """Add the training actions, docks and panels to a main window (filled in by the
    live-panels work; the editor calls this once when it builds the window)."""
