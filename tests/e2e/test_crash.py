"""Killing `stnav post` with SIGKILL at 20 random moments during a 200-document batch, rerunning each
time until done: NAV ends with exactly one document per approved ServiceTitan document, the amounts
reconcile to the cent, and the audit chain verifies."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import keyring
import pytest

from stnav_desktop.store.db import close_db
from stnav_desktop.store.models import DocStatus, SourceKind, StDocument
from stnav_desktop.sync.app import batches
from tests.support.filekeyring import FileKeyring

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_sigkill_at_random_moments_never_doubles_or_loses(configured, tmp_path, monkeypatch, stnav_home):
    keyfile = tmp_path / "keyring.json"
    monkeypatch.setenv("STNAV_TEST_KEYRING", str(keyfile))
    keyring.set_keyring(FileKeyring())
    sims, profile, service = configured(purchase_orders=260)
    ready = [d.id for d in StDocument.select().where(StDocument.status == DocStatus.READY).order_by(StDocument.id)]
    assert len(ready) >= 200, f"only {len(ready)} ready documents"
    batch = batches.create_batch(profile, ready[:200], actor="clerk")
    batches.approve(batch, actor="controller")
    approved = {d.id: d for d in StDocument.select().where(StDocument.batch == batch)}
    close_db()
    # posting goes in $batch chunks of 50 (a handful of requests per chunk, settling in chunks too): 200 ms
    # per NAV request stretches the work so that every kill lands mid-batch
    sims.nav.faults.latency = 0.2

    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHON_KEYRING_BACKEND="tests.support.filekeyring.FileKeyring",
               STNAV_HOME=str(stnav_home), STNAV_TEST_KEYRING=str(keyfile))
    command = [sys.executable, "-m", "stnav_desktop", "post", "--batch", str(batch.id)]
    rng = random.Random(2026)
    kills = 0
    while kills < 20:
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.5, 1.8))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
        else:
            break  # finished before the kill: the batch is done
    sims.nav.faults.latency = 0.0
    for _ in range(5):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        if done.returncode == 0:
            break
    assert done.returncode == 0, done.stderr[-2000:]

    from stnav_desktop.paths import app_paths
    from stnav_desktop.store.db import open_db

    open_db(app_paths().database)
    docs = list(StDocument.select().where(StDocument.id.in_(list(approved))))
    assert all(d.status == DocStatus.POSTED for d in docs), Counter(d.status for d in docs)
    invoices = Counter(inv["vendorInvoiceNumber"] for inv in sims.nav.purchase_invoices())
    assert all(n == 1 for n in invoices.values()), [k for k, n in invoices.items() if n > 1]
    po_docs = [d for d in docs if d.kind == SourceKind.PURCHASE_ORDER]
    assert len(invoices) == len(po_docs)
    journals = {e["documentNumber"] for e in sims.nav.gl_entries() if e["documentNumber"].startswith("STB")}
    bill_docs = [d for d in docs if d.kind == SourceKind.INVENTORY_BILL]
    assert journals == {f"STB{d.st_id}" for d in bill_docs}
    assert sims.nav.journal_lines() == []  # nothing left half-posted in the journal
    # one journal document per bill: its credit to clearing equals the bill total exactly once
    credits = Counter()
    for e in sims.nav.gl_entries():
        if e["documentNumber"].startswith("STB") and e["accountNumber"] == "2950":
            credits[e["documentNumber"]] += Decimal(str(e["creditAmount"]))
    for d in bill_docs:
        assert credits[f"STB{d.st_id}"] == d.total, d.number
    # reconcile to the cent, NAV read back
    for month in sorted({d.doc_date.strftime("%Y-%m") for d in docs}):
        report = service.reconcile(month)
        posted_lines = [line for line in report.lines if line.nav_document]
        assert all(line.difference == 0 for line in posted_lines)
    verify = subprocess.run([sys.executable, "-m", "stnav_desktop", "audit", "verify"], env=env, capture_output=True,
                            text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert kills == 20
