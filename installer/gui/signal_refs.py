"""Keep Python's reference counts of True and False right when PySide6 signals are emitted from Python.

PySide6 6.12.0's SignalInstance.emit() returns True, and SignalInstance.disconnect() returns True or
False, without owning the reference it hands back. Each call made from Python therefore takes one
reference away from True (or False). Our workers emit a signal for every step and progress event and
the pages emit completeChanged on every edit, so after an install True's count had dropped by hundreds
more than Python knew; when the interpreter released its own references at exit the count reached zero
and CPython aborted with "Fatal Python error: bool_dealloc: deallocating True or False" (exit 134 --
issue 8). Nothing in our shutdown order could prevent that: the references were lost long before.

repair() measures whether this PySide6 has the fault and, only then, wraps the two methods so that each
call gives back the reference it took. A PySide6 without the fault is left untouched.
"""

from __future__ import annotations

import ctypes
import sys
import threading
import warnings
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, SignalInstance

PROBE_CALLS = 32  # a faulty method loses exactly one reference per call; a sound one loses none

_lock = threading.Lock()
_repaired: dict[str, bool] | None = None
_incref = ctypes.pythonapi.Py_IncRef
_incref.argtypes = [ctypes.py_object]
_incref.restype = None


class _Probe(QObject):
    ping = Signal()

    def slot(self) -> None:
        """A receiver to connect and disconnect."""


def _lost_references(value: bool, call: Callable[[], Any]) -> int:
    """How many references to `value` PROBE_CALLS calls of `call` took away (0 for a sound method)."""
    before = sys.getrefcount(value)
    for _ in range(PROBE_CALLS):
        call()
    return before - sys.getrefcount(value)


def _leaks(value: bool, call: Callable[[], Any]) -> bool:
    # Half the calls is the threshold: the fault loses one per call, other code in this thread none.
    return _lost_references(value, call) >= PROBE_CALLS // 2


def measure() -> dict[str, bool]:
    """Which of PySide6's SignalInstance methods lose a reference to the bool they return."""
    probe = _Probe()

    def connect_disconnect() -> None:
        probe.ping.connect(probe.slot)
        probe.ping.disconnect(probe.slot)

    def failed_disconnect() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Failed to disconnect": that is the point of this probe
            probe.ping.disconnect(probe.slot)

    try:
        return {
            "emit": _leaks(True, probe.ping.emit),
            "disconnect": _leaks(True, connect_disconnect) or _leaks(False, failed_disconnect),
        }
    finally:
        probe.deleteLater()


def _giving_back(original: Callable[..., Any]) -> Callable[..., Any]:
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        if result is True or result is False:
            _incref(result)  # the reference PySide6 handed out without owning it
        return result

    call.__name__ = getattr(original, "__name__", "call")
    call.__doc__ = getattr(original, "__doc__", None)
    return call


def repair() -> dict[str, bool]:
    """Wrap the faulty SignalInstance methods (once per process); returns which ones were faulty."""
    global _repaired
    with _lock:
        if _repaired is None:
            faulty = measure()
            for name, bad in faulty.items():
                if bad:
                    setattr(SignalInstance, name, _giving_back(getattr(SignalInstance, name)))
            _repaired = faulty
        return dict(_repaired)
