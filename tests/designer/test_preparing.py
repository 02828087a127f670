"""The kernels' preparation in the background: its progress in the status bar, its end as
a status message, nothing at all once prepared. The preparation is a fake here (the real
one is tested in tests/test_prepare.py)."""
import threading

import pytest

from PySide6.QtWidgets import QApplication

from compute.prepare import Outcome
from designer.training import preparing
from designer.training.preparing import Preparer, PreparingIndicator


@pytest.fixture(autouse=True)
def not_prepared(monkeypatch):
    """The real stamp says nothing here: every test starts unprepared."""
    from compute import prepare

    monkeypatch.setattr(prepare, "prepared", lambda names=None: False)


class FakeWork:
    """Ends its first specimen at once, the second when `go` is set."""

    def __init__(self, progress, second_error=None) -> None:
        self.names = ["workload:lenet", "example:xor_mlp"]
        self.progress, self.second_error = progress, second_error
        self.cancelled, self.go = threading.Event(), threading.Event()

    def run(self):
        first = Outcome(self.names[0], 9.5, 18)
        self.progress(first, 1, 2)
        self.go.wait(30)
        if self.cancelled.is_set():
            return [first]
        second = Outcome(self.names[1], 0.5, 0, self.second_error)
        self.progress(second, 2, 2)
        return [first, second]

    def cancel(self):
        self.cancelled.set()
        self.go.set()


def fake_preparer(**kwargs):
    made = []

    def make(progress):
        made.append(FakeWork(progress, **kwargs))
        return made[0]
    return Preparer(make=make), made


def test_progress_shows_in_the_status_bar_and_the_end_as_a_message(qtbot, window):
    source, made = fake_preparer()
    indicator = PreparingIndicator(window, source)
    window.statusBar().addPermanentWidget(indicator)
    assert not indicator.isVisible()
    assert source.start()
    assert indicator.isVisible() and indicator.bar.maximum() == 0    # busy, moving
    qtbot.waitUntil(lambda: indicator.bar.value() == 1)
    assert indicator.bar.maximum() == 2 and indicator.bar.text() == "1 of 2"
    assert "lenet" in indicator.bar.toolTip()
    assert not source.start()                    # one preparation at a time
    late = PreparingIndicator(window, source)    # a window opened meanwhile catches up
    assert late.isVisible() and late.bar.value() == 1
    made[0].go.set()
    qtbot.waitUntil(lambda: not indicator.isVisible())
    assert not late.isVisible()
    message = window.statusBar().currentMessage()
    assert message.startswith("Kernels compiled in ") and "training starts at once" in message


def test_a_failed_specimen_is_named_in_a_message_that_stays(qtbot, window):
    source, made = fake_preparer(second_error="ValueError: no such dataset")
    PreparingIndicator(window, source)
    source.start()
    made[0].go.set()
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() != "")
    message = window.statusBar().currentMessage()
    assert message.startswith("Prepared 1 of 2 kernel sets: example:xor_mlp: ValueError")
    assert "compile what they still need" in message
    qtbot.wait(50)
    assert window.statusBar().currentMessage() == message


def test_a_cancelled_preparation_says_nothing(qtbot, window):
    source, made = fake_preparer()
    PreparingIndicator(window, source)
    source.start()
    qtbot.waitUntil(lambda: source.done == 1)
    source.cancel()
    qtbot.waitUntil(lambda: not source.running)
    qtbot.wait(50)
    assert window.statusBar().currentMessage() == ""


def test_nothing_starts_when_the_kernels_are_prepared(qtbot, monkeypatch):
    from compute import prepare

    monkeypatch.setattr(prepare, "prepared", lambda names=None: True)
    source, made = fake_preparer()
    assert source.start() is False and made == []


def test_the_application_starts_one_preparation_for_all_windows(qtbot, monkeypatch):
    source, made = fake_preparer()
    monkeypatch.setattr(preparing, "_preparer", source)
    assert preparing.start_in_background() is True
    assert preparing.start_in_background() is False
    assert len(made) == 1
    app = QApplication.instance()
    app.aboutToQuit.emit()                          # quitting cancels it
    qtbot.waitUntil(lambda: not source.running)
    assert made[0].cancelled.is_set()
    app.aboutToQuit.disconnect(source.cancel)
