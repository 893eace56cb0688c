"""Emitting and disconnecting signals from Python must not eat references to True or False (issue 8).

PySide6 6.12.0 loses one reference to True per SignalInstance.emit() made from Python (and to True or
False per disconnect()); a session's worth of emits then made CPython abort at exit with bool_dealloc.
installer.gui.signal_refs.repair() runs whenever the GUI's worker module is imported.
"""

from __future__ import annotations

import ctypes
import sys
import warnings
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

import installer.gui.worker  # noqa: F401  (importing the GUI's workers applies the repair)
from installer.gui import signal_refs
from installer.gui.worker import Job

CALLS = 500  # far more than the slack any other code could explain; a faulty path loses exactly CALLS


class Emitter(QObject):
    plain = Signal()
    with_object = Signal(object)
    with_text = Signal(str)
    finished = Signal()

    @Slot()
    def run(self) -> None:
        """On a worker thread, as our workers emit (queued to the GUI thread)."""
        for i in range(CALLS):
            self.with_object.emit(i)
        self.finished.emit()


class Receiver(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.got = 0

    @Slot(object)
    def on_object(self, _value: Any) -> None:
        self.got += 1


def lost(value: bool, action: Any) -> int:
    """References to `value` that `action` took away. Any loss is given back at once, so that a failing
    test reports its numbers instead of the whole pytest process aborting in bool_dealloc."""
    before = sys.getrefcount(value)
    action()
    missing = before - sys.getrefcount(value)
    for _ in range(max(missing, 0)):
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(value))
    return missing


def test_emit_from_python_keeps_true_and_false(qapp: Any) -> None:
    emitter = Emitter()
    receiver = Receiver()
    emitter.with_object.connect(receiver.on_object)

    def emit_all() -> None:
        for i in range(CALLS):
            emitter.plain.emit()
            emitter.with_object.emit(i)
            emitter.with_text.emit("x")

    assert lost(True, emit_all) < CALLS // 4
    assert receiver.got == CALLS


def test_disconnect_keeps_true_and_false(qapp: Any) -> None:
    emitter = Emitter()
    receiver = Receiver()

    def connect_and_disconnect() -> None:
        for _ in range(CALLS):
            emitter.with_object.connect(receiver.on_object)
            emitter.with_object.disconnect(receiver.on_object)

    def failed_disconnects() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for _ in range(CALLS):
                emitter.with_object.disconnect(receiver.on_object)

    assert lost(True, connect_and_disconnect) < CALLS // 4
    assert lost(False, failed_disconnects) < CALLS // 4


def test_emits_from_a_worker_thread_keep_true(qtbot: Any) -> None:
    """The house wiring (Job): a worker on its QThread emitting to a slot on the GUI thread."""
    receiver = Receiver()
    emitter = Emitter()
    emitter.with_object.connect(receiver.on_object)

    def run_job() -> None:
        job = Job(emitter)
        job.start()
        assert job.wait(60_000)
        qtbot.waitUntil(lambda: receiver.got == CALLS, timeout=60_000)

    assert lost(True, run_job) < CALLS // 4


def test_repair_is_measured_and_idempotent() -> None:
    first = signal_refs.repair()
    assert signal_refs.repair() == first
    assert set(first) == {"emit", "disconnect"}
    # Whatever this PySide6 did before, after the repair no method loses references any more.
    assert signal_refs.measure() == {"emit": False, "disconnect": False}
