"""The packaging files are consistent with the app (no PyInstaller, NSIS or wine needed)."""

import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"


def test_version_info_matches_the_app_version():
    sys.path.insert(0, str(PACKAGING))
    try:
        import make_version_info
    finally:
        sys.path.remove(str(PACKAGING))
    from stnav_desktop import __version__

    assert make_version_info.numeric_version("1.2.3rc1") == (1, 2, 3, 0)
    assert (PACKAGING / "version_info.txt").read_text(encoding="utf-8") == make_version_info.render(__version__)


def test_icon_files_exist_and_are_valid():
    resources = ROOT / "stnav_desktop" / "resources"
    assert (resources / "icon.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = (resources / "icon.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind) == (0, 1) and count >= 5
    sizes = {data[6 + 16 * i] or 256 for i in range(count)}
    assert {16, 32, 48, 256} <= sizes


def test_exclusions_keep_what_the_app_needs():
    sys.path.insert(0, str(PACKAGING))
    try:
        import exclusions
    finally:
        sys.path.remove(str(PACKAGING))
    keep = ["PySide6/Qt/plugins/platforms/qwindows.dll", "PySide6/plugins/styles/qmodernwindowsstyle.dll",
            "PySide6/Qt/plugins/platforms/libqxcb.so", "PySide6/Qt/plugins/platforms/libqoffscreen.so",
            "_ssl.pyd", "libssl-3-x64.dll", "PySide6/Qt6Widgets.dll", "PySide6/Qt6Gui.dll",
            "PySide6/Qt/plugins/imageformats/libqico.so", "PySide6/plugins/imageformats/qjpeg.dll"]
    drop = ["PySide6/opengl32sw.dll", "PySide6/translations/qt_de.qm", "PySide6/Qt6Qml.dll",
            "PySide6/Qt6Network.dll", "PySide6/plugins/platforms/libqeglfs.so", "PySide6/Qt6Pdf.dll"]
    for path in keep:
        assert exclusions.reason_for(path) is None, path
        assert exclusions.reason_for(path.replace("/", "\\")) is None, path
    for path in drop:
        assert exclusions.reason_for(path), path
    names = [name for name, _ in exclusions.EXCLUDED_MODULES]
    for needed in ("ssl", "asyncio", "keyring", "PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets"):
        assert needed not in names
