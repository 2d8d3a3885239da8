"""``stnav demo --nav classic``: the whole cycle against the page web-services sandbox — connection test,
reference data, pull, map, batch, approve, post unposted, the accountant posts in NAV, follow-up, and the
G/L read back equal to ServiceTitan to the cent."""

from __future__ import annotations

from stnav_desktop.cli import main


def test_demo_on_classic_nav_ties_to_the_cent(stnav_home, capsys):
    assert main(["demo", "--nav", "classic"]) == 0
    out = capsys.readouterr().out
    assert "PASS  NAV" in out and "FAIL" not in out.split("reference data")[0]
    assert "posting: " in out and "in nav draft" in out
    assert "the accountant posted" in out and " 0 deleted" in out
    assert out.rstrip().endswith("RESULT: posted totals equal ServiceTitan to the cent"), out[-2000:]
