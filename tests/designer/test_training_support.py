"""Support for the training-panel tests (no tests here): small real projects, and opening
a window on one and training it by clicking."""
from __future__ import annotations

import copy
import json
from pathlib import Path

from PySide6.QtCore import Qt


def _node(i, t, params=None, x=0):
    return {"id": i, "type": t, "params": params or {}, "position": [x, 0]}


def _chain(nodes):
    return [{"source": a["id"], "target": b["id"], "port": 0} for a, b in zip(nodes, nodes[1:])]


def spirals_mlp(epochs: int = 30, lr: float = 0.03, hidden: int = 16,
                activation: str = "tanh") -> dict:
    nodes = [_node("x", "Input", {"shape": [2]}, 0),
             _node("h1", "Dense", {"units": hidden, "activation": activation}, 200),
             _node("h2", "Dense", {"units": hidden, "activation": activation}, 400),
             _node("logits", "Dense", {"units": 2}, 600),
             _node("out", "Output", {"loss": "cross_entropy"}, 800)]
    return {"format": "netwright", "version": 1, "name": "Spirals MLP",
            "graph": {"nodes": nodes, "edges": _chain(nodes)},
            "data": {"dataset": "spirals", "params": {"n_samples": 400, "noise": 0.05},
                     "validation_split": 0.2},
            "training": {"epochs": epochs, "batch_size": 16, "seed": 0,
                         "optimizer": {"type": "adam", "lr": lr}, "snapshot_every": 20}}


def lenet_digits(epochs: int = 3) -> dict:
    nodes = [_node("image", "Input", {"shape": [1, 8, 8]}, 0),
             _node("conv1", "Conv2D", {"filters": 6, "kernel_size": 3, "padding": "same",
                                       "activation": "relu"}, 150),
             _node("pool1", "MaxPool2D", {"pool_size": 2}, 300),
             _node("conv2", "Conv2D", {"filters": 12, "kernel_size": 3, "padding": "same",
                                       "activation": "relu"}, 450),
             _node("pool2", "MaxPool2D", {"pool_size": 2}, 600),
             _node("flat", "Flatten", {}, 750),
             _node("fc1", "Dense", {"units": 32, "activation": "relu"}, 900),
             _node("fc2", "Dense", {"units": 10}, 1050),
             _node("out", "Output", {"loss": "cross_entropy"}, 1200)]
    return {"format": "netwright", "version": 1, "name": "LeNet on digits",
            "graph": {"nodes": nodes, "edges": _chain(nodes)},
            "data": {"dataset": "digits", "validation_split": 0.2},
            "training": {"epochs": epochs, "batch_size": 32, "seed": 0,
                         "optimizer": {"type": "momentum", "lr": 0.05, "momentum": 0.9},
                         "snapshot_every": 10}}


def with_training(project: dict, **changes) -> dict:
    out = copy.deepcopy(project)
    out["training"].update(changes)
    return out


def open_window(qtbot, tmp_path: Path, project: dict, name: str = "project"):
    """A shown MainWindow on `project`, saved as tmp_path/name.netw."""
    from designer.main_window import MainWindow

    path = tmp_path / f"{name}.netw"
    path.write_text(json.dumps(project), "utf-8")
    w = MainWindow(path)
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    return w


def record_events(window) -> list:
    """Every trainer event the window receives, in order (the trainer's own objects)."""
    seen: list = []
    window.training.session.worker.events.connect(seen.extend)
    return seen


def click(qtbot, window, key: str) -> None:
    """Click one of the training dock's buttons (train, pause, stop, reset)."""
    button = window.training.dock.buttons[key]
    assert button.isEnabled(), f"{key} is disabled"
    qtbot.mouseClick(button, Qt.LeftButton)


def wait_finished(qtbot, window, timeout: int = 90_000):
    session = window.training.session
    qtbot.waitUntil(lambda: not session.busy and not session.settling
                    and session.current is not None
                    and (session.current.finished is not None or bool(session.current.error)),
                    timeout=timeout)
    for panel in window.training.panels.values():
        panel.refresh(force=True)
    return session.current
