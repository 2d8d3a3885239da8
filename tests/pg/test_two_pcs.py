"""Two PCs, one shared PostgreSQL store, one NAV: `stnav post` started on two homes at once posts every
document exactly once (issue #19), and a PC killed while holding claims is taken over after its lease.

The harness runs two real `stnav post` processes (each with its own STNAV_HOME, like two PCs) against
one NAV simulator. Until posting claims documents (store/claims.py wired into sync/app/posting.py) these
tests skip: without claims two PCs double-post, which is the bug they exist to catch
(STNAV_TWO_PC_FORCE=1 runs them anyway, to watch that happen). STNAV_TWO_PC_RUNS and
STNAV_TWO_PC_DOCS scale the first one up to the issue's 20 runs of 200 documents.
"""

from __future__ import annotations

import json
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

from stnav_desktop import demo
from stnav_desktop.store import backend, settings
from stnav_desktop.store.db import close_db, db, open_db
from stnav_desktop.store.models import DocStatus, SourceKind, StDocument
from stnav_desktop.sync.app import batches
from stnav_desktop.sync.app.service import SyncService
from tests.support.filekeyring import FileKeyring

ROOT = Path(__file__).resolve().parents[2]
RUNS = int(os.environ.get("STNAV_TWO_PC_RUNS", "2"))  # the full proof: 20 runs of 200 documents
DOCS = int(os.environ.get("STNAV_TWO_PC_DOCS", "60"))


def _posting_claims() -> bool:
    from stnav_desktop.sync.app import posting
    return hasattr(posting, "claims") or bool(os.environ.get("STNAV_TWO_PC_FORCE"))


pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("store_backend", ["postgresql"], indirect=True),
    pytest.mark.skipif(not _posting_claims(), reason="posting does not claim documents yet: store.claims is to be "
                       "called per chunk in sync/app/posting.py (the lead's rewrite); these tests then run"),
]


@pytest.fixture
def office(store, store_backend, tmp_path, monkeypatch, request):
    """Two PC homes on one shared database, simulators, a pulled and mapped profile."""
    keyfile = tmp_path / "keyring.json"
    monkeypatch.setenv("STNAV_TEST_KEYRING", str(keyfile))
    keyring.set_keyring(FileKeyring())
    server = request.node.pg_server
    if server.password:
        keyring.set_password("ml-connector", f"{backend.KEYCHAIN_PROFILE}:{backend.PASSWORD_FIELD}", server.password)
    url = backend.current().url
    homes = [Path(os.environ["STNAV_HOME"]), tmp_path / "pc-b"]
    (homes[1] / "config").mkdir(parents=True)
    (homes[1] / "config" / "store.toml").write_text(f'[store]\nurl = "{url}"\n')

    with demo.simulators(tmp_path / "sims", purchase_orders=int(DOCS * RUNS * 1.4) + 20) as sims:
        # what is under test is exactly-once across PCs, not BC's throttling (tests/nav cover the 429s): the
        # issue's 20 runs x 200 documents from two PCs in a few minutes are more than BC's 6,000 requests per
        # 5 minutes per user allow, and a throttled run leaves documents failed until their retry is due
        sims.nav.rate_limit = None
        profile = settings.get_profile("default")
        demo.configure(profile, sims)
        service = SyncService(profile)
        service.refresh_refdata()
        service.pull()
        demo.accept_suggestions(profile)

        def env(home: Path) -> dict[str, str]:
            return dict(os.environ, PYTHONPATH=str(ROOT), PYTHON_KEYRING_BACKEND="tests.support.filekeyring.FileKeyring",
                        STNAV_HOME=str(home), STNAV_TEST_KEYRING=str(keyfile),
                        STNAV_PC_NAME=f"PC-{homes.index(home)}")  # two PCs, not two processes of one

        yield sims, profile, homes, env
    json.loads(keyfile.read_text())  # the shared keychain file stayed readable


def _batch(profile, n):
    ready = [d.id for d in StDocument.select().where((StDocument.status == DocStatus.READY)
                                                     & (StDocument.batch.is_null())).order_by(StDocument.id)]
    assert len(ready) >= n, f"only {len(ready)} ready documents"
    batch = batches.create_batch(profile, ready[:n], actor="clerk")
    batches.approve(batch, actor="controller")
    return batch, ready[:n]


def _assert_exactly_once(sims, ids):
    open_db(Path(os.environ["STNAV_HOME"]) / "data" / "stnav.sqlite3")
    docs = list(StDocument.select().where(StDocument.id.in_(ids)))
    assert all(d.status == DocStatus.POSTED for d in docs), Counter(d.status for d in docs)
    invoices = Counter(inv["vendorInvoiceNumber"] for inv in sims.nav.purchase_invoices())
    doubled = [k for k, n in invoices.items() if n > 1]
    assert not doubled, f"{len(doubled)} purchase invoices posted twice: {doubled[:10]}"
    journals = Counter((e["documentNumber"], e["accountNumber"]) for e in sims.nav.gl_entries()
                       if e["documentNumber"].startswith("STB") and e["accountNumber"] == "2950")
    bills = [d for d in docs if d.kind == SourceKind.INVENTORY_BILL]
    for d in bills:
        assert journals[(f"STB{d.st_id}", "2950")] >= 1, d.number
    from stnav_desktop.store import audit

    result = audit.verify()
    assert result.ok, result.message()
    return docs


def test_two_pcs_posting_the_same_batch_at_once_post_each_document_once(office):
    sims, profile, homes, env = office
    rng = random.Random(19)
    posted_ids = []
    for run in range(RUNS):
        batch, ids = _batch(profile, DOCS)
        posted_ids += ids
        close_db()
        command = [sys.executable, "-m", "stnav_desktop", "post", "--batch", str(batch.id)]
        offsets = [0.0, rng.uniform(0.0, 0.8)]
        rng.shuffle(offsets)
        procs = []
        for home, offset in zip(homes, offsets, strict=True):
            time.sleep(offset if not procs else max(0.0, offset - offsets[0]))
            procs.append(subprocess.Popen(command, env=env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          text=True))
        outputs = [p.communicate(timeout=600) for p in procs]
        docs = _assert_exactly_once(sims, posted_ids)
        assert len(docs) == len(posted_ids), (run, outputs)
    invoices = Counter(inv["vendorInvoiceNumber"] for inv in sims.nav.purchase_invoices())
    po_docs = StDocument.select().where(StDocument.id.in_(posted_ids) & (StDocument.kind == SourceKind.PURCHASE_ORDER))
    assert len(invoices) == po_docs.count()


def test_a_pc_killed_while_holding_claims_is_taken_over_after_the_lease(office):
    from stnav_desktop.store import claims

    sims, profile, homes, env = office
    batch, ids = _batch(profile, DOCS)
    close_db()
    command = [sys.executable, "-m", "stnav_desktop", "post", "--batch", str(batch.id)]
    sims.nav.faults.latency = 0.05  # so the kill lands mid-batch
    first = subprocess.Popen(command, env=env(homes[0]), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    open_db(homes[0] / "data" / "stnav.sqlite3")
    deadline = time.monotonic() + 120
    while not claims.holders(ids) and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    held = {i for i, c in claims.holders(ids).items() if not c.expired}
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert held, "the first PC finished before it could be killed holding claims"
    sims.nav.faults.latency = 0.0
    close_db()
    # the other PC, while the dead PC's leases still run: it leaves those documents alone
    subprocess.run(command, env=env(homes[1]), capture_output=True, text=True, timeout=600)
    open_db(homes[1] / "data" / "stnav.sqlite3")
    still = claims.holders(held)
    assert still and all(c.holder != claims.default_holder() for c in still.values())
    # ...the leases run out (moved back on the database clock instead of waiting five minutes)
    db.execute_sql("UPDATE document_claim SET expires_at = expires_at - 3600")
    close_db()
    done = subprocess.run(command, env=env(homes[1]), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    _assert_exactly_once(sims, ids)
