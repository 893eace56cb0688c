"""The bundled release catalog: the facts the planner and the GUI rely on."""

from __future__ import annotations

import json

import pytest

from installer.core import paths
from installer.core.catalog import Catalog, CatalogError, parse_wheel_name, platform_key
from installer.core.report import OSInfo


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.bundled()


def test_bundled_data_is_stamped_and_covers_2_0_to_2_14(catalog: Catalog) -> None:
    data = json.loads(paths.resource("catalog.json").read_text(encoding="utf-8"))
    assert data["as_of"] == "2026-11-21"
    assert catalog.series()[0] == "2.14" and catalog.series()[-1] == "2.0"
    assert len(catalog.series()) == 15
    assert catalog.latest().version == "2.14.1"
    assert catalog.versions()[:3] == ["2.14.1", "2.14.0", "2.13.0"]
    for rel in catalog.releases:
        assert rel.sources, f"{rel.series} names no sources"
        assert rel.torchvision_for(rel.version), f"{rel.series} has no torchvision pairing"


def test_every_variant_has_driver_or_rocm_data(catalog: Catalog) -> None:
    for rel in catalog.releases:
        for plat, variants in rel.variants.items():
            for v in variants:
                if v.startswith("cu"):
                    assert catalog.min_driver(v, "linux") and catalog.min_driver(v, "windows")
                    assert catalog.cuda_arches(rel, v, plat), f"{rel.series} {v} {plat} has no arch list"
                if v.startswith("rocm"):
                    assert plat == "linux-x86_64"
                    assert catalog.rocm_targets(v)


def test_platform_facts(catalog: Catalog) -> None:
    assert "macos-x86_64" in catalog.release("2.2").platforms()
    assert "macos-x86_64" not in catalog.release("2.3").platforms()
    assert catalog.release("2.2").versions[0] == "2.2.2"
    assert catalog.variants(catalog.release("2.13"), "windows-arm64") == ["cpu"]
    assert catalog.release("2.13").python_range("windows-arm64").text() == "3.11–3.13"
    assert "xpu" not in catalog.variants(catalog.release("2.4"), "linux-x86_64")
    assert "xpu" in catalog.variants(catalog.release("2.5"), "windows-x86_64")
    assert not any(v.startswith("rocm") for v in catalog.variants(catalog.release("2.13"), "windows-x86_64"))


def test_cuda_arch_lists_differ_by_series(catalog: Catalog) -> None:
    # Volta (7.0) is in cu128 for 2.8-2.10 but not in 2.7 or 2.11.
    assert "7.0" not in catalog.cuda_arches(catalog.release("2.7"), "cu128", "linux-x86_64")
    assert "7.0" in catalog.cuda_arches(catalog.release("2.9"), "cu128", "linux-x86_64")
    assert "7.0" not in catalog.cuda_arches(catalog.release("2.11"), "cu128", "linux-x86_64")
    # aarch64 differs, and Windows has no PTX.
    assert catalog.cuda_arches(catalog.release("2.13"), "cu126", "linux-arm64") == ["8.0", "9.0"]
    assert "11.0" in catalog.cuda_arches(catalog.release("2.13"), "cu130", "linux-arm64")
    assert "12.0+PTX" in catalog.cuda_arches(catalog.release("2.13"), "cu130", "linux-x86_64")
    assert "12.0" in catalog.cuda_arches(catalog.release("2.13"), "cu130", "windows-x86_64")


def test_drivers_and_index_urls(catalog: Catalog) -> None:
    assert catalog.min_driver("cu126", "linux") == "525.60.13"
    assert catalog.min_driver("cu126", "windows") == "527.41"
    assert catalog.min_driver("cu118", "linux") == "450.80.02"
    assert catalog.min_driver("cu130", "linux") == "580.65.06"
    assert "R580+" in catalog.describe_backend("cu130")
    assert catalog.index_url("cu130") == "https://download.pytorch.org/whl/cu130"
    assert catalog.index_url("xpu", nightly=True) == "https://download.pytorch.org/whl/nightly/xpu"
    assert catalog.index_url("mps") == "https://download.pytorch.org/whl/cpu"


def test_torchaudio_after_2_11_is_2_11_and_flagged(catalog: Catalog) -> None:
    rel = catalog.release("2.13")
    assert rel.torchaudio_for("2.13.0") == "2.11.0"
    assert rel.is_unverified("torchaudio")
    assert catalog.release("2.12").torchaudio_for("2.12.1") == "2.11.0"
    assert catalog.release("2.0").torchaudio_for("2.0.1") == "2.0.2"


def test_release_lookup_errors_name_the_newest(catalog: Catalog) -> None:
    assert catalog.release("2.5.1").series == "2.5"
    assert catalog.release("nightly").nightly
    with pytest.raises(CatalogError, match=r"2\.14\.1"):
        catalog.release("2.15")
    with pytest.raises(CatalogError, match=r"2\.13\.0"):
        catalog.release("2.13.7")
    with pytest.raises(CatalogError, match=r"2\.0 to 2\.14\.1"):
        catalog.release("1.13")


def test_platform_key() -> None:
    assert platform_key(OSInfo(name="windows", version="11", arch="arm64")) == "windows-arm64"
    assert platform_key(OSInfo(name="linux", version="12", arch="x86_64")) == "linux-x86_64"


@pytest.mark.parametrize(
    ("name", "version", "variant", "platforms", "pythons"),
    [
        (
            "torch-2.13.0+cu130-cp312-cp312-manylinux_2_28_x86_64.whl",
            "2.13.0",
            "cu130",
            ("linux-x86_64",),
            ("3.12",),
        ),
        (
            "torch-2.7.0+rocm6.2.4-cp313-cp313t-manylinux_2_28_x86_64.whl",
            "2.7.0",
            "rocm6.2.4",
            ("linux-x86_64",),
            ("3.13t",),
        ),
        ("torch-2.13.0-cp312-cp312-win_arm64.whl", "2.13.0", None, ("windows-arm64",), ("3.12",)),
        ("torch-2.2.2-cp39-none-macosx_10_9_x86_64.whl", "2.2.2", None, ("macos-x86_64",), ("3.9",)),
        ("torch-2.13.0%2Bcpu-cp311-cp311-linux_x86_64.whl", None, None, None, None),
    ],
)
def test_parse_wheel_name(
    name: str, version: str | None, variant: str | None, platforms: tuple | None, pythons: tuple | None
) -> None:
    facts = parse_wheel_name(name)
    if version is None:
        assert facts is None  # a still-quoted name is not a wheel name
        return
    assert facts is not None
    assert (facts.version, facts.variant, facts.platforms, facts.pythons) == (
        version,
        variant,
        platforms,
        pythons,
    )
