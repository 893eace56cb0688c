"""Diagnosis of real logs: every category in DESIGN.md has at least one real excerpt (SOURCES.md says
where each came from), each is diagnosed as its file name says, first; clean logs give nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from installer.core import paths
from installer.core.diagnose import (
    CATEGORIES,
    DiagnoseError,
    diagnose_file,
    diagnose_text,
    diagnoses_json,
    load_signatures,
    read_log,
)
from tests.conftest import FIXTURES, REPO

LOGS = FIXTURES / "logs"
FAILURE_LOGS = sorted(p for p in LOGS.glob("*.log") if not p.name.startswith("clean-"))
CLEAN_LOGS = sorted(LOGS.glob("clean-*.log"))


def _category_of(log: Path) -> str:
    return re.sub(r"-\d+(-[a-z]{2})?$", "", log.stem)


def test_design_categories_are_the_data_categories() -> None:
    design = REPO.parent / "shared" / "DESIGN.md"
    if design.is_file():  # the team's design document, beside the checkout
        text = design.read_text(encoding="utf-8")
        section = text[text.index("### Diagnosis categories"):]
        section = section[section.index("\n") + 1: section.index("Signatures are data")]
        assert set(re.findall(r"`([a-z-]+)`", section)) == set(CATEGORIES)
    data = json.loads(paths.resource("diagnoses.json").read_text(encoding="utf-8"))
    assert set(data["categories"]) == set(CATEGORIES)
    assert {s["category"] for s in data["signatures"]} == set(CATEGORIES)


def test_every_category_has_a_real_log_with_a_source() -> None:
    covered = {_category_of(p) for p in FAILURE_LOGS}
    assert covered == set(CATEGORIES)
    sources = (LOGS / "SOURCES.md").read_text(encoding="utf-8")
    for log in [*FAILURE_LOGS, *CLEAN_LOGS]:
        row = next((ln for ln in sources.splitlines() if ln.startswith(f"| {log.name} |")), None)
        assert row, f"{log.name} has no row in SOURCES.md"
        if not log.name.startswith("clean-"):
            # a public report, or a failure recorded here with the exact command that produced it
            assert "https://github.com/" in row or re.search(r"recorded on this project's development machine "
                                                              r"with .*`[^`]+ install [^`]+`", row), row


@pytest.mark.parametrize("log", FAILURE_LOGS, ids=lambda p: p.name)
def test_real_log_is_diagnosed_first_as_its_category(log: Path) -> None:
    diagnoses = diagnose_file(log)
    assert diagnoses, f"nothing found in {log.name}"
    first = diagnoses[0]
    assert first.category == _category_of(log)
    assert first.summary and first.fix
    assert first.evidence and first.evidence.strip("…") in log.read_text(encoding="utf-8")
    assert len({d.category for d in diagnoses}) == len(diagnoses)  # one per category


# The network logs recorded here (SOURCES.md): each names its own cause, not just "the network".
NETWORK_CAUSES = {
    "network-6.log": "could not be resolved", "network-7.log": "could not be resolved",
    "network-8.log": "refused the connection", "network-9.log": "refused the connection",
    "network-10.log": "did not answer in time", "network-11.log": "did not answer in time",
    "network-12.log": "certificate is not trusted", "network-13.log": "certificate is not trusted",
    "network-14.log": "407", "network-15.log": "407",
}


@pytest.mark.parametrize("name", sorted(NETWORK_CAUSES), ids=str)
def test_network_failure_names_its_cause_with_a_wizard_fix(name: str) -> None:
    first = diagnose_file(LOGS / name)[0]
    assert first.category == "network"
    assert NETWORK_CAUSES[name] in first.summary
    # the CLI's fix names flags or variables; the wizard's names its own controls and never a flag
    assert first.gui_fix and "--" not in first.gui_fix and "wheel" in first.gui_fix
    assert first.action == "torch-source"


def test_wizard_wording_stays_out_of_the_cli_json_when_there_is_none() -> None:
    [d] = diagnose_text("OSError: [Errno 28] No space left on device")
    assert d.action == "location" and d.gui_fix and "--" not in d.gui_fix
    plain = diagnose_text("Illegal instruction (core dumped)")[0]
    assert plain.gui_fix is None and plain.action is None
    assert set(diagnoses_json([plain])["diagnoses"][0]) == {"category", "summary", "fix", "evidence"}


@pytest.mark.parametrize("log", CLEAN_LOGS, ids=lambda p: p.name)
def test_clean_log_yields_no_diagnosis(log: Path) -> None:
    assert diagnose_file(log) == []


def test_localised_windows_messages_are_recognised_by_code_and_file() -> None:
    # German and Japanese Windows; no English words in the message itself
    de = 'OSError: [WinError 126] Das angegebene Modul wurde nicht gefunden. Error loading "C:\\x\\torch\\lib\\c10.dll"'
    assert diagnose_text(de)[0].category == "windows-dll-load"
    ja = "OSError: [WinError 1455] ページング ファイルが小さすぎるため、この操作を完了できません。"
    assert diagnose_text(ja)[0].category == "paging-file"
    assert diagnose_text("PermissionError: [WinError 5] アクセスが拒否されました。")[0].category == "permission-denied"
    assert diagnose_text("OSError: [Errno 28] 磁盘空间不足")[0].category == "disk-full"


def test_causes_outrank_consequences() -> None:
    text = (LOGS / "network-1.log").read_text(encoding="utf-8")
    assert [d.category for d in diagnose_text(text)] == ["network", "no-matching-wheel"]
    both = (LOGS / "vc-runtime-missing-1.log").read_text(encoding="utf-8")
    assert [d.category for d in diagnose_text(both)][:2] == ["vc-runtime-missing", "windows-dll-load"]


def test_driver_version_is_decoded_into_the_summary() -> None:
    d = diagnose_file(LOGS / "driver-too-old-1.log")[0]
    assert "CUDA only up to 11.4" in d.summary
    assert "580" in d.fix and "525.60.13" in d.fix


def test_gpu_arch_summary_names_the_sm() -> None:
    assert "sm_120" in diagnose_file(LOGS / "gpu-arch-unsupported-1.log")[0].summary


def test_fixes_never_send_people_to_dll_download_sites() -> None:
    data = json.loads(paths.resource("diagnoses.json").read_text(encoding="utf-8"))
    texts = [c["fix"] for c in data["categories"].values()] + [s.get("fix", "") for s in data["signatures"]]
    for fix in texts:
        assert not re.search(r"dll-?files|dllme|dll\.com|download (the|this) dll", fix, re.IGNORECASE), fix
    assert "winget install Microsoft.VCRedist.2015+.x64" in data["categories"]["vc-runtime-missing"]["fix"]
    assert "LongPathsEnabled" in data["categories"]["long-path"]["fix"]


def test_every_signature_is_exercised_or_deliberately_synthetic() -> None:
    """Each pattern compiles and matches something realistic; this catches a typo that silently never matches."""
    samples = "\n".join(p.read_text(encoding="utf-8") for p in FAILURE_LOGS)
    extra = Path(__file__).with_name("test_diagnose_signatures.py").read_text(encoding="utf-8")
    unmatched = [s.pattern.pattern for s in load_signatures().signatures
                 if not s.pattern.search(samples) and not s.pattern.search(extra)]
    assert unmatched == []


def test_json_shape() -> None:
    out = diagnoses_json(diagnose_file(LOGS / "disk-full-1.log"))
    assert list(out) == ["diagnoses"]
    assert set(out["diagnoses"][0]) >= {"category", "summary", "fix"}
    json.dumps(out)


def test_utf16_log_from_powershell(tmp_path: Path) -> None:
    text = (LOGS / "windows-dll-load-3-zh.log").read_text(encoding="utf-8")
    log = tmp_path / "install.log"
    log.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    assert read_log(log) == text
    assert diagnose_file(log)[0].category == "windows-dll-load"


def test_huge_log_is_read_from_its_end(tmp_path: Path) -> None:
    log = tmp_path / "big.log"
    with log.open("w", encoding="utf-8") as f:
        for i in range(200_000):
            f.write(f"Collecting package-{i} (from torch)\n")
        f.write("ERROR: Could not install packages due to an OSError: [Errno 28] No space left on device\n")
    assert diagnose_file(log)[0].category == "disk-full"


def test_missing_or_folder_log_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DiagnoseError, match="no such log file"):
        diagnose_file(tmp_path / "nope.log")
    with pytest.raises(DiagnoseError, match="not a file"):
        diagnose_file(tmp_path)


def test_empty_text() -> None:
    assert diagnose_text("") == []
