"""SystemReport keeps the public JSON shape of DESIGN.md and reads back what it writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from installer.core.report import (
    CondaInfo,
    GPUInfo,
    OSInfo,
    ProbeResult,
    PythonInfo,
    ReportError,
    SystemReport,
    ToolInfo,
    Tools,
    normalize_arch,
)


def _sample() -> SystemReport:
    return SystemReport(
        os=OSInfo(name="linux", version="6.8", arch="x86_64", wsl=True),
        gpus=[GPUInfo(vendor="nvidia", name="NVIDIA GeForce RTX 3060", compute_capability="8.6", memory_mib=12288)],
        nvidia_driver="560.94",
        pythons=[PythonInfo(executable="/usr/bin/python3.12", version="3.12.4", arch="x86_64", bits=64,
                            free_threaded=False, source="PATH")],
        tools=Tools(conda=CondaInfo(executable="/opt/conda/bin/conda", version="24.11.3", flavor="conda"),
                    git=ToolInfo(executable="/usr/bin/git", version="2.43.0")),
        probes=[ProbeResult(name="nvidia", seconds=0.12)],
    )


def test_contract_keys() -> None:
    data = json.loads(_sample().dumps())
    assert next(iter(data)) == "schema_version" and data["schema_version"] == 1
    assert set(data["os"]) >= {"name", "version", "arch", "wsl", "container", "tegra"}
    assert set(data["gpus"][0]) >= {"vendor", "name", "compute_capability", "gfx_arch", "discrete", "memory_mib"}
    assert set(data["pythons"][0]) >= {"executable", "version", "arch", "bits", "free_threaded", "source"}
    assert set(data["tools"]) >= {"conda", "git", "cmake", "ninja", "compiler", "nvcc"}
    assert set(data["tools"]["conda"]) >= {"executable", "version", "flavor"}
    assert data["tools"]["cmake"] is None
    assert set(data["probes"][0]) == {"name", "seconds", "error"}
    assert data["nvidia_driver"] == "560.94"


def test_round_trip_through_a_file(tmp_path: Path) -> None:
    report = _sample()
    path = tmp_path / "machine.json"
    path.write_text(report.dumps(), encoding="utf-8")
    assert SystemReport.load(path) == report


def test_unknown_keys_from_newer_writers_are_ignored() -> None:
    data = _sample().to_json()
    data["os"]["future_field"] = 1
    data["gpus"][0]["mig"] = True
    assert SystemReport.from_json(data).gpus[0].name == "NVIDIA GeForce RTX 3060"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"schema_version": 2, "os": {}}', "unsupported schema_version"),
        ('{"schema_version": 1}', "no 'os'"),
        ('{"schema_version": 1, "os": {"name": "linux"}}', "os.version: is missing"),
        ('{"schema_version": 1, "os": {"name": "linux", "version": "1", "arch": "x86_64"}, "gpus": [3]}',
         "expected an object"),
    ],
)
def test_bad_reports_raise_readable_errors(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "r.json"
    path.write_text(content)
    with pytest.raises(ReportError, match=fragment):
        SystemReport.load(path)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("AMD64", "x86_64"), ("x86_64", "x86_64"), ("aarch64", "arm64"), ("ARM64", "arm64"), ("i686", "x86")],
)
def test_arch_is_normalised(raw: str, expected: str) -> None:
    assert normalize_arch(raw) == expected


def test_every_fixture_report_loads(fixtures_dir: Path) -> None:
    paths = sorted((fixtures_dir / "reports").glob("*.json"))
    assert len(paths) >= 10
    for path in paths:
        report = SystemReport.load(path)
        assert report.os.name in ("linux", "windows", "macos")
        assert report.os.arch in ("x86_64", "arm64")
