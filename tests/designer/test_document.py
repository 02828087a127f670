"""Files, dirty state, autosave and recovery, through the document and the window."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import json  # noqa: E402

from PySide6.QtCore import QRectF, QSizeF  # noqa: E402

from compute import load_project  # noqa: E402
from designer.document import Document, orphaned_recoveries, recovery_dir  # noqa: E402
from designer.editor import edits  # noqa: E402
from designer.main_window import MainWindow  # noqa: E402


def draw(doc) -> None:
    edits.add_node(doc, "Input", (0, 0), {"shape": [1, 8, 8]})
    edits.add_node(doc, "Conv2D", (250, 0), {"filters": 4, "padding": "same"})
    edits.add_node(doc, "Flatten", (500, 0))
    edits.add_node(doc, "Dense", (750, 0), {"units": 10})
    edits.add_node(doc, "Output", (1000, 0))
    for a, b in (("input", "conv1"), ("conv1", "flatten1"), ("flatten1", "dense1"),
                 ("dense1", "output")):
        assert edits.connect(doc, a, b, 0) is None
    doc.set_section("data", {"dataset": "digits"}, "Choose digits")


def test_save_close_reopen_gives_the_same_document(qtbot, window, dialogs, tmp_path):
    draw(window.document)
    edits.rename_project(window.document, "Digits CNN")
    dialogs.save_path = str(tmp_path / "digits")
    window.acts["save"].trigger()                      # no path yet: Save As
    path = tmp_path / "digits.netw"
    assert path.exists() and not window.document.is_dirty()
    assert window.windowTitle() == "Digits CNN — digits.netw — Netwright"
    saved = window.document.project.to_dict()
    window.close()
    assert dialogs.shown == []                         # clean: nothing to ask
    again = MainWindow(path)
    qtbot.addWidget(again)
    assert again.document.project.to_dict() == saved
    assert again.document.path == path and not again.document.is_dirty()
    assert set(again.scene.nodes) == set(again.document.graph.nodes)


def test_a_corrupt_file_shows_the_error_and_changes_nothing(qtbot, window, dialogs, tmp_path):
    draw(window.document)
    before = window.document.project.to_dict()
    bad = tmp_path / "broken.netw"
    bad.write_text('{"format": "netwright", "version": 1, "graph": {"nodes": [}')
    dialogs.open_path = str(bad)
    dialogs.answer = None        # would be a bug to ask: the test saves first
    window.document.undo_stack.setClean()
    window.acts["open"].trigger()
    (kind, title, text), = dialogs.shown
    assert kind == "critical" and "broken.netw" in text and "line 1" in text
    assert window.document.project.to_dict() == before
    assert bad.read_text().endswith("[}")              # the file is untouched
    edits.add_node(window.document, "Dense", (0, 300))  # still usable
    assert window.document.graph.has_node("dense2")


def test_dirty_marker_follows_the_undo_stack(qtbot, window, dialogs, tmp_path):
    doc = window.document
    assert "*" not in window.windowTitle()
    edits.add_node(doc, "Input", (0, 0), {"shape": [2]})
    assert window.windowTitle().startswith("Untitled*")
    doc.save(tmp_path / "a.netw")
    assert not doc.is_dirty() and "*" not in window.windowTitle()
    edits.add_node(doc, "Dense", (200, 0))
    assert doc.is_dirty()
    doc.undo_stack.undo()
    assert not doc.is_dirty()


def test_autosave_writes_a_recovery_file_and_save_removes_it(qapp, tmp_path):
    doc = Document()
    assert doc.autosave() is None                      # clean: nothing to keep
    draw(doc)
    assert doc._autosave.isActive() and doc._autosave.interval() == 60_000
    rec = doc.autosave()
    assert rec is not None and rec.parent == recovery_dir()
    assert load_project(rec).graph == doc.graph
    assert json.loads(rec.with_suffix(".json").read_text())["path"] is None
    assert orphaned_recoveries() == []                 # ours is locked: not offered
    doc.save(tmp_path / "x.netw")
    assert not rec.exists() and not doc._autosave.isActive()
    doc.close()


def test_recovery_after_a_crash_is_offered_and_restores_the_work(qtbot, dialogs, tmp_path):
    from designer import app

    crashed = Document()
    draw(crashed)
    rec = crashed.autosave()
    crashed._lock.unlock()             # the process "dies": its lock goes, the file stays
    crashed._lock = None
    crashed._recovery = None
    (found, meta), = orphaned_recoveries()
    assert found == rec and meta["name"] == "Untitled"
    dialogs.button = "Recover"
    windows = app.offer_recovery()
    assert len(windows) == 1
    w = windows[0]
    qtbot.addWidget(w)
    assert w.document.graph == crashed.graph and w.document.is_dirty()
    assert w.document.undo_stack.count() == 0
    assert not rec.exists()
    assert orphaned_recoveries() == []                 # the new window holds its own file
    assert w.document.recovery_path is not None and w.document.recovery_path.exists()
    dialogs.answer = type(dialogs.answer).Discard
    w.close()
    assert not w.document.recovery_path
    assert list(recovery_dir().glob("*.netw")) == []


def test_recovery_can_be_discarded_or_postponed(qtbot, dialogs):
    from designer import app

    doc = Document()
    draw(doc)
    rec = doc.autosave()
    doc._lock.unlock()
    dialogs.button = "Later"
    assert app.offer_recovery() == [] and rec.exists()
    dialogs.button = "Discard"
    assert app.offer_recovery() == [] and not rec.exists()
    assert "did not close normally" in dialogs.shown[0][2]


def test_files_without_positions_are_laid_out_on_open(qtbot, window, tmp_path):
    doc = {"format": "netwright", "version": 1, "name": "bare",
           "graph": {"nodes": [{"id": "x", "type": "Input", "params": {"shape": [4]}},
                               {"id": "a", "type": "Dense", "params": {"units": 3}},
                               {"id": "b", "type": "Dense", "params": {"units": 3}},
                               {"id": "s", "type": "Add"},
                               {"id": "o", "type": "Output"}],
                     "edges": [{"source": "x", "target": "a"}, {"source": "x", "target": "b"},
                               {"source": "a", "target": "s", "port": 0},
                               {"source": "b", "target": "s", "port": 1},
                               {"source": "s", "target": "o"}]}}
    path = tmp_path / "bare.netw"
    path.write_text(json.dumps(doc))
    assert window.open_path(path)
    g = window.document.graph
    assert all(g.node(n).position is not None for n in g.nodes)
    assert not window.document.is_dirty()
    # each node's body and the shape written under it
    bodies = [QRectF(i.pos(), QSizeF(i.width, i.height + 22)) for i in window.scene.nodes.values()]
    for i, a in enumerate(bodies):
        for b in bodies[i + 1:]:
            assert not a.intersects(b)
    for e in g.edges:     # read like text: each wire goes right, or down to the next band
        (sx, sy), (tx, ty) = g.node(e.source).position, g.node(e.target).position
        assert tx > sx or ty > sy + 60, e


def test_set_section_is_undoable_and_announced(qapp):
    doc = Document()
    seen = []
    doc.settings_changed.connect(lambda: seen.append(dict(doc.project.training)))
    doc.set_section("training", {"epochs": 5}, "Set epochs")
    doc.set_section("training", {"epochs": 5}, "Same again: no step")
    assert doc.undo_stack.count() == 1 and seen == [{"epochs": 5}]
    doc.undo_stack.undo()
    assert doc.project.training == {} and seen[-1] == {}
    doc.close()
