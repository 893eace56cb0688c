"""Progress parsers fed with output recorded from real uv, pip, git and ninja runs (tests/fixtures/progress)."""

from __future__ import annotations

from pathlib import Path

import pytest

from installer.core.progress import ProgressUpdate, parser_for, split_lines

HERE = Path(__file__).resolve().parent.parent / "fixtures" / "progress"


def feed_file(kind: str, name: str) -> list[ProgressUpdate]:
    parser = parser_for(kind)
    updates = []
    for line in split_lines((HERE / name).read_bytes()):
        update = parser.feed(line)
        if update is not None:
            updates.append(update)
    return updates


def fractions(updates: list[ProgressUpdate]) -> list[float]:
    return [u.fraction for u in updates if u.fraction is not None]


def test_uv_cold_install_reports_each_download_and_ends_complete() -> None:
    updates = feed_file("uv", "uv-pip-install-cold.txt")
    texts = [u.text for u in updates]
    assert "Downloading sympy (6.3 MB)" in texts  # uv says 6.0MiB; people read MB
    assert "Downloaded networkx" in texts
    assert texts[-1] == "Installed 10 packages"
    got = fractions(updates)
    assert got == sorted(got), "progress never goes backwards"
    assert got[-1] == 1.0
    # once both downloads are done the step is at the end of its download phase
    assert got[texts.index("Downloaded sympy")] == pytest.approx(0.85)


def test_uv_warm_install_goes_from_resolve_to_done() -> None:
    updates = feed_file("uv", "uv-pip-install-warm.txt")
    assert [u.text for u in updates] == ["Resolved 10 packages", "Installed 10 packages"]
    assert fractions(updates) == [0.05, 1.0]


def test_uv_terminal_bars_give_byte_progress() -> None:
    updates = feed_file("uv", "uv-pip-install-cold-tty.txt")
    texts = [u.text for u in updates]
    assert any(t.startswith("sympy ") and t.endswith("/6 MB") for t in texts), texts[:20]
    assert any(t.startswith("Installing 10/10") for t in texts)
    got = fractions(updates)
    assert got == sorted(got)
    assert 0.05 < got[len(got) // 2] < 1.0
    assert got[-1] == 1.0


@pytest.mark.parametrize("version", ["23.2.1", "24.0", "25.1.1"])
def test_pip_downloads_and_bars_of_each_pip_version(version: str) -> None:
    updates = feed_file("pip", f"pip-{version}-pipe.txt")
    texts = [u.text for u in updates]
    assert "Downloading setuptools (876 kB)" in texts
    assert "setuptools 1/1 MB" in texts  # the bar line "876.3/876.3 kB 637.4 MB/s eta 0:00:00"
    assert texts[-1].startswith("Would install")
    got = fractions(updates)
    assert got == sorted(got) and got[-1] == 1.0


@pytest.mark.parametrize("version", ["23.2.1", "24.0", "25.1.1"])
def test_pip_live_bar_on_a_terminal(version: str) -> None:
    updates = feed_file("pip", f"pip-{version}-tty.txt")
    texts = [u.text for u in updates]
    assert any(t.startswith("Downloading setuptools") for t in texts)
    assert fractions(updates)[-1] == 1.0


def test_pip_raw_progress_counts_bytes() -> None:
    updates = feed_file("pip", "pip-25.1.1-raw.txt")
    raw = [u for u in updates if u.text.startswith("setuptools ")]
    assert [u.text for u in raw] == ["setuptools 0/1 MB", "setuptools 0/1 MB", "setuptools 1/1 MB"]
    assert raw[0].fraction is not None and raw[2].fraction is not None
    assert raw[0].fraction < raw[2].fraction


def test_pip_real_install_reaches_installing_then_success() -> None:
    updates = feed_file("pip", "pip-23.2.1-install-pipe.txt")
    texts = [u.text for u in updates]
    assert "Installing packages" in texts
    assert texts[-1].startswith("Successfully installed")
    assert fractions(updates)[-1] == 1.0


def test_pip_bar_with_a_big_wheel_gives_megabytes() -> None:
    parser = parser_for("pip")
    parser.feed("  Downloading torch-2.13.0-cp311-cp311-manylinux_2_28_x86_64.whl (2310.0 MB)")
    update = parser.feed("     ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ 412.0/2310.0 MB 40.2 MB/s eta 0:00:47")
    assert update is not None
    assert update.text == "torch 412/2310 MB"
    assert update.fraction == pytest.approx(0.02 + 0.83 * 412 / 2310, abs=1e-3)


def test_ninja_counts_edges() -> None:
    updates = feed_file("ninja", "ninja-build.txt")
    assert len(updates) == 40
    assert updates[0].text.startswith("[1/40] Building CXX object")
    assert updates[9].fraction == pytest.approx(10 / 40)
    assert updates[-1].fraction == 1.0


def test_git_clone_phases() -> None:
    updates = feed_file("git", "git-clone.txt")
    texts = [u.text for u in updates]
    assert any(t.startswith("Receiving objects 100%") for t in texts)
    got = fractions(updates)
    assert got == sorted(got)
    assert got[-1] >= 0.8  # received everything


def test_conda_tqdm_bars_and_transaction() -> None:
    updates = feed_file("conda", "conda-lines.txt")
    texts = [u.text for u in updates]
    assert "python-3.6.9 100% of 30.2 MB" in texts
    assert texts[-1] == "Executing the transaction"
    got = fractions(updates)
    assert got == sorted(got)


def test_micromamba_downloads_against_total() -> None:
    updates = feed_file("micromamba", "micromamba-lines.txt")
    texts = [u.text for u in updates]
    assert "3.0 GB to download" in texts
    assert texts[0] == "Reading pytorch/noarch"  # channel index, before the total is known
    assert texts[-1].startswith("ucrt 1.3 MB")
    got = fractions(updates)
    assert got == sorted(got)


def test_unknown_or_missing_parser_reports_nothing() -> None:
    for kind in (None, "", "something-else"):
        assert parser_for(kind).feed("[1/2] Building CXX object x.o") is None


def test_split_lines_handles_crlf_cr_and_ansi() -> None:
    assert split_lines(b"a\r\nb\rc\n\x1b[32mgreen\x1b[0m\r\x1b[2Kdone") == ["a", "b", "c", "green", "done"]
