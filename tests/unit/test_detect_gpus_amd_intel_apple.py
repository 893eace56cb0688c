"""AMD, Intel and Apple probes fed with recorded outputs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from installer.core.detect import amd, apple, intel, windows_video
from installer.core.detect.sources import MachineSources, fake_completed
from installer.core.process import Completed
from installer.core.report import OSInfo

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "detect"


def fixture(name: str) -> str:
    return (FIX / name).read_text(encoding="utf-8")


def tree(files: dict[str, str], commands: dict[str, str] | None = None,
         on_path: Sequence[str] = ()) -> MachineSources:
    """A fake file system: listdir derives children from the file paths."""

    def listdir(path: str) -> list[str]:
        prefix = path.rstrip("/") + "/"
        return sorted({p[len(prefix):].split("/")[0] for p in files if p.startswith(prefix)})

    def run(argv: Sequence[str], timeout: float) -> Completed:
        name = Path(argv[0]).name
        if commands and name in commands:
            return fake_completed(argv, 0, commands[name])
        return fake_completed(argv, None, error=f"{name} not found")

    return MachineSources(read=files.get, listdir=listdir, exists=lambda p: p in files,
                          which=lambda n: f"/usr/bin/{n}" if n in on_path else None, run=run, env={})


# -- AMD ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version,name", [
    (110000, "gfx1100"), (110001, "gfx1101"), (100300, "gfx1030"), (100301, "gfx1031"), (90010, "gfx90a"),
    (90402, "gfx942"), (90006, "gfx906"), (120001, "gfx1201"), (110501, "gfx1151"), (0, None),
])
def test_gfx_name(version: int, name: str | None) -> None:
    assert amd.gfx_name(version) == name


def test_kfd_topology_without_rocm_finds_the_7900xtx_and_skips_the_cpu() -> None:
    root = amd.KFD_NODES
    src = tree({
        f"{root}/0/properties": fixture("kfd-node-cpu.properties"),
        f"{root}/1/properties": fixture("kfd-node-gfx1100-rx7900xtx.properties"),
        f"{root}/1/mem_banks/0/properties": "heap_type 1\nsize_in_bytes 25753026560\nflags 0\n",
    })
    facts = amd.detect_amd(src, system="linux")
    assert [(g.gfx_arch, g.pci_id, g.memory_mib, g.source) for g in facts.gpus] == [
        ("gfx1100", "1002:744c", 24560, "kfd")]
    assert "7900" in facts.gpus[0].name
    assert facts.rocm_version is None


def test_unsupported_rdna2_variant_is_reported_with_its_own_gfx_name() -> None:
    props = fixture("kfd-node-gfx1100-rx7900xtx.properties").replace("gfx_target_version 110000",
                                                                      "gfx_target_version 100301")
    props = props.replace("device_id 29772", "device_id 29663")  # 0x73df, RX 6700 XT
    src = tree({f"{amd.KFD_NODES}/1/properties": props})
    (gpu,) = amd.detect_amd(src, system="linux").gpus
    assert (gpu.gfx_arch, gpu.name) == ("gfx1031", "AMD Radeon RX 6700 XT")


def test_rocminfo_when_kfd_is_not_readable() -> None:
    src = tree({"/opt/rocm/.info/version": "6.4.1-120\n"},
               commands={"rocminfo": fixture("rocminfo-rx7900xtx-agent.txt")}, on_path=["rocminfo"])
    facts = amd.detect_amd(src, system="linux")
    assert [(g.name, g.gfx_arch, g.pci_id) for g in facts.gpus] == [("AMD Radeon RX 7900 XTX", "gfx1100", "1002:744c")]
    assert facts.rocm_version == "6.4.1"


def test_rocminfo_cpu_agent_is_not_a_gpu() -> None:
    assert amd.parse_rocminfo(fixture("rocminfo-cpu-agent-only.txt")) == []


def test_agent_enumerator_old_and_new_formats() -> None:
    assert amd.parse_agent_enumerator(fixture("rocm_agent_enumerator-gfx000-gfx803-gfx902.txt")) == ["gfx803", "gfx902"]
    assert amd.parse_agent_enumerator(fixture("rocm_agent_enumerator-8x-mi300x.txt")) == ["gfx942"] * 8
    src = tree({}, commands={"rocm_agent_enumerator": fixture("rocm_agent_enumerator-8x-mi300x.txt")},
               on_path=["rocm_agent_enumerator"])
    assert len(amd.detect_amd(src, system="linux").gpus) == 8


def test_rocm_version_from_hipconfig() -> None:
    src = tree({}, commands={"hipconfig": "6.2.41133-dd7f95766"}, on_path=["hipconfig"])
    assert amd.detect_rocm_version(src, 2.0) == "6.2"


def test_no_amd_gpu_anywhere() -> None:
    facts = amd.detect_amd(tree({}), system="linux")
    assert facts.gpus == [] and facts.rocm_version is None


# -- Intel -------------------------------------------------------------------------------------------


def pci(slot: str, vendor: str, klass: str, device: str) -> dict[str, str]:
    root = f"{intel.PCI_DEVICES}/{slot}"
    return {f"{root}/vendor": vendor + "\n", f"{root}/class": klass + "\n", f"{root}/device": device + "\n"}


def test_arc_a770_is_discrete_and_uhd_is_integrated_from_sysfs() -> None:
    src = tree({**pci("0000:00:02.0", "0x8086", "0x030000", "0x5917"),
                **pci("0000:03:00.0", "0x8086", "0x030000", "0x56a0"),
                **pci("0000:00:14.0", "0x8086", "0x0c0330", "0xa36d")})  # a USB controller: not a GPU
    gpus = intel.detect_intel(src, system="linux")
    assert [(g.pci_id, g.discrete, g.name) for g in gpus] == [
        ("8086:5917", False, "Intel integrated graphics"), ("8086:56a0", True, "Intel Arc A770 Graphics")]


def test_lspci_names_the_uhd_630() -> None:
    src = tree(pci("0000:00:02.0", "0x8086", "0x030000", "0x3e92"),
               commands={"lspci": fixture("lspci-nn-uhd630.txt")}, on_path=["lspci"])
    (gpu,) = intel.detect_intel(src, system="linux")
    assert (gpu.name, gpu.discrete, gpu.pci_id) == ("Intel UHD Graphics 630 (Desktop)", False, "8086:3e92")


def test_lspci_parser_keeps_display_devices_only() -> None:
    assert [d[2] for d in intel.parse_lspci(fixture("lspci-nn-uhd630.txt"))] == [0x3E92]


@pytest.mark.parametrize("name,device,discrete", [
    ("Intel Corporation DG2 [Arc A770] (rev 08) (prog-if 00 [VGA controller])", None, True),
    ("Intel(R) Arc(TM) B580 Graphics", None, True),
    ("Intel(R) Data Center GPU Max 1550", None, True),
    ("Intel(R) Arc(TM) Graphics", None, False),  # Core Ultra iGPU
    ("Intel(R) UHD Graphics", None, False),
    ("Intel(R) Iris(R) Xe Graphics", None, False),
    ("", 0x56A5, True), ("", 0x0BD5, True), ("", 0xE20B, True), ("", 0x9BC4, False), ("", 0x7D55, False),
])
def test_discrete_or_integrated(name: str, device: int | None, discrete: bool) -> None:
    assert intel.is_discrete(device, name) is discrete


def test_lspci_vvv_arc_description_reads_well() -> None:
    line = fixture("lspci-vvv-arc-a770-line.txt").split(": ", 1)[1]
    assert intel._pretty(line.split(" (prog-if")[0]) == "Intel Arc A770"


# -- Windows display adapters ------------------------------------------------------------------------


def test_windows_video_controllers_from_recorded_format_list() -> None:
    (ctl,) = windows_video.parse_video_controllers(fixture("win32-videocontroller-uhd-fl.txt"))
    assert (ctl.name, ctl.pci_id) == ("Intel(R) UHD Graphics", "8086:9bc4")


def test_windows_video_controllers_from_json_drive_amd_and_intel() -> None:
    text = ('[{"Name":"AMD Radeon RX 7900 XTX","AdapterCompatibility":"Advanced Micro Devices, Inc.",'
            '"PNPDeviceID":"PCI\\\\VEN_1002&DEV_744C&SUBSYS_471E1DA2&REV_C8\\\\6&1234","AdapterRAM":4293918720,'
            '"DriverVersion":"31.0.24033.1003"},'
            '{"Name":"Intel(R) UHD Graphics","AdapterCompatibility":"Intel Corporation",'
            '"PNPDeviceID":"PCI\\\\VEN_8086&DEV_9BC4&SUBSYS_170D1043&REV_05\\\\3&11583659&0&10","AdapterRAM":1073741824,'
            '"DriverVersion":"31.0.101.2111"}]')
    src = MachineSources(run=lambda argv, t: fake_completed(argv, 0, text))
    (radeon,) = amd.detect_amd(src, system="win32").gpus
    assert (radeon.name, radeon.pci_id, radeon.gfx_arch) == ("AMD Radeon RX 7900 XTX", "1002:744c", None)
    (uhd,) = intel.detect_intel(src, system="win32")
    assert (uhd.name, uhd.discrete) == ("Intel(R) UHD Graphics", False)
    single = windows_video.parse_video_controllers('{"Name":"Intel(R) Arc(TM) A770 Graphics","PNPDeviceID":'
                                                   '"PCI\\\\VEN_8086&DEV_56A0&SUBSYS_1020172F&REV_08"}')
    assert single[0].pci_id == "8086:56a0"
    assert windows_video.parse_video_controllers("not json at all {") == []


# -- Apple -------------------------------------------------------------------------------------------


def test_apple_silicon_gpu_and_mps() -> None:
    gpu = apple.gpu_from_chip("Apple M2\n", 16384)
    assert gpu is not None and (gpu.vendor, gpu.name, gpu.discrete) == ("apple", "Apple M2 GPU", False)
    assert apple.gpu_from_chip("Intel(R) Core(TM) i7-9750H CPU @ 2.60GHz") is None
    assert apple.mps_possible(OSInfo("macos", "14.5", "arm64"))
    assert apple.mps_possible(OSInfo("macos", "12.3", "arm64"))
    assert not apple.mps_possible(OSInfo("macos", "12.2.1", "arm64"))
    assert not apple.mps_possible(OSInfo("macos", "13.6.7", "x86_64"))  # Intel Mac
    assert not apple.mps_possible(OSInfo("linux", "22.04", "arm64"))


def test_apple_probe_on_a_mac_reads_sysctl() -> None:
    src = MachineSources(run=lambda argv, t: fake_completed(argv, 0, "Apple M3 Max\n"))
    (gpu,) = apple.detect_apple(src, system="darwin")
    assert gpu.name == "Apple M3 Max GPU"
    assert apple.detect_apple(src, system="linux") == []
