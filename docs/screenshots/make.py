"""Makes the panel screenshots in this folder anew, from real training runs in the window
(offscreen): ``python docs/screenshots/make.py [PANEL ...]``.

- panel-loss.png: the spirals MLP trained three times, the learning rate changed through
  the settings form between runs (too small, too large, right), on a log scale with the
  earlier runs shown;
- panel-boundary.png: the last of those runs' decision boundary;
- panel-gradients, -activations, -features, -predictions, -weights: LeNet on digits;
- panel-diagnosis.png: a deep sigmoid MLP on the spirals with a small learning rate,
  built here (every finding needs a network with problems);
- panel-autoencoder.png: the variational autoencoder on digits.

The example projects are copied to a temporary folder first, so that no weights land
next to them. The editor and canvas screenshots are not made here.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
SIZE = (900, 520)
LENET = ("gradients", "activations", "features", "predictions", "weights")


def deep_sigmoid() -> dict:
    """Eight sigmoid layers and plain SGD: vanishing gradients, a loss that barely moves."""
    sizes = [f"s{i}" for i in range(1, 9)]
    nodes = [{"id": "x", "type": "Input", "params": {"shape": [2]}}]
    nodes += [{"id": n, "type": "Dense", "params": {"units": 16, "activation": "sigmoid"}}
              for n in sizes]
    nodes += [{"id": "logits", "type": "Dense", "params": {"units": 2}},
              {"id": "out", "type": "Output", "params": {"loss": "cross_entropy"}}]
    for i, node in enumerate(nodes):
        node["position"] = [160 * i, 0]
    return {"format": "netwright", "version": 1, "name": "Deep sigmoid MLP",
            "graph": {"nodes": nodes, "edges": [{"source": a["id"], "target": b["id"]}
                                                for a, b in zip(nodes, nodes[1:])]},
            "data": {"dataset": "spirals"},
            "training": {"epochs": 20, "optimizer": {"type": "sgd", "lr": 0.05}}}


def window(app, project: str | dict, tmp: Path):
    """The main window on an example project (by file name) or on a project dict."""
    from designer.main_window import MainWindow

    if isinstance(project, dict):
        path = tmp / "project.netw"
        path.write_text(json.dumps(project), "utf-8")
    else:
        path = tmp / project
        shutil.copy(ROOT / "projects" / project, path)
    w = MainWindow(path)
    w.resize(1500, 950)
    w.show()
    app.processEvents()
    return w


def train(app, w, seconds: float = 120) -> None:
    """Presses Train and waits for the run's end (stopping it after `seconds`)."""
    from PySide6.QtCore import QEventLoop, QTimer

    session = w.training.session
    loop = QEventLoop()
    session.worker.done.connect(loop.quit)
    QTimer.singleShot(int(seconds * 1000), session.stop)
    w.training.actions["train"].trigger()
    loop.exec()
    session.worker.done.disconnect(loop.quit)
    settle(app)


def settle(app, seconds: float = 1.5) -> None:
    """Lets the panels take in the run's end (their redraws are spread over frames)."""
    import time

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def shoot(app, w, key: str) -> None:
    """The panel as its own window of SIZE, after a forced redraw."""
    dock = w.training.panel_docks[key]
    dock.setFloating(True)
    dock.resize(*SIZE)
    dock.show()
    settle(app, 0.5)
    panel = w.training.panels[key]
    panel.refresh(force=True)
    settle(app)
    path = HERE / f"panel-{key}.png"
    dock.widget().grab().save(str(path))
    dock.setFloating(False)
    print("wrote", path.relative_to(ROOT))


def set_lr(w, lr: float) -> None:
    """As a user would: the learning rate field of the settings form."""
    field = w.training.dock.training.opt_form.field("lr")
    field.editor.setValue(lr)
    field.editor.editingFinished.emit()


def shots() -> list[tuple]:
    """(project, learning rates to train with in turn (None: the project's), panels)."""
    return [("spirals_mlp.netw", (0.003, 0.3, 0.03), ("loss", "boundary")),
            ("lenet_digits.netw", (None,), LENET),
            (deep_sigmoid(), (None,), ("diagnosis",)),
            ("vae_digits.netw", (None,), ("autoencoder",))]


def main(wanted: list[str]) -> int:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as folder:
        for project, rates, panels in shots():
            keys = [k for k in panels if not wanted or k in wanted]
            if not keys:
                continue
            w = window(app, project, Path(folder))
            for lr in rates:
                if lr is not None:
                    set_lr(w, lr)
                train(app, w)
            w.training.panels["loss"].log_box.setChecked(True)   # three runs' losses
            for key in keys:
                shoot(app, w, key)
            w.hide()           # not close(): a changed project would ask to be saved
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
