"""Turn the output lines of uv, pip, conda/mamba, ninja and git into progress (a fraction and a short text).

One parser object per step (they keep a little state: which file is downloading, how much is done).
The formats were recorded from real runs; see tests/fixtures/progress/SOURCES.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNITS = {
    "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
    "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4,
    "k": 1e3, "m": 1e6, "g": 1e9,
}


def to_bytes(number: str, unit: str) -> float:
    """'180.4', 'MiB' → bytes. Unknown units count as bytes."""
    return float(number) * _UNITS.get(unit.strip().lower(), 1)


def human_size(nbytes: float) -> str:
    """Bytes → the MB figure a person reads in a progress text ('412 MB', '1.2 GB')."""
    if nbytes >= 1e9:
        return f"{nbytes / 1e9:.1f} GB"
    if nbytes >= 10e6:
        return f"{nbytes / 1e6:.0f} MB"
    if nbytes >= 1e6:
        return f"{nbytes / 1e6:.1f} MB"
    return f"{nbytes / 1e3:.0f} kB"


_ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\\-_]")
LINE_BREAK = re.compile(rb"\r\n|\r|\n")


def decode_line(raw: bytes | bytearray) -> str:
    """One raw output line → text: terminal colour/cursor codes dropped, UTF-8 with replacement."""
    return _ANSI.sub(b"", bytes(raw)).decode("utf-8", errors="replace")


def split_lines(data: bytes) -> list[str]:
    """Split recorded output the way the runner does: on \\n, \\r\\n and \\r; blank lines dropped."""
    return [text for text in (decode_line(part) for part in LINE_BREAK.split(data)) if text.strip()]


@dataclass
class ProgressUpdate:
    fraction: float | None  # 0..1 within the step; None when only the text is known
    text: str


class ProgressParser:
    """Base parser: feed() every line; it returns an update when the line says something about progress."""

    name = "none"

    def __init__(self) -> None:
        self._best = 0.0

    def feed(self, line: str) -> ProgressUpdate | None:
        return None

    def _update(self, fraction: float | None, text: str) -> ProgressUpdate:
        # A bar that jumps backwards (a new, bigger file appears) confuses people more than one that pauses.
        if fraction is not None:
            fraction = max(0.0, min(1.0, fraction))
            self._best = max(self._best, fraction)
            fraction = self._best
        return ProgressUpdate(fraction, text)


class _Downloads:
    """Bytes announced and bytes finished over all downloads of a step."""

    def __init__(self) -> None:
        self.sizes: dict[str, float] = {}
        self.done: dict[str, float] = {}

    def announce(self, name: str, size: float) -> None:
        self.sizes[name] = size
        self.done.setdefault(name, 0.0)

    def advance(self, name: str, nbytes: float) -> None:
        if name in self.sizes:
            self.done[name] = min(nbytes, self.sizes[name])

    def finish(self, name: str) -> None:
        if name in self.sizes:
            self.done[name] = self.sizes[name]

    def fraction(self) -> float | None:
        total = sum(self.sizes.values())
        return sum(self.done.values()) / total if total else None


# -- uv ----------------------------------------------------------------------------------------------

_UV_DOWNLOADING = re.compile(r"^\s*Downloading (?P<name>\S+) \((?P<num>[\d.]+)(?P<unit>[KMGT]?i?B)\)\s*$")
_UV_DOWNLOADED = re.compile(r"^\s*Downloaded (?P<name>\S+)\s*$")
_UV_RESOLVED = re.compile(r"^\s*Resolved (?P<n>\d+) packages? in (?P<t>\S+)")
_UV_PREPARED = re.compile(r"^\s*Prepared (?P<n>\d+) packages? in (?P<t>\S+)")
_UV_INSTALLED = re.compile(r"^\s*(Installed|Audited) (?P<n>\d+) packages? in (?P<t>\S+)")
# The bars uv draws on a terminal, several per line: "sympy   ------------- 2.81 MiB/6.01 MiB"
_UV_BAR = re.compile(r"(?P<name>[A-Za-z0-9._-]+)\s+[-━─=#>]*\s*(?P<done>[\d.]+) ?(?P<du>[KMGT]?i?B)/(?P<total>[\d.]+) ?(?P<tu>[KMGT]?i?B)")
_UV_INSTALLING = re.compile(r"\[(?P<n>\d+)/(?P<m>\d+)\]\s*(?P<what>\S*)")


class UvProgress(ProgressParser):
    """uv pip install / uv venv. Phases: resolve (5 %), download and prepare (to 85 %), install (to 100 %)."""

    name = "uv"

    def __init__(self) -> None:
        super().__init__()
        self.downloads = _Downloads()

    def _download_fraction(self) -> float:
        frac = self.downloads.fraction()
        return 0.05 + 0.8 * (frac or 0.0)

    def feed(self, line: str) -> ProgressUpdate | None:
        if m := _UV_DOWNLOADING.match(line):
            size = to_bytes(m["num"], m["unit"])
            self.downloads.announce(m["name"], size)
            return self._update(self._download_fraction(), f"Downloading {m['name']} ({human_size(size)})")
        if m := _UV_DOWNLOADED.match(line):
            self.downloads.finish(m["name"])
            return self._update(self._download_fraction(), f"Downloaded {m['name']}")
        if m := _UV_RESOLVED.match(line):
            return self._update(0.05, f"Resolved {m['n']} packages")
        if m := _UV_PREPARED.match(line):
            return self._update(0.85, f"Prepared {m['n']} packages")
        if m := _UV_INSTALLED.match(line):
            return self._update(1.0, f"{line.strip().split()[0]} {m['n']} packages")
        bars = list(_UV_BAR.finditer(line))
        if bars:
            for bar in bars:
                total = to_bytes(bar["total"], bar["tu"])
                self.downloads.announce(bar["name"], total)
                self.downloads.advance(bar["name"], to_bytes(bar["done"], bar["du"]))
            big = max(bars, key=lambda b: to_bytes(b["total"], b["tu"]))
            done, total = to_bytes(big["done"], big["du"]), to_bytes(big["total"], big["tu"])
            return self._update(self._download_fraction(), f"{big['name']} {_mb(done)}/{_mb(total)} MB")
        if ("Installing wheels" in line or "==" in line) and (m := _UV_INSTALLING.search(line)):
            n, total_n = int(m["n"]), int(m["m"])
            if total_n:
                return self._update(0.85 + 0.15 * n / total_n, f"Installing {n}/{total_n} {m['what']}".rstrip())
        return None


def _mb(nbytes: float) -> str:
    return f"{nbytes / 1e6:.0f}"


# -- pip ---------------------------------------------------------------------------------------------

_PIP_COLLECTING = re.compile(r"^\s*Collecting (?P<name>[A-Za-z0-9._-]+)")
# pip ≥ 20: "Downloading torch-2.13.0-cp311-...whl (191.8 MB)"; with a URL before pip 23.1
_PIP_DOWNLOADING = re.compile(
    r"^\s*Downloading (?:\S*/)?(?P<file>[^/\s]+?)\s+\((?P<num>[\d.]+) ?(?P<unit>[kKMGT]?i?B)\)\s*$")
# the rich bar: "   ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ 412.0/2310.0 MB 40.2 MB/s eta 0:00:47"
_PIP_BAR = re.compile(r"^\s*[━╸╺─\-=#>\s]*\s?(?P<done>[\d.]+)/(?P<total>[\d.]+) (?P<unit>[kKMGT]?i?B)\b")
_PIP_RAW = re.compile(r"^\s*Progress (?P<done>\d+) of (?P<total>\d+)\s*$")  # --progress-bar raw (pip ≥ 24.1)
_PIP_INSTALLING = re.compile(r"^\s*Installing collected packages:")
_PIP_SUCCESS = re.compile(r"^\s*(Successfully installed|Would install)\b")


def _wheel_name(filename: str) -> str:
    return filename.split("-", 1)[0]


class PipProgress(ProgressParser):
    """pip install. Phases: collect/download (to 85 %, by bytes), install (90 %), done (100 %)."""

    name = "pip"

    def __init__(self) -> None:
        super().__init__()
        self.downloads = _Downloads()
        self.current: str | None = None

    def _download_fraction(self) -> float:
        frac = self.downloads.fraction()
        return 0.02 + 0.83 * (frac or 0.0)

    def feed(self, line: str) -> ProgressUpdate | None:
        if m := _PIP_DOWNLOADING.match(line):
            name = _wheel_name(m["file"])
            size = to_bytes(m["num"], m["unit"])
            if self.current is not None:
                self.downloads.finish(self.current)
            self.current = name
            self.downloads.announce(name, size)
            return self._update(self._download_fraction(), f"Downloading {name} ({human_size(size)})")
        if m := _PIP_RAW.match(line):
            if self.current is None:
                return None
            total = float(m["total"])
            self.downloads.announce(self.current, total)
            self.downloads.advance(self.current, float(m["done"]))
            return self._update(self._download_fraction(),
                                f"{self.current} {_mb(float(m['done']))}/{_mb(total)} MB")
        if m := _PIP_BAR.match(line):
            if not any(c in line for c in "━╸╺") and "eta" not in line and "/s" not in line:
                return None  # a bare "a/b MB" without a bar is not pip's progress line
            unit = m["unit"]
            done, total = to_bytes(m["done"], unit), to_bytes(m["total"], unit)
            name = self.current or "download"
            if self.current is not None:
                self.downloads.announce(name, total)
                self.downloads.advance(name, done)
            return self._update(self._download_fraction(), f"{name} {_mb(done)}/{_mb(total)} MB")
        if m := _PIP_COLLECTING.match(line):
            if self.current is not None:
                self.downloads.finish(self.current)
                self.current = None
            return self._update(None, f"Collecting {m['name']}")
        if _PIP_INSTALLING.match(line):
            if self.current is not None:
                self.downloads.finish(self.current)
            return self._update(0.9, "Installing packages")
        if _PIP_SUCCESS.match(line):
            return self._update(1.0, line.strip()[:120])
        return None


# -- conda / mamba / micromamba -----------------------------------------------------------------------

_CONDA_PHASES = [
    (re.compile(r"^\s*(Collecting package metadata|Channels:|Retrieving notices)"), 0.02, "Reading channels"),
    (re.compile(r"^\s*(Solving environment|Looking for:|Transaction\s*$)"), 0.08, "Solving the environment"),
    (re.compile(r"^\s*(Downloading and Extracting Packages|Fetching packages)"), 0.15, "Downloading packages"),
    (re.compile(r"^\s*Preparing transaction"), 0.85, "Preparing the transaction"),
    (re.compile(r"^\s*Verifying transaction"), 0.88, "Verifying the transaction"),
    (re.compile(r"^\s*(Executing transaction|Linking |Transaction starting)"), 0.92, "Executing the transaction"),
    (re.compile(r"^\s*(Transaction finished|To activate this environment)"), 1.0, "Done"),
]
# conda (tqdm): "pytorch-2.5.1        | 1.2 GB    | ####5     |  45% "
_CONDA_TQDM = re.compile(r"^\s*(?P<name>\S+)\s*\|\s*(?P<size>[\d.]+ ?[kKMGT]?i?B)\s*\|[^|]*\|\s*(?P<pct>\d+)%")
# mamba / micromamba: "pytorch   412.0MB / 1.2GB" or "pytorch   ━━━━━━  412.0MB /   1.2GB  12.3s"
_MAMBA_BAR = re.compile(
    r"^\s*(?P<name>[A-Za-z0-9._/-]+)\s+[━╸╺─\-=#>\s]*?(?P<done>[\d.]+) ?(?P<du>[kKMGT]?i?B)\s*/\s*(?P<total>[\d.]+) ?(?P<tu>[kKMGT]?i?B)")


# mamba / micromamba, a finished download: "pytorch-mutex      2.9kB @  25.9kB/s  0.1s"
_MAMBA_DONE = re.compile(r"^\s*(?P<name>\S+)\s+(?P<num>[\d.]+) ?(?P<unit>[kKMGT]?i?B) @\s+[\d.]+ ?[kKMGT]?i?B/s\s+[\d.]+s\s*$")
_MAMBA_TOTAL = re.compile(r"^\s*Total download:\s*(?P<num>[\d.]+) ?(?P<unit>[kKMGT]?i?B)")


class CondaProgress(ProgressParser):
    """conda, mamba and micromamba create/install: phases, plus per-package download bars."""

    name = "conda"

    def __init__(self) -> None:
        super().__init__()
        self.downloads = _Downloads()
        self.total_download: float | None = None  # mamba's summary says it before the transaction
        self.downloaded = 0.0

    def _download_fraction(self) -> float:
        if self.total_download:
            return 0.15 + 0.7 * min(1.0, self.downloaded / self.total_download)
        return 0.15 + 0.7 * (self.downloads.fraction() or 0.0)

    def feed(self, line: str) -> ProgressUpdate | None:
        if m := _MAMBA_TOTAL.match(line):
            self.total_download = to_bytes(m["num"], m["unit"])
            return self._update(0.1, f"{human_size(self.total_download)} to download")
        if m := _MAMBA_DONE.match(line):
            size = to_bytes(m["num"], m["unit"])
            if self.total_download is None:  # repodata (channel index) downloads come before the summary
                return self._update(0.05, f"Reading {m['name']}")
            self.downloaded += size
            return self._update(self._download_fraction(),
                                f"{m['name']} {human_size(size)} ({_mb(self.downloaded)}/{_mb(self.total_download)} MB)")
        if m := _CONDA_TQDM.match(line):
            size = _parse_size(m["size"])
            self.downloads.announce(m["name"], size)
            self.downloads.advance(m["name"], size * int(m["pct"]) / 100)
            return self._update(self._download_fraction(), f"{m['name']} {m['pct']}% of {m['size'].strip()}")
        if m := _MAMBA_BAR.match(line):
            done, total = to_bytes(m["done"], m["du"]), to_bytes(m["total"], m["tu"])
            if total <= 0:
                return None
            self.downloads.announce(m["name"], total)
            self.downloads.advance(m["name"], done)
            return self._update(self._download_fraction(), f"{m['name']} {_mb(done)}/{_mb(total)} MB")
        for pattern, fraction, text in _CONDA_PHASES:
            if pattern.match(line):
                return self._update(fraction, text)
        return None


def _parse_size(text: str) -> float:
    m = re.match(r"([\d.]+) ?([kKMGT]?i?B)", text.strip())
    return to_bytes(m[1], m[2]) if m else 0.0


# -- ninja -------------------------------------------------------------------------------------------

_NINJA = re.compile(r"^\s*\[(?P<n>\d+)/(?P<m>\d+)\]\s*(?P<what>.*)$")


class NinjaProgress(ProgressParser):
    """ninja (and CMake's ninja generator): "[1234/5678] Building CXX object …" → 1234/5678."""

    name = "ninja"

    def feed(self, line: str) -> ProgressUpdate | None:
        m = _NINJA.match(line)
        if not m:
            return None
        n, total = int(m["n"]), int(m["m"])
        if total <= 0:
            return None
        what = m["what"].strip()
        if len(what) > 100:
            what = what[:97] + "…"
        return self._update(n / total, f"[{n}/{total}] {what}".rstrip())


# -- git clone ---------------------------------------------------------------------------------------

_GIT = re.compile(r"^\s*(?:remote: )?(?P<phase>Counting objects|Compressing objects|Receiving objects|"
                  r"Resolving deltas|Updating files|Enumerating objects)\s*:\s+(?P<pct>\d+)%(?P<rest>.*)$")
_GIT_WEIGHTS = {  # (start, span) of each phase within the clone
    "Enumerating objects": (0.0, 0.0), "Counting objects": (0.0, 0.02), "Compressing objects": (0.02, 0.03),
    "Receiving objects": (0.05, 0.75), "Resolving deltas": (0.80, 0.1), "Updating files": (0.90, 0.1),
}


class GitProgress(ProgressParser):
    """git clone --progress: "Receiving objects:  45% (450/1000), 1.20 MiB | 2.3 MiB/s"."""

    name = "git"

    def feed(self, line: str) -> ProgressUpdate | None:
        m = _GIT.match(line)
        if not m:
            return None
        start, span = _GIT_WEIGHTS[m["phase"]]
        pct = int(m["pct"])
        rest = m["rest"].strip().rstrip(",").strip()
        text = f"{m['phase']} {pct}%" + (f" {rest}" if rest else "")
        return self._update(start + span * pct / 100, text)


_PARSERS: dict[str, type[ProgressParser]] = {
    "uv": UvProgress, "pip": PipProgress, "conda": CondaProgress, "mamba": CondaProgress,
    "micromamba": CondaProgress, "ninja": NinjaProgress, "git": GitProgress,
}


def parser_for(kind: str | None) -> ProgressParser:
    """The parser for Step.progress; an unknown or empty kind gets one that never reports."""
    cls = _PARSERS.get((kind or "").lower(), ProgressParser)
    return cls()
