"""Draw the app icon with Qt's QPainter and write ``stnav_desktop/resources/icon.png`` (256 px) and
``icon.ico`` (16-256 px, PNG-compressed entries, as Windows Vista and later read them).

The generated files are committed; run this again only to change the design:
``QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/make_icon.py``
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "stnav_desktop" / "resources"
SIZES = (16, 24, 32, 48, 64, 128, 256)


def draw(size: int):
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, Qt
    from PySide6.QtGui import QBrush, QColor, QImage, QLinearGradient, QPainter, QPen, QPolygonF

    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = size / 256.0
    gradient = QLinearGradient(0, 0, 0, size)
    gradient.setColorAt(0.0, QColor("#1f6fb2"))
    gradient.setColorAt(1.0, QColor("#0b3d6b"))
    p.setBrush(QBrush(gradient))
    p.setPen(Qt.PenStyle.NoPen)
    p.drawRoundedRect(QRectF(8 * s, 8 * s, 240 * s, 240 * s), 44 * s, 44 * s)
    # two documents (ServiceTitan on the left, NAV on the right) and an arrow between them
    p.setBrush(QColor("#ffffff"))
    p.drawRoundedRect(QRectF(36 * s, 64 * s, 64 * s, 128 * s), 8 * s, 8 * s)
    p.setBrush(QColor("#ffd54f"))
    p.drawRoundedRect(QRectF(156 * s, 64 * s, 64 * s, 128 * s), 8 * s, 8 * s)
    if size >= 32:
        p.setPen(QPen(QColor("#1f6fb2"), max(1.0, 8 * s)))
        for y in (92, 116, 140, 164):
            p.drawLine(QPointF(50 * s, y * s), QPointF(86 * s, y * s))
        p.setPen(QPen(QColor("#0b3d6b"), max(1.0, 8 * s)))
        for y in (92, 116, 140, 164):
            p.drawLine(QPointF(170 * s, y * s), QPointF(206 * s, y * s))
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor("#ffffff"))
    p.drawPolygon(QPolygonF([QPointF(108 * s, 112 * s), QPointF(128 * s, 112 * s), QPointF(128 * s, 96 * s),
                             QPointF(150 * s, 128 * s), QPointF(128 * s, 160 * s), QPointF(128 * s, 144 * s),
                             QPointF(108 * s, 144 * s)]))
    p.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(data)


def ico(pngs: dict[int, bytes]) -> bytes:
    """An ICO file whose entries are PNG images (one per size)."""
    header = struct.pack("<HHH", 0, 1, len(pngs))
    offset = len(header) + 16 * len(pngs)
    entries, blobs = b"", b""
    for size, png in sorted(pngs.items()):
        dim = 0 if size >= 256 else size  # 0 means 256 in an ICO directory entry
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(png), offset)
        blobs += png
        offset += len(png)
    return header + entries + blobs


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 - fonts and image plugins
    pngs = {size: draw(size) for size in SIZES}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "icon.png").write_bytes(pngs[256])
    (OUT / "icon.ico").write_bytes(ico(pngs))
    print(f"wrote {OUT / 'icon.png'} and {OUT / 'icon.ico'} ({', '.join(map(str, SIZES))} px)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
