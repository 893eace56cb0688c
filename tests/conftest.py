"""Shared test set-up: Qt offscreen, and a private TORCH_SETUP_HOME so tests never touch the user's folders."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(autouse=True)
def torch_setup_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("torch-setup-home")
    monkeypatch.setenv("TORCH_SETUP_HOME", str(home))
    yield home


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES
