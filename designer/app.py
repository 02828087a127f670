"""`netwright [PROJECT]`: start the application, offering to recover unsaved work first."""
from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from compute.errors import NetwrightError
from compute.project import load_project

from . import theme
from .document import discard_recovery_file, orphaned_recoveries
from .main_window import MainWindow, settings

_windows: list[MainWindow] = []     # keeps top-level windows alive


def application() -> QApplication:
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "netwright"])
    app.setOrganizationName("Netwright")
    app.setApplicationName("Netwright")
    app.setApplicationDisplayName("Netwright")
    return app


def offer_recovery(parent=None) -> list[MainWindow]:
    """Ask whether to recover work autosaved by a session that ended without saving.

    Recover opens each in its own window, unsaved (so the user decides where it goes);
    Discard deletes the files; Later keeps them for the next start.
    """
    found = orphaned_recoveries()
    if not found:
        return []
    lines = []
    for path, meta in found:
        when = datetime.fromtimestamp(float(meta.get("saved") or 0)).strftime("%Y-%m-%d %H:%M")
        origin = meta.get("path") or "never saved"
        lines.append(f"• {meta.get('name', path.stem)} — autosaved {when} ({origin})")
    box = QMessageBox(QMessageBox.Question, "Recover unsaved work?",
                      "Netwright did not close normally last time. Recover the autosaved "
                      "work?\n\n" + "\n".join(lines), parent=parent)
    recover = box.addButton("Recover", QMessageBox.AcceptRole)
    discard = box.addButton("Discard", QMessageBox.DestructiveRole)
    box.addButton("Later", QMessageBox.RejectRole)
    box.setDefaultButton(recover)
    box.exec()
    clicked = box.clickedButton()
    windows = []
    for path, meta in found:
        if clicked is recover:
            window = _recover(path, meta)
            if window is not None:
                windows.append(window)
        if clicked in (recover, discard):
            discard_recovery_file(path)
    return windows


def _recover(path: Path, meta: dict) -> MainWindow | None:
    try:
        project = load_project(path)
    except NetwrightError:
        return None
    original = meta.get("path")
    project.path = Path(original) if original else None
    window = MainWindow()
    window.document.replace_project(project, dirty=True)
    window.document.autosave()    # a new recovery file before the old one goes
    return window


def start(project: str | None = None) -> list[MainWindow]:
    """Open the windows for a start: recovered work, and the project asked for (or an
    empty one when there is nothing else)."""
    theme.apply(theme.by_name(str(settings().value("view/theme", "light"))))
    windows = offer_recovery()
    if project is not None or not windows:
        window = MainWindow()
        if project is not None:
            window.open_path(project, ask=False)
        windows.append(window)
    for window in windows:
        window.show()
        window.canvas.fit()
        # fit again once the window manager has given the window its final size
        QTimer.singleShot(0, window.canvas.fit)
    _windows.extend(windows)
    return windows


def has_screen() -> bool:
    """False on a Linux machine with no display server (and no Qt platform chosen)."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def headless_demo(project: str | None) -> int:
    """Without a screen, train the project in the terminal, as netwright-cli would."""
    from compute import cli

    if project is None:
        print("netwright: no display found; open a project on a machine with a screen, or "
              "train one here with: netwright-cli train PROJECT", file=sys.stderr)
        return cli.EXIT_BAD_INPUT
    print(f"netwright: no display found, so {project} trains here in the terminal instead "
          f"(netwright-cli train {project})", file=sys.stderr)
    return cli.main(["train", project])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="netwright",
                                     description="Design, train and understand neural networks.")
    parser.add_argument("project", nargs="?", help="a project file (*.netw) to open")
    args, _qt_args = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    if not has_screen():
        return headless_demo(args.project)
    app = application()
    start(args.project)
    from .training import preparing

    QTimer.singleShot(0, preparing.start_in_background)    # once, at the first start
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
