"""Files people bring (issue 16 items 4-6): mapping CSVs from Excel, deploy.toml from PowerShell, secrets
pasted with spaces."""

from __future__ import annotations

import csv
import io

import pytest

from stnav_desktop import credentials
from stnav_desktop.cli import main
from stnav_desktop.store import settings
from stnav_desktop.store.models import Mapping, NavReference
from stnav_desktop.sync.app import mapping

ROWS = "kind,source_key,source_label,target,target_type\r\nvendor,2001,Café Supply,V10000,\r\n" \
       "item,3001,Air filter,1000,Item\r\n"


@pytest.fixture
def profile(store):
    prof = settings.get_profile("default")
    NavReference.create(profile=prof, entity="vendors", key="V10000", name="Ferguson", data={})
    NavReference.create(profile=prof, entity="items", key="1000", name="Air filter", data={})
    return prof


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252"])
def test_excel_encodings_import(profile, tmp_path, capsys, encoding):
    path = tmp_path / "map.csv"
    path.write_bytes(ROWS.encode(encoding))
    assert main(["map", "import", str(path)]) == 0
    assert "2 mappings imported" in capsys.readouterr().out
    row = Mapping.get((Mapping.kind == "vendor") & (Mapping.source_key == "2001"))
    assert (row.source_label, row.target) == ("Café Supply", "V10000")


def test_export_neutralises_every_formula_cell_and_round_trips(profile, tmp_path):
    for key, label, target in [("-3", "@SUM(A1)", "+V1"), ("=4", "-label", "=HYPERLINK(x)")]:
        mapping.set_mapping(profile, "st_gl_account", key, target, source_label=label)
    text = mapping.export_csv(profile)
    cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
    assert all(not c.startswith(("=", "+", "-", "@")) for c in cells), cells
    NavReference.delete().execute()  # no reference data: the targets above are not checked
    Mapping.delete().execute()
    assert mapping.import_csv(profile, text).imported == 2
    assert {(m.source_key, m.source_label, m.target) for m in Mapping.select()} == {
        ("-3", "@SUM(A1)", "+V1"), ("=4", "-label", "=HYPERLINK(x)")}


def test_import_is_all_or_nothing_even_on_ctrl_c(profile, monkeypatch):
    mapping.set_mapping(profile, "vendor", "2001", "V10000")
    before = [(m.kind, m.source_key, m.target) for m in Mapping.select()]
    real, calls = mapping.set_mapping, []

    def interrupted(*args, **kw):
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kw)

    monkeypatch.setattr(mapping, "set_mapping", interrupted)
    with pytest.raises(KeyboardInterrupt):
        mapping.import_csv(profile, "kind,source_key,target,target_type\nvendor,2002,V10000,\nitem,3001,1000,Item\n")
    assert [(m.kind, m.source_key, m.target) for m in Mapping.select()] == before


def test_readiness_is_refreshed_once_after_an_import(profile, tmp_path, monkeypatch):
    calls = []
    real = mapping.refresh_readiness
    monkeypatch.setattr(mapping, "refresh_readiness", lambda p, **kw: calls.append(1) or real(p, **kw))
    path = tmp_path / "map.csv"
    path.write_text(ROWS)
    assert main(["map", "import", str(path)]) == 0
    assert calls == [1]


def test_deploy_file_with_a_bom_is_read(store, deploy_file, capsys):
    deploy_file.write_bytes("\ufeff[schedule]\ninterval_minutes = 45\n".encode())
    assert main(["profile", "show"]) == 0
    assert "45" in capsys.readouterr().out
    assert settings.get("default", "schedule.interval_minutes") == 45


@pytest.mark.parametrize("value", ["   ", "\t", " new-secret-value", "new-secret-value  "])
def test_whitespace_never_replaces_a_stored_secret(store, monkeypatch, capsys, value):
    credentials.set_secret("default", "nav.client_secret", "stored-secret-value")
    monkeypatch.setattr("sys.stdin", io.StringIO(value + "\n"))
    assert main(["credentials", "set", "default", "nav.client_secret", "--stdin"]) == 1
    assert credentials.get_secret("default", "nav.client_secret") == "stored-secret-value"
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nav.client_secret" in err[0]
