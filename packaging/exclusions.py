"""What the bundle leaves out, and why. Read by ``stnav.spec`` (to drop it) and by ``build.py`` (to
report it). The app uses QtCore, QtGui and QtWidgets only (``stnav_desktop/ui/qt.py``); qasync needs
QtCore/QtGui/QtWidgets and asyncio. Kept on purpose: ssl (OpenSSL), asyncio, the keyring backends,
the Windows platform and style plugins (``qwindows``, ``qmodernwindowsstyle``), the image formats
the icon needs, and on Linux the xcb platform plugin with the input-method plugins.
"""

from __future__ import annotations

import fnmatch

# Python modules never analysed into the bundle: (module, reason)
EXCLUDED_MODULES: list[tuple[str, str]] = [
    ("tkinter", "not used (Qt GUI)"),
    ("PyQt5", "other Qt bindings: qasync probes for them at run time, we use PySide6"),
    ("PyQt6", "other Qt bindings"),
    ("PySide2", "other Qt bindings"),
    ("PySide6.QtNetwork", "networking is requests/urllib3 over Python's ssl, not Qt"),
    ("PySide6.QtQml", "no QML"),
    ("PySide6.QtQuick", "no QML"),
    ("PySide6.QtQuickWidgets", "no QML"),
    ("PySide6.QtQuickControls2", "no QML"),
    ("PySide6.QtSvg", "no SVG images"),
    ("PySide6.QtSvgWidgets", "no SVG images"),
    ("PySide6.QtPdf", "no PDF viewing"),
    ("PySide6.QtOpenGL", "widgets paint with the raster engine"),
    ("PySide6.QtOpenGLWidgets", "widgets paint with the raster engine"),
    ("PySide6.QtSql", "the database is SQLite through Python's sqlite3 and peewee"),
    ("PySide6.QtTest", "tests only"),
    ("PySide6.QtDesigner", "no Designer forms at run time"),
    ("PySide6.QtUiTools", "no .ui files loaded at run time"),
    ("PySide6.QtHelp", "not used"),
    ("PySide6.QtXml", "not used"),
    ("PySide6.QtConcurrent", "not used"),
    ("PySide6.QtPrintSupport", "no printing (reports are exported to CSV/Excel)"),
    ("numpy", "optional for openpyxl/rapidfuzz; not needed"),
    ("pandas", "optional for openpyxl; not needed"),
    ("pytest", "tests only"),
    ("IPython", "not used"),
]

# Files dropped from the collected binaries and data, matched against the path inside the bundle
# (forward slashes, case-insensitive): (pattern, reason)
EXCLUDED_FILES: list[tuple[str, str]] = [
    ("PySide6/Qt/translations/*", "Qt's own translations: we ship the app in English only"),
    ("PySide6/translations/*", "Qt's own translations: we ship the app in English only"),
    ("*opengl32sw.dll", "Mesa software OpenGL renderer (Windows): widgets paint with the raster engine"),
    ("*Qt6Qml*", "QML engine: no QML"),
    ("*Qt6Quick*", "Qt Quick: no QML"),
    ("*Qt6Pdf*", "PDF engine: no PDF viewing"),
    ("*Qt6Svg*", "SVG: no SVG images or icons"),
    ("*Qt6Network*", "Qt networking: requests/urllib3 over Python's ssl do the HTTP"),
    ("*Qt6VirtualKeyboard*", "on-screen keyboard: desktop app"),
    ("*Qt6OpenGL*", "OpenGL helpers: raster painting (the xcb GL integration is dropped too)"),
    ("*Qt6Wayland*", "Wayland client (Linux): the xcb plugin runs under XWayland"),
    ("*Qt6Wl*", "Wayland shell integrations (Linux): the xcb plugin runs under XWayland"),
    ("*Qt6EglFSDeviceIntegration*", "EGLFS: embedded devices only"),
    ("*Qt6EglFsKmsSupport*", "EGLFS: embedded devices only"),
    ("*/plugins/imageformats/*qpdf*", "PDF image format: needs the PDF engine"),
    ("*/plugins/imageformats/*qsvg*", "SVG image format: needs Qt SVG"),
    ("*/plugins/imageformats/*qtiff*", "TIFF: not used"),
    ("*/plugins/imageformats/*qwebp*", "WebP: not used"),
    ("*/plugins/imageformats/*qicns*", "macOS icon files: not read at run time"),
    ("*/plugins/imageformats/*qtga*", "TGA: not used"),
    ("*/plugins/imageformats/*qwbmp*", "WBMP: not used"),
    ("*/plugins/iconengines/*", "SVG icon engine: no SVG icons"),
    ("*/plugins/tls/*", "Qt TLS backends: Python's ssl does TLS"),
    ("*/plugins/networkinformation/*", "Qt network information: no Qt networking"),
    ("*/plugins/platforms/*qeglfs*", "EGLFS platform: embedded devices only"),
    ("*/plugins/platforms/*qlinuxfb*", "framebuffer platform: embedded devices only"),
    ("*/plugins/platforms/*qvnc*", "VNC platform: not used"),
    ("*/plugins/platforms/*qvkkhrdisplay*", "Vulkan display platform: embedded devices only"),
    ("*/plugins/platforms/*qminimalegl*", "minimal EGL platform: embedded devices only"),
    ("*/plugins/platforms/*qwayland*", "Wayland platforms: the xcb plugin runs under XWayland"),
    ("*/plugins/platforms/*qdirect2d*", "Direct2D platform: the qwindows plugin is the one used"),
    ("*/plugins/egldeviceintegrations/*", "EGLFS device integrations: embedded devices only"),
    ("*/plugins/wayland-*", "Wayland integrations: the xcb plugin runs under XWayland"),
    ("*/plugins/xcbglintegrations/*", "OpenGL on X11: widgets paint with the raster engine"),
    ("*/plugins/generic/*", "evdev/tslib input for embedded devices"),
    ("*/plugins/sqldrivers/*", "Qt SQL drivers: not used"),
    ("*/plugins/qmltooling/*", "QML debugging: no QML"),
    ("*/plugins/qmllint/*", "QML lint: no QML"),
    ("*/plugins/designer/*", "Designer plugins: no Designer at run time"),
    ("*/plugins/vectorimageformats/*", "vector image formats (SVG/Lottie): not used"),
    ("*/plugins/printsupport/*", "printing: not used"),
]

# Must never be dropped, whatever a pattern above says (a guard against over-eager patterns)
KEEP: list[str] = [
    "*/plugins/platforms/*qwindows*",
    "*/plugins/platforms/*qcocoa*",
    "*/plugins/platforms/*qxcb*",
    "*/plugins/platforms/*qoffscreen*",
    "*/plugins/platforms/*qminimal.*",
    "*/plugins/platforms/libqminimal.so",
    "*/plugins/styles/*",
    "*_ssl*",
    "*libssl*",
    "*libcrypto*",
]


def _norm(path: str) -> str:
    return path.replace("\\", "/").lower()


def reason_for(dest: str) -> str | None:
    """Why ``dest`` (a path inside the bundle) is dropped, or None to keep it."""
    path = _norm(dest)
    candidates = (path, "/" + path)
    if any(fnmatch.fnmatchcase(c, _norm(p)) for p in KEEP for c in candidates):
        return None
    for pattern, reason in EXCLUDED_FILES:
        if any(fnmatch.fnmatchcase(c, _norm(pattern)) for c in candidates):
            return reason
    return None


def split(toc):
    """(kept, dropped) from a PyInstaller TOC of (dest, source, typecode); dropped has the reason."""
    kept, dropped = [], []
    for entry in toc:
        reason = reason_for(entry[0])
        if reason is None:
            kept.append(entry)
        else:
            dropped.append((entry[0], entry[1], reason))
    return kept, dropped
