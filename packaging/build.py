"""Build the one-folder bundle with PyInstaller, run both frozen self-tests, report the size.

    .venv/bin/python packaging/build.py             # trimmed bundle into packaging/out/dist/ml-connector
    .venv/bin/python packaging/build.py --measure   # also an untrimmed build, to measure the exclusions

Works on Linux, Windows and macOS (each builds for itself; the Windows bundle is built on Windows,
see .github/workflows/windows-build.yml). Exit code 1 if the build or a self-test fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
SPEC = HERE / "stnav.spec"
BUNDLE_NAME = "ml-connector"


def folder_size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink())


def mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def pyinstaller(dist: Path, work: Path, *, trim: bool) -> Path:
    env = dict(os.environ, STNAV_BUNDLE_TRIM="1" if trim else "0")
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
           "--distpath", str(dist), "--workpath", str(work), str(SPEC)]
    print("$", " ".join(cmd), f"(STNAV_BUNDLE_TRIM={env['STNAV_BUNDLE_TRIM']})", flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT, env=env)
    return dist / BUNDLE_NAME


def exe(bundle: Path, name: str) -> Path:
    return bundle / (name + (".exe" if sys.platform == "win32" else ""))


def self_test(bundle: Path, name: str) -> bool:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    with tempfile.TemporaryDirectory(prefix="stnav-frozen-") as home:
        env["STNAV_HOME"] = home  # the self-test uses its own temporary store; logs of a GUI run go here
        print(f"\n$ QT_QPA_PLATFORM=offscreen {exe(bundle, name)} --self-test", flush=True)
        result = subprocess.run([str(exe(bundle, name)), "--self-test"], env=env, capture_output=True,
                                text=True, timeout=300)
        output = result.stdout
        report = Path(home) / "logs" / "self-test.txt"
        if not output.strip() and report.exists():  # windowed Windows build: no stdout
            output = report.read_text(encoding="utf-8")
    print(output.rstrip())
    if result.stderr.strip():
        print(result.stderr.rstrip(), file=sys.stderr)
    print(f"-> exit code {result.returncode}")
    return result.returncode == 0


def missing_libraries(bundle: Path) -> tuple[list[str], set[str]]:
    """Linux: libraries the bundle's ELF files need but cannot find. A Qt library (``libQt6*``,
    ``libicu*``) missing is a bundling error (a dropped library a kept plugin still needs); anything
    else comes from the operating system (xcb, GTK) and is only listed."""
    if not sys.platform.startswith("linux") or not shutil.which("ldd"):
        return [], set()
    problems: list[str] = []
    from_os: set[str] = set()
    for path in bundle.rglob("*"):
        if not path.is_file() or path.is_symlink() or not (path.suffix == ".so" or ".so." in path.name):
            continue
        result = subprocess.run(["ldd", str(path)], capture_output=True, text=True)
        for line in result.stdout.splitlines():
            if "not found" in line:
                lib = line.split("=>")[0].strip()
                if lib.startswith(("libQt6", "libicu", "libpyside", "libshiboken")):
                    problems.append(f"{path.relative_to(bundle)}: {lib} not found")
                else:
                    from_os.add(lib)
    return problems, from_os


def report(bundle: Path, work: Path, untrimmed: Path | None) -> None:
    size = folder_size(bundle)
    dropped = json.loads(next(work.rglob("dropped.json")).read_text(encoding="utf-8"))
    by_reason: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for dest, source, reason in dropped:
        src = Path(source)
        by_reason[reason].append((dest, src.stat().st_size if src.is_file() else 0))
    dropped_size = sum(s for items in by_reason.values() for _d, s in items)
    print("\n=== bundle size ===")
    print(f"bundle: {bundle}")
    print(f"after exclusions:  {mb(size)}  ({sum(1 for f in bundle.rglob('*') if f.is_file() and not f.is_symlink())} files)")
    if untrimmed is not None:
        before = folder_size(untrimmed)
        print(f"before exclusions: {mb(before)}  (measured: untrimmed build in {untrimmed})")
        print(f"saved:             {mb(before - size)} ({(before - size) * 100 / before:.0f}%)")
    else:
        print(f"before exclusions: about {mb(size + dropped_size)} (this build + the files dropped; "
              "--measure builds both)")
    print("\n=== removed, and why ===")
    for reason, items in sorted(by_reason.items(), key=lambda kv: -sum(s for _d, s in kv[1])):
        total = sum(s for _d, s in items)
        names = ", ".join(sorted({Path(d).name for d, _s in items})[:6])
        more = f" +{len(items) - 6} more" if len(items) > 6 else ""
        print(f"{mb(total):>9}  {reason}\n           {names}{more}")
    print("Python modules excluded from the analysis:")
    from exclusions import EXCLUDED_MODULES

    for name, reason in EXCLUDED_MODULES:
        print(f"           {name}: {reason}")
    print("\n=== largest files kept ===")
    files = sorted((f for f in bundle.rglob("*") if f.is_file() and not f.is_symlink()),
                   key=lambda f: -f.stat().st_size)
    for f in files[:12]:
        print(f"{mb(f.stat().st_size):>9}  {f.relative_to(bundle)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--measure", action="store_true", help="also build without exclusions, to measure them")
    parser.add_argument("--skip-build", action="store_true", help="self-test and report an existing build")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    dist, work = OUT / "dist", OUT / "work"
    untrimmed = None
    if not args.skip_build:
        if args.measure:
            untrimmed = pyinstaller(OUT / "untrimmed-dist", OUT / "untrimmed-work", trim=False)
        bundle = pyinstaller(dist, work, trim=True)
    else:
        bundle = dist / BUNDLE_NAME
        if (OUT / "untrimmed-dist" / BUNDLE_NAME).is_dir():
            untrimmed = OUT / "untrimmed-dist" / BUNDLE_NAME
    ok = self_test(bundle, "stnav")
    ok = self_test(bundle, "stnav-desktop") and ok
    problems, from_os = missing_libraries(bundle)
    if problems:
        print("\n=== Qt libraries missing from the bundle (dropped but still needed) ===")
        print("\n".join(problems))
    elif sys.platform.startswith("linux"):
        print("\nshared libraries: every Qt library the bundle's plugins need is in the bundle (ldd)")
    if from_os:
        print("needed from the operating system, not installed on this build machine: "
              + ", ".join(sorted(from_os)))
    report(bundle, work, untrimmed)
    print("\nRESULT:", "bundle built and both self-tests passed" if ok and not problems else "FAILED")
    return 0 if ok and not problems else 1


if __name__ == "__main__":
    raise SystemExit(main())
