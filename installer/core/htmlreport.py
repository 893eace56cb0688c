"""Reports people read: one machine's install as a self-contained HTML page (the CLI's `--report` JSON and
the wizard's Finish page share this renderer), and a whole lab's reports merged into one page."""

from __future__ import annotations

import html
import json
import shlex
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STYLE = """body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;line-height:1.45}
th{text-align:left;padding:.2rem 1rem .2rem 0;vertical-align:top}td{padding:.2rem 1rem .2rem 0;vertical-align:top}
code{font-size:.9em;word-break:break-all}pre{white-space:pre-wrap;font-size:.8em}
table.fleet{border-collapse:collapse}table.fleet td,table.fleet th{border-bottom:1px solid #bbbbbb;padding:4px 10px 4px 0}
.bad{color:#b00020;font-weight:bold}.good{color:#1b7f3b;font-weight:bold}.note{color:#8a6100;font-weight:bold}"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _page(title: str, body: str) -> str:
    # No scripts, no external files: the page opens from a USB stick or an e-mail attachment.
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>\n'
            f'<meta name="color-scheme" content="light dark">\n<style>{STYLE}</style></head><body>\n'
            f"{body}\n</body></html>\n")


@dataclass
class Outcome:
    """One machine's install, read from either report shape (CLI `--report` or the wizard's summary)."""

    machine: str
    status: str  # "works", "unchanged", "verification failed", "failed", "cancelled"
    ok: bool
    torch: str
    backend: str
    gpus: str
    driver: str
    gflops: float | None
    seconds: float | None
    problems: list[dict[str, Any]]
    data: dict[str, Any]

    @property
    def build(self) -> str:
        return f"torch {self.torch} ({self.backend})" if self.torch else "none"


def outcome(data: dict[str, Any], machine: str = "") -> Outcome:
    result: dict[str, Any] = data["result"] if isinstance(data.get("result"), dict) else data
    plan = data.get("plan") or {}
    verify = data.get("verify") or {}
    system = data.get("system") or {}
    exit_code = result.get("exit_code")
    ok = bool(result.get("ok")) if result.get("ok") is not None else bool(verify.get("ok"))
    if result.get("cancelled"):
        status = "cancelled"
    elif data.get("changed") is False and ok:
        status = "unchanged"
    elif ok:
        status = "works"
    elif exit_code == 3:
        status = "verification failed"
    else:
        status = "failed"
    # an 8-GPU node reads "8 × NVIDIA H100", not the same name eight times
    names = Counter(str(g.get("name")) for g in system.get("gpus") or [] if isinstance(g, dict))
    gpus = ", ".join(f"{n} × {name}" if n > 1 else name for name, n in names.items()) or "no GPU"
    os_info = system.get("os") or {}
    name = machine or system.get("hostname") or f"{os_info.get('distro') or os_info.get('name', '?')}"
    return Outcome(
        machine=name, status=status, ok=ok, torch=str(verify.get("torch") or plan.get("torch") or ""),
        backend=str(verify.get("backend") or plan.get("backend") or ""), gpus=gpus,
        driver=str(system.get("nvidia_driver") or system.get("rocm_version") or "-"),
        gflops=verify.get("throughput_gflops"), seconds=result.get("seconds"),
        problems=[d for d in result.get("diagnoses") or data.get("diagnoses") or [] if isinstance(d, dict)],
        data=data)


def machine_html(data: dict[str, Any], machine: str = "") -> str:
    """One machine: system, GPUs and driver, the build and why, timings, verification with its speed, diagnosis."""
    o = outcome(data, machine)
    plan = data.get("plan") or {}
    verify = data.get("verify") or {}
    result: dict[str, Any] = data["result"] if isinstance(data.get("result"), dict) else data
    system = data.get("system") or {}
    os_info = system.get("os") or {}
    klass = "good" if o.ok else "bad"
    rows = [
        ("Result", f'<span class="{klass}">{_e(o.status)}</span>'),
        ("PyTorch", _e(o.build)),
        ("Method", _e(plan.get("method"))),
        ("Python", _e(plan.get("python"))),
        ("Environment", _e(plan.get("env"))),
        ("System", _e(f"{os_info.get('distro') or os_info.get('name', '')} {os_info.get('arch', '')}".strip())),
        ("GPUs", _e(o.gpus)),
        ("Driver", _e(o.driver)),
        ("Total time", _e(f"{o.seconds:.1f} s") if isinstance(o.seconds, (int, float)) else ""),
        ("Matmul speed", _e(f"{o.gflops:.1f} GFLOP/s on {verify.get('throughput_device') or o.backend}")
         if isinstance(o.gflops, (int, float)) else ""),
        ("Log file", _e(result.get("log_path"))),
    ]
    table = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows if v)
    reasons = "".join(f"<li>{_e(r)}</li>" for r in plan.get("reasons") or [])
    steps = result.get("step_seconds") or {}
    timings = "".join(f"<tr><th>{_e(k)}</th><td>{float(v):.1f} s</td></tr>" for k, v in steps.items()
                      if isinstance(v, (int, float)))
    checks = "".join(f"<tr><th>{'✓' if c.get('ok') else '✗'} {_e(c.get('name'))}</th><td>{_e(c.get('detail'))}</td></tr>"
                     for c in verify.get("checks") or [] if isinstance(c, dict))
    problems = "".join(f"<li><b>{_e(d.get('summary'))}</b><br>Fix: {_e(d.get('fix'))}</li>" for d in o.problems)
    commands = "".join(f"<li>{_e(s.get('name'))}<br><code>{_e(shlex.join(map(str, s.get('argv', []))))}</code></li>"
                       for s in plan.get("steps") or [] if isinstance(s, dict))
    written = data.get("written") or data.get("started") or ""
    body = (f"<h1>Torch Setup report: {_e(o.machine)}</h1><p>Written {_e(written)} by Torch Setup "
            f"{_e(data.get('torch_setup'))}.</p><table>{table}</table>"
            + (f"<h2>Why this build</h2><ul>{reasons}</ul>" if reasons else "")
            + (f"<h2>Timings</h2><table>{timings}</table>" if timings else "")
            + (f"<h2>Verification</h2><table>{checks}</table>" if checks else "")
            + (f"<h2>Diagnosis</h2><ul>{problems}</ul>" if problems else "")
            + (f"<h2>Commands</h2><ol>{commands}</ol>" if commands else "")
            + f"<h2>All data</h2><pre>{_e(json.dumps(data, indent=2, ensure_ascii=False))}</pre>")
    return _page(f"Torch Setup report: {o.machine}", body)


def load_reports(paths: list[Path]) -> list[Outcome]:
    """Each report file as an Outcome named after its file (the Ansible role fetches <host>.json)."""
    outcomes = []
    for path in paths:
        try:
            data = json.loads(path.read_text(encoding="utf-8", errors="replace"))
        except (OSError, ValueError) as exc:
            from installer.core.plan import ChoiceError

            raise ChoiceError(f"{path} is not a Torch Setup report: {exc}.") from None
        if not isinstance(data, dict) or not ("plan" in data or "result" in data or "verify" in data):
            from installer.core.plan import ChoiceError

            raise ChoiceError(f"{path} is not a Torch Setup report (no plan, result or verification).")
        outcomes.append(outcome(data, path.stem))
    return outcomes


_ORDER = {"failed": 0, "verification failed": 1, "cancelled": 2, "works": 3, "unchanged": 4}


def fleet_html(outcomes: list[Outcome], title: str = "PyTorch on the lab's machines") -> str:
    """One page for the lab: a row per machine, failures first, counts per build and per problem."""
    rows = sorted(outcomes, key=lambda o: (_ORDER.get(o.status, 0), o.machine))
    failed = sum(1 for o in outcomes if not o.ok)
    builds = Counter(o.build for o in outcomes if o.ok)
    problems = Counter(str(d.get("category") or d.get("summary")) for o in outcomes for d in o.problems)
    without = sum(1 for o in outcomes if not o.ok and not o.problems)
    if without:
        problems["no diagnosis"] += without

    def row(o: Outcome) -> str:
        klass = "good" if o.ok else "bad"
        problem = "; ".join(str(d.get("summary")) for d in o.problems) or ("" if o.ok else "see the machine's log")
        speed = f"{o.gflops:.1f}" if isinstance(o.gflops, (int, float)) else "-"
        secs = f"{o.seconds:.0f} s" if isinstance(o.seconds, (int, float)) else "-"
        return (f'<tr><td>{_e(o.machine)}</td><td class="{klass}">{_e(o.status)}</td><td>{_e(o.build)}</td>'
                f"<td>{_e(o.gpus)}</td><td>{_e(o.driver)}</td><td>{speed}</td><td>{secs}</td><td>{_e(problem)}</td></tr>")

    count_rows = "".join(f"<tr><td>{_e(k)}</td><td>{v}</td></tr>" for k, v in builds.most_common())
    problem_rows = "".join(f"<tr><td>{_e(k)}</td><td>{v}</td></tr>" for k, v in problems.most_common())
    body = (f"<h1>{_e(title)}</h1><p><b>{len(outcomes)} machines: {len(outcomes) - failed} work, "
            f'<span class="{"bad" if failed else "good"}">{failed} need attention</span>.</b></p>'
            '<table class="fleet" cellpadding="4" cellspacing="0"><tr><th>Machine</th><th>Result</th><th>Build</th><th>GPUs</th><th>Driver</th>'
            "<th>GFLOP/s</th><th>Time</th><th>Problem</th></tr>" + "".join(row(o) for o in rows) + "</table>"
            f'<h2>Builds</h2><table class="fleet" cellpadding="4" cellspacing="0"><tr><th>Build</th><th>Machines</th></tr>{count_rows}</table>'
            + (f'<h2>Problems</h2><table class="fleet" cellpadding="4" cellspacing="0"><tr><th>Problem</th><th>Machines</th></tr>{problem_rows}</table>'
               if problem_rows else "<h2>Problems</h2><p>None.</p>"))
    return _page(title, body)
