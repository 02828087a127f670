"""Copy and paste through the system clipboard, between windows and processes.

A copied fragment travels as a small project document (the project file's format) under
a custom mime type, and as the same JSON text, so it can also be pasted into a text
editor, edited, and pasted back. Whatever comes back is validated by compute's loader.
"""
from __future__ import annotations

import json

from PySide6.QtCore import QMimeData
from PySide6.QtGui import QClipboard, QGuiApplication

from compute.errors import ProjectError
from compute.project import dumps_project, parse_project

from . import fragments

MIME = "application/x-netwright-graph+json"


def to_mime(fragment: dict) -> QMimeData:
    doc = {"format": "netwright", "version": 1, "name": "Clipboard", "graph": fragment}
    text = dumps_project(doc)
    mime = QMimeData()
    mime.setData(MIME, text.encode("utf-8"))
    mime.setText(text)
    return mime


def from_mime(mime: QMimeData | None) -> dict | None:
    """The fragment held by `mime`; None when it holds no graph at all.

    Raises ProjectError when it looks like a graph but is malformed.
    """
    if mime is None:
        return None
    if mime.hasFormat(MIME):
        data = bytes(mime.data(MIME))
    elif mime.hasText():
        data = mime.text().encode("utf-8")
        if not data.lstrip().startswith(b"{"):
            return None
    else:
        return None
    return parse(data)


def parse(data: bytes) -> dict | None:
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(doc, dict) and "format" in doc:
        return parse_project(data, "clipboard").graph.to_dict()
    if isinstance(doc, dict) and "nodes" in doc:
        return fragments.check(doc, "clipboard")
    return None


def copy_fragment(fragment: dict, clipboard: QClipboard | None = None) -> None:
    (clipboard or QGuiApplication.clipboard()).setMimeData(to_mime(fragment))


def clipboard_fragment(clipboard: QClipboard | None = None) -> dict | None:
    """The graph on the clipboard, None if there is none; ProjectError if malformed."""
    return from_mime((clipboard or QGuiApplication.clipboard()).mimeData())


__all__ = ["MIME", "ProjectError", "clipboard_fragment", "copy_fragment", "from_mime",
           "to_mime"]
