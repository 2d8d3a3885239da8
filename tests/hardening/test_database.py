"""Database problems are named with the file and what to do; a newer schema is refused unwritten (item 2)."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest

from stnav_desktop.paths import app_paths
from stnav_desktop.store import migrations
from stnav_desktop.store.db import DatabaseProblem, close_db, explain, open_db


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_newer_schema_is_refused_and_not_a_byte_is_written(store):
    path = app_paths().database
    close_db()
    con = sqlite3.connect(path)
    con.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, '2030-01-01')",
                (migrations.LATEST + 1,))
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    before = _digest(path)
    with pytest.raises(DatabaseProblem, match="newer ml-connector") as info:
        open_db(path)
    assert str(path) in str(info.value) and "nothing was changed" in str(info.value)
    assert _digest(path) == before
    wal = path.with_name(path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0


@pytest.mark.parametrize("error, words", [
    (sqlite3.OperationalError("attempt to write a readonly database"), ["cannot be written", "write access"]),
    (PermissionError(13, "Permission denied"), ["cannot be written", "STNAV_HOME"]),
    (sqlite3.OperationalError("unable to open database file"), ["cannot be written"]),
    (sqlite3.OperationalError("database is locked"), ["locked by another program", "backup tool", "sync client"]),
    (sqlite3.DatabaseError("file is not a database"), ["damaged", "backups"]),
    (sqlite3.DatabaseError("database disk image is malformed"), ["damaged", "backups"]),
    (sqlite3.OperationalError("database or disk is full"), ["disk is full"]),
])
def test_each_problem_names_the_file_and_the_fix(tmp_path, error, words):
    path = tmp_path / "data" / "stnav.sqlite3"
    path.parent.mkdir()
    text = explain(path, error)
    assert str(path) in text
    for word in words:
        assert word in text
