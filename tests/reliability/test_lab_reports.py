"""Reports people read: `report merge` over a real install report and recorded ones from other machines;
`report html` for one machine; the wizard's Finish page saves the same page (one renderer)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from installer.core.htmlreport import machine_html
from tests.e2e.cli_run import REPO, cli_env
from tests.reliability.test_lab_bundle import _choices, _folder

SYSTEMS = REPO / "tests" / "fixtures" / "reports"


def _recorded(system: str, **result: object) -> dict[str, object]:
    data = json.loads((SYSTEMS / system).read_text())
    backend = str(result.pop("backend", "cu126"))
    return {"torch_setup": "0.1", "started": "2026-12-01T10:00:00+0000", "changed": True, "system": data,
            "plan": {"torch": "2.13.0", "backend": backend, "method": "pip", "python": "3.11", "env": "/opt/envs/torch",
                     "reasons": [f"{backend}: the newest CUDA build the driver runs."], "steps": []},
            "seconds": 41.0, "step_seconds": {"Install PyTorch": 30.0, "Verify": 11.0}, **result}


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "installer", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=900)


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_report_merge_puts_failures_first_and_counts_builds_and_problems(tmp_path: Path) -> None:
    folder = _folder()
    env = cli_env(tmp_path)
    reports = tmp_path / "reports"
    reports.mkdir()
    # a real install on this machine
    done = _cli(["install", *_choices(folder), "--env", str(tmp_path / "env"), "--yes",
                 "--report", str(reports / "this-machine.json")], env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    ok_verify = {"ok": True, "torch": "2.13.0+cu126", "backend": "cu126", "throughput_gflops": 51234.5,
                 "throughput_device": "cuda:0", "checks": [{"name": "cuda kernel", "ok": True, "detail": "works"}]}
    recorded = {
        "gpu-01": _recorded("linux-h100.json", ok=True, exit_code=0, verify=ok_verify),
        "gpu-02": _recorded("linux-h100.json", ok=True, exit_code=0, verify=ok_verify),
        "old-01": _recorded("linux-gtx1080-old-driver.json", ok=False, exit_code=3, verify={"ok": False},
                            diagnoses=[{"category": "driver-too-old", "summary": "The NVIDIA driver 470 is too old "
                                        "for CUDA 12.6.", "fix": "Install driver 560 or newer."}]),
        "amd-01": _recorded("linux-amd-rx6700.json", backend="rocm6.4", ok=False, exit_code=1,
                            diagnoses=[{"category": "network", "summary": "The download was cut off.",
                                        "fix": "Retry."}]),
    }
    for name, data in recorded.items():
        (reports / f"{name}.json").write_text(json.dumps(data))
    page = tmp_path / "fleet.html"
    done = _cli(["report", "merge", *sorted(map(str, reports.glob("*.json"))), "--html", str(page)], env)
    assert done.returncode == 0, done.stderr
    assert "5 machine(s), 2 need attention" in done.stdout
    html = page.read_text()
    assert "<script" not in html and "<link" not in html and "src=" not in html  # self-contained
    text = _text(html)
    assert "5 machines: 3 work, 2 need attention" in text
    rows = re.findall(r"<tr><td>([^<]+)</td><td class=\"(good|bad)\">([^<]+)</td>", html)
    assert [r[0] for r in rows][:2] == ["amd-01", "old-01"]  # failures first
    assert {r[0]: r[2] for r in rows} == {"amd-01": "failed", "old-01": "verification failed", "gpu-01": "works",
                                          "gpu-02": "works", "this-machine": "works"}
    assert "torch 2.13.0+cu126 (cu126) 2" in text and "torch 2.13.0+cpu (cpu) 1" in text
    assert "driver-too-old 1" in text and "network 1" in text
    assert "NVIDIA H100 80GB HBM3" in text and "535.154.05" in text and "51234.5" in text

    one = tmp_path / "one.html"
    done = _cli(["report", "html", str(reports / "this-machine.json"), "--html", str(one)], env)
    assert done.returncode == 0, done.stderr
    text = _text(one.read_text())
    assert "Torch Setup report: this-machine" in text and "works" in text
    assert "Why this build" in text and "torch 2.13.0: the version you asked for" in text
    assert re.search(r"Matmul speed [\d.]+ GFLOP/s on cpu", text)
    assert "Verify" in text and "import torch" in text  # timings and the checks


def test_a_damaged_report_is_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    done = _cli(["report", "merge", str(bad), "--html", str(tmp_path / "x.html")], cli_env(tmp_path))
    assert done.returncode == 2 and "is not a Torch Setup report" in done.stderr


def test_the_finish_page_saves_the_same_page_as_the_cli() -> None:
    from installer.gui.pages.finish import summary_html

    data = _recorded("linux-h100.json", ok=False, exit_code=1,
                     diagnoses=[{"category": "network", "summary": "Cut off.", "fix": "Retry."}])
    wizard_shape = {"written": "now", "torch_setup": "0.1", "plan": data["plan"], "system": data["system"],
                    "verify": None, "result": {k: data[k] for k in ("ok", "exit_code", "seconds", "step_seconds",
                                                                    "diagnoses")}}
    page = summary_html(wizard_shape)
    assert page == machine_html(wizard_shape)
    assert "Cut off." in page and "NVIDIA H100" in page and "failed" in page
