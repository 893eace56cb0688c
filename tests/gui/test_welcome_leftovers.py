"""An install that was interrupted (power cut, kill -9) is reported when the wizard opens, with a cleanup offer."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from installer.core.journal import Journal, write_marker
from installer.gui.wizard import PageId


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _interrupted_run(env: Path) -> None:
    run_id = "20261121-000000-1-deadbe"
    (env / "bin").mkdir(parents=True)
    write_marker(env, run_id, {})  # what the runner writes into an env it made
    Journal.from_json({"run_id": run_id, "pid": _dead_pid(), "pid_started": 1.0, "started": time.time() - 600,
                       "env": str(env), "summary": {},
                       "created": [{"path": str(env), "kind": "env", "existed": False}],
                       "quarantined": []}).save()


def test_welcome_offers_to_remove_leftovers(qtbot: Any, make_wizard: Any, catalog: Any, tmp_path: Path) -> None:
    env = tmp_path / "half-made-env"
    _interrupted_run(env)
    neighbour = tmp_path / "keep-me.txt"
    neighbour.write_text("not Torch Setup's")
    wizard = make_wizard(catalog=catalog, detect_fn=lambda **_: None)
    page = wizard.page(PageId.WELCOME)
    assert page.leftovers_box.isVisible()
    assert str(env) in page.leftovers_label.text()
    page.cleanup_button.click()
    qtbot.waitUntil(lambda: "Cleaned up" in page.leftovers_label.text(), timeout=30_000)
    assert not env.exists()
    assert neighbour.read_text() == "not Torch Setup's"


def test_welcome_is_quiet_without_leftovers(qtbot: Any, make_wizard: Any, catalog: Any) -> None:
    wizard = make_wizard(catalog=catalog, detect_fn=lambda **_: None)
    assert not wizard.page(PageId.WELCOME).leftovers_box.isVisible()
