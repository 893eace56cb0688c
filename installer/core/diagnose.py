"""Diagnosis: known failure signatures (resources/diagnoses.json) and known facts → Diagnosis (cause, fix).

Text diagnosis matches error codes and file names as well as English text, because Windows messages
are localised ("[WinError 126] 找不到指定的模块。"). Fact diagnosis looks at what verification and
detection measured: a GPU with a CPU-only torch, a GPU the build has no kernels for, an old driver.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from installer.core import paths
from installer.core.events import Diagnosis
from installer.core.report import SystemReport
from installer.core.verify import VerifyReport
from installer.core.versions import version_tuple

CATEGORIES = (
    "no-matching-wheel", "cpu-build-on-gpu", "driver-too-old", "gpu-arch-unsupported", "windows-dll-load",
    "vc-runtime-missing", "abi-mismatch", "disk-full", "illegal-instruction", "long-path", "hash-mismatch",
    "network", "permission-denied", "paging-file",
)
MAX_LOG_BYTES = 8 * 1024 * 1024  # a longer log is read from its end, where the failure is
READ_SECONDS = 10.0  # reading a log stops after this, with what was read (a slow disk, a device file)
# A longer line (a progress bar redrawn with \r, a binary blob) keeps its start and its end, where an
# error follows the bar; matching then stays linear in the size of the log, whatever its shape.
MAX_LINE_CHARS = 16 * 1024
LINE_HEAD_CHARS = 4 * 1024
MAX_LITERAL_LINES = 2000  # lines tried one by one per signature before one pass over the whole text
EVIDENCE_CHARS = 300

# Minimum NVIDIA driver per CUDA major line, minor-version compatibility (NVIDIA CUDA release notes,
# Table 2; see ../shared/reference/cuda-drivers.tsv): (linux, windows).
_DRIVER_FLOOR = {11: ("450.80.02", "452.39"), 12: ("525.60.13", "527.41"), 13: ("580.65.06", "580")}


class DiagnoseError(ValueError):
    """A log that cannot be read (missing, a folder)."""


@dataclass
class Signature:
    category: str
    pattern: re.Pattern[str]
    weight: float
    summary: str | None = None
    fix: str | None = None
    # Lower-case strings of which any match must contain one (None: no such strings known). A cheap
    # substring search finds the few lines worth the regex in a 100 000-line log.
    literals: list[str] | None = None
    gui_fix: str | None = None  # the fix in the wizard's words (its buttons, not CLI flags)
    action: str | None = None  # the wizard control that applies the fix: torch-source, python, location


@dataclass
class Category:
    name: str
    summary: str
    fix: str
    explains: list[str] = field(default_factory=list)
    gui_fix: str | None = None
    action: str | None = None


@dataclass
class SignatureSet:
    categories: dict[str, Category]
    signatures: list[Signature]

    @classmethod
    def from_json(cls, data: Any) -> SignatureSet:
        if not isinstance(data, dict):
            raise ValueError("diagnoses.json must hold an object")
        cats = {name: Category(name, c["summary"], c["fix"], list(c.get("explains", [])), c.get("gui_fix"),
                               c.get("gui_action"))
                for name, c in data["categories"].items()}
        sigs = []
        for s in data["signatures"]:
            if s["category"] not in cats:
                raise ValueError(f"signature for unknown category {s['category']!r}")
            sigs.append(Signature(s["category"], re.compile(s["pattern"], re.IGNORECASE | re.MULTILINE),
                                  float(s["weight"]), s.get("summary"), s.get("fix"), required_literals(s["pattern"]),
                                  s.get("gui_fix"), s.get("gui_action")))
        return cls(cats, sigs)


_SPECIAL = set(".^$*+?{}[]()|\\")


def _split_top(pattern: str) -> list[str] | None:
    """The top-level alternatives of a regex; None when the pattern is too clever to split."""
    parts, depth, start, i = [], 0, 0, 0
    in_class = False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    if depth != 0 or in_class:
        return None
    parts.append(pattern[start:])
    return parts


def _longest_literal(branch: str) -> str:
    """The longest run of plain characters every match of `branch` contains (outside groups and classes)."""
    best, run, depth, i = "", "", 0, 0
    in_class = False

    def close(run: str) -> str:
        return run if len(run) > len(best) else best

    while i < len(branch):
        ch = branch[i]
        if in_class:
            in_class = ch != "]"
            i += 1
            continue
        if ch == "\\" and i + 1 < len(branch):
            nxt = branch[i + 1]
            if nxt.isalnum():  # \d \s \b \S ...: not a literal
                best, run = close(run), ""
            elif depth == 0:
                run += nxt
            i += 2
            continue
        if ch in "?*{":  # the previous character is optional or repeated: it ends the run without itself
            best, run = close(run[:-1]), ""
            if ch == "{":
                i = branch.find("}", i) + 1 or len(branch)
                continue
        elif ch == "+":
            best, run = close(run), ""
        elif ch == "[":
            best, run = close(run), ""
            in_class = True
        elif ch == "(":
            best, run = close(run), ""
            depth += 1
            if branch.startswith("(?P<", i):
                i = branch.find(">", i)
        elif ch == ")":
            depth -= 1
            best, run = close(run), ""
            if i + 1 < len(branch) and branch[i + 1] in "?*{":
                pass  # an optional group contributed nothing anyway
        elif ch in ".^$|":
            best, run = close(run), ""
        elif depth == 0:
            run += ch
        i += 1
    return close(run)


def required_literals(pattern: str) -> list[str] | None:
    """Lower-case strings, one per top-level alternative, that any match contains; None if one lacks any."""
    branches = _split_top(pattern)
    if not branches:
        return None
    out = []
    for branch in branches:
        literal = _longest_literal(branch).lower()
        if len(literal.strip()) < 3:
            return None
        out.append(literal)
    return out


def _last_match(sig: Signature, text: str, lowered: str) -> re.Match[str] | None:
    """The last match of a signature (nearest the final error), looking first only around its literals.

    Lines holding a literal are tried from the end backwards, each with the line after it (a message may
    wrap once); when very many lines hold one and none matches, one regex pass over the text is cheaper.
    """
    if sig.literals is not None and len(lowered) == len(text):
        end = len(text)
        for _ in range(MAX_LITERAL_LINES):
            at = max(lowered.rfind(literal, 0, end) for literal in sig.literals)
            if at == -1:
                return None
            start = text.rfind("\n", 0, at) + 1
            stop = text.find("\n", at)
            stop = len(text) if stop == -1 else text.find("\n", stop + 1)
            stop = len(text) if stop == -1 else stop
            last = None
            for last in sig.pattern.finditer(text, start, stop):  # noqa: B007 - the last one is wanted
                pass
            if last is not None:
                return last
            end = start
    last = None
    for last in sig.pattern.finditer(text):  # noqa: B007
        pass
    return last


@functools.lru_cache(maxsize=1)
def load_signatures() -> SignatureSet:
    """The bundled signature set (resources/diagnoses.json)."""
    data = json.loads(paths.resource("diagnoses.json").read_text(encoding="utf-8"))
    return SignatureSet.from_json(data)


def _line_at(text: str, start: int, end: int) -> str:
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line = text[line_start: line_end if line_end != -1 else len(text)].strip()
    if len(line) > EVIDENCE_CHARS:  # keep the match itself in view
        offset = max(0, start - line_start - 80)
        line = ("…" if offset else "") + line[offset: offset + EVIDENCE_CHARS] + "…"
    return line


def _fill(template: str, values: dict[str, str]) -> str | None:
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        return None


def _derived(groups: dict[str, str | None]) -> dict[str, str]:
    values = {k: v for k, v in groups.items() if v is not None}
    found = values.get("found")
    if found and found.isdigit():  # torch reports the driver's CUDA version as 1000*major + 10*minor
        n = int(found)
        values["found_cuda"] = f"{n // 1000}.{(n % 1000) // 10}"
    return values


@dataclass
class _Hit:
    category: str
    score: float
    position: int
    evidence: str
    summary: str
    fix: str
    gui_fix: str | None
    action: str | None


def cap_line_length(text: str, limit: int = MAX_LINE_CHARS, head: int = LINE_HEAD_CHARS) -> str:
    """Each line longer than `limit` keeps its first `head` characters and its end, joined by " … "."""
    if len(text) <= limit:
        return text
    if not re.search(f"[^\n]{{{limit + 1}}}", text):  # one pass in C; most logs have no such line
        return text
    lines = text.split("\n")
    tail = limit - head
    return "\n".join(line if len(line) <= limit else f"{line[:head]} … {line[-tail:]}" for line in lines)


def diagnose_text(text: str, signatures: SignatureSet | None = None) -> list[Diagnosis]:
    """Known failures in a log or an error message, most likely first, one per category."""
    sigset = signatures or load_signatures()
    if not text:
        return []
    text = cap_line_length(text)
    size = max(len(text), 1)
    lowered = text.lower()
    hits: dict[str, _Hit] = {}
    counts: dict[str, int] = {}
    for sig in sigset.signatures:
        last = _last_match(sig, text, lowered)
        if last is None:
            continue
        counts[sig.category] = counts.get(sig.category, 0) + 1
        cat = sigset.categories[sig.category]
        values = _derived(last.groupdict())
        summary = (_fill(sig.summary, values) if sig.summary else None) or cat.summary
        fix = (_fill(sig.fix, values) if sig.fix else None) or cat.fix
        # A signature with its own CLI fix and no wizard wording of it gets none, rather than the category's
        # wizard wording of a different fix.
        gui_fix = (_fill(sig.gui_fix, values) if sig.gui_fix else None) or (None if sig.fix else cat.gui_fix)
        # Specificity first; a later match (nearer the final error) breaks ties.
        score = sig.weight + last.start() / size
        best = hits.get(sig.category)
        if best is None or score > best.score:
            hits[sig.category] = _Hit(sig.category, score, last.start(), _line_at(text, last.start(), last.end()),
                                      summary, fix, gui_fix, sig.action or cat.action)
    for name, hit in hits.items():
        hit.score += min(counts[name] - 1, 3) * 0.25  # corroborating signatures
    # A cause outranks its consequences (an SSL failure leaves "No matching distribution" behind it).
    for _ in range(len(hits)):
        changed = False
        for name, hit in hits.items():
            for consequence in sigset.categories[name].explains:
                other = hits.get(consequence)
                if other is not None and other.score >= hit.score:
                    hit.score = other.score + 0.01
                    changed = True
        if not changed:
            break
    ranked = sorted(hits.values(), key=lambda h: h.score, reverse=True)
    return [Diagnosis(h.category, h.summary, h.fix, h.evidence, h.gui_fix, h.action) for h in ranked]


UNRECOGNISED = "unrecognised"
_ERRORish = re.compile(r"error|fail|fatal|exception|abort|refused|not found|no module|denied|cannot|could not",
                       re.IGNORECASE)


def unrecognised_failure(what: str, output_tail: str) -> Diagnosis:
    """A failure no signature explains still gets a diagnosis: the line most likely to say why, and where to look.

    Its category, "unrecognised", is outside DESIGN.md's list on purpose: it says we do not know the cause.
    """
    lines = [line.strip() for line in output_tail.splitlines() if line.strip()]
    evidence = next((line for line in reversed(lines) if _ERRORish.search(line)), lines[-1] if lines else None)
    summary = f"{what} failed" + (f": {evidence[:300]}" if evidence else ", without printing why.")
    fix = ("No known cause matched. The last lines of the full log say what the failing command reported; "
           "`torch-setup diagnose LOG` re-checks a saved log, and `torch-setup plan` shows what each step runs.")
    gui_fix = ("No known cause matched. The last lines of the log (Open log) say what the failing command "
               "reported; Change choices lets you try another source, Python or folder.")
    return Diagnosis(UNRECOGNISED, summary, fix, evidence, gui_fix)


def read_log(path: str | Path, max_bytes: int = MAX_LOG_BYTES, seconds: float = READ_SECONDS) -> str:
    """A log's text: UTF-8, or UTF-16 as PowerShell's `>` writes it; at most the last `max_bytes` of it.

    Only a regular file is read, without blocking (a FIFO with no writer, /proc/kmsg, a device would wait
    forever), and for at most `seconds`. Files that report size 0 (/proc) are read up to the limit anyway.
    Raises DiagnoseError for what cannot be read.
    """
    p = Path(path)
    try:
        info = os.stat(p)
    except FileNotFoundError:
        raise DiagnoseError(f"no such log file: {p}") from None
    except (OSError, ValueError) as exc:
        raise DiagnoseError(f"cannot read {p}: {getattr(exc, 'strerror', None) or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise DiagnoseError(f"{p} is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise DiagnoseError(f"{p} is not a regular file (a pipe, a device or a socket); save the log to a file first")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(p, flags)
    except OSError as exc:
        raise DiagnoseError(f"cannot read {p}: {exc.strerror or exc}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced between the look and the open
            raise DiagnoseError(f"{p} is not a regular file")
        raw = _read_end(fd, max_bytes, seconds)
    except OSError as exc:
        raise DiagnoseError(f"cannot read {p}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or (len(raw) > 3 and raw[1:2] == b"\x00" and raw[3:4] == b"\x00"):
        return raw.decode("utf-16", errors="replace")
    return raw.decode("utf-8", errors="replace")


def _read_end(fd: int, max_bytes: int, seconds: float) -> bytes:
    """The last `max_bytes` of an open file: seek there when the size is known, else read through."""
    size = os.fstat(fd).st_size
    if size > max_bytes:
        with contextlib.suppress(OSError):
            os.lseek(fd, size - max_bytes, os.SEEK_SET)
    kept = bytearray()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 1024 * 1024)
        except BlockingIOError:  # nothing to read now (O_NONBLOCK): take what there is
            break
        if not chunk:
            break
        kept += chunk
        if len(kept) > 2 * max_bytes:
            del kept[: len(kept) - max_bytes]
    return bytes(kept[-max_bytes:])


def diagnose_file(path: str | Path) -> list[Diagnosis]:
    """`torch-setup diagnose LOG`: the diagnoses for a saved log. Raises DiagnoseError for a missing file."""
    return diagnose_text(read_log(path))


def diagnoses_json(diagnoses: list[Diagnosis]) -> dict[str, Any]:
    """The `--json` shape: {"diagnoses": [{"category", "summary", "fix", "evidence"}]}."""
    return {"diagnoses": [d.to_json() for d in diagnoses]}


# -- facts ----------------------------------------------------------------------------------------


def _cuda_major(version: str | None) -> int | None:
    parts = version_tuple(version)
    return parts[0] if parts else None


def _arch_list_covers(capability: str, arch_list: list[str]) -> bool:
    """Same rule as the probe: SASS of the same major and lower-or-equal minor, or PTX at or below."""
    try:
        major, minor = (int(x) for x in capability.split(".")[:2])
    except ValueError:
        return True
    for entry in arch_list:
        m = re.match(r"^(sm|compute)_(\d+)(\d)([a-z]?)$", entry.strip())
        if not m:
            continue
        kind, emaj, emin, suffix = m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)
        if kind == "sm" and emaj == major and emin <= minor and (suffix != "a" or emin == minor):
            return True
        if kind == "compute" and suffix != "a" and (emaj, emin) <= (major, minor):
            return True
    return False


def _make(category: str, summary: str | None = None, fix: str | None = None, evidence: str | None = None,
          signatures: SignatureSet | None = None) -> Diagnosis:
    cat = (signatures or load_signatures()).categories[category]
    # A fix written here for the CLI replaces the category's; its wizard wording would no longer match it.
    return Diagnosis(category, summary or cat.summary, fix or cat.fix, evidence, None if fix else cat.gui_fix,
                     cat.action)


def diagnose_facts(verify: VerifyReport | None, system: SystemReport | None) -> list[Diagnosis]:
    """Diagnoses from what verification and detection measured, then from the verify report's error text."""
    out: list[Diagnosis] = []
    nvidia = system.gpus_of("nvidia") if system else []
    amd = system.gpus_of("amd") if system else []
    torch_loaded = bool(verify and verify.torch)

    if verify and torch_loaded:
        expects_cuda = bool(verify.expect and verify.expect.startswith("cu"))
        # A CPU build where a GPU is present (or was asked for).
        if not verify.cuda and not verify.hip and (nvidia or expects_cuda):
            gpu_name = nvidia[0].name if nvidia else "the GPU"
            out.append(_make("cpu-build-on-gpu",
                             summary=f"torch {verify.torch} is a CPU-only build (torch.version.cuda is None), "
                                     f"so {gpu_name} is not used.",
                             evidence=f"torch {verify.torch}, cuda None"))
        elif not verify.hip and not verify.cuda and amd and system and system.os.name == "linux" \
                and bool(verify.expect and verify.expect.startswith("rocm")):
            out.append(_make("cpu-build-on-gpu",
                             summary=f"torch {verify.torch} has no ROCm support (torch.version.hip is None), so the AMD GPU is not used.",
                             fix="Reinstall torch from the ROCm index (e.g. `torch-setup install --backend rocm7.2`) in a fresh environment.",
                             evidence=f"torch {verify.torch}, hip None"))

        # Devices the build has no kernels for (measured on the device, or from detected capabilities).
        missing: list[str] = []
        for dev in verify.devices:
            if dev.arch_ok is False:
                missing.append(f"{dev.name or dev.device} (compute capability {dev.capability or dev.arch})")
        if not missing and verify.cuda and verify.arch_list and nvidia:
            for gpu in nvidia:
                if gpu.compute_capability and not _arch_list_covers(gpu.compute_capability, verify.arch_list):
                    missing.append(f"{gpu.name} (compute capability {gpu.compute_capability})")
        if missing:
            out.append(_make("gpu-arch-unsupported",
                             summary=f"torch {verify.torch} has no kernels for {', '.join(missing)}; "
                                     f"it supports {' '.join(verify.arch_list) or 'other GPUs'}.",
                             evidence=f"arch list: {' '.join(verify.arch_list)}"))

        # A CUDA build the driver is too old for.
        driver_diag = _driver_too_old(verify, system)
        if driver_diag:
            out.append(driver_diag)

    # Then whatever the error text and the failed checks say (import errors, crashes).
    texts = []
    if verify:
        if verify.error:
            texts.append(verify.error)
        texts += [c.detail for c in verify.failed_checks()]
        if verify.output_tail:
            texts.append(verify.output_tail)
    seen = {d.category for d in out}
    for d in diagnose_text("\n".join(texts)):
        if d.category not in seen:
            out.append(d)
            seen.add(d.category)
    return out


def _driver_too_old(verify: VerifyReport, system: SystemReport | None) -> Diagnosis | None:
    if not verify.cuda or not system or not system.gpus_of("nvidia"):
        return None
    if verify.available.get("cuda"):
        return None  # it runs, whatever the numbers say
    need_major = _cuda_major(verify.cuda)
    if need_major is None:
        return None
    windows = system.os.name == "windows"
    floor = _DRIVER_FLOOR.get(need_major)
    driver = system.nvidia_driver
    too_old = False
    if driver and floor:
        need = floor[1] if windows else floor[0]
        too_old = version_tuple(driver) < version_tuple(need)
    elif system.cuda_driver_version:
        have = _cuda_major(system.cuda_driver_version)
        too_old = have is not None and have < need_major
    if not too_old:
        return None
    need_text = (floor[1] if windows else floor[0]) if floor else f"a driver for CUDA {need_major}.x"
    return _make("driver-too-old",
                 summary=f"NVIDIA driver {driver or '(CUDA ' + str(system.cuda_driver_version) + ')'} is too old "
                         f"for torch {verify.torch} (CUDA {verify.cuda}).",
                 fix=f"Update the NVIDIA driver to {need_text} or newer, or install a torch build for an older CUDA line "
                     f"that this driver supports (e.g. cu126 needs >= {_DRIVER_FLOOR[12][1 if windows else 0]}).",
                 evidence=f"driver {driver}, torch CUDA {verify.cuda}")
