"""``stnav --self-test`` / ``stnav-desktop --self-test``: does this installation work on this PC?

Run by IT after an install and by the packaging build against the frozen bundle. Each check prints
one line, ``[ OK ]``, ``[WARN]``, ``[SKIP]`` or ``[FAIL]``; only FAIL lines make the exit code 1.

- the store: a fresh database in a temporary ``STNAV_HOME`` (migrations, an audit append + verify);
- the deployment file (``deploy.toml``), if IT installed one;
- the keychain: which keyring backend is in use, and whether it is a real OS keychain. No keychain
  is a warning (the app runs; it refuses to store secrets) - but a platform backend missing from a
  frozen bundle is a failure;
- every module of the package imports (nothing skipped silently);
- ssl and qasync;
- the two simulators, if built: each started briefly and fetched once over HTTPS, verifying TLS
  against the simulator's own CA;
- Qt: a QApplication (offscreen where there is no display), its platform and the available styles, and
  that the native platform plugin is present.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import pkgutil
import sys
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

OK, WARN, SKIP, FAIL = "[ OK ]", "[WARN]", "[SKIP]", "[FAIL]"

# modules that must not be imported by the walk, with the reason printed instead
NOT_IMPORTED = {
    "stnav_desktop.__main__": "entry point (runs the CLI when imported)",
}

# (label, module, class) of the simulators, being built alongside the connectors
SIMULATORS = (
    ("ServiceTitan simulator", "stnav_desktop.sandbox.servicetitan", "ServiceTitanSandbox"),
    ("NAV simulator", "stnav_desktop.sandbox.nav", "NavSandbox"),
)

# the Qt platform plugin a desktop session needs
NATIVE_PLATFORMS = {"win32": ("qwindows",), "darwin": ("qcocoa",), "linux": ("qxcb", "qwayland")}

# the keyring backend each platform needs, as "module:class"
PLATFORM_BACKENDS = {
    "win32": "keyring.backends.Windows:WinVaultKeyring",
    "darwin": "keyring.backends.macOS:Keyring",
    "linux": "keyring.backends.SecretService:Keyring",
}


class Report:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.failures = 0

    def add(self, status: str, text: str) -> None:
        if status == FAIL:
            self.failures += 1
        self.lines.append(f"{status} {text}")

    def guard(self, label: str, check: Callable[[Report], None]) -> None:
        """Run one check; an unexpected exception is a FAIL line, never a crash."""
        try:
            check(self)
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            from stnav_desktop.redact import redact

            self.add(FAIL, f"{label}: {type(exc).__name__}: {redact(exc)}")


@contextmanager
def _temporary_home():
    previous = os.environ.get("STNAV_HOME")
    with tempfile.TemporaryDirectory(prefix="stnav-selftest-") as folder:
        os.environ["STNAV_HOME"] = folder
        try:
            yield Path(folder)
        finally:
            from stnav_desktop.store.db import close_db

            close_db()
            if previous is None:
                os.environ.pop("STNAV_HOME", None)
            else:
                os.environ["STNAV_HOME"] = previous


def check_environment(report: Report) -> None:
    from stnav_desktop import __version__

    kind = "frozen bundle" if getattr(sys, "frozen", False) else "Python install"
    report.add(OK, f"ml-connector {__version__} ({kind}) on Python {sys.version.split()[0]}, {sys.platform}")


def check_store(report: Report) -> None:
    from stnav_desktop.paths import app_paths
    from stnav_desktop.store import audit, migrations, settings
    from stnav_desktop.store.db import open_sqlite

    paths = app_paths().ensure()
    database = open_sqlite(paths.database)  # never the shared database: the self-test writes
    version = migrations.current_version(database)
    settings.get_profile("self-test")
    audit.append("selftest", detail={"check": "store"}, profile="self-test")
    result = audit.verify()
    _forget_audit_key(audit.database_id())  # the temporary database's key must not stay in the keychain
    if not result.ok:
        report.add(FAIL, f"store: {result.message()}")
        return
    journal = database.execute_sql("PRAGMA journal_mode").fetchone()[0]
    report.add(OK, f"store: fresh database opened in a temporary folder (schema v{version}, "
                   f"journal {journal}, audit chain verified)")


def _forget_audit_key(database_id: str) -> None:
    from stnav_desktop import credentials

    credentials.forget_audit_key(database_id)


def check_shared_store(report: Report) -> None:
    """The shared PostgreSQL store, when one is configured: reachable, and not newer than this app.
    Read-only: nothing is written to the office's database."""
    from stnav_desktop.store import backend, migrations
    from stnav_desktop.store.db import close_db, db
    from stnav_desktop.store.pg import StoreUnavailable, open_postgres

    try:
        cfg = backend.current()
    except backend.StoreConfigError as exc:
        report.add(FAIL, f"shared store: {exc}")
        return
    if not cfg.is_postgres:
        report.add(OK, "shared store: none configured (this PC keeps its own SQLite store)")
        return
    try:
        open_postgres(cfg, migrate=False)
        version = migrations.current_version(db)
    except (StoreUnavailable, migrations.SchemaTooNew) as exc:
        report.add(FAIL, f"shared store: {exc}")
        return
    finally:
        close_db()
    report.add(OK, f"shared store: {cfg.describe()} reachable, schema v{version}")


def check_deployment(report: Report) -> None:
    from stnav_desktop import deploy

    path = deploy.deploy_file_path()
    try:
        dep = deploy.current()
    except deploy.DeployError as exc:
        report.add(FAIL, f"deployment file: {exc}")
        return
    if not dep.source:
        report.add(OK, f"deployment file: none at {path} (no presets)")
    else:
        report.add(OK, f"deployment file: {dep.source}: {len(dep.values)} presets, {len(dep.locked)} locked")


def check_keychain(report: Report) -> None:
    from stnav_desktop import credentials

    platform_key = "linux" if sys.platform.startswith("linux") else sys.platform
    wanted = PLATFORM_BACKENDS.get(platform_key)
    if wanted:
        module_name, _, class_name = wanted.partition(":")
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except Exception as exc:  # noqa: BLE001 - a frozen bundle without the backend is broken
            report.add(FAIL, f"keychain: the {wanted} backend is missing ({type(exc).__name__}: {exc})")
        else:
            try:
                usable = f"usable here (priority {cls.priority})"
            except Exception as exc:  # noqa: BLE001 - keyring signals "not viable" by raising
                usable = f"not usable here ({type(exc).__name__}: {exc})"
            report.add(OK, f"keychain: platform backend {wanted} is bundled, {usable}")
    name = credentials.backend_name()
    try:
        credentials.check_available()
    except credentials.KeychainUnavailable as exc:
        report.add(WARN, f"keychain: NO real keychain found (backend {name}); the app runs but refuses to "
                         f"store secrets. {exc}")
        return
    if not credentials.is_os_keychain():
        report.add(WARN, f"keychain: backend {name} is not an OS keychain (a file or test backend); use Windows "
                         "Credential Manager, the macOS Keychain or a Secret Service")
        return
    report.add(OK, f"keychain: real keychain found (backend {name})")


def _missing(exc: ModuleNotFoundError, module_name: str) -> bool:
    """True when the simulator module itself (or its package) does not exist yet."""
    return bool(exc.name) and (module_name == exc.name or module_name.startswith(exc.name + "."))


def check_modules(report: Report) -> None:
    import stnav_desktop

    errors: list[str] = []
    names: list[str] = []

    def onerror(name: str) -> None:
        exc = sys.exc_info()[1]
        errors.append(f"{name}: {type(exc).__name__}: {exc}")

    for info in pkgutil.walk_packages(stnav_desktop.__path__, "stnav_desktop.", onerror=onerror):
        names.append(info.name)
    imported = 0
    for name in sorted(set(names)):
        if name in NOT_IMPORTED:
            report.add(SKIP, f"import {name}: not imported: {NOT_IMPORTED[name]}")
            continue
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - every failing module is listed
            errors.append(f"{name}: {type(exc).__name__}: {exc}")
        else:
            imported += 1
    for error in sorted(set(errors)):
        report.add(FAIL, f"import {error}")
    if imported == 0:
        report.add(FAIL, "import: no module of the stnav_desktop package was found")
    elif not errors:
        report.add(OK, f"import: all {imported} modules of the stnav_desktop package import")


def check_runtime_modules(report: Report) -> None:
    import asyncio  # noqa: F401 - bundled for qasync
    import ssl

    import qasync

    try:
        version = importlib.metadata.version("qasync")
    except importlib.metadata.PackageNotFoundError:
        version = getattr(qasync, "__version__", "(version unknown)")
    report.add(OK, f"ssl: {ssl.OPENSSL_VERSION}; asyncio and qasync {version} import")


def check_simulators(report: Report, tls_dir: Path) -> None:
    import requests

    for label, module_name, class_name in SIMULATORS:
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except ModuleNotFoundError as exc:
            if _missing(exc, module_name):
                report.add(SKIP, f"{label}: skipped: not built")
                continue
            report.add(FAIL, f"{label}: {type(exc).__name__}: {exc}")
            continue
        except (ImportError, AttributeError) as exc:
            report.add(FAIL, f"{label}: {type(exc).__name__}: {exc}")
            continue
        try:
            with cls(tls_dir) as sandbox, requests.Session() as session:
                session.trust_env = False  # a local server: never through the office proxy
                response = session.get(sandbox.base_url, verify=str(sandbox.ca_pem), timeout=10)
                report.add(OK, f"{label}: HTTPS GET {sandbox.base_url} -> {response.status_code} "
                               "(TLS verified against the simulator's CA)")
        except Exception as exc:  # noqa: BLE001 - reported
            report.add(FAIL, f"{label}: {type(exc).__name__}: {exc}")


def check_qt(report: Report) -> None:
    from stnav_desktop.ui.qt import QApplication, QtCore, QtWidgets

    app = QApplication.instance()
    created = app is None
    if created:
        # no window is ever shown; without a display (SSH, CI, a service) Linux needs offscreen, while
        # Windows and macOS try their native plugin (QT_QPA_PLATFORM=offscreen forces it everywhere)
        if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QApplication(["stnav-selftest"])
    widget = QtWidgets.QWidget()
    widget.resize(10, 10)
    widget.deleteLater()
    styles = ", ".join(QtWidgets.QStyleFactory.keys())
    report.add(OK, f"Qt {QtCore.qVersion()}: QApplication {'created' if created else 'running'} on the "
                   f"{app.platformName()} platform; styles: {styles}")
    folder = Path(QtCore.QLibraryInfo.path(QtCore.QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"
    plugins = sorted(f.stem.removeprefix("lib") for f in folder.glob("*q*")) if folder.is_dir() else []
    native = NATIVE_PLATFORMS.get("linux" if sys.platform.startswith("linux") else sys.platform)
    if native and not any(name in plugins for name in native):
        report.add(FAIL, f"Qt: the native platform plugin ({' or '.join(native)}) is missing from {folder}")
    else:
        report.add(OK, f"Qt: platform plugins present: {', '.join(plugins) or 'none'}")
    if sys.platform == "win32" and "windowsvista" not in [s.lower() for s in QtWidgets.QStyleFactory.keys()]:
        report.add(FAIL, "Qt: the Windows style plugin (qmodernwindowsstyle / windowsvista) is missing")


def run_self_test(*, gui: bool = True) -> tuple[bool, list[str]]:
    """Run every check; ``gui`` adds the Qt check. Returns (ok, report lines)."""
    report = Report()
    report.guard("environment", check_environment)
    report.guard("shared store", check_shared_store)  # before the temporary home: this user's store.toml
    with _temporary_home() as home:
        report.guard("store", check_store)
        report.guard("deployment file", check_deployment)
        report.guard("keychain", check_keychain)
        report.guard("import", check_modules)
        report.guard("runtime", check_runtime_modules)
        report.guard("simulators", lambda r: check_simulators(r, home / "tls"))
    if gui:
        report.guard("Qt", check_qt)
    ok = report.failures == 0
    report.lines.append("self-test passed" if ok else f"self-test FAILED: {report.failures} problem(s)")
    return ok, report.lines


def main(*, gui: bool = True) -> int:
    """Print the report and return the exit code. A windowed Windows build has no stdout: the report
    then goes to ``self-test.txt`` in the log folder as well."""
    ok, lines = run_self_test(gui=gui)
    text = "\n".join(lines) + "\n"
    if sys.stdout is not None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        from stnav_desktop.paths import app_paths

        paths = app_paths().ensure()
        (paths.logs / "self-test.txt").write_text(text, encoding="utf-8")
    return 0 if ok else 1
