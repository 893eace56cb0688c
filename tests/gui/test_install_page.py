"""The Install page driving the real Runner with small real plans: a flood of output, a failure, a cancel.

The plans are written here (not by the planner) so each test controls exactly what the child processes do;
the runner, its subprocesses, rollback and the log file are the real ones.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from wizard_driver import go_to, recorded_detect

from installer.core.plan import Plan, Step
from installer.gui.wizard import PageId


def make_plan(tmp_path: Path, steps: list[Step]) -> Plan:
    env = tmp_path / "envs" / "handmade"
    return Plan(method="pip", backend="cpu", torch="2.13.0", python="3.11", env=str(env), steps=steps,
                reasons=["a handmade plan for a GUI test"], env_python=str(env / "bin" / "python"),
                download_mib=1, disk_mib=1, expect="cpu")


def py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def wizard_at_install(qtbot: Any, make_wizard: Any, catalog: Any, plan: Plan) -> Any:
    wizard = make_wizard(detect_fn=recorded_detect("linux-rtx4090"), catalog=catalog,
                         plan_fn=lambda _report, _choices, _catalog: plan)
    go_to(qtbot, wizard, PageId.INSTALL)
    return wizard


def test_100000_lines_of_output_stay_responsive(qtbot: Any, make_wizard: Any, catalog: Any, tmp_path: Path) -> None:
    plan = make_plan(tmp_path, [Step(name="Talk a lot", kind="run",
                                     argv=py("import sys\nfor i in range(100000): sys.stdout.write(f'line {i}\\n')"))])
    wizard = wizard_at_install(qtbot, make_wizard, catalog, plan)
    page = wizard.currentPage()
    page.log_section.set_expanded(True)
    ticks: list[int] = []
    from PySide6.QtCore import QTimer

    # the event loop keeps turning while the lines pour in: a 20 ms timer fires many times during the run
    counter = QTimer()
    counter.setInterval(20)

    class Beat:
        def tick(self) -> None:
            ticks.append(1)

    beat_target = Beat()
    counter.timeout.connect(beat_target.tick)
    counter.start()
    qtbot.waitUntil(lambda: wizard.state.result is not None and not page.is_running(), timeout=120_000)
    counter.stop()
    assert wizard.state.result.ok
    assert len(ticks) >= 3
    view = page.log_view
    assert view.blockCount() <= view.maximumBlockCount()
    text = view.toPlainText()
    assert "line 99999" in text
    assert Path(wizard.state.log_path).is_file()
    assert "line 99999" in Path(wizard.state.log_path).read_text(encoding="utf-8", errors="replace")
    assert wizard.button(wizard.WizardButton.NextButton).isEnabled()


def test_failure_shows_diagnosis_retry_and_log(qtbot: Any, make_wizard: Any, catalog: Any, tmp_path: Path,
                                               monkeypatch: Any) -> None:
    marker = tmp_path / "attempts"
    code = (f"import pathlib, sys\np = pathlib.Path({str(marker)!r})\nn = int(p.read_text()) if p.exists() else 0\n"
            "p.write_text(str(n + 1))\n"
            "print('OSError: [Errno 28] No space left on device', file=sys.stderr)\nsys.exit(1)")
    plan = make_plan(tmp_path, [Step(name="Create the environment", kind="venv",
                                     argv=[sys.executable, "-m", "venv", str(tmp_path / "envs" / "handmade")],
                                     creates=str(tmp_path / "envs" / "handmade")),
                                Step(name="Install PyTorch", kind="install", argv=py(code))])
    wizard = wizard_at_install(qtbot, make_wizard, catalog, plan)
    page = wizard.currentPage()
    qtbot.waitUntil(lambda: wizard.state.result is not None and not page.is_running(), timeout=120_000)
    result = wizard.state.result
    assert not result.ok and not result.cancelled
    status = page.status.text()
    assert "failed" in status and "Install PyTorch" in status
    assert any(d.category == "disk-full" for d in result.diagnoses), result.diagnoses
    assert "What to do" in status
    assert "Nothing was left behind" in status
    assert not Path(plan.env).exists()
    assert page.retry_button.isVisible() and page.open_log_button.isEnabled()
    assert not wizard.button(wizard.WizardButton.NextButton).isEnabled()
    # Open log hands the runner's log file to the desktop
    from PySide6.QtGui import QDesktopServices

    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url.toLocalFile())))
    page.open_log_button.click()
    assert opened == [wizard.state.log_path]
    # Retry runs the plan again
    page.retry_button.click()
    qtbot.waitUntil(lambda: marker.read_text() == "2" and not page.is_running(), timeout=120_000)


def test_cancel_mid_install_rolls_back(qtbot: Any, make_wizard: Any, catalog: Any, tmp_path: Path,
                                       confirmations: Any) -> None:
    env = tmp_path / "envs" / "handmade"
    plan = make_plan(tmp_path, [
        Step(name="Create the environment", kind="venv", argv=[sys.executable, "-m", "venv", "--without-pip", str(env)],
             creates=str(env)),
        Step(name="Install PyTorch", kind="install",
             argv=py("import time\nprint('Downloading torch', flush=True)\ntime.sleep(120)")),
    ])
    wizard = wizard_at_install(qtbot, make_wizard, catalog, plan)
    page = wizard.currentPage()
    qtbot.waitUntil(lambda: "Downloading torch" in page.log_view.toPlainText(), timeout=60_000)
    assert env.is_dir()
    page.cancel_button.click()
    assert confirmations.asked == ["Stop the installation?"]
    qtbot.waitUntil(lambda: wizard.state.result is not None and not page.is_running(), timeout=60_000)
    assert wizard.state.result.cancelled
    assert "Nothing was left behind" in page.status.text()
    # What was undone is named, and the finished step says "undone", not ✓ at 100 %
    assert str(env) in page.status.text()
    first = page.steps.item(0)
    assert first.text().endswith("undone") and "undone" in first.data(Qt.ItemDataRole.AccessibleTextRole)
    assert page.overall.value() == 0 and page.overall.format() == "Cancelled"
    assert not env.exists()
    assert not wizard.button(wizard.WizardButton.NextButton).isEnabled()


def test_closing_during_install_asks_then_cancels(qtbot: Any, make_wizard: Any, catalog: Any, tmp_path: Path,
                                                 confirmations: Any) -> None:
    env = tmp_path / "envs" / "handmade"
    plan = make_plan(tmp_path, [
        Step(name="Create the environment", kind="venv", argv=[sys.executable, "-m", "venv", "--without-pip", str(env)],
             creates=str(env)),
        Step(name="Install PyTorch", kind="install",
             argv=py("import time\nprint('Downloading torch', flush=True)\ntime.sleep(120)")),
    ])
    wizard = wizard_at_install(qtbot, make_wizard, catalog, plan)
    page = wizard.currentPage()
    qtbot.waitUntil(lambda: "Downloading torch" in page.log_view.toPlainText(), timeout=60_000)
    confirmations.answer = False
    wizard.reject()  # the Cancel button / Escape
    assert wizard.isVisible() and page.is_running()
    confirmations.answer = True
    wizard.reject()
    assert not wizard.isVisible()
    assert not any(job.running for job in wizard.jobs)
    assert wizard.state.result is not None and wizard.state.result.cancelled
    assert not env.exists()
    assert confirmations.asked == ["Stop the installation?", "Stop the installation?"]
