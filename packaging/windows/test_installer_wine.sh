#!/usr/bin/env bash
# Build the NSIS installer from a stand-in bundle and exercise it under wine (64-bit):
#   1. silent per-user install        -> files, Start-menu shortcut, HKCU Add/Remove Programs entry
#   2. silent upgrade (higher version) -> files replaced (stale ones gone), user data kept
#   3. silent uninstall               -> program files, shortcut, entry gone; user data kept
#   4. install again + uninstall /PURGE -> user data gone too
#   5. silent per-machine install (/ALLUSERS) -> Program Files, common Start menu, HKLM; uninstall
#
# The real Windows bundle can only be built on Windows (PyInstaller does not cross-compile), so the
# stand-in is: two real PE executables built by makensis from a tiny script (stnav-desktop.exe and
# stnav.exe, each just exits 0), plus data files under _internal/ carrying the version, and a .bat.
# That exercises everything the installer does with the bundle (copy, replace, shortcut, registry,
# uninstall) without running the app.
#
# Not part of the default test run (wine is heavy). Run:  bash packaging/windows/test_installer_wine.sh
# Installs nsis and wine with apt-get when missing (needs root). Exit code 0 when every check passed.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
need=""
command -v makensis >/dev/null || need="$need nsis"
command -v wine >/dev/null || need="$need wine wine64"
if [ -n "$need" ]; then
  if [ "$(id -u)" != 0 ]; then echo "missing:$need (run as root or install them)" >&2; exit 2; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need
fi

WORK="$(mktemp -d /tmp/stnav-wine-test.XXXXXX)"
export WINEPREFIX="$WORK/prefix" WINEARCH=win64 WINEDEBUG=-all
export WINEDLLOVERRIDES="mscoree,mshtml="   # no Mono/Gecko download prompts
unset DISPLAY WAYLAND_DISPLAY
trap 'wineserver -k >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

failures=0
pass() { echo "  PASS  $*"; }
fail() { echo "  FAIL  $*"; failures=$((failures + 1)); }
check() { local what="$1"; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }

echo "== preparing a wine prefix in $WINEPREFIX"
wineboot -i >/dev/null 2>&1 || true
wineserver -w
WUSER="$(wine cmd /c echo %USERNAME% 2>/dev/null | tr -d '\r')"
C="$WINEPREFIX/drive_c"
LOCAL="$C/users/$WUSER/AppData/Local"
PROGRAMS="$LOCAL/Programs/ml-connector"
USER_START="$C/users/$WUSER/AppData/Roaming/Microsoft/Windows/Start Menu/Programs"
COMMON_START="$C/ProgramData/Microsoft/Windows/Start Menu/Programs"
DATA="$LOCAL/ml-connector/ml-connector"
KEY='Software\Microsoft\Windows\CurrentVersion\Uninstall\ml-connector'

echo "== building the stand-in bundle executables with makensis"
cat > "$WORK/stub.nsi" <<'EOF'
Unicode true
Target amd64-unicode
SilentInstall silent
RequestExecutionLevel user
OutFile "stub.exe"
Section
  SetErrorLevel 0
SectionEnd
EOF
(cd "$WORK" && makensis -V1 stub.nsi)

make_bundle() {  # version, folder
  local dir="$2/ml-connector"
  mkdir -p "$dir/_internal"
  cp "$WORK/stub.exe" "$dir/stnav-desktop.exe"
  cp "$WORK/stub.exe" "$dir/stnav.exe"
  echo "$1" > "$dir/_internal/version.txt"
  printf '@echo off\r\necho ml-connector %s\r\n' "$1" > "$dir/_internal/about.bat"
  if [ "$1" = "0.1.0" ]; then echo "only in 0.1.0" > "$dir/_internal/old-only.txt"; fi
  echo "$dir"
}

build_installer() {  # version -> path of setup exe
  local bundle; bundle="$(make_bundle "$1" "$WORK/bundle-$1")"
  makensis -V1 "-DBUNDLE_DIR=$bundle" "-DVERSION=$1" "-DOUTFILE=$WORK/setup-$1.exe" "$HERE/installer.nsi"
  echo "$WORK/setup-$1.exe"
}

reg_value() {  # root, value name
  wine reg query "$1\\$KEY" /v "$2" 2>/dev/null | tr -d '\r' | awk -v n="$2" '$1 == n {print $NF}'
}

run() {  # windows program + args; waits for every wine process (the uninstaller re-spawns itself)
  local rc=0
  wine "$@" >/dev/null 2>&1 || rc=$?
  wineserver -w
  return $rc
}

echo "== building installers 0.1.0 and 0.2.0"
SETUP1="$(build_installer 0.1.0 | tail -1)"
SETUP2="$(build_installer 0.2.0 | tail -1)"
ls -l "$SETUP1" "$SETUP2"

echo "== 1. silent per-user install of 0.1.0"
check "installer exit code 0" run "$SETUP1" /S
check "stnav-desktop.exe installed in %LOCALAPPDATA%\\Programs\\ml-connector" test -f "$PROGRAMS/stnav-desktop.exe"
check "stnav.exe installed" test -f "$PROGRAMS/stnav.exe"
check "bundle files installed (_internal/version.txt = 0.1.0)" grep -qx 0.1.0 "$PROGRAMS/_internal/version.txt"
check "uninstaller written" test -f "$PROGRAMS/uninstall.exe"
check "Start-menu shortcut for this user" test -f "$USER_START/ml-connector.lnk"
check "no shortcut in the common Start menu" test ! -e "$COMMON_START/ml-connector.lnk"
check "HKCU Add/Remove Programs entry, DisplayVersion 0.1.0" test "$(reg_value HKCU DisplayVersion)" = 0.1.0
check "no HKLM entry" test -z "$(reg_value HKLM DisplayVersion)"
check "nothing in Program Files" test ! -e "$C/Program Files/ml-connector"

echo "== the app's data appears (as if the user had run it)"
mkdir -p "$DATA/backups" "$DATA/Logs"
echo "sqlite stand-in" > "$DATA/stnav.sqlite3"
echo "log" > "$DATA/Logs/stnav.log"

echo "== 2. silent upgrade to 0.2.0"
check "upgrade exit code 0" run "$SETUP2" /S
check "bundle replaced (_internal/version.txt = 0.2.0)" grep -qx 0.2.0 "$PROGRAMS/_internal/version.txt"
check "files of the old version removed (_internal/old-only.txt gone)" test ! -e "$PROGRAMS/_internal/old-only.txt"
check "same folder (no second copy in Program Files)" test ! -e "$C/Program Files/ml-connector"
check "HKCU entry now DisplayVersion 0.2.0" test "$(reg_value HKCU DisplayVersion)" = 0.2.0
check "user data kept (database)" grep -q "sqlite stand-in" "$DATA/stnav.sqlite3"
check "user data kept (logs)" test -f "$DATA/Logs/stnav.log"

echo "== 3. silent uninstall (keeps data)"
check "uninstaller exit code 0" run "$PROGRAMS/uninstall.exe" /S
check "program folder removed" test ! -e "$PROGRAMS"
check "Start-menu shortcut removed" test ! -e "$USER_START/ml-connector.lnk"
check "HKCU entry removed" test -z "$(reg_value HKCU DisplayVersion)"
check "user data kept after uninstall" grep -q "sqlite stand-in" "$DATA/stnav.sqlite3"

echo "== 4. install again, uninstall with /PURGE"
check "reinstall exit code 0" run "$SETUP2" /S
check "reinstalled" test -f "$PROGRAMS/stnav-desktop.exe"
check "uninstall /S /PURGE exit code 0" run "$PROGRAMS/uninstall.exe" /S /PURGE
check "program folder removed" test ! -e "$PROGRAMS"
check "user data removed by /PURGE" test ! -e "$LOCAL/ml-connector"

echo "== 5. silent per-machine install (/ALLUSERS; wine's user counts as an administrator)"
check "installer /ALLUSERS exit code 0" run "$SETUP2" /S /ALLUSERS
check "installed in Program Files" test -f "$C/Program Files/ml-connector/stnav-desktop.exe"
check "shortcut in the common Start menu" test -f "$COMMON_START/ml-connector.lnk"
check "HKLM entry, DisplayVersion 0.2.0" test "$(reg_value HKLM DisplayVersion)" = 0.2.0
check "no per-user copy" test ! -e "$PROGRAMS"
check "per-machine uninstall exit code 0" run "$C/Program Files/ml-connector/uninstall.exe" /S
check "Program Files folder removed" test ! -e "$C/Program Files/ml-connector"
check "common shortcut removed" test ! -e "$COMMON_START/ml-connector.lnk"
check "HKLM entry removed" test -z "$(reg_value HKLM DisplayVersion)"

echo
if [ "$failures" = 0 ]; then
  echo "RESULT: all installer checks passed under $(wine --version)"
else
  echo "RESULT: $failures check(s) FAILED"
  exit 1
fi
