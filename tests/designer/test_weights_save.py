"""The trained weights are saved beside the project on a thread of the session's own
(a save ends with two fsyncs: tens of ms of a frame on the window's thread), and a save
that fails is shown and kept pending, never lost."""
from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import QTimer

import designer.training.session as session_module
from compute.errors import ProjectError
from compute.model import build_model
from compute.project import load_project
from compute.weights import load_weights

from .test_training_support import click, open_window, spirals_mlp, wait_finished


def test_weights_are_saved_off_the_windows_thread(qtbot, tmp_path, monkeypatch):
    original = session_module.save_weights
    entered, release = threading.Event(), threading.Event()
    threads: list[threading.Thread] = []

    def held_save(model, path):         # a disk that takes its time, until released
        threads.append(threading.current_thread())
        entered.set()
        release.wait(5)
        return original(model, path)
    monkeypatch.setattr(session_module, "save_weights", held_save)
    w = open_window(qtbot, tmp_path, spirals_mlp(epochs=2), "spirals")
    click(qtbot, w, "train")
    wait_finished(qtbot, w)
    qtbot.waitUntil(entered.is_set, timeout=10_000)
    # while the save waits, the window's event loop goes on, and says it is not saved yet
    fired: list[int] = []
    QTimer.singleShot(0, lambda: fired.append(1))
    qtbot.waitUntil(lambda: bool(fired), timeout=1000)
    dock = w.training.dock.evaluation
    assert "kept in memory" in dock.text() and not release.is_set()
    release.set()
    qtbot.waitUntil(lambda: "Weights saved" in dock.text(), timeout=10_000)
    assert threads[0] is not threading.main_thread()
    session = w.training.session
    fresh = build_model(load_project(tmp_path / "spirals.netw").graph, seed=7)
    load_weights(fresh, tmp_path / "spirals.weights.npz")
    np.testing.assert_array_equal(fresh.params["h1"]["W"], session.model.params["h1"]["W"])


def test_a_failed_save_is_shown_and_the_weights_stay_pending(qtbot, tmp_path, monkeypatch):
    original = session_module.save_weights
    failures = []

    def full_disk(model, path):
        failures.append(path)
        raise ProjectError(f"{path}: could not save (the disk is full); the previous file "
                           "is unchanged")
    monkeypatch.setattr(session_module, "save_weights", full_disk)
    w = open_window(qtbot, tmp_path, spirals_mlp(epochs=2), "spirals")
    session = w.training.session
    messages: list[tuple[str, str]] = []
    session.message.connect(lambda text, level: messages.append((text, level)))
    click(qtbot, w, "train")
    wait_finished(qtbot, w)
    qtbot.waitUntil(lambda: any("could not save the weights" in t for t, _ in messages),
                    timeout=10_000)
    text, level = next(m for m in messages if "could not save the weights" in m[0])
    assert level == "error" and "the disk is full" in text
    assert len(failures) == 1 and not (tmp_path / "spirals.weights.npz").exists()
    assert "kept in memory" in w.training.dock.evaluation.text()
    # the disk has room again: saving the project saves the weights too
    monkeypatch.setattr(session_module, "save_weights", original)
    w.document.save()
    qtbot.waitUntil(lambda: "Weights saved" in w.training.dock.evaluation.text(),
                    timeout=10_000)
    assert (tmp_path / "spirals.weights.npz").exists()
