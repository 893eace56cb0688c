"""Render torch-setup.svg into the PNG sizes the app, the .desktop file and the installers use.

Run from the repository root: .venv/bin/python resources/icons/render.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication(sys.argv[:1])
    folder = Path(__file__).resolve().parent
    renderer = QSvgRenderer(str(folder / "torch-setup.svg"))
    if not renderer.isValid():
        print("torch-setup.svg does not parse", file=sys.stderr)
        return 1
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        renderer.render(painter)
        painter.end()
        image.save(str(folder / f"torch-setup-{size}.png"))
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
