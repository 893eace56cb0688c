"""An administrator's [policy] in the machine config file greys the wizard's locked fields with
"set by your administrator", and the wizard's plans keep to it (issue 12)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from wizard_driver import go_to, recorded_detect

from installer.core.settings import MACHINE_CONFIG_VAR
from installer.gui.wizard import PageId


@pytest.fixture
def locked_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "lab-envs"
    config = tmp_path / "machine.toml"
    config.write_text(f'[policy]\nbackends = ["cpu", "cu126"]\ntorch_versions = ["2.13"]\nsource_builds = false\n'
                      f'env_root = "{root}"\n', encoding="utf-8")
    monkeypatch.setenv(MACHINE_CONFIG_VAR, str(config))
    return root


def test_locked_fields_are_greyed_and_say_who_set_them(qtbot: Any, make_wizard: Any, catalog: Any,
                                                       locked_machine: Path) -> None:
    wizard = make_wizard(detect_fn=recorded_detect("linux-rtx4090"), catalog=catalog)
    go_to(qtbot, wizard, PageId.METHOD)
    page = wizard.currentPage()
    assert not page.method_buttons["source"].isEnabled()
    assert "Set by your administrator" in page.method_notes["source"].text()
    backends = [page.backend_combo.itemData(i) for i in range(page.backend_combo.count())]
    assert set(backends) <= {"auto", "cpu", "cu126"} and "cpu" in backends
    assert "set by your administrator: cpu, cu126" in page.backend_combo.toolTip()
    versions = [page.version_combo.itemData(i) for i in range(page.version_combo.count())]
    assert versions and all(str(v).startswith("2.13") for v in versions), versions
    assert page.policy_note.isVisibleTo(page) and "set by your administrator" in page.policy_note.text()
    go_to(qtbot, wizard, PageId.ENVIRONMENT)
    env_page = wizard.currentPage()
    assert not env_page.location_edit.isEnabled() and not env_page.browse_button.isEnabled()
    assert env_page.location_edit.text() == str(locked_machine)
    assert "set by your administrator" in env_page.location_edit.toolTip()
