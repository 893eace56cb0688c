"""Build the platform icon files (.ico, .icns, a 256 px PNG) from the PNGs in resources/icons/.

Both .ico (Windows Vista and later) and .icns (macOS 10.7 and later) may hold PNG images as they are,
so the containers are written here byte by byte; a missing size is scaled from the largest PNG with
Qt's QImage (build machines have PySide6). Run by build.spec; also usable by hand:

    python packaging/make_icons.py [--src resources/icons] [--out build/icons]
"""

from __future__ import annotations

import argparse
import re
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# OSType -> pixel size of the PNG stored under it (Apple's "icns" types that take PNG data).
ICNS_TYPES = (("icp4", 16), ("icp5", 32), ("icp6", 64), ("ic07", 128), ("ic08", 256), ("ic09", 512),
              ("ic10", 1024), ("ic11", 32), ("ic12", 64), ("ic13", 256), ("ic14", 512))
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    if data[:8] != PNG_MAGIC or data[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def find_pngs(src: Path) -> dict[int, bytes]:
    """Square PNGs in src by pixel size; the name does not matter, the IHDR does."""
    found: dict[int, bytes] = {}
    for path in sorted(src.glob("*.png")):
        data = path.read_bytes()
        try:
            width, height = png_size(data)
        except ValueError:
            continue
        # Prefer the file named like the app icon when two have one size (e.g. other UI icons).
        if width == height and (width not in found or re.search(r"torch|app|icon", path.stem)):
            found[width] = data
    return found


def _scaled_png(source: bytes, size: int) -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QImage

    image = QImage.fromData(source)
    if image.isNull():
        raise ValueError("Qt could not read the source PNG")
    scaled = image.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    out = QByteArray()
    buffer = QBuffer(out)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    scaled.save(buffer, "PNG")
    buffer.close()
    return bytes(out.data())


def png_at(pngs: dict[int, bytes], size: int) -> bytes:
    if size in pngs:
        return pngs[size]
    larger = [s for s in pngs if s >= size]
    source = pngs[min(larger)] if larger else pngs[max(pngs)]
    pngs[size] = _scaled_png(source, size)
    return pngs[size]


def ico_bytes(images: list[bytes]) -> bytes:
    """An .ico file holding the given PNG images (directory entry size 0 means 256)."""
    header = struct.pack("<HHH", 0, 1, len(images))
    offset = len(header) + 16 * len(images)
    entries, blobs = b"", b""
    for data in images:
        width, height = png_size(data)
        entries += struct.pack("<BBBBHHII", width % 256, height % 256, 0, 0, 1, 32, len(data), offset)
        blobs += data
        offset += len(data)
    return header + entries + blobs


def icns_bytes(images: list[tuple[str, bytes]]) -> bytes:
    body = b"".join(kind.encode("ascii") + struct.pack(">I", len(data) + 8) + data for kind, data in images)
    return b"icns" + struct.pack(">I", len(body) + 8) + body


def make_icons(src: Path, out: Path) -> dict[str, Path]:
    """Write torch-setup.ico/.icns/.png into out; raises FileNotFoundError when src holds no PNG."""
    pngs = find_pngs(src)
    if not pngs:
        raise FileNotFoundError(f"no square PNG icon in {src}")
    out.mkdir(parents=True, exist_ok=True)
    written = {
        "ico": out / "torch-setup.ico",
        "icns": out / "torch-setup.icns",
        "png": out / "torch-setup.png",
    }
    written["ico"].write_bytes(ico_bytes([png_at(pngs, s) for s in ICO_SIZES]))
    written["icns"].write_bytes(icns_bytes([(kind, png_at(pngs, size)) for kind, size in ICNS_TYPES]))
    written["png"].write_bytes(png_at(pngs, 256))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=ROOT / "resources" / "icons")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "icons")
    args = parser.parse_args(argv)
    try:
        written = make_icons(args.src, args.out)
    except FileNotFoundError as exc:
        print(f"make_icons: {exc}", file=sys.stderr)
        return 1
    for path in written.values():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
