"""What PyTorch publishes: releases × Python × platform × variant × GPU architectures, as data.

The bundled resources/catalog.json is the offline truth; `refresh()` reads PyTorch's wheel index
(PEP 503 simple pages), caches what it saw under paths.cache_dir(), and `Catalog.load()` overlays
that cache on the bundled data.
"""

from __future__ import annotations

import copy
import datetime as _dt
import html.parser
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin

from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from installer.core import paths
from installer.core.report import OSInfo

PLATFORM_KEYS = (
    "linux-x86_64",
    "linux-arm64",
    "windows-x86_64",
    "windows-arm64",
    "macos-arm64",
    "macos-x86_64",
)
DEFAULT_INDEX = "https://download.pytorch.org/whl"
CACHE_NAME = "catalog-refresh.json"
CACHE_MAX_AGE_S = 24 * 3600
# Refreshed index pages are about the torch family; torchvision/torchaudio pairing stays catalog data.
_PACKAGE = "torch"


class CatalogError(ValueError):
    """A release or variant the catalog does not know. The message is one sentence for the user."""


def platform_key(os: OSInfo) -> str:
    """'linux-x86_64', 'windows-arm64', 'macos-arm64', … ; other machines get '<os>-<arch>' (nothing published)."""
    return f"{os.name}-{os.arch}"


def _minor_key(py: str) -> tuple[int, int, bool]:
    """'3.13t' -> (3, 13, True), for sorting and comparing Python versions."""
    ft = py.endswith("t")
    major, minor = py.rstrip("t").split(".")[:2]
    return int(major), int(minor), ft


def variant_kind(variant: str) -> str:
    """'cu126' -> 'cuda', 'rocm6.4' -> 'rocm', 'xpu', 'mps', 'cpu'."""
    if variant.startswith("cu"):
        return "cuda"
    if variant.startswith("rocm"):
        return "rocm"
    return variant


def _variant_sort_key(variant: str) -> tuple[int, tuple[int, ...]]:
    """GPU builds before CPU; newer CUDA / ROCm first (used to order what the index reports)."""
    if variant.startswith("cu") and variant[2:].isdigit():
        return (0, (-int(variant[2:]),))
    if variant.startswith("rocm"):
        return (1, tuple(-int(p) for p in variant[4:].split(".") if p.isdigit()))
    order = {"xpu": 2, "mps": 3, "cpu": 4}
    return (order.get(variant, 5), ())


@dataclass
class PythonRange:
    min: str
    max: str
    free_threaded: list[str] = field(default_factory=list)  # "3.13t"
    experimental: list[str] = field(default_factory=list)  # "3.15", "3.15t"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PythonRange:
        return cls(
            min=data["min"],
            max=data["max"],
            free_threaded=list(data.get("free_threaded", [])),
            experimental=list(data.get("experimental", [])),
        )

    def supports(self, minor: str, free_threaded: bool = False, experimental: bool = False) -> bool:
        """Is there a wheel for Python `minor` ("3.12"), free-threaded or not?"""
        tag = f"{minor}t" if free_threaded else minor
        if experimental and tag in self.experimental:
            return True
        if free_threaded:
            return tag in self.free_threaded
        return _minor_key(self.min) <= _minor_key(minor) <= _minor_key(self.max)

    def stable_minors(self) -> list[str]:
        """Every regular Python from max down to min: ['3.14', '3.13', …]."""
        lo, hi = _minor_key(self.min), _minor_key(self.max)
        return (
            [f"{hi[0]}.{m}" for m in range(hi[1], lo[1] - 1, -1)] if lo[0] == hi[0] else [self.max, self.min]
        )

    def text(self) -> str:
        return f"{self.min}–{self.max}"


@dataclass
class Release:
    series: str  # "2.13"
    versions: list[str]  # exact versions, newest first
    released: str | None
    python: PythonRange
    python_by_platform: dict[str, PythonRange]
    variants: dict[str, list[str]]  # platform key -> variants, preferred (newest) first
    pypi_default: dict[str, str]
    cuda_arches: dict[str, dict[str, list[str]]]  # variant -> {"default"|platform: ["8.6", "12.0+PTX"]}
    torchvision: dict[str, str]
    torchaudio: dict[str, str]
    conda_forge: dict[str, Any]
    sources: str = ""
    unverified: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    nightly: bool = False
    learned: bool = False  # this series came only from an index refresh

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Release:
        return cls(
            series=data["series"],
            versions=list(data["versions"]),
            released=data.get("released"),
            python=PythonRange.from_json(data["python"]),
            python_by_platform={
                k: PythonRange.from_json(v) for k, v in data.get("python_by_platform", {}).items()
            },
            variants={k: list(v) for k, v in data.get("variants", {}).items()},
            pypi_default=dict(data.get("pypi_default", {})),
            cuda_arches=copy.deepcopy(data.get("cuda_arches", {})),
            torchvision=dict(data.get("torchvision", {})),
            torchaudio=dict(data.get("torchaudio", {})),
            conda_forge=dict(data.get("conda_forge", {})),
            sources=data.get("sources", ""),
            unverified=dict(data.get("unverified", {})),
            notes=list(data.get("notes", [])),
            learned=bool(data.get("learned", False)),
        )

    @property
    def version(self) -> str:
        """The newest patch release of this series ("2.13.0"), or "nightly"."""
        return "nightly" if self.nightly else self.versions[0]

    def python_range(self, platform: str) -> PythonRange:
        return self.python_by_platform.get(platform, self.python)

    def platforms(self) -> list[str]:
        return [p for p in PLATFORM_KEYS if self.variants.get(p)]

    def torchvision_for(self, version: str) -> str | None:
        return self.torchvision.get(version)

    def torchaudio_for(self, version: str) -> str | None:
        return self.torchaudio.get(version)

    def is_unverified(self, key: str) -> str | None:
        """The note explaining why a fact is unverified (matches 'torchaudio', 'variants.rocm', …)."""
        for k, why in self.unverified.items():
            if k == key or k.startswith(key + ".") or key.startswith(k + "."):
                return why
        return None


class Catalog:
    """The bundled catalog, possibly overlaid with what a refresh of the wheel index saw."""

    def __init__(self, data: dict[str, Any], refreshed: dict[str, Any] | None = None) -> None:
        self.data = data
        self.generated: str = data.get("generated", "")
        self.as_of: str = data.get("as_of", self.generated)
        self.cuda: dict[str, dict[str, Any]] = data.get("cuda", {})
        self.rocm: dict[str, dict[str, Any]] = data.get("rocm", {})
        self.sizes: dict[str, Any] = data.get("sizes_mib", {})
        self.conda_forge: dict[str, Any] = data.get("conda_forge", {})
        self.index: dict[str, str] = data.get("index", {})
        self.refreshed_at: str | None = None
        self.notes: list[str] = []
        releases = [Release.from_json(r) for r in data.get("releases", [])]
        if refreshed:
            releases = self._overlay(releases, refreshed)
        releases.sort(key=lambda r: Version(r.series), reverse=True)
        self.releases: list[Release] = releases
        self._nightly = self._make_nightly(data.get("nightly", {}))

    # -- loading ---------------------------------------------------------------------------------

    @classmethod
    def bundled(cls) -> Catalog:
        return cls(_bundled_data())

    @classmethod
    def load(cls, refresh_timeout: float | None = None, index_root: str | None = None) -> Catalog:
        """Bundled data overlaid with the refresh cache; refresh_timeout=None means no network at all.

        With a timeout, a cache older than a day is renewed first (time-boxed); when that fails the
        older cache or the bundled data stands, and `notes` says so. `index_root` is a mirror of PyTorch's
        index: the refresh reads from it and index_url() builds the per-backend URLs under it.
        """
        data = _bundled_data()
        if index_root:
            root = index_root.rstrip("/")
            data["index"] = {**data.get("index", {}), "base": root, "nightly": f"{root}/nightly"}
        cached = read_cache()
        notes: list[str] = []
        if refresh_timeout is not None and (cached is None or _cache_age_s(cached) > CACHE_MAX_AGE_S):
            try:
                cached = _refresh_observations(
                    data, data.get("index", {}).get("base", DEFAULT_INDEX), refresh_timeout
                )
                write_cache(cached)
            except OSError as exc:
                notes.append(
                    f"Could not refresh the release catalog ({exc}); using the data from {data.get('as_of')}."
                )
        catalog = cls(data, cached)
        catalog.notes = notes + catalog.notes
        return catalog

    # -- questions -------------------------------------------------------------------------------

    def latest(self) -> Release:
        return self.releases[0]

    def versions(self) -> list[str]:
        """Every stable version, newest first ("2.14.1", "2.14.0", "2.13.0", …)."""
        return [v for r in self.releases for v in r.versions]

    def series(self) -> list[str]:
        return [r.series for r in self.releases]

    def release(self, spec: str) -> Release:
        """'latest', 'nightly', 'X.Y' or 'X.Y.Z' -> the Release (raises CatalogError naming the newest)."""
        spec = spec.strip()
        if spec == "latest":
            return self.latest()
        if spec == "nightly":
            return self._nightly
        parts = spec.split(".")
        series = ".".join(parts[:2])
        for rel in self.releases:
            if rel.series == series:
                if len(parts) == 2 or spec in rel.versions:
                    return rel
                known = ", ".join(rel.versions)
                raise CatalogError(f"PyTorch {spec} does not exist; the {series} releases are {known}.")
        newest = self.latest().version
        try:
            newer = Version(spec) > Version(newest)
        except InvalidVersion:
            newer = False
        if newer:
            raise CatalogError(
                f"PyTorch {spec} is not in the catalog (newest known: {newest}); "
                "run `torch-setup catalog --refresh` if it was released since."
            )
        raise CatalogError(
            f"PyTorch {spec} is not a release this installer supports; choose 2.0 to {newest}."
        )

    def variants(self, release: Release, platform: str) -> list[str]:
        return list(release.variants.get(platform, []))

    def cuda_arches(self, release: Release, variant: str, platform: str) -> list[str]:
        """Compute capabilities the variant carries on that platform: ["7.5", …, "12.0+PTX"]."""
        table = release.cuda_arches.get(variant)
        if not table:
            return []
        return list(table.get(platform, table.get("default", [])))

    def rocm_targets(self, variant: str) -> list[str]:
        return list(self.rocm.get(variant, {}).get("gfx", []))

    def min_driver(self, variant: str, os_name: str) -> str | None:
        """The oldest NVIDIA driver that runs this CUDA variant on 'linux' or 'windows'."""
        entry = self.cuda.get(variant)
        if not entry:
            return None
        return entry.get("min_driver", {}).get("windows" if os_name == "windows" else "linux")

    def cuda_version(self, variant: str) -> str | None:
        entry = self.cuda.get(variant)
        return entry.get("cuda") if entry else None

    def describe_backend(self, variant: str) -> str:
        """What a build needs, in one line for the GUI's override list."""
        kind = variant_kind(variant)
        if kind == "cuda":
            entry = self.cuda.get(variant, {})
            drivers = entry.get("min_driver", {})
            cuda = entry.get("cuda", variant[2:])
            return (
                f"NVIDIA CUDA {cuda}: needs an NVIDIA GPU and driver ≥ {drivers.get('linux', '?')} (Linux) / "
                f"{_windows_driver_text(drivers.get('windows'))} (Windows)"
            )
        if kind == "rocm":
            return f"AMD ROCm {variant[4:]}: Linux x86_64 with a supported Radeon/Instinct GPU (e.g. gfx1100, gfx90a)"
        if kind == "xpu":
            return ("Intel XPU: a discrete Intel Arc or Data Center GPU, or a Core Ultra with Intel Arc graphics, "
                    "with Intel's GPU driver (Linux or Windows)")
        if kind == "mps":
            from installer.core.planner.facts import hardware  # the fact lives in resources/hardware.json

            return f"Apple Metal (MPS): an Apple Silicon Mac with macOS {hardware().mps_min_macos} or newer"
        if kind == "cpu":
            return "CPU only: runs everywhere, no GPU acceleration"
        return variant

    def index_url(self, variant: str, nightly: bool = False) -> str:
        """PyTorch's PEP 503 index for a variant; the macOS default wheel lives in the cpu index."""
        base = self.index.get("nightly" if nightly else "base") or (
            DEFAULT_INDEX + ("/nightly" if nightly else "")
        )
        name = "cpu" if variant == "mps" else variant
        return f"{base.rstrip('/')}/{name}"

    def size_mib(self, variant: str) -> tuple[int, int]:
        """(download, disk) estimates for a build."""
        kind = variant_kind(variant)
        key = kind
        if kind == "cuda":
            cuda = self.cuda_version(variant) or "12"
            key = f"cuda{cuda.split('.')[0]}"
        entry = self.sizes.get(key) or self.sizes.get("cpu") or {"download": 200, "disk": 1000}
        return int(entry["download"]), int(entry["disk"])

    # -- nightly and refresh overlay ---------------------------------------------------------------

    def _make_nightly(self, data: dict[str, Any]) -> Release:
        latest = self.releases[0]
        python = PythonRange.from_json(data["python"]) if "python" in data else latest.python
        return Release(
            series="nightly",
            versions=["nightly"],
            released=None,
            python=python,
            python_by_platform={
                k: PythonRange.from_json(v) for k, v in data.get("python_by_platform", {}).items()
            },
            variants={k: list(v) for k, v in data.get("variants", latest.variants).items()},
            pypi_default={},
            cuda_arches=copy.deepcopy(data.get("cuda_arches", latest.cuda_arches)),
            torchvision={},
            torchaudio={},
            conda_forge={"available": False},
            sources=data.get("sources", ""),
            unverified=dict(data.get("unverified", {})),
            nightly=True,
        )

    def _overlay(self, releases: list[Release], refreshed: dict[str, Any]) -> list[Release]:
        """Apply what the index showed: each variant page fetched is the truth for that variant."""
        self.refreshed_at = refreshed.get("as_of")
        pages: dict[str, Any] = refreshed.get("pages", {})
        by_series = {r.series: r for r in releases}
        seen_series: dict[str, dict[str, Any]] = {}
        for variant, page in pages.items():
            if not page.get("ok"):
                continue
            for version, platforms in page.get("wheels", {}).items():
                series = ".".join(version.split(".")[:2])
                entry = seen_series.setdefault(series, {"versions": set(), "variants": {}, "pythons": {}})
                entry["versions"].add(version)
                for plat, pythons in platforms.items():
                    entry["variants"].setdefault(plat, set()).add(variant)
                    entry["pythons"].setdefault(plat, set()).update(pythons)
        fetched = {v for v, p in pages.items() if p.get("ok")}
        for series, seen in seen_series.items():
            rel = by_series.get(series)
            if rel is None:
                rel = _learned_release(series, releases[0], seen)
                by_series[series] = rel
                releases.append(rel)
                continue
            versions = set(rel.versions) | seen["versions"]
            rel.versions = sorted(versions, key=Version, reverse=True)
            for plat in PLATFORM_KEYS:
                observed = seen["variants"].get(plat, set())
                kept = [v for v in rel.variants.get(plat, []) if v not in fetched or v in observed]
                added = [v for v in observed if v not in kept]
                if kept or added:
                    rel.variants[plat] = sorted(set(kept) | set(added), key=_variant_sort_key)
                for key in list(rel.unverified):
                    if key.startswith("variants") and any(v in key for v in observed):
                        rel.unverified.pop(key)
        return releases


def _bundled_data() -> dict[str, Any]:
    """The bundled resources/catalog.json, parsed."""
    data: dict[str, Any] = json.loads(paths.resource("catalog.json").read_text(encoding="utf-8"))
    return data


def _learned_release(series: str, template: Release, seen: dict[str, Any]) -> Release:
    """A series the bundled data does not know: facts from the index, the rest copied and flagged."""
    versions = sorted(seen["versions"], key=Version, reverse=True)
    pythons: set[str] = set().union(*seen["pythons"].values()) if seen["pythons"] else set()
    regular = sorted((p for p in pythons if not p.endswith("t")), key=_minor_key)
    python = (
        PythonRange(regular[0], regular[-1], sorted(p for p in pythons if p.endswith("t")))
        if regular
        else copy.deepcopy(template.python)
    )
    minor = int(series.split(".")[1])
    tv = {v: f"0.{minor + 15}.{v.split('.')[2] if v.count('.') == 2 else 0}" for v in versions}
    return Release(
        series=series,
        versions=versions,
        released=None,
        python=python,
        python_by_platform={},
        variants={p: sorted(vs, key=_variant_sort_key) for p, vs in seen["variants"].items()},
        pypi_default={},
        cuda_arches=copy.deepcopy(template.cuda_arches),
        torchvision=tv,
        torchaudio={v: "2.11.0" for v in versions},
        conda_forge={"available": None, "verified": False},
        sources="learned from PyTorch's wheel index by `torch-setup catalog --refresh`",
        unverified={
            "cuda_arches": f"GPU architecture lists copied from {template.series}",
            "torchvision": "torchvision version follows the pattern 2.N -> 0.(N+15)",
            "torchaudio": "torchaudio 2.11.0 assumed (no newer release known)",
        },
        learned=True,
    )


def _windows_driver_text(value: str | None) -> str:
    if value is None:
        return "?"
    return f"R{value}+" if "." not in value else value


# -- reading PyTorch's wheel index -----------------------------------------------------------------

_PLATFORM_TAG_RES = [
    (re.compile(r"^(many|musl)?linux.*_x86_64$"), ("linux-x86_64",)),
    (re.compile(r"^(many|musl)?linux.*_aarch64$"), ("linux-arm64",)),
    (re.compile(r"^win_amd64$"), ("windows-x86_64",)),
    (re.compile(r"^win_arm64$"), ("windows-arm64",)),
    (re.compile(r"^macosx_.*_arm64$"), ("macos-arm64",)),
    (re.compile(r"^macosx_.*_x86_64$"), ("macos-x86_64",)),
    (re.compile(r"^macosx_.*_universal2$"), ("macos-arm64", "macos-x86_64")),
]


def platform_keys_for_tag(platform_tag: str) -> tuple[str, ...]:
    """'manylinux_2_28_x86_64' -> ('linux-x86_64',); unknown tags (win32, ppc64le) -> ()."""
    for regex, keys in _PLATFORM_TAG_RES:
        if regex.match(platform_tag):
            return keys
    return ()


def python_for_tag(tag: Tag) -> str | None:
    """cp312-cp312 -> '3.12'; cp313-cp313t -> '3.13t'; py3-none -> None (not tied to a Python)."""
    m = re.fullmatch(r"cp(\d)(\d+)", tag.interpreter)
    if not m:
        return None
    minor = f"{m.group(1)}.{m.group(2)}"
    return f"{minor}t" if tag.abi.endswith("t") else minor


@dataclass
class WheelFacts:
    version: str  # public version: "2.13.0" (nightly dev versions kept as they are)
    variant: str | None  # from the local version label: "cu126", "cpu", None when there is none
    platforms: tuple[str, ...]
    pythons: tuple[str, ...]


def parse_wheel_name(filename: str) -> WheelFacts | None:
    """What a torch wheel file name says about itself; None when it is not a usable wheel name."""
    try:
        _name, version, _build, tags = parse_wheel_filename(filename)
    except (InvalidWheelFilename, InvalidVersion):
        return None
    plats: set[str] = set()
    pythons: set[str] = set()
    for tag in tags:
        plats.update(platform_keys_for_tag(tag.platform))
        py = python_for_tag(tag)
        if py:
            pythons.add(py)
    variant = version.local  # "cu126", "rocm6.2.4", "cpu"; None for the default build
    return WheelFacts(
        version=version.public,
        variant=variant,
        platforms=tuple(sorted(plats)),
        pythons=tuple(sorted(pythons, key=_minor_key)),
    )


class _LinkParser(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.files: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a":
            return
        href = dict(attrs).get("href")
        if href:
            name = unquote(href.split("#", 1)[0].split("?", 1)[0].rsplit("/", 1)[-1])
            if name.endswith(".whl"):
                self.files.append(name)


def wheel_names_from_page(html_text: str) -> list[str]:
    parser = _LinkParser()
    parser.feed(html_text)
    return parser.files


def _fetch(url: str, timeout: float) -> str:
    from installer.core import netconfig

    request = urllib.request.Request(url, headers={"Accept": "text/html", "User-Agent": "torch-setup"})
    # The same trust (OS store + extra CAs) and proxies as the install's own downloads.
    with netconfig.opener(netconfig.active()).open(request, timeout=timeout) as response:
        body: bytes = response.read(32 * 1024 * 1024)
    return body.decode("utf-8", errors="replace")


def _scan_page(index_url: str, variant: str, timeout: float) -> dict[str, Any]:
    """{'ok': True, 'wheels': {version: {platform: [pythons]}}} for <index>/<variant>/torch/."""
    url = urljoin(index_url.rstrip("/") + "/", f"{variant}/{_PACKAGE}/")
    text = _fetch(url, timeout)
    wheels: dict[str, dict[str, set[str]]] = {}
    for name in wheel_names_from_page(text):
        facts = parse_wheel_name(name)
        if facts is None or not facts.platforms:
            continue
        # A wheel without a local label is the platform's default build (macOS, aarch64 CPU); it is
        # counted only on the CPU page. Local labels are compared whole: "+rocm6.2.4" is rocm6.2.4.
        if (facts.variant or "cpu") != variant:
            continue
        for plat in facts.platforms:
            wheels.setdefault(facts.version, {}).setdefault(plat, set()).update(facts.pythons)
    return {
        "ok": True,
        "url": url,
        "wheels": {
            v: {p: sorted(py, key=_minor_key) for p, py in plats.items()} for v, plats in wheels.items()
        },
    }


def _refresh_observations(data: dict[str, Any], index_url: str, timeout: float) -> dict[str, Any]:
    """Fetch every known variant page in parallel, all within `timeout` seconds in total."""
    variants: set[str] = set()
    for rel in data.get("releases", []):
        for vs in rel.get("variants", {}).values():
            variants.update(v for v in vs if v != "mps")
    variants.add("cpu")
    deadline = time.monotonic() + timeout
    pages: dict[str, Any] = {}
    pool = ThreadPoolExecutor(max_workers=min(16, len(variants)), thread_name_prefix="catalog-refresh")
    try:
        futures = {pool.submit(_scan_page, index_url, v, timeout): v for v in sorted(variants)}
        done, _pending = wait(futures, timeout=max(0.0, deadline - time.monotonic()))
        for future, variant in futures.items():
            if future not in done:
                pages[variant] = {"ok": False, "error": "timed out"}
                continue
            try:
                pages[variant] = future.result()
            except urllib.error.HTTPError as exc:
                pages[variant] = {"ok": exc.code == 404, "error": f"HTTP {exc.code}", "wheels": {}}
            except (OSError, ValueError) as exc:
                pages[variant] = {"ok": False, "error": str(exc)}
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    if not any(p.get("ok") and p.get("wheels") for p in pages.values()):
        errors = sorted({str(p.get("error")) for p in pages.values() if p.get("error")})
        raise OSError(f"no page of {index_url} could be read ({'; '.join(errors[:3]) or 'no wheels listed'})")
    # Promote the macOS CPU rows to "mps": the Apple Silicon wheel is the MPS build.
    cpu = pages.get("cpu")
    if cpu and cpu.get("ok"):
        mps_wheels: dict[str, dict[str, list[str]]] = {}
        for version, plats in cpu.get("wheels", {}).items():
            if "macos-arm64" in plats:
                mps_wheels[version] = {"macos-arm64": plats.pop("macos-arm64")}
        pages["mps"] = {"ok": True, "url": cpu.get("url"), "wheels": mps_wheels}
    return {
        "as_of": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "index_url": index_url,
        "pages": pages,
    }


def refresh(index_url: str = DEFAULT_INDEX, timeout: float = 10.0) -> Catalog:
    """Learn versions and variants from the wheel index, cache them, and return the overlaid catalog.

    Raises OSError when no page could be read (the cache is then left as it was).
    """
    data = _bundled_data()
    observed = _refresh_observations(data, index_url, timeout)
    write_cache(observed)
    return Catalog(data, observed)


def cache_path() -> Path:
    return paths.cache_dir() / CACHE_NAME


def read_cache() -> dict[str, Any] | None:
    path = cache_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("pages"), dict) else None


def write_cache(observed: dict[str, Any]) -> None:
    path = cache_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(observed, indent=1), encoding="utf-8")
    tmp.replace(path)


def _cache_age_s(cached: dict[str, Any]) -> float:
    try:
        stamp = _dt.datetime.fromisoformat(str(cached.get("as_of")))
    except ValueError:
        return float("inf")
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=_dt.timezone.utc)
    return (_dt.datetime.now(_dt.timezone.utc) - stamp).total_seconds()


def summary_lines(catalog: Catalog, platform: str | None = None) -> Iterable[str]:
    """Human-readable lines for `torch-setup catalog`."""
    where = f" for {platform}" if platform else ""
    yield f"PyTorch releases known{where} (catalog data as of {catalog.as_of}" + (
        f", refreshed {catalog.refreshed_at})" if catalog.refreshed_at else ")"
    )
    for rel in catalog.releases:
        plats = [platform] if platform else rel.platforms()
        variants = sorted({v for p in plats for v in rel.variants.get(p, [])}, key=_variant_sort_key)
        if platform and not variants:
            continue
        rng = rel.python_range(platform) if platform else rel.python
        extra = f" +{','.join(rng.free_threaded)}" if rng.free_threaded else ""
        flag = "  (some facts unverified)" if rel.unverified else ""
        yield (
            f"  {rel.version:<8} Python {rng.text()}{extra:<12} torchvision {rel.torchvision_for(rel.version) or '?':<7}"
            f" {' '.join(variants)}{flag}"
        )
    for note in catalog.notes:
        yield f"note: {note}"
