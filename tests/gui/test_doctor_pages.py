"""The wizard's doctor path on real environments: Welcome's choice, the checked list with ✓ ⚠ ✗, Repair
(with its confirmation, progress and result) and the page of environments Torch Setup made.

The torch being replaced is a STAND-IN wheel built by tests/doctor_standins.py (it says so in its code).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from wizard_driver import Confirmations, recorded_detect

from installer.core.doctor.inspect import inspect_env
from installer.core.journal import write_marker
from installer.gui.wizard import PageId
from tests.doctor_standins import standin_torch
from tests.torch_env import make_env, uv_bin

SHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots-doctor"


def _standin_env(root: Path) -> Path:
    py = make_env(root, "old-env", with_torch=False)
    wheel = standin_torch(root / "standin", "2.12.0+cpu", tag="py3-none-any")
    subprocess.run([uv_bin(), "pip", "install", "-q", "--no-deps", "--no-index", "--find-links", str(wheel.parent),
                    "--python", str(py), "torch==2.12.0+cpu"], check=True, capture_output=True)
    return py.parent.parent


def _go_doctor(wizard: Any, qtbot: Any, mode: str = "doctor") -> Any:
    welcome = wizard.page_of(PageId.WELCOME)
    (welcome.doctor_choice if mode == "doctor" else welcome.envs_choice).setChecked(True)
    wizard.next()
    page = wizard.page_of(PageId.DOCTOR if mode == "doctor" else PageId.ENVS)
    assert wizard.currentId() == (PageId.DOCTOR if mode == "doctor" else PageId.ENVS)
    return page


def test_welcome_defaults_to_a_new_install(make_wizard: Any) -> None:
    wizard = make_wizard(detect_fn=recorded_detect("linux-rtx4090"), autostart_detection=False)
    assert wizard.page_of(PageId.WELCOME).mode == "install"
    wizard.next()
    assert wizard.currentId() == PageId.SYSTEM


def test_check_lists_real_envs_with_marks_under_a_gpu_machine(make_wizard: Any, qtbot: Any, tmp_path: Path,
                                                             py311: str, wheels: Path) -> None:
    cpu = make_env(tmp_path, "cpu-env", with_torch=True).parent.parent
    empty = make_env(tmp_path, "empty-env", with_torch=False).parent.parent
    wizard = make_wizard(detect_fn=recorded_detect("linux-rtx4090"), autostart_detection=False)
    wizard.doctor_paths, wizard.doctor_scan = [str(cpu), str(empty)], False
    page = _go_doctor(wizard, qtbot)
    qtbot.waitUntil(lambda: page.envs.count() == 2 and not page.is_busy(), timeout=120_000)
    rows = [page.envs.item(i).text() for i in range(2)]
    assert rows[0].startswith("✗  cpu-env") and "CPU-only build on a machine with a usable GPU" in rows[0]
    assert rows[1].startswith("•") and "no PyTorch" in rows[1]
    assert "torch 2.13.0 (cu126)" in page.details.text() and page.repair_button.isEnabled()
    page.envs.setCurrentRow(1)
    assert page.repair_button.text() == "&Add PyTorch"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.envs.setCurrentRow(0)
    wizard.grab().save(str(SHOTS / "doctor-check.png"))


def test_repair_from_the_page_restores_nothing_and_installs(make_wizard: Any, qtbot: Any, tmp_path: Path,
                                                            py311: str, wheels: Path,
                                                            confirmations: Confirmations) -> None:
    env = _standin_env(tmp_path)
    wizard = make_wizard(torch_source=str(wheels), autostart_detection=False)
    wizard.doctor_paths, wizard.doctor_scan = [str(env)], False
    page = _go_doctor(wizard, qtbot)
    qtbot.waitUntil(lambda: page.envs.count() == 1 and not page.is_busy(), timeout=120_000)
    assert "torch 2.13.0 (cpu)" in page.details.text()  # the planner's fix for this machine and wheel folder
    page.repair_button.click()
    assert confirmations.asked == ["Repair this environment?"]
    qtbot.waitUntil(lambda: not page.panel.running, timeout=600_000)
    assert "✓" in page.panel.result.text() and "installed and verified" in page.panel.result.text()
    assert "==> Install PyTorch" in page.panel.log.toPlainText()
    assert inspect_env(env).torch == "2.13.0+cpu"
    qtbot.waitUntil(lambda: not page.is_busy(), timeout=120_000)  # the re-check after success
    wizard.grab().save(str(SHOTS / "doctor-repaired.png"))


def test_declined_confirmation_changes_nothing(make_wizard: Any, qtbot: Any, tmp_path: Path, py311: str,
                                               wheels: Path, confirmations: Confirmations) -> None:
    env = _standin_env(tmp_path)
    confirmations.answer = False
    wizard = make_wizard(torch_source=str(wheels), autostart_detection=False)
    wizard.doctor_paths, wizard.doctor_scan = [str(env)], False
    page = _go_doctor(wizard, qtbot)
    qtbot.waitUntil(lambda: page.envs.count() == 1 and not page.is_busy(), timeout=120_000)
    page.repair_button.click()
    assert not page.panel.running and inspect_env(env).torch == "2.12.0+cpu"


def test_envs_page_lists_and_removes_only_marked_envs(make_wizard: Any, qtbot: Any, tmp_path: Path, py311: str,
                                                      confirmations: Confirmations) -> None:
    root = tmp_path / "envs"
    ours = make_env(root, "made-here", with_torch=False).parent.parent
    write_marker(ours, "20260101-000000-1-abcdef", {"torch": "2.13.0", "backend": "cpu"})
    theirs = make_env(root, "someone-elses", with_torch=False).parent.parent
    wizard = make_wizard(env_root=root, detect_fn=recorded_detect("linux-rtx4090"), autostart_detection=False)
    page = _go_doctor(wizard, qtbot, mode="envs")
    assert [r["env"] for r in page.rows] == [str(ours)]
    assert "torch 2.13.0 (cpu)" in page.envs.item(0).text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    wizard.grab().save(str(SHOTS / "doctor-envs.png"))
    page.remove_button.click()
    assert confirmations.asked == ["Remove this environment?"]
    assert not ours.exists() and theirs.exists() and page.rows == []


@pytest.fixture(autouse=True)
def _home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_SETUP_HOME", str(tmp_path / "torch-setup-home"))
