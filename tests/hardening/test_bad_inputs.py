"""The bad-input corpus (issue 16): what a careless user, an IT person with a text editor or an attacker
types or brings, through the real CLI entry point (``stnav_desktop.cli:main``, in-process).

Each case is a row: the command line (and the file or state it brings), the words the one-line answer
must contain (the record or the field it names). For every case:

- the exit code is not 0;
- stderr is exactly one line, starting ``stnav``, with no Python traceback;
- nothing changed: the database content (a full SQL dump), the keychain and every file of STNAV_HOME but
  the log are the same before and after.

Cases are generated in families (each command x each kind of bad value) so that a new command or setting
is covered by adding it to a list.
"""

from __future__ import annotations

import hashlib
import io
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from stnav_desktop import credentials
from stnav_desktop.cli import main
from stnav_desktop.store import settings as settings_mod


@dataclass
class Case:
    id: str
    argv: list[str]
    expect: list[str]  # fragments the one line must contain (case-insensitive)
    setup: Callable[[Path, Path], None] | None = None  # (home, tmp) -> None: files or state the case brings
    stdin: str | None = None
    exit_codes: tuple[int, ...] = (1, 2)
    env: dict[str, str] = field(default_factory=dict)


CASES: list[Case] = []


def case(id_, argv, expect, **kw):
    CASES.append(Case(id_, argv, [expect] if isinstance(expect, str) else expect, **kw))


# --- the seeded store every case starts from ------------------------------------------------------------

def _seed() -> None:
    from stnav_desktop.paths import app_paths
    from stnav_desktop.store.db import close_db, open_db
    from stnav_desktop.store.models import NavReference
    from stnav_desktop.sync.app import batches, documents, mapping
    from tests.sync.example import BILL_R1, MAPPINGS, PO

    open_db(app_paths().ensure().database)
    profile = settings_mod.get_profile("default")
    settings_mod.set_value(profile, "schedule.interval_minutes", 30)
    for kind, entries in MAPPINGS.items():
        for key, (target, target_type) in entries.items():
            mapping.set_mapping(profile, kind, key, target, target_type=target_type, actor="clerk")
    for entity, key, name, blocked in [("vendors", "V10000", "Ferguson Enterprises LLC", False),
                                       ("vendors", "V20000", "Blocked Supply", True),
                                       ("accounts", "6110", "Job materials", False),
                                       ("items", "1000", "Air filter", False),
                                       ("dimensionValues", "TERRITORY:NORTH", "North", False)]:
        NavReference.create(profile=profile, entity=entity, key=key, name=name, data={}, blocked=blocked)
    documents.stage(profile, "purchase_order", PO)
    documents.stage(profile, "inventory_bill", BILL_R1)
    mapping.refresh_readiness(profile)
    try:
        batches.create_batch(profile, None, actor="clerk")
    except batches.BatchError:
        pass
    close_db()


def _snapshot(home: Path, keyring_store: dict) -> dict:
    snap: dict = {"keychain": dict(keyring_store)}
    if not home.exists():
        return snap
    if home.is_file():
        snap["home"] = hashlib.sha256(home.read_bytes()).hexdigest()
        return snap
    db = home / "data" / "stnav.sqlite3"
    for path in sorted(home.rglob("*")):
        rel = path.relative_to(home).as_posix()
        if rel.startswith("logs") or rel.endswith(("-wal", "-shm")):
            continue
        if path == db and path.is_file():
            try:
                con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
                snap[rel] = "\n".join(con.iterdump())
                con.close()
                continue
            except sqlite3.Error:
                pass
        snap[rel] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return snap


# --- family 1: a profile that does not exist, for every command that works on a profile ----------------

PROFILE_COMMANDS = [
    ["review", "list"], ["review", "reject", "10452-001", "--reason", "wrong"], ["batch", "list"],
    ["batch", "create", "--all-ready"], ["batch", "approve", "1"], ["map", "suggest"],
    ["map", "export", "{tmp}/out.csv"], ["map", "set", "vendor", "2001", "V10000"], ["map", "import", "{tmp}/good.csv"],
    ["replay", "--failed"], ["replay", "--batch", "1"], ["post"], ["pull"], ["connect", "test"], ["refdata", "refresh"],
    ["run", "--once"], ["report", "reconcile", "--month", "2026-10"], ["vendor", "create-in-nav", "2001"],
    ["vendor", "create-in-servicetitan", "V10000"], ["profile", "show"],
]


def _good_csv(home: Path, tmp: Path) -> None:
    (tmp / "good.csv").write_text("kind,source_key,source_label,target,target_type\nvendor,2001,F,V10000,\n")


for name in ("typo", "Default", "defualt"):
    for argv in PROFILE_COMMANDS:
        case(f"profile-{name}-{'-'.join(argv[:2])}", ["--profile", name, *argv], ["--profile", name],
             setup=_good_csv)

for bad in ("", " default", "x" * 65, "tab\there"):
    case(f"profile-name-{bad[:8]!r}", ["--profile", bad, "profile", "set", "option", "schedule.enabled", "true"],
         "--profile")

# --- family 2: every setting x every kind of bad value for its type -------------------------------------

BAD_BY_KIND = {
    "int": ["often", "1.5", "-5", "99999999", "", "1e3"],
    "bool": ["maybe", "2", ""],
    "choice": ["bogus", "", "PRODUCTION "],
    "url": ["http://example.com/", "ftp://x", "example.com"],
    "time": ["25:00", "7", "ab:cd", "12:60"],
    "list": ["Funday", "Mon,Funday"],
    "str": ["x" * 2001],
    "path": ["p" * 2001],
    "date": ["31/12/2026", "2020-02-31", "tomorrow"],
    "timezone": ["Mars/Olympus", "UTC+25"],
    "money": ["12,5O", "abc", "1e400"],
    "limits": ["alice", "=100", "bob=ten"],
    "account": ["a" * 2001],
    "dimension": ["d" * 2001],
}
for setting in settings_mod.SETTINGS:
    for value in BAD_BY_KIND[setting.kind]:
        if setting.kind == "choice" and value.strip() in setting.choices:
            continue
        if setting.kind == "list" and not setting.choices:
            continue
        case(f"setting-{setting.key}-{value[:10]!r}", ["profile", "set", "option", setting.key, value], setting.key)
for key in ("schedule.interval", "nav.password", "posting", "", "servicetitan.client_secret"):
    case(f"setting-unknown-{key!r}", ["profile", "set", "option", key, "1"], "unknown setting")
for flag, value, named in [("--calls-per-second", "abc", "servicetitan.calls_per_second"),
                           ("--calls-per-second", "0", "servicetitan.calls_per_second"),
                           ("--calls-per-second", "61", "servicetitan.calls_per_second"),
                           ("--auth-url", "http://auth.local/", "servicetitan.auth_url"),
                           ("--api-url", "not a url", "servicetitan.api_url"),
                           ("--environment", "staging", "--environment")]:
    case(f"profile-set-st{flag}-{value}", ["profile", "set", "servicetitan", flag, value], named)
for flag, value, named in [("--deployment", "cloud", "--deployment"), ("--auth", "ntlm", "--auth"),
                           ("--api-url", "http://nav:7048/", "nav.api_url"),
                           ("--authority", "login.microsoftonline.com", "nav.authority")]:
    case(f"profile-set-nav{flag}-{value}", ["profile", "set", "nav", flag, value], named)
case("profile-set-nothing", ["profile", "set", "nav"], "nothing to change")


# --- family 3: a broken deployment file (deploy.toml) x every kind of command ---------------------------

def _deploy(content: bytes | str):
    def setup(home: Path, tmp: Path) -> None:
        path = tmp / "deploy.toml"
        if content == "DIR":
            path.mkdir()
        else:
            path.write_bytes(content)
    return setup


DEPLOY_VARIANTS = [
    ("not-utf8", b'[servicetitan]\ntenant = "Caf\xe9"\n', ["line 2", "not UTF-8"]),
    ("utf16", '[schedule]\ninterval_minutes = 30\n'.encode("utf-16"), "UTF-16"),
    ("folder", "DIR", "folder"),
    ("bad-toml", b"[schedule\ninterval_minutes = 30\n", "not valid TOML"),
    ("unknown-key", b"[schedule]\nfrequency = 3\n", "schedule.frequency"),
    ("int-as-text", b'[schedule]\ninterval_minutes = "30"\n', "schedule.interval_minutes"),
    ("int-float", b"[schedule]\ninterval_minutes = 1.5\n", "schedule.interval_minutes"),
    ("int-range", b"[schedule]\ninterval_minutes = 0\n", "schedule.interval_minutes"),
    ("bool-as-text", b'[schedule]\nenabled = "yes"\n', "schedule.enabled"),
    ("list-as-text", b'[schedule]\nbusiness_days = "Mon"\n', "schedule.business_days"),
    ("list-bad-day", b'[schedule]\nbusiness_days = ["Funday"]\n', "schedule.business_days"),
    ("text-as-list", b'[servicetitan]\ntenant = ["1"]\n', "servicetitan.tenant"),
    ("text-as-table", b"[servicetitan]\ntenant = { a = 1 }\n", "servicetitan.tenant"),
    ("text-as-date", b"[nav]\ntenant = 2026-01-01\n", "nav.tenant"),
    ("secret", b'[nav]\nclient_secret = "abc"\n', "nav.client_secret"),
    ("choice", b'[nav]\ndeployment = "cloud"\n', "nav.deployment"),
    ("url", b'[nav]\napi_url = "http://nav:7048/"\n', "nav.api_url"),
    ("time", b'[schedule]\nbusiness_start = "25:00"\n', "schedule.business_start"),
    ("top-level", b'tenant = "x"\n', "'tenant'"),
    ("locked-unknown", b'[locked]\nkeys = ["nav.bogus"]\n', "nav.bogus"),
    ("locked-no-value", b'[locked]\nkeys = ["nav.tenant"]\n', "nav.tenant"),
    ("locked-not-list", b'[locked]\nkeys = "nav.tenant"\n', "locked.keys"),
    ("nul", b'[nav]\ntenant = "a"\n\x00\n', "NUL"),
]
DEPLOY_COMMANDS = [["profile", "show"], ["profile", "set", "option", "schedule.enabled", "false"],
                   ["profile", "set", "servicetitan", "--tenant", "5"], ["review", "list"], ["batch", "list"],
                   ["run", "--once"], ["post"], ["map", "set", "vendor", "2001", "V10000"],
                   ["credentials", "status", "default"]]
for variant, content, expect in DEPLOY_VARIANTS:
    for argv in DEPLOY_COMMANDS:
        case(f"deploy-{variant}-{'-'.join(argv[:3])}", argv, [expect] if isinstance(expect, str) else expect,
             setup=_deploy(content), env={"STNAV_DEPLOY_FILE": "{tmp}/deploy.toml"})


# --- family 4: a database or home folder that cannot be used x every kind of command --------------------

def _home_is_file(home: Path, tmp: Path) -> None:
    import shutil

    shutil.rmtree(home)
    home.write_text("not a folder")


def _data_is_file(home: Path, tmp: Path) -> None:
    import shutil

    shutil.rmtree(home / "data")
    (home / "data").write_text("not a folder")


def _db_garbage(home: Path, tmp: Path) -> None:
    for p in (home / "data").glob("stnav.sqlite3*"):
        p.unlink()
    (home / "data" / "stnav.sqlite3").write_bytes(b"this is not a database at all" * 200)


def _db_truncated(home: Path, tmp: Path) -> None:
    db = home / "data" / "stnav.sqlite3"
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.execute("PRAGMA journal_mode=delete")
    con.close()
    data = db.read_bytes()
    db.write_bytes(data[:100] + b"\x00" * 50 + data[150:4096])  # the header, then a torn first page


def _db_is_dir(home: Path, tmp: Path) -> None:
    for p in (home / "data").glob("stnav.sqlite3*"):
        p.unlink()
    (home / "data" / "stnav.sqlite3").mkdir()


def _schema_newer(home: Path, tmp: Path) -> None:
    con = sqlite3.connect(home / "data" / "stnav.sqlite3")
    con.execute("INSERT INTO schema_version (version, applied_at) VALUES (999, '2030-01-01T00:00:00+00:00')")
    con.commit()
    con.close()


DB_VARIANTS = [("home-is-file", _home_is_file, ["not a folder"]),
               ("data-is-file", _data_is_file, ["not a folder"]),
               ("garbage", _db_garbage, ["stnav.sqlite3", "damaged"]),
               ("torn", _db_truncated, ["stnav.sqlite3"]),
               ("is-folder", _db_is_dir, ["stnav.sqlite3", "folder"]),
               ("newer-schema", _schema_newer, ["stnav.sqlite3", "newer", "v999"])]
DB_COMMANDS = [["review", "list"], ["profile", "show"], ["batch", "list"], ["audit", "verify"],
               ["credentials", "status", "default"], ["map", "export", "{tmp}/out.csv"], ["post"],
               ["profile", "set", "option", "schedule.enabled", "false"]]
for variant, setup, expect in DB_VARIANTS:
    for argv in DB_COMMANDS:
        case(f"db-{variant}-{'-'.join(argv[:3])}", argv, expect, setup=setup)


# --- family 5: secrets that cannot be real, for every secret field -------------------------------------

BAD_SECRETS = [("empty", "\n", "empty"), ("spaces", "    \n", "only spaces"), ("leading", " abc123\n", "spaces"),
               ("trailing", "abc123 \n", "spaces"), ("tab", "abc\t123\n", "control character"),
               ("nul", "abc\x00123\n", "control character"), ("too-long", "a" * 2561 + "\n", "longer than")]
for field_name in credentials.SECRET_FIELDS:
    for variant, value, expect in BAD_SECRETS:
        case(f"secret-{field_name}-{variant}", ["credentials", "set", "default", field_name, "--stdin"],
             [field_name, expect], stdin=value)
    case(f"secret-{field_name}-no-terminal", ["credentials", "set", "default", field_name], "--stdin", stdin="x\n")
case("secret-unknown-field", ["credentials", "set", "default", "nav.password", "--stdin"], "FIELD", stdin="x\n")

# --- family 6: mapping CSV files -------------------------------------------------------------------------

HEADER = "kind,source_key,source_label,target,target_type\n"


def _csv(content: bytes | str, name="in.csv"):
    def setup(home: Path, tmp: Path) -> None:
        path = tmp / name
        if content == "DIR":
            path.mkdir()
        else:
            path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return setup


CSV_CASES = [
    ("not-1252", HEADER.encode() + b"vendor,2001,Caf\x81,V10000,\n", ["line 2", "not UTF-8 or Windows-1252"]),
    ("nul", HEADER + "vendor,2001,a\x00b,V10000,\n", ["line 2", "NUL"]),
    ("newline", HEADER + 'vendor,2001,"two\nlines",V10000,\n', ["line 2", "source_label", "line break"]),
    ("bidi", HEADER + "vendor,2001,abc\u202edcba,V10000,\n", ["line 2", "source_label", "bidirectional"]),
    ("long-target", HEADER + "vendor,2001,F," + "V" * 21 + ",\n", ["line 2", "target", "at most 20"]),
    ("long-key", HEADER + "vendor," + "1" * 65 + ",F,V10000,\n", ["line 2", "source_key", "at most 64"]),
    ("long-label", HEADER + "vendor,2001," + "L" * 251 + ",V10000,\n", ["line 2", "source_label", "at most 250"]),
    ("unknown-kind", HEADER + "colour,2001,F,V10000,\n", ["line 2", "kind", "colour"]),
    ("empty-key", HEADER + "vendor, ,F,V10000,\n", ["line 2", "source_key", "empty"]),
    ("empty-target", HEADER + "vendor,2001,F,,\n", ["line 2", "target", "empty"]),
    ("item-type", HEADER + "item,3001,F,1000,Thing\n", ["line 2", "target_type", "Thing"]),
    ("duplicate", HEADER + "vendor,2001,F,V10000,\nvendor,2001,G,V10000,\n", ["line 3", "source_key", "line 2"]),
    ("unknown-vendor", HEADER + "vendor,2001,F,V99999,\n", ["line 2", "target", "V99999", "not in NAV"]),
    ("blocked-vendor", HEADER + "vendor,2001,F,V20000,\n", ["line 2", "target", "V20000", "blocked"]),
    ("unknown-item", HEADER + "item,3001,F,9999,Item\n", ["line 2", "NAV item 9999"]),
    ("unknown-dimension", HEADER + "business_unit,1001,N,WEST,TERRITORY\n", ["line 2", "WEST"]),
    ("good-then-bad", HEADER + "vendor,2001,F,V10000,\nvendor,2002,G,V99999,\n", ["line 3", "V99999"]),
    ("no-header", "vendor,2001,F,V10000,\n", ["line 1", "header"]),
    ("missing-column", "kind,source_key\nvendor,2001\n", ["line 1", "target"]),
    ("unknown-column", "kind,source_key,target,colour\nvendor,2001,V10000,red\n", ["line 1", "colour"]),
    ("too-many-cells", HEADER + "vendor,2001,F,V10000,,extra\n", ["line 2", "cells"]),
    ("control-char", HEADER + "vendor,2001,a\x07b,V10000,\n", ["line 2", "source_label", "control"]),
    ("utf16-bad-row", (HEADER + "colour,2001,F,V10000,\n").encode("utf-16"), ["line 2", "colour"]),
    ("1252-bad-row", (HEADER + "vendor,2001,Caf\xe9,V99999,\n").encode("cp1252"), ["line 2", "V99999"]),
    ("folder", "DIR", ["folder"]),
    ("empty-file", b"", ["line 1", "header"]),
    ("binary", b"\x89PNG\r\n\x1a\n" + bytes(range(256)), ["line"]),
]
for variant, content, expect in CSV_CASES:
    case(f"csv-{variant}", ["map", "import", "{tmp}/in.csv"], expect, setup=_csv(content))
case("csv-missing-file", ["map", "import", "{tmp}/nope.csv"], ["nope.csv"])

# --- family 7: record numbers, references and values of the other commands ------------------------------

for value, expect in [("0", "1 or more"), ("-1", "1 or more"), ("abc", "whole number"), ("1.5", "whole number"),
                      ("", "whole number"), ("99999999999", "too large"), ("999", "no batch 999")]:
    case(f"replay-batch-{value!r}", ["replay", "--batch", value], ["batch", expect])
    case(f"post-batch-{value!r}", ["post", "--batch", value], ["batch", expect])
    case(f"approve-{value!r}", ["batch", "approve", value], ["batch", expect])
for value, expect in [("0", "1 or more"), ("-5", "1 or more"), ("ten", "whole number")]:
    case(f"review-limit-{value}", ["review", "list", "--limit", value], ["--limit", expect])
    case(f"vendor-id-{value}", ["vendor", "create-in-nav", value], ["vendor id", expect])
for value in ("bogus", "READY!", "done", "", "posted,ready"):
    case(f"review-status-{value!r}", ["review", "list", "--status", value], ["--status", "needs_mapping (Needs mapping)"])
for number in ("PO-99999", "10452", "", "10452-001 "):
    case(f"reject-unknown-{number!r}", ["review", "reject", number, "--reason", "x"], ["no document"])
    case(f"replay-unknown-{number!r}", ["replay", number], ["no document"])
    case(f"batch-create-unknown-{number!r}", ["batch", "create", "--documents", number], ["no document"])
case("reject-empty-reason", ["review", "reject", "10452-001", "--reason", "   "], ["10452-001", "reason"])
for month in ("2026-13", "2026-00", "26-01", "2026/01", "", "abcd-ef", "2026-1-1"):
    case(f"reconcile-month-{month!r}", ["report", "reconcile", "--month", month], ["--month"])
case("reconcile-format", ["report", "reconcile", "--month", "2026-10", "--format", "pdf"], ["--format", "pdf"])
for port in ("70000", "-1", "http", "8080.5"):
    case(f"webhook-port-{port}", ["run", "--webhook-port", port], ["port"])
    case(f"sandbox-port-{port}", ["sandbox", "nav", "--port", port], ["port"])
for kind, key, target, extra, expect in [("vendor", " ", "V10000", [], "key is empty"),
                                         ("vendor", "2001", " ", [], "target is empty"),
                                         ("item", "3001", "1000", ["--target-type", "Thing"], "target_type"),
                                         ("colour", "1", "x", [], "kind")]:
    case(f"map-set-{kind}-{key!r}-{target!r}", ["map", "set", kind, key, target, *extra], expect)
for ref in ("PO-0", "nothing", ""):
    case(f"audit-show-{ref!r}", ["audit", "show", ref], ["no audit events"])
for anchor in ("stnav:abc", "12:deadbeef", "stnav:1:xyz"):
    case(f"audit-anchor-{anchor}", ["audit", "verify", "--anchor", anchor], ["--anchor"])
case("audit-anchors-from-missing", ["audit", "verify", "--anchors-from", "{tmp}/none.txt"], ["--anchors-from"])
case("audit-anchors-from-empty", ["audit", "verify", "--anchors-from", "{tmp}/good.csv"], ["no anchor"],
     setup=_good_csv)
case("audit-export-format", ["audit", "export", "--format", "pdf"], ["--format"])
case("map-export-into-folder", ["map", "export", "{tmp}"], ["cannot be written"])
for argv in (["frobnicate"], ["review"], ["review", "list", "--bogus"], ["batch", "create"],
             ["batch", "create", "--all-ready", "--documents", "1"], ["credentials", "set"], ["map", "set", "vendor"],
             ["replay"], ["replay", "--failed", "--batch", "1"], ["profile", "set", "option", "schedule.enabled"],
             ["audit"], ["vendor", "create-in-nav"], ["sandbox", "erp"]):
    case(f"usage-{'-'.join(argv)}", argv, ["stnav"])


# --- the runner -----------------------------------------------------------------------------------------

@pytest.fixture
def seeded(stnav_home, memory_keyring):
    _seed()
    return stnav_home


def _expand(value: str, tmp: Path) -> str:
    return value.replace("{tmp}", str(tmp))


@pytest.mark.parametrize("bad", CASES, ids=[c.id for c in CASES])
def test_bad_input(bad: Case, seeded, tmp_path, monkeypatch, capsys, memory_keyring):
    work = tmp_path / "work"
    work.mkdir()
    for key, value in bad.env.items():
        monkeypatch.setenv(key, _expand(value, work))
    if bad.setup:
        bad.setup(seeded, work)
    monkeypatch.setattr("sys.stdin", io.StringIO(bad.stdin if bad.stdin is not None else ""))
    before = _snapshot(seeded, memory_keyring.store)
    capsys.readouterr()
    try:
        code = main([_expand(a, work) for a in bad.argv])
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert "Traceback" not in err and "Traceback" not in out, err
    assert len(lines) == 1, f"expected one line, got:\n{err}"
    assert lines[0].startswith("stnav"), lines[0]
    assert "***" not in lines[0], f"the message was garbled by the secret masking: {lines[0]}"
    assert code in bad.exit_codes, (code, lines[0])
    for fragment in bad.expect:
        assert fragment.lower() in lines[0].lower(), f"{fragment!r} not in: {lines[0]}"
    assert _snapshot(seeded, memory_keyring.store) == before, "a failed command changed something"


def test_the_corpus_is_big_enough():
    assert len(CASES) >= 300
    assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique"
