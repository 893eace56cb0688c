"""Fixtures for the wizard tests: the real catalog, local wheels, a Python 3.11, a wizard factory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from wizard_driver import Confirmations, need

from tests.torch_env import python311
from tests.torch_env import wheel_folder as wheels_folder


@pytest.fixture
def wheels() -> Path:
    folder = wheels_folder()
    if folder is None:
        need("the torch 2.13.0 wheel", "set TORCH_SETUP_TEST_WHEELS or pip's global.find-links")
    assert folder is not None
    return folder


@pytest.fixture
def py311() -> str:
    exe = python311()
    if exe is None:
        need("Python 3.11", "python3.11 on PATH or ~/.pyenv/versions/3.11*")
    assert exe is not None
    return exe


@pytest.fixture
def catalog() -> Any:
    from installer.core.catalog import Catalog

    return Catalog.load(refresh_timeout=None)


@pytest.fixture
def scratch_settings(tmp_path: Path) -> Any:
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def confirmations() -> Confirmations:
    return Confirmations()


@pytest.fixture
def make_wizard(qtbot: Any, tmp_path: Path, scratch_settings: Any,
                confirmations: Confirmations) -> Iterator[Callable[..., Any]]:
    """Build a TorchSetupWizard; the list keeps a strong reference until its threads have ended."""
    from installer.gui.wizard import TorchSetupWizard

    made: list[Any] = []

    def build(**kwargs: Any) -> Any:
        kwargs.setdefault("settings", scratch_settings)
        kwargs.setdefault("env_root", tmp_path / "envs")
        kwargs.setdefault("confirm", confirmations)
        wizard = TorchSetupWizard(**kwargs)
        qtbot.addWidget(wizard)
        wizard.show()
        made.append(wizard)
        return wizard

    yield build
    for wizard in made:
        wizard.stop_jobs()


