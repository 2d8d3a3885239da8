"""Killing `stnav post` with SIGKILL at random moments against classic NAV (page web services: a document is
several requests, header then lines, so a kill can land half-way through one): rerun until done, then NAV
holds each document exactly once and whole, and after the accountant posts, the G/L equals ServiceTitan to
the cent (issue #14: 0 duplicates in the crash run on this back end too)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import keyring
import pytest

from stnav_desktop import credentials, demo
from stnav_desktop.sandbox.navclassic import ClassicNavSandbox
from stnav_desktop.sandbox.servicetitan import ServiceTitanSandbox
from stnav_desktop.store import settings
from stnav_desktop.store.db import close_db, open_db
from stnav_desktop.store.models import DocStatus, StDocument
from stnav_desktop.sync.app import batches, posting, st_gateway
from stnav_desktop.sync.app.service import SyncService
from tests.support.filekeyring import FileKeyring

from .test_sync_cycle import post_in_nav, vendor_document_no

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_sigkill_during_classic_posting_never_doubles_or_leaves_half_a_document(store, tmp_path, monkeypatch,
                                                                               stnav_home):
    keyfile = tmp_path / "keyring.json"
    monkeypatch.setenv("STNAV_TEST_KEYRING", str(keyfile))
    keyring.set_keyring(FileKeyring())
    with ServiceTitanSandbox(tmp_path / "tls", purchase_orders=120) as st, \
            ClassicNavSandbox(tmp_path / "tls") as nav:
        profile = settings.get_profile("default")
        for key, value in {
            "servicetitan.environment": "integration", "servicetitan.tenant": str(st.tenant),
            "servicetitan.client_id": st.client_id, "servicetitan.app_key": st.app_key,
            "servicetitan.auth_url": st.auth_url, "servicetitan.api_url": st.base_url,
            "servicetitan.ca_bundle": str(st.ca_pem),
            "nav.deployment": "classic", "nav.classic_odata_url": nav.odata_url,
            "nav.classic_company": nav.company.name, "nav.auth": "basic", "nav.user": nav.user,
            "nav.ca_bundle": str(nav.ca_pem), "posting.mode": "draft", "posting.post_journal": False,
        }.items():
            settings.set_value(profile, key, value)
        credentials.set_secret(profile.name, "servicetitan.client_secret", st.client_secret)
        credentials.set_secret(profile.name, "nav.web_service_key", nav.web_service_key)
        service = SyncService(profile)
        service.refresh_refdata()
        service.pull()
        demo.accept_suggestions(profile)
        batch = batches.create_batch(profile, actor="clerk")
        batches.approve(batch, actor="controller")
        approved = [d.id for d in StDocument.select().where(StDocument.batch == batch)]
        assert len(approved) >= 60
        close_db()
        nav.latency = 0.02  # each page request a round trip: kills land inside documents

        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHON_KEYRING_BACKEND="tests.support.filekeyring.FileKeyring",
                   STNAV_HOME=str(stnav_home), STNAV_TEST_KEYRING=str(keyfile))
        command = [sys.executable, "-m", "stnav_desktop", "post", "--batch", str(batch.id)]
        rng = random.Random(14)
        kills = 0
        while kills < 10:
            proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(rng.uniform(0.6, 1.6))
            if proc.poll() is not None:
                break
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
        nav.latency = 0.0
        for _ in range(5):
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
            if done.returncode == 0:
                break
        assert done.returncode == 0, done.stderr[-2000:]
        print(f"classic crash run: {kills} kills, {len(approved)} documents")
        assert kills >= 3, f"only {kills} kills landed mid-run"

        open_db(stnav_home / "data" / "stnav.sqlite3")
        statuses = Counter(d.status for d in StDocument.select().where(StDocument.id.in_(approved)))
        assert set(statuses) == {DocStatus.IN_NAV_DRAFT}, statuses
        headers = nav.rows("Purchase Header")
        assert not [h for h in headers if vendor_document_no(h).startswith("~")]  # no half-made document
        assert max(Counter((h["Buy_from_Vendor_No"], vendor_document_no(h)) for h in headers).values()) == 1
        journal = Counter(ln["Document_No"] for ln in nav.rows("Gen. Journal Line"))
        assert len(headers) + len(journal) == len(approved)  # one header per PO / return, one journal per bill
        for header in headers:  # the accountant posts in NAV; every journal document balances or NAV refuses
            post_in_nav(nav, header)
        nav.post_journal()
        books = service.nav_books()
        posting.Poster(profile, books, write_back=st_gateway.WriteBack(service.st_client)).follow_up_drafts()
        lines: list[str] = []
        assert demo.territory_totals(profile, service, out=lines.append), "\n".join(lines)
