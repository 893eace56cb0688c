# ruff: noqa: UP006, UP035, UP045, B905
"""Torch Setup's verification probe: run by the interpreter of the environment under test.

    python verify_probe.py --json [--expect BACKEND] [--require torchvision] [--bench-seconds 0.25]

Standard library and torch only, Python 3.8+, no import from the installer: the environment being
verified is not ours. It never ends in a traceback: every failure becomes a check in ONE JSON object
printed after a marker line, so stray output of libraries cannot break the parent's parsing. Progress
lines ("TORCH_SETUP_VERIFY_STEP <what>") go to stdout first, so when the process dies of a signal
(an illegal instruction cannot be caught) the parent still knows what it was doing.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import platform
import re
import sys
import sysconfig
import time
import traceback
from typing import Any, Dict, List, Optional, Set, Tuple

MARKER = "TORCH_SETUP_VERIFY_JSON"
STEP = "TORCH_SETUP_VERIFY_STEP"
SCHEMA_VERSION = 1

# Kernel comparison: float32 on a device against float32 on the CPU. TF32 is switched off, so what
# remains is summation order; a broken build is off by orders of magnitude more than this.
ATOL = 2e-3
RTOL = 2e-3

# Throughput: untimed runs first (the first matmul starts thread pools and picks kernels), then at
# least MIN and at most MAX timed runs within the time budget; the median is reported.
WARMUP_RUNS = 2
MIN_TIMED_RUNS = 5
MAX_TIMED_RUNS = 25

_real_stdout = sys.stdout
_steps: List[Tuple[str, float]] = []
_announce_steps = True  # --json: progress lines on stdout tell the parent where a crash happened


def step(text: str) -> None:
    _steps.append((text, time.perf_counter()))
    if _announce_steps:
        _real_stdout.write(f"{STEP} {text}\n")
        _real_stdout.flush()


def step_seconds(end: float) -> Dict[str, float]:
    """How long each step took: {'import torch': 4.1, ...}."""
    out = {}
    for i, (name, start) in enumerate(_steps):
        stop = _steps[i + 1][1] if i + 1 < len(_steps) else end
        out[name] = round(stop - start, 3)
    return out


def exc_text(exc: BaseException) -> str:
    """'OSError: [WinError 126] ...' -- the type and message, which is what diagnosis matches on."""
    message = str(exc).strip()
    name = type(exc).__name__
    return f"{name}: {message}" if message else name


class Probe:
    def __init__(self, expect: Optional[str], require: List[str], bench_seconds: float,
                 bytecode: Optional[BytecodeCache] = None) -> None:
        self.bytecode = bytecode
        self.expect = expect.strip().lower() if expect else None
        self.require = [r.strip().lower() for r in require if r.strip()]
        self.bench_seconds = bench_seconds
        self.torch: Any = None
        self.result: Dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "ok": False,
            "python": platform.python_version(),
            "python_executable": sys.executable,
            "python_implementation": platform.python_implementation().lower(),
            "platform": sys.platform,
            "machine": platform.machine(),
            "torch": None,
            "cuda": None,
            "hip": None,
            "cudnn": None,
            "build": None,
            "backend": None,
            "expect": self.expect,
            "available": {"cuda": False, "mps": False, "xpu": False},
            "arch_list": [],
            "cpu_capability": None,
            "threads": None,
            "devices": [],
            "checks": [],
            "throughput_gflops": None,
            "throughput_device": None,
            "packages": {},
            "error": None,
            "seconds": None,
        }

    # -- helpers ------------------------------------------------------------------------------

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        self.result["checks"].append({"name": name, "ok": bool(ok), "detail": detail})
        return bool(ok)

    def fail(self, message: str) -> None:
        if not self.result["error"]:
            self.result["error"] = message

    # -- the run ------------------------------------------------------------------------------

    def run(self) -> Dict[str, Any]:
        started = time.perf_counter()
        self.check("python", True, "Python {} at {}".format(self.result["python"], sys.executable))
        if self.bytecode is not None:
            step("bytecode cache")
            self.bytecode.seed()
        if self.import_torch():
            try:
                self.describe_build()
                cpu_ok = self.cpu_kernel()
                self.devices()
                self.expectation(cpu_ok)
                self.packages()
                self.throughput()
            except Exception as exc:  # a bug here must still produce JSON
                self.check("probe", False, "the probe itself failed: " + exc_text(exc))
                self.fail(f"probe error: {exc_text(exc)}\n{traceback.format_exc(limit=4)}")
        if self.bytecode is not None:
            step("keep bytecode")
            self.bytecode.store()
            self.result["bytecode"] = self.bytecode.report
        self.result["ok"] = all(c["ok"] for c in self.result["checks"])
        ended = time.perf_counter()
        self.result["seconds"] = round(ended - started, 3)
        self.result["step_seconds"] = step_seconds(ended)
        return self.result

    def import_torch(self) -> bool:
        step("import torch")
        # The first import compiles some 900 of torch's modules; keeping the bytecode in the new environment
        # (as pip's install-time compile would) makes every later `import torch` there about twice as fast.
        sys.dont_write_bytecode = False
        try:
            import torch
        except BaseException as exc:  # OSError (DLL), ImportError, even SystemExit from a broken package
            if isinstance(exc, KeyboardInterrupt):
                raise
            text = exc_text(exc)
            self.check("import torch", False, text)
            self.fail("import torch failed: " + text)
            return False
        self.torch = torch
        version = str(getattr(torch, "__version__", "unknown"))
        self.result["torch"] = version
        where = os.path.dirname(getattr(torch, "__file__", "") or "")
        return self.check("import torch", True, f"torch {version} from {where}")

    def describe_build(self) -> None:
        torch = self.torch
        tv = getattr(torch, "version", None)
        cuda = getattr(tv, "cuda", None)
        hip = getattr(tv, "hip", None)
        self.result["cuda"] = cuda
        self.result["hip"] = hip
        try:
            self.result["cudnn"] = torch.backends.cudnn.version() if cuda else None
        except Exception:
            pass
        try:
            self.result["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        except Exception:
            pass
        try:
            self.result["threads"] = torch.get_num_threads()
        except Exception:
            pass
        avail = self.result["available"]
        step("torch.cuda.is_available")
        try:
            avail["cuda"] = bool(torch.cuda.is_available())
        except Exception as exc:
            self.result["cuda_error"] = exc_text(exc)
        try:
            avail["mps"] = bool(torch.backends.mps.is_available())
        except Exception:
            pass
        try:
            xpu = getattr(torch, "xpu", None)
            avail["xpu"] = bool(xpu is not None and xpu.is_available())
        except Exception:
            pass
        try:
            if cuda or hip:
                self.result["arch_list"] = list(torch.cuda.get_arch_list())
        except Exception:
            pass
        try:
            xpu = getattr(torch, "xpu", None)
            if avail["xpu"] and hasattr(xpu, "get_arch_list"):
                self.result["arch_list"] = list(xpu.get_arch_list())
        except Exception:
            pass
        if hip:
            build = "rocm" + ".".join(str(hip).split(".")[:2])
        elif cuda:
            build = "cu" + "".join(str(cuda).split(".")[:2])
        elif avail["xpu"] or ".xpu" in self.result["torch"] or "+xpu" in self.result["torch"]:
            build = "xpu"
        elif avail["mps"]:
            build = "mps"
        else:
            build = "cpu"
        self.result["build"] = build
        if (cuda or hip) and avail["cuda"]:
            backend = build
        elif avail["xpu"]:
            backend = "xpu"
        elif avail["mps"]:
            backend = "mps"
        else:
            backend = "cpu"
        self.result["backend"] = backend

    # -- kernels ------------------------------------------------------------------------------

    def _inputs(self) -> Tuple[Any, Any]:
        torch = self.torch
        gen = torch.Generator().manual_seed(1234)
        a = torch.randn(192, 160, generator=gen)
        b = torch.randn(160, 128, generator=gen)
        return a, b

    def _kernel(self, a: Any, b: Any) -> Any:
        # A matmul, a nonlinearity, a reduction: three different kernel families.
        c = self.torch.tanh((a @ b) / 12.0) * 2.0 + self.torch.relu(a[:, :128]) * 0.5
        return c.softmax(dim=1)

    def cpu_kernel(self) -> bool:
        step("cpu kernel")
        torch = self.torch
        try:
            a, b = self._inputs()
            # An independent reference for the matmul on a corner: plain Python arithmetic.
            got = (a[:6] @ b[:, :5]).tolist()
            rows = a[:6].tolist()
            cols = b[:, :5].t().tolist()
            worst = 0.0
            for i, row in enumerate(rows):
                for j, col in enumerate(cols):
                    want = sum(x * y for x, y in zip(row, col))
                    worst = max(worst, abs(got[i][j] - want) / (1.0 + abs(want)))
            if worst > 1e-4:
                return self.check("cpu kernel", False, f"CPU matmul is wrong: relative error {worst:.3g}")
            out = self._kernel(a, b)
            sums = out.sum(dim=1)
            if not bool(torch.isfinite(out).all()) or float((sums - 1).abs().max()) > 1e-4:
                return self.check("cpu kernel", False, "CPU softmax(tanh(matmul)) gave non-finite or unnormalised output")
            self.cpu_reference = out
            detail = "matmul + tanh + relu + softmax on the CPU agree with a reference"
            if self.result.get("cpu_capability"):
                detail += " (CPU capability {})".format(self.result["cpu_capability"])
            return self.check("cpu kernel", True, detail)
        except Exception as exc:
            return self.check("cpu kernel", False, exc_text(exc))

    def devices(self) -> None:
        torch = self.torch
        avail = self.result["available"]
        found: List[Dict[str, Any]] = []
        if avail["cuda"]:
            kind = "rocm" if self.result["hip"] else "cuda"
            try:
                count = torch.cuda.device_count()
            except Exception as exc:
                self.check("cuda devices", False, exc_text(exc))
                count = 0
            for i in range(count):
                dev: Dict[str, Any] = {"index": i, "kind": kind, "device": f"cuda:{i}", "name": None,
                                       "capability": None, "arch": None, "memory_mib": None}
                try:
                    props = torch.cuda.get_device_properties(i)
                    dev["name"] = props.name
                    dev["capability"] = f"{props.major}.{props.minor}"
                    dev["memory_mib"] = int(props.total_memory // (1024 * 1024))
                    gcn = getattr(props, "gcnArchName", None)
                    if gcn:
                        dev["arch"] = str(gcn)
                except Exception as exc:
                    dev["error"] = exc_text(exc)
                found.append(dev)
        if avail["xpu"]:
            try:
                for i in range(torch.xpu.device_count()):
                    dev = {"index": i, "kind": "xpu", "device": f"xpu:{i}", "name": None,
                           "capability": None, "arch": None, "memory_mib": None}
                    try:
                        props = torch.xpu.get_device_properties(i)
                        dev["name"] = props.name
                        dev["memory_mib"] = int(props.total_memory // (1024 * 1024))
                    except Exception as exc:
                        dev["error"] = exc_text(exc)
                    found.append(dev)
            except Exception as exc:
                self.check("xpu devices", False, exc_text(exc))
        if avail["mps"]:
            dev = {"index": 0, "kind": "mps", "device": "mps", "name": "Apple GPU (Metal)",
                   "capability": None, "arch": platform.machine(), "memory_mib": None}
            try:
                dev["memory_mib"] = int(torch.mps.recommended_max_memory() // (1024 * 1024))
            except Exception:
                pass
            found.append(dev)
        self.result["devices"] = found
        for dev in found:
            if dev["kind"] in ("cuda", "rocm"):
                self.arch_check(dev)
            self.device_kernel(dev)

    def arch_check(self, dev: Dict[str, Any]) -> None:
        arch_list = self.result["arch_list"]
        label = "arch {}".format(dev["device"])
        if dev["kind"] == "rocm":
            gfx = (dev.get("arch") or "").split(":")[0]
            if not gfx or not arch_list:
                dev["arch_ok"] = None
                return
            ok = gfx in arch_list
            dev["arch_ok"] = ok
            self.check(label, ok, "{} {} in this build's arch list ({})".format(gfx, "is" if ok else "is NOT", " ".join(arch_list)))
            return
        cap = dev.get("capability")
        if not cap:
            dev["arch_ok"] = None
            return
        ok, detail = cuda_arch_compatible(cap, arch_list)
        dev["arch_ok"] = ok
        self.check(label, ok, "{} ({}): {}".format(dev["name"], cap, detail))

    def device_kernel(self, dev: Dict[str, Any]) -> None:
        torch = self.torch
        label = "kernel {}".format(dev["device"])
        step(label)
        reference = getattr(self, "cpu_reference", None)
        if reference is None:
            dev["kernel_ok"] = False
            self.check(label, False, "skipped: the CPU reference failed")
            return
        try:
            if dev["kind"] in ("cuda", "rocm"):
                torch.backends.cuda.matmul.allow_tf32 = False
                torch.backends.cudnn.allow_tf32 = False
            a, b = self._inputs()
            device = torch.device(dev["device"])
            out = self._kernel(a.to(device), b.to(device))
            self._sync(dev)
            got = out.cpu()
            diff = float((got - reference).abs().max())
            ok = bool(torch.allclose(got, reference, atol=ATOL, rtol=RTOL))
            dev["kernel_ok"] = ok
            dev["max_abs_diff"] = diff
            self.check(label, ok, "{} result {} the CPU's (max abs diff {:.2g})".format(dev["name"] or dev["device"], "matches" if ok else "DIFFERS FROM", diff))
        except Exception as exc:
            dev["kernel_ok"] = False
            dev["error"] = exc_text(exc)
            self.check(label, False, exc_text(exc))

    def _sync(self, dev: Dict[str, Any]) -> None:
        torch = self.torch
        if dev["kind"] in ("cuda", "rocm"):
            torch.cuda.synchronize(dev["index"])
        elif dev["kind"] == "xpu":
            torch.xpu.synchronize(dev["index"])
        elif dev["kind"] == "mps":
            torch.mps.synchronize()

    # -- is what runs what was asked for? -------------------------------------------------------

    def expectation(self, cpu_ok: bool) -> None:
        expect = self.expect
        r = self.result
        devices = r["devices"]
        devices_ok = all(d.get("kernel_ok") and d.get("arch_ok") is not False for d in devices)
        torch_v = r["torch"]
        if not expect:
            return
        if expect == "cpu":
            self.check("backend", cpu_ok, "expected a working CPU build: %s" % ("it works" if cpu_ok else "the CPU kernel failed"))
            return
        if expect.startswith("cu"):
            want = cuda_from_backend(expect)
            if not r["cuda"]:
                why = f"torch {torch_v} is a CPU-only build (torch.version.cuda is None)"
                if r["hip"]:
                    why = "torch {} is a ROCm build (HIP {}), not CUDA".format(torch_v, r["hip"])
                self.check("backend", False, "expected a CUDA {} build ({}), but {}, which cannot use an NVIDIA GPU".format(want or "", expect, why))
                return
            if want and ".".join(str(r["cuda"]).split(".")[:2]) != want:
                self.check("backend", False, "expected CUDA {} ({}), but torch {} was built for CUDA {}".format(want, expect, torch_v, r["cuda"]))
                return
            self._gpu_available("CUDA", r["available"]["cuda"], devices, devices_ok)
            return
        if expect.startswith("rocm"):
            want = expect[4:]
            if not r["hip"]:
                self.check("backend", False, f"expected a ROCm build ({expect}), but torch {torch_v} has no HIP (torch.version.hip is None)")
                return
            if want and not _same_prefix(str(r["hip"]), want):
                self.check("backend", False, "expected ROCm {}, but torch {} was built for HIP {}".format(want, torch_v, r["hip"]))
                return
            self._gpu_available("ROCm", r["available"]["cuda"], devices, devices_ok)
            return
        if expect == "xpu":
            self._gpu_available("XPU", r["available"]["xpu"], devices, devices_ok)
            return
        if expect == "mps":
            self._gpu_available("MPS", r["available"]["mps"], devices, devices_ok)
            return
        self.check("backend", False, f"unknown expected backend {expect!r} (cpu, cuXXX, rocmX.Y, xpu or mps)")

    def _gpu_available(self, what: str, available: bool, devices: List[Dict[str, Any]], devices_ok: bool) -> None:
        if not available:
            extra = ""
            if self.result.get("cuda_error"):
                extra = ": " + self.result["cuda_error"]
            self.check("backend", False, "torch {} is a {} build but no {} device is available{}".format(self.result["torch"], self.result["build"], what, extra))
        elif not devices:
            self.check("backend", False, f"{what} reports available but no device was found")
        else:
            self.check("backend", devices_ok, "{} on {} device(s): {}".format(
                what, len(devices), "all work" if devices_ok else "some devices fail (see above)"))

    # -- torchvision / torchaudio ---------------------------------------------------------------

    def packages(self) -> None:
        for name in ("torchvision", "torchaudio"):
            step("import " + name)
            info: Dict[str, Any] = {"installed": False, "version": None, "ok": None, "detail": ""}
            self.result["packages"][name] = info
            try:
                import importlib.util

                if importlib.util.find_spec(name) is None:
                    info["detail"] = "not installed"
                    if name in self.require:
                        info["ok"] = False
                        self.check(name, False, f"{name} is required but not installed")
                    continue
            except Exception:
                pass
            info["installed"] = True
            try:
                mod = __import__(name)
                info["version"] = str(getattr(mod, "__version__", "unknown"))
                ok, detail = self.package_matches(name, mod)
            except BaseException as exc:
                if isinstance(exc, KeyboardInterrupt):
                    raise
                ok, detail = False, f"import {name} failed: {exc_text(exc)}"
            info["ok"] = ok
            info["detail"] = detail
            self.check(name, ok, detail)

    def package_matches(self, name: str, mod: Any) -> Tuple[bool, str]:
        torch_v = self.result["torch"] or ""
        version = str(getattr(mod, "__version__", ""))
        tmaj, tmin = _major_minor(torch_v)
        pmaj, pmin = _major_minor(version)
        problems = []
        # torchvision 0.15 pairs with torch 2.0, ..., 0.28 with 2.13
        if (name == "torchvision" and tmaj == 2 and pmaj == 0 and pmin is not None and tmin is not None
                and pmin != tmin + 15):
            problems.append(f"torchvision {version} is for torch 2.{pmin - 15}, not {torch_v}")
        if name == "torchaudio" and None not in (tmaj, tmin, pmaj, pmin):
            # torchaudio kept torch's version through 2.11; later torch releases reuse 2.11 (stable ABI).
            same = (pmaj, pmin) == (tmaj, tmin)
            reused = (tmaj, tmin) >= (2, 12) and (pmaj, pmin) >= (2, 11) and (pmaj, pmin) <= (tmaj, tmin)
            if not (same or reused):
                problems.append(f"torchaudio {version} does not pair with torch {torch_v}")
        t_local = _local(torch_v)
        p_local = _local(version)
        if t_local and p_local and t_local != p_local:
            problems.append(f"{name} is a +{p_local} build but torch is +{t_local}")
        if name == "torchvision":
            pv_cuda = getattr(getattr(mod, "version", None), "cuda", None)
            if pv_cuda and self.result["cuda"] and _major_minor(pv_cuda) != _major_minor(self.result["cuda"]):
                problems.append("torchvision was built for CUDA {}, torch for CUDA {}".format(pv_cuda, self.result["cuda"]))
            try:
                # Runs a compiled torchvision operator: catches "operator torchvision::nms does not exist".
                torch = self.torch
                boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0], [50.0, 50.0, 60.0, 60.0]])
                scores = torch.tensor([0.9, 0.8, 0.7])
                keep = mod.ops.nms(boxes, scores, 0.5).tolist()
                if keep != [0, 2]:
                    problems.append(f"torchvision.ops.nms gave {keep!r}, expected [0, 2]")
            except Exception as exc:
                problems.append("torchvision.ops.nms failed: " + exc_text(exc))
        if problems:
            return False, "; ".join(problems)
        return True, f"{name} {version} imports and matches torch {torch_v}"

    # -- throughput --------------------------------------------------------------------------------

    def throughput(self) -> None:
        """A matmul figure that means something: warm up (thread pools, caches, lazy kernels), then time
        several runs and report the median, so one run disturbed by another process does not decide it."""
        if self.bench_seconds <= 0:
            return
        torch = self.torch
        working = [d for d in self.result["devices"] if d.get("kernel_ok")]
        dev = working[0] if working else {"kind": "cpu", "device": "cpu", "index": 0}
        step("throughput " + dev["device"])
        try:
            n = 768 if dev["kind"] == "cpu" else 4096  # 768: about 20 ms a run on a laptop CPU
            device = torch.device(dev["device"])
            a = torch.randn(n, n, device=device)
            b = torch.randn(n, n, device=device)
            for _ in range(WARMUP_RUNS):
                c = a @ b
            if dev["kind"] != "cpu":
                self._sync(dev)
            times: List[float] = []
            budget_end = time.perf_counter() + self.bench_seconds
            while len(times) < MAX_TIMED_RUNS and (len(times) < MIN_TIMED_RUNS or time.perf_counter() < budget_end):
                started = time.perf_counter()
                c = a @ b
                if dev["kind"] != "cpu":
                    self._sync(dev)
                times.append(time.perf_counter() - started)
            del c
            flops = 2.0 * n ** 3
            rates = sorted(flops / max(t, 1e-9) / 1e9 for t in times)
            self.result["throughput_gflops"] = round(_median(rates), 1)
            self.result["throughput_device"] = dev["device"]
            self.result["throughput_detail"] = (f"median of {len(rates)} float32 {n}x{n} matmuls after a warm-up; "
                                                f"{rates[0]:.0f}-{rates[-1]:.0f} GFLOP/s")
        except Exception as exc:
            self.result["throughput_detail"] = "throughput run failed: " + exc_text(exc)


def _median(values: List[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


# -- version helpers -----------------------------------------------------------------------------


def cuda_from_backend(backend: str) -> Optional[str]:
    """'cu126' -> '12.6', 'cu130' -> '13.0', 'cu118' -> '11.8'; None for 'cuda' (any version)."""
    digits = backend[2:]
    if not digits.isdigit() or len(digits) < 2:
        return None
    return f"{int(digits[:-1])}.{digits[-1]}"


def _same_prefix(version: str, want: str) -> bool:
    have = version.split("-")[0].split(".")
    parts = want.split(".")
    return have[: len(parts)] == parts or have[:2] == parts[:2]


def _major_minor(version: str) -> Tuple[Optional[int], Optional[int]]:
    m = re.match(r"(\d+)\.(\d+)", version or "")
    return (int(m.group(1)), int(m.group(2))) if m else (None, None)


def _local(version: str) -> Optional[str]:
    """The local tag of a wheel version: '2.13.0+cu126' -> 'cu126'; none for a plain version."""
    return version.split("+", 1)[1] if "+" in (version or "") else None


def _parse_arch(entry: str) -> Optional[Tuple[str, int, int, str]]:
    """'sm_86' -> ('sm', 8, 6, ''); 'compute_90' -> ('compute', 9, 0, ''); 'sm_90a' -> ('sm', 9, 0, 'a')."""
    m = re.match(r"^(sm|compute)_(\d+)(\d)([a-z]?)$", entry.strip())
    if not m:
        return None
    return m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)


def cuda_arch_compatible(capability: str, arch_list: List[str]) -> Tuple[bool, str]:
    """Can a device of this compute capability run this build's kernels?

    SASS (sm_XY) runs on the same major with an equal or higher minor; an 'a' (arch-specific)
    entry only on exactly that capability. PTX (compute_XY) is JIT-compiled for any capability at
    or above it, which works but makes the first run slow.
    """
    try:
        major, minor = (int(x) for x in capability.split(".")[:2])
    except ValueError:
        return True, f"unknown capability {capability!r}"
    if not arch_list:
        return True, "this build reports no arch list"
    sm = f"sm_{major}{minor}"
    exact = []
    sass = []
    ptx = []
    for entry in arch_list:
        parsed = _parse_arch(entry)
        if not parsed:
            continue
        kind, emaj, emin, suffix = parsed
        if kind == "sm":
            if suffix == "a" and (emaj, emin) != (major, minor):
                continue
            if (emaj, emin) == (major, minor):
                exact.append(entry)
            elif emaj == major and emin < minor:
                sass.append(entry)
        elif kind == "compute" and suffix != "a" and (emaj, emin) <= (major, minor):
            ptx.append(entry)
    listing = " ".join(arch_list)
    if exact:
        return True, f"{exact[0]} is in this build's arch list"
    if sass:
        return True, f"{sm} runs {sass[-1]} kernels (same major, lower minor)"
    if ptx:
        return True, f"{sm} will JIT-compile {ptx[-1]} PTX (slow first run)"
    return False, f"this build has no kernels for {sm}; it supports {listing}"


# -- bytecode cache ------------------------------------------------------------------------------
# A new environment has no bytecode, so its first `import torch` compiles some 700 modules (about 4 s of
# one core here), and that is most of what verification costs after a fast install. With
# --bytecode-cache DIR (given for environments the installer creates) the probe keeps the bytecode of
# the site-packages modules it imported, as checked-hash .pyc files (PEP 552) named by the sha256 of
# their source, and before the next import copies the ones whose source is identical into the new
# environment's __pycache__ folders. Python compares each .pyc's source hash with the source at every
# import, so a cached file never stands in for other source; an existing .pyc is never replaced.

PYC_FLAGS_CHECKED_HASH = 0b11  # PEP 552: hash-based, check the source
# About 25 kB of bytecode a module: some 500 MB. Each torch release adds the modules it changed (the
# first one ~730, 18 MB); past this the cache stops growing and says how to start it afresh.
MAX_CACHED_MODULES = 20000


def _write_atomic(path: str, data: bytes, mode: int = 0o600) -> None:
    """Whole or not at all: a reader (or a killed run) never sees half a .pyc, which would fail the import.
    The temporary name is unique to this process; O_EXCL refuses to write through anything already there."""
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), mode)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class BytecodeCache:
    def __init__(self, root: str) -> None:
        tag = sys.implementation.cache_tag
        self.root = os.path.abspath(root)
        self.dir = os.path.join(self.root, f"{tag}-{importlib.util.MAGIC_NUMBER.hex()}")
        self.objects = os.path.join(self.dir, "objects")
        self.index = os.path.join(self.dir, "modules.txt")
        self.sites = sorted({os.path.realpath(p) for p in (sysconfig.get_paths().get("purelib"),
                                                            sysconfig.get_paths().get("platlib")) if p})
        self.seeded: Set[str] = set()
        self.known: Set[str] = set()
        self.report: Dict[str, Any] = {"seeded": 0, "stored": 0, "seconds": 0.0, "skipped": None}
        if tag is None:
            self.report["skipped"] = "this Python does not cache bytecode"
        elif getattr(sys, "pycache_prefix", None):
            # .pyc files would go to that folder, outside the environment being made
            self.report["skipped"] = "PYTHONPYCACHEPREFIX keeps bytecode elsewhere"
        elif sys.flags.optimize:
            self.report["skipped"] = "Python runs optimised (-O, PYTHONOPTIMIZE): other bytecode"

    def _safe_dir(self, path: str) -> Optional[str]:
        """Why `path` must not be used (None: fine). Bytecode from the cache runs as this user, so the
        folders must be this user's and writable by nobody else."""
        os.makedirs(path, mode=0o700, exist_ok=True)
        st = os.lstat(path)
        if os.path.islink(path) or not os.path.isdir(path):
            return f"{path} is not a plain folder"
        if hasattr(os, "getuid"):
            if st.st_uid != os.getuid():
                return f"{path} belongs to another user"
            if st.st_mode & 0o022:
                return f"{path} can be written by other users"
        return None

    def _usable(self) -> bool:
        if self.report["skipped"]:
            return False
        for path in (self.root, self.dir, self.objects):
            why = self._safe_dir(path)
            if why:
                self.report["skipped"] = why
                return False
        return True

    def _object(self, digest: str) -> str:
        return os.path.join(self.objects, digest[:2], digest + ".pyc")

    def _relative(self, source: str) -> Optional[str]:
        real = os.path.realpath(source)
        for site in self.sites:
            if real.startswith(site + os.sep):
                return os.path.relpath(real, site).replace(os.sep, "/")
        return None

    def _seed_one(self, rel: str) -> Optional[str]:
        """Copy the cached bytecode for the module at `rel` (relative to site-packages) into its
        __pycache__ when the source is identical and no .pyc is there; the .pyc's path when copied."""
        for site in self.sites:
            source = os.path.join(site, *rel.split("/"))
            if not os.path.isfile(source):
                continue
            pyc = importlib.util.cache_from_source(source)
            if os.path.exists(pyc):
                return None
            with open(source, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            try:
                with open(self._object(digest), "rb") as f:
                    data = f.read()
            except FileNotFoundError:
                return None
            os.makedirs(os.path.dirname(pyc), exist_ok=True)
            # readable as the source is, as Python's own .pyc files are (a shared environment stays usable)
            _write_atomic(pyc, data, mode=os.stat(source).st_mode & 0o666)
            return pyc
        return None

    def seed(self) -> None:
        started = time.perf_counter()
        try:
            if not self._usable():
                return
            try:
                with open(self.index, encoding="utf-8") as f:
                    # relative paths under site-packages only: no "..", no drive, no other separator
                    self.known = {line.strip() for line in f if line.strip() and ".." not in line.strip().split("/")
                                  and not any(c in line for c in ":\\") and not line.startswith("/")}
            except FileNotFoundError:
                return
            # (Threads do not help: creating the ~700 files is what costs, and the file system does it in turn.)
            self.seeded = {pyc for pyc in map(self._seed_one, sorted(self.known)) if pyc}
            self.report["seeded"] = len(self.seeded)
        except Exception as exc:  # a cache problem costs time, never the verdict
            self.report["skipped"] = "bytecode cache: " + exc_text(exc)
        finally:
            self.report["seconds"] = round(time.perf_counter() - started, 3)

    def store(self) -> None:
        started = time.perf_counter()
        try:
            if self.report["skipped"] or not self._usable():
                return
            if len(self.known) >= MAX_CACHED_MODULES:
                self.report["skipped"] = (f"the bytecode cache is full ({len(self.known)} modules); delete "
                                          f"{self.root} to start it afresh")
                return
            modules = set()
            stored = 0
            for module in list(sys.modules.values()):
                source = getattr(module, "__file__", None)
                if not isinstance(source, str) or not source.endswith(".py"):
                    continue
                rel = self._relative(source)
                if rel is None:
                    continue
                modules.add(rel)
                pyc = importlib.util.cache_from_source(source)
                if pyc in self.seeded or not os.path.isfile(pyc):
                    continue
                with open(source, "rb") as f:
                    text = f.read()
                target = self._object(hashlib.sha256(text).hexdigest())
                if os.path.exists(target):
                    continue
                with open(pyc, "rb") as f:
                    data = f.read()
                if len(data) < 16 or data[:4] != importlib.util.MAGIC_NUMBER:
                    continue
                flags = int.from_bytes(data[4:8], "little")
                source_hash = importlib.util.source_hash(text)
                if flags & 0b1:
                    if data[8:16] != source_hash:
                        continue  # bytecode of other source
                else:
                    st = os.stat(source)
                    if (int.from_bytes(data[8:12], "little") != int(st.st_mtime) & 0xFFFFFFFF
                            or int.from_bytes(data[12:16], "little") != st.st_size & 0xFFFFFFFF):
                        continue  # stale
                os.makedirs(os.path.dirname(target), mode=0o700, exist_ok=True)
                _write_atomic(target, importlib.util.MAGIC_NUMBER + PYC_FLAGS_CHECKED_HASH.to_bytes(4, "little")
                              + source_hash + data[16:])
                stored += 1
            self.report["stored"] = stored
            if not modules <= self.known:
                # Two runs at once may each write the index; each keeps what it read plus what it saw,
                # and a module missing from the index only costs its compile next time.
                _write_atomic(self.index, "".join(m + "\n" for m in sorted(self.known | modules)).encode("utf-8"))
        except Exception as exc:
            self.report["skipped"] = "bytecode cache: " + exc_text(exc)
        finally:
            self.report["seconds"] = round(self.report["seconds"] + time.perf_counter() - started, 3)


# -- entry point ---------------------------------------------------------------------------------


def human(result: Dict[str, Any]) -> str:
    lines = []
    for c in result["checks"]:
        lines.append("{} {}: {}".format("OK  " if c["ok"] else "FAIL", c["name"], c["detail"]))
    if result.get("throughput_gflops"):
        lines.append("throughput: {:.1f} GFLOP/s on {}".format(result["throughput_gflops"], result["throughput_device"]))
    lines.append("verification %s" % ("passed" if result["ok"] else "FAILED"))
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Check that torch works in this Python.")
    parser.add_argument("--json", action="store_true", help="print one JSON object after a marker line")
    parser.add_argument("--expect", default=None, help="cpu, cu126, cu130, rocm7.2, xpu or mps")
    parser.add_argument("--require", action="append", default=[], help="a package that must be installed")
    parser.add_argument("--expect-torch", default=None, help="the planned torch version, e.g. 2.13.0+cpu (echoed)")
    parser.add_argument("--expect-from", default=None, help="where torch was planned to come from (echoed)")
    parser.add_argument("--bench-seconds", type=float, default=0.25,
                        help="time budget for the timed matmul runs (at least 5 runs); 0 skips it")
    parser.add_argument("--bytecode-cache", default=None, metavar="DIR",
                        help="copy cached bytecode of identical modules in before importing torch, and keep "
                             "what the import compiled (for environments the installer has just made)")
    args = parser.parse_args(argv)
    global _announce_steps
    _announce_steps = bool(args.json)
    # Library chatter (warnings printed with print()) goes to stderr while we work.
    sys.stdout = sys.stderr
    try:
        cache = BytecodeCache(args.bytecode_cache) if args.bytecode_cache else None
        result = Probe(args.expect, args.require, args.bench_seconds, cache).run()
        # Echoed for the installer, which judges whether this is the planned build (verify.judge_build).
        result["expect_torch"] = args.expect_torch
        result["expect_from"] = args.expect_from
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        result = {"schema_version": SCHEMA_VERSION, "ok": False, "checks": [
            {"name": "probe", "ok": False, "detail": exc_text(exc)}], "error": "probe error: " + exc_text(exc)}
    finally:
        sys.stdout = _real_stdout
    if args.json:
        _real_stdout.write(f"\n{MARKER}\n{json.dumps(result, ensure_ascii=True, default=str)}\n")
    else:
        _real_stdout.write(human(result) + "\n")
    _real_stdout.flush()
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    status = main()
    # Everything is written and flushed. Ending here skips the interpreter's teardown, which with torch
    # loaded takes 0.7-0.9 s on a small machine (finalising thousands of modules and torch's exit hooks)
    # and proves nothing: the verdict is already out.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
