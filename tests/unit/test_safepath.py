"""Paths are judged where they really lead: `..` after a link, missing folders, and the lock key."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from installer.core import safepath


def test_dotdot_through_a_missing_folder_collapses(tmp_path: Path) -> None:
    assert safepath.canonical(f"{tmp_path}/missing/../v") == tmp_path / "v"


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_dotdot_after_a_link_goes_up_from_the_links_target(tmp_path: Path) -> None:
    (tmp_path / "real" / "inner").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "real" / "inner")
    # What the OS opens: link -> real/inner, then .. -> real. A purely textual collapse would say tmp_path/x.
    assert safepath.canonical(tmp_path / "link" / ".." / "x") == tmp_path / "real" / "x"


def test_home_is_expanded_and_the_result_is_absolute(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("USERPROFILE", str(tmp_path))
    assert safepath.canonical("~/envs/a") == tmp_path.resolve() / "envs" / "a"
    monkeypatch.chdir(tmp_path)
    assert safepath.canonical("rel").is_absolute()


def test_missing_ancestors_outermost_first(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "c"
    assert safepath.missing_ancestors(target) == [tmp_path / "a", tmp_path / "a" / "b"]
    (tmp_path / "a").mkdir()
    assert safepath.missing_ancestors(target) == [tmp_path / "a" / "b"]


def test_identity_is_device_and_inode_of_the_folder_itself(tmp_path: Path) -> None:
    folder = tmp_path / "x"
    folder.mkdir()
    st = os.lstat(folder)
    assert safepath.identity(folder) == [st.st_dev, st.st_ino]
    assert safepath.identity(tmp_path / "nothing") is None


def test_key_folds_case_and_unicode_only_where_the_os_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    composed, decomposed = tmp_path / "caf\u00e9", tmp_path / "cafe\u0301"
    monkeypatch.setattr(safepath, "_FOLDS_CASE", True)
    assert safepath.key(tmp_path / "Envs") == safepath.key(tmp_path / "envs")
    assert safepath.key(composed) == safepath.key(decomposed)
    monkeypatch.setattr(safepath, "_FOLDS_CASE", False)
    assert safepath.key(tmp_path / "Envs") != safepath.key(tmp_path / "envs")


def test_is_within(tmp_path: Path) -> None:
    assert safepath.is_within(tmp_path / "a" / "b", tmp_path / "a")
    assert not safepath.is_within(tmp_path / "ab", tmp_path / "a")
    assert safepath.is_within(tmp_path / "a" / ".." / "a" / "c", tmp_path / "a")
