"""The Linux one-file binary's launcher (packaging/launcher.py) and payload (packaging/payload.py): unpack
once into a versioned cache folder, atomically; reuse it; survive damage, races and an unwritable cache."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "packaging"))

import launcher  # noqa: E402
import payload  # noqa: E402

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the one-file launcher is Linux's")


def fake_app(root: Path, marker: str = "hello") -> Path:
    """A onedir app: an executable script at the top, a library folder with a symlink."""
    app = root / "app"
    (app / "_internal" / "lib").mkdir(parents=True)
    exe = app / launcher.APP_EXE
    exe.write_text(f"#!/bin/sh\necho {marker} \"$@\"\nexit 7\n", encoding="utf-8")
    exe.chmod(0o755)
    (app / "_internal" / "lib" / "libx.so.1").write_bytes(b"\x7fELF" + os.urandom(2048))
    os.symlink("libx.so.1", app / "_internal" / "lib" / "libx.so")
    return app


@pytest.fixture
def binary(tmp_path: Path) -> Path:
    stub = tmp_path / "launcher-stub"
    stub.write_bytes(b"\x7fELF not really a launcher" + os.urandom(4096))  # bytes in front of the zip
    out = tmp_path / "torch-setup"
    payload.append_payload(stub, fake_app(tmp_path), out, "9.9.9", section=False)
    return out


def test_payload_is_appended_and_readable(binary: Path, tmp_path: Path) -> None:
    assert binary.read_bytes().startswith(b"\x7fELF not really")
    with zipfile.ZipFile(binary) as archive:
        ident = launcher.payload_id(archive)
        assert ident.startswith("9.9.9-") and len(ident) == len("9.9.9-") + 16
        folder = launcher.unpack_into_cache(archive, tmp_path / "cache", ident)
    assert folder == tmp_path / "cache" / ident and launcher.is_ready(folder, ident)
    assert os.access(folder / launcher.APP_EXE, os.X_OK)  # permission bits survive the zip
    assert os.readlink(folder / "_internal" / "lib" / "libx.so") == "libx.so.1"
    done = subprocess.run([str(folder / launcher.APP_EXE), "a b"], capture_output=True, text=True)
    assert done.returncode == 7 and done.stdout.strip() == "hello a b"


def test_a_different_app_gets_a_different_folder(tmp_path: Path) -> None:
    one = payload.payload_id(fake_app(tmp_path / "one", "one"), "1.0")
    two = payload.payload_id(fake_app(tmp_path / "two", "two"), "1.0")
    assert one != two and one == payload.payload_id(tmp_path / "one" / "app", "1.0")


def test_a_ready_folder_is_reused_without_unpacking(binary: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    with zipfile.ZipFile(binary) as archive:
        ident = launcher.payload_id(archive)
        first = launcher.unpack_into_cache(archive, tmp_path / "cache", ident)

        def no_unpacking(*_args: object) -> None:
            raise AssertionError("unpacked again")

        monkeypatch.setattr(launcher, "extract", no_unpacking)
        assert launcher.unpack_into_cache(archive, tmp_path / "cache", ident) == first


def test_a_damaged_folder_is_replaced(binary: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(binary) as archive:
        ident = launcher.payload_id(archive)
        broken = tmp_path / "cache" / ident
        (broken / "_internal").mkdir(parents=True)  # half an app, no stamp (a crash of an old launcher)
        folder = launcher.unpack_into_cache(archive, tmp_path / "cache", ident)
    assert launcher.is_ready(folder, ident)
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [ident]  # nothing set aside is left


def test_concurrent_first_launches_share_one_complete_folder(binary: Path, tmp_path: Path) -> None:
    results: list[Path] = []
    errors: list[BaseException] = []

    def launch() -> None:
        try:
            with zipfile.ZipFile(binary) as archive:
                results.append(launcher.unpack_into_cache(archive, tmp_path / "cache", launcher.payload_id(archive)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=launch) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(set(results)) == 1 and len(results) == 6
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [results[0].name]  # no partial folders


def test_an_unwritable_cache_raises_and_leaves_nothing(binary: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with zipfile.ZipFile(binary) as archive, pytest.raises(OSError):
        launcher.unpack_into_cache(archive, blocker / "cache", launcher.payload_id(archive))


def test_fallback_runs_from_a_temporary_folder_and_removes_it(binary: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               capfd: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("TORCH_SETUP_HOME", str(blocker / "home"))  # the cache cannot be made there
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    code = launcher.main(["x"], executable=str(binary))
    out, err = capfd.readouterr()
    assert code == 7 and "hello x" in out and "for this run only" in err
    assert list(scratch.iterdir()) == []  # the temporary app is gone


def test_entries_outside_the_folder_are_refused(tmp_path: Path) -> None:
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("../outside", "x")
        archive.writestr(launcher.ID_ENTRY, "1.0-abc\n")
    with zipfile.ZipFile(evil) as archive, pytest.raises(ValueError):
        launcher.unpack_into_cache(archive, tmp_path / "cache", "1.0-abc")
    assert not (tmp_path / "outside").exists()
    assert list((tmp_path / "cache").iterdir()) == []


def test_the_app_does_not_inherit_the_launchers_bootloader_settings() -> None:
    env = launcher.app_environment({"LD_LIBRARY_PATH": "/tmp/_MEI1", "LD_LIBRARY_PATH_ORIG": "/opt/lib",
                                    "_PYI_ARCHIVE_FILE": "x", "_MEIPASS2": "y", "HOME": "/h"})
    assert env == {"LD_LIBRARY_PATH": "/opt/lib", "HOME": "/h"}
    assert "LD_LIBRARY_PATH" not in launcher.app_environment({"LD_LIBRARY_PATH": "/tmp/_MEI1"})


def test_cache_root_follows_torch_setup_home_and_xdg(tmp_path: Path) -> None:
    assert launcher.cache_root({"TORCH_SETUP_HOME": str(tmp_path)}) == tmp_path / "cache" / "app"
    assert launcher.cache_root({"XDG_CACHE_HOME": "/x/c", "HOME": "/h"}) == Path("/x/c/torch-setup/app")
    assert launcher.cache_root({"HOME": "/h"}) == Path("/h/.cache/torch-setup/app")
