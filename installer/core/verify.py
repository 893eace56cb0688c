"""Verification: run resources/verify_probe.py with the new environment's Python and read its verdict.

The probe prints one JSON object after a marker line; this module turns that (or a crash, a timeout,
output with no JSON at all) into a VerifyReport, whose JSON keys are a public contract (DESIGN.md).
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from installer.core import paths, process, schema

MARKER = "TORCH_SETUP_VERIFY_JSON"
STEP_PREFIX = "TORCH_SETUP_VERIFY_STEP "
TAIL_CHARS = 2000

# How a process that died of a signal shows up: negative signal numbers from Python on POSIX,
# 128+N from a shell, NTSTATUS codes (unsigned and signed) on Windows.
_CRASHES: dict[int, str] = {
    -4: "illegal instruction", 132: "illegal instruction",
    0xC000001D: "illegal instruction", 0xC000001D - 2**32: "illegal instruction",
    -11: "segmentation fault", 139: "segmentation fault",
    0xC0000005: "access violation", 0xC0000005 - 2**32: "access violation",
    -6: "aborted", 134: "aborted",
    -7: "bus error", 135: "bus error",
    -9: "killed (often: out of memory)", 137: "killed (often: out of memory)",
    0xC0000409: "stack buffer overrun (fast fail)", 0xC0000409 - 2**32: "stack buffer overrun (fast fail)",
    0xC0000135: "a DLL was not found (STATUS_DLL_NOT_FOUND)", 0xC0000135 - 2**32: "a DLL was not found (STATUS_DLL_NOT_FOUND)",
}


def crash_reason(returncode: int | None) -> str | None:
    """A plain name for a returncode that means the process crashed, else None."""
    if returncode is None:
        return None
    return _CRASHES.get(returncode)


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class DeviceReport:
    index: int
    kind: str  # "cuda" | "rocm" | "xpu" | "mps"
    device: str  # "cuda:0", "mps"
    name: str | None = None
    capability: str | None = None  # NVIDIA compute capability, "8.6"
    arch: str | None = None  # AMD gfx target, "gfx1100:xnack-"
    memory_mib: int | None = None
    arch_ok: bool | None = None  # the build has kernels for it (None: not checked)
    kernel_ok: bool | None = None  # a real kernel on it matched the CPU
    max_abs_diff: float | None = None
    error: str | None = None


@dataclass
class PackageReport:
    installed: bool = False
    version: str | None = None
    ok: bool | None = None  # None: not installed and not required
    detail: str = ""


@dataclass
class BytecodeReport:
    seeded: int = 0  # .pyc files copied from the cache before `import torch` (identical source only)
    stored: int = 0  # .pyc files the import compiled and the cache did not have yet
    seconds: float = 0.0  # both together
    skipped: str | None = None  # why the cache was not used


@dataclass
class VerifyReport:
    ok: bool
    torch: str | None = None  # "2.13.0+cpu"
    cuda: str | None = None  # torch.version.cuda
    devices: list[DeviceReport] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    python: str | None = None  # "3.11.7"
    python_executable: str | None = None
    hip: str | None = None  # torch.version.hip
    expect: str | None = None  # the backend asked for
    expect_torch: str | None = None  # the planned torch version, local label included: "2.13.0+cpu"
    expect_from: str | None = None  # where the plan takes torch from: "the wheel folder /w"
    build: str | None = None  # what torch was built for: "cpu", "cu130", "rocm7.2", "xpu", "mps"
    backend: str | None = None  # what actually runs: the build when a device works, else "cpu"
    available: dict[str, bool] = field(default_factory=dict)  # {"cuda", "mps", "xpu"}
    arch_list: list[str] = field(default_factory=list)  # torch.cuda.get_arch_list()
    cpu_capability: str | None = None  # "AVX2", "AVX512"
    throughput_gflops: float | None = None
    throughput_device: str | None = None
    throughput_detail: str | None = None  # how the figure was measured: "median of 9 float32 768x768 matmuls …"
    packages: dict[str, PackageReport] = field(default_factory=dict)
    error: str | None = None  # why verification could not run or torch could not load
    seconds: float | None = None  # wall time, start of the probe to its end
    step_seconds: dict[str, float] = field(default_factory=dict)
    returncode: int | None = None
    last_step: str | None = None  # what the probe was doing when it stopped
    output_tail: str | None = None  # kept when no JSON came back
    bytecode: BytecodeReport | None = None  # the bytecode cache, when the probe was given one

    def failed_checks(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False)

    @classmethod
    def from_json(cls, data: Any) -> VerifyReport:
        """Read a report (ours or the probe's JSON); unknown keys are ignored, missing ones defaulted."""
        if not isinstance(data, dict):
            raise ValueError("a verify report must be a JSON object")
        # every field type-checked (schema.SchemaError is a ValueError naming the field); a missing
        # "ok" reads as a failure, never as a pass
        return schema.build(cls, {"ok": False, **data})


# The probe's progress lines that are not checks, in words; every other one reads "checking <step>".
_STEP_WORDS = {"bytecode cache": "reusing modules compiled by earlier installs",
               "keep bytecode": "keeping the modules compiled now for the next install"}


def step_words(step: str) -> str:
    """A probe progress line as a person reads it: "checking import torch"."""
    step = step.strip()
    return _STEP_WORDS.get(step, f"checking {step}")


def bytecode_cache_dir() -> Path:
    """Where the probe keeps the bytecode of the modules `import torch` compiled, for the next environment."""
    return paths.cache_dir() / "bytecode"


def probe_argv(python: str, expect: str | None = None, require: list[str] | None = None, *,
               expect_torch: str | None = None, expect_from: str | None = None,
               bytecode_cache: str | None = None) -> list[str]:
    """The command that runs the probe with `python`; expect_torch is the planned torch version
    ("2.13.0+cpu"), expect_from where it was planned to come from (both echoed back for judging);
    bytecode_cache, for an environment this run creates, lets the probe reuse and keep compiled modules."""
    argv = [str(python), str(paths.resource("verify_probe.py")), "--json"]
    if expect:
        argv += ["--expect", expect]
    for name in require or []:
        argv += ["--require", name]
    if expect_torch:
        argv += ["--expect-torch", expect_torch]
    if expect_from:
        argv += ["--expect-from", expect_from]
    if bytecode_cache:
        argv += ["--bytecode-cache", bytecode_cache]
    return argv


def without_bytecode_cache(argv: list[str]) -> list[str]:
    """The probe's argv without --bytecode-cache DIR (for an environment the run did not create)."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif str(arg) == "--bytecode-cache":
            skip = True
        else:
            out.append(arg)
    return out


def _find_json(stdout: str) -> dict[str, Any] | None:
    """The object printed after the last marker line, even when other output surrounds it."""
    at = stdout.rfind(MARKER)
    while at != -1:
        rest = stdout[at + len(MARKER):].lstrip()
        try:
            obj, _ = json.JSONDecoder().raw_decode(rest)
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            return obj
        at = stdout.rfind(MARKER, 0, at)
    return None


def _last_step(stdout: str) -> str | None:
    steps = re.findall(r"^" + STEP_PREFIX + r"(.+?)\s*$", stdout, re.MULTILINE)
    return steps[-1] if steps else None


def _tail(text: str) -> str:
    lines = [ln for ln in text.splitlines() if not ln.startswith(STEP_PREFIX) and ln.strip() != MARKER]
    tail = "\n".join(lines).strip()
    return tail[-TAIL_CHARS:]


def report_from_output(stdout: str, returncode: int | None, expect: str | None = None) -> VerifyReport:
    """Turn the probe's output (stdout, or stdout and stderr together) into a VerifyReport."""
    data = _find_json(stdout or "")
    last = _last_step(stdout or "")
    crash = crash_reason(returncode)
    if data is None:
        if crash:
            where = f" while running '{last}'" if last else ""
            error = f"{crash}: the probe crashed{where} (exit code {_code(returncode)})"
            if crash == "illegal instruction":
                error += "; this CPU lacks an instruction set this torch build needs (e.g. AVX2)"
        elif returncode is None:
            error = "the probe did not finish"
        else:
            error = f"the probe printed no result (exit code {_code(returncode)})"
        tail = _tail(stdout or "")
        if tail:
            error += "; last output:\n" + tail[-600:]
        return VerifyReport(ok=False, expect=expect, error=error, returncode=returncode, last_step=last,
                            output_tail=tail or None,
                            checks=[Check("probe", False, error.split("; last output")[0])])
    try:
        report = VerifyReport.from_json(data)
    except ValueError as exc:
        # a probe that prints a malformed result (a hostile or broken interpreter) fails verification
        error = f"the probe printed a malformed result ({exc})"
        return VerifyReport(ok=False, expect=expect, error=error, returncode=returncode, last_step=last,
                            checks=[Check("probe", False, error)])
    report.returncode = returncode
    report.last_step = last
    if expect and not report.expect:
        report.expect = expect
        if report.torch and not any(c.name == "backend" for c in report.checks):
            report.checks.append(_judge_backend(report, expect))
    if crash:
        report.checks.append(Check("clean exit", False, f"the probe printed its results, then crashed: {crash}"))
    build = judge_build(report, report.expect or expect)
    if build is not None and not any(c.name == "build" for c in report.checks):
        report.checks.append(build)
    report.ok = bool(report.torch) and all(c.ok for c in report.checks)
    return report


_LABEL = re.compile(r"cpu|xpu|cu\d+|rocm[\d.]+")


def _same_label(have: str, want: str) -> bool:
    if have.startswith("rocm") and want.startswith("rocm"):  # rocm6.2 plans may meet rocm6.2.4 wheels
        return have.startswith(want) or want.startswith(have)
    return have == want


def judge_build(report: VerifyReport, expect: str | None) -> Check | None:
    """Is the installed torch the planned build? A "build" check, or None when there is nothing to judge.

    A working torch is not enough: a CUDA build from another index runs on the CPU too, and would
    pass a CPU expectation. The local label (+cpu, +cu126), torch.version.cuda/hip and the planned
    version must all agree with the plan.
    """
    found = report.torch
    if not isinstance(found, str) or not found:
        return None
    try:
        have = Version(found)
    except InvalidVersion:
        return Check("build", False, f"torch reports the version {found!r}, which is not a version")
    planned = report.expect_torch
    where = f" from {report.expect_from}" if report.expect_from else ""
    runtime = (f" (built for CUDA {report.cuda})" if report.cuda else
               f" (built for ROCm/HIP {report.hip})" if report.hip else "")
    want_label = (expect or "").lower()
    want_label = want_label if _LABEL.fullmatch(want_label) else ""
    problem = ""
    if planned:
        try:
            want = Version(planned)
        except InvalidVersion:
            want = None
        if want is not None and (want.public != have.public or (want.local and have.local != want.local)):
            problem = "version"
        want_label = want.local if want is not None and want.local else want_label
    if not problem and have.local and want_label and _LABEL.fullmatch(have.local) \
            and not _same_label(have.local, want_label):
        problem = "label"
    if not problem and want_label == "cpu" and (report.cuda or report.hip):
        problem = "runtime"
    if not problem:
        if not planned:
            return None
        return Check("build", True, f"torch {found}, the planned build{where}")
    expected = f"torch {planned}" if planned else f"a {want_label} build of torch"
    return Check("build", False, f"expected {expected}{where}, found {found}{runtime}: "
                 "this is not the build that was planned")


def _code(returncode: int | None) -> str:
    if returncode is not None and returncode > 0xFFFF:
        return f"{returncode} = 0x{returncode:08X}"
    if returncode is not None and returncode < -0xFFFF:
        return f"{returncode} = 0x{returncode + 2**32:08X}"
    return str(returncode)


def _judge_backend(report: VerifyReport, expect: str) -> Check:
    """The probe's backend judgment, for output of a probe that was run without --expect."""
    expect = expect.lower()
    devices_ok = all(d.kernel_ok and d.arch_ok is not False for d in report.devices)
    if expect == "cpu":
        return Check("backend", True, "expected a CPU build")
    if expect.startswith("cu"):
        if not report.cuda:
            return Check("backend", False, f"expected a CUDA build ({expect}), but torch {report.torch} is a "
                         "CPU-only build (torch.version.cuda is None), which cannot use an NVIDIA GPU")
        ok = report.backend == expect and bool(report.devices) and devices_ok
        return Check("backend", ok, f"expected {expect}; torch {report.torch} runs {report.backend}")
    if expect.startswith("rocm"):
        ok = bool(report.hip) and report.backend == report.build and bool(report.devices) and devices_ok
        return Check("backend", ok, f"expected {expect}; torch {report.torch} has HIP {report.hip}")
    ok = report.backend == expect and devices_ok
    return Check("backend", ok, f"expected {expect}; torch {report.torch} runs {report.backend}")


_GPU_OF_BACKEND = (("cu", "nvidia", "NVIDIA", "CUDA"), ("rocm", "amd", "AMD", "ROCm"), ("xpu", "intel", "Intel", "XPU"),
                   ("mps", "apple", "Apple", "MPS"))


def expectation_note(report: VerifyReport, gpu_vendors: set[str]) -> str | None:
    """When a GPU build was expected on a machine without such a GPU, the truth in one sentence: the
    expectation cannot be met here, and the CPU build that is installed is what fits (None otherwise)."""
    expect = (report.expect or "").lower()
    found = next((row for row in _GPU_OF_BACKEND if expect.startswith(row[0])), None)
    if found is None:
        return None
    _, vendor, maker, kind = found
    if vendor in gpu_vendors or report.ok:
        return None
    have = f"torch {report.torch}" if report.torch else "the installed torch"
    fits = (f" {have} is the CPU build, which is what fits this machine: check it with `--expect cpu`."
            if report.torch and report.build == "cpu" else
            " A CPU build (`torch-setup install --backend cpu`) is what fits this machine.")
    return f"There is no {maker} GPU on this machine, so a {kind} build ({expect}) was expected but cannot run here.{fits}"


def verify_python(python: str, expect: str | None = None, timeout: float = 600,
                  require: list[str] | None = None) -> VerifyReport:
    """Run the probe with `python` (an environment's interpreter) and report what works."""
    started = time.perf_counter()
    # run_captured keeps the start and the end of the output (the verdict is at the end), stops a flood
    # and a hang, and leaves no process of the probe behind on any way out.
    done = process.run_captured(probe_argv(python, expect, require), timeout=timeout)
    if done.returncode is None:
        if done.timed_out:
            error = f"the probe did not finish within {timeout:g} s; it and its children were stopped"
        elif done.flooded:
            error = (f"the probe printed more than {process.FLOOD_BYTES // process.MIB} MB of output, which is "
                     f"not what the verify probe prints; it was stopped")
        else:
            error = done.error or "the probe could not run"
        report = VerifyReport(ok=False, expect=expect, error=error, checks=[Check("probe", False, error)])
    else:
        report = report_from_output(done.stdout + "\n" + done.stderr, done.returncode, expect)
    report.seconds = round(time.perf_counter() - started, 3)
    if not report.python_executable:
        report.python_executable = str(python)
    return report
