"""The demo: both simulators with seeded data in a throw-away STNAV_HOME, a configured profile, then
either the GUI or a headless run of the whole cycle (pull, suggest and accept mappings, batch, approve,
post) with a printed summary whose NAV totals are read back from NAV's G/L.

Demo secrets are the simulators' own and live in an in-memory keychain for this process only: the
demo never writes to the user's real keychain.
"""

from __future__ import annotations

import contextlib
import os
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import keyring
import keyring.backend

from stnav_desktop import credentials, runtime
from stnav_desktop.store import audit, settings
from stnav_desktop.store.models import DocStatus, MappingKind, Profile, StDocument
from stnav_desktop.sync.app import batches, mapping
from stnav_desktop.sync.app.service import SyncService

DEMO_SCORE = 80.0  # suggestions at or above this are accepted in the headless demo (a rule a person set)


class DemoKeyring(keyring.backend.KeyringBackend):
    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self._store: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self._store.get((service, username))

    def set_password(self, service, username, password):
        self._store[(service, username)] = password

    def delete_password(self, service, username):
        self._store.pop((service, username), None)


@dataclass
class Simulators:
    st: object
    nav: object


@contextlib.contextmanager
def simulators(folder: Path, *, purchase_orders: int = 60) -> Iterator[Simulators]:
    from stnav_desktop.sandbox.nav import NavSandbox
    from stnav_desktop.sandbox.servicetitan import ServiceTitanSandbox

    with ServiceTitanSandbox(folder / "tls", purchase_orders=purchase_orders) as st, \
            NavSandbox(folder / "tls", flavour="online") as nav:
        yield Simulators(st, nav)


def configure(profile: Profile, sims: Simulators) -> None:
    """Point the profile at the simulators and put their secrets in the (demo) keychain."""
    st, nav = sims.st, sims.nav
    for key, value in {
        "servicetitan.environment": "integration", "servicetitan.tenant": str(st.tenant),
        "servicetitan.client_id": st.client_id, "servicetitan.app_key": st.app_key,
        "servicetitan.auth_url": st.auth_url, "servicetitan.api_url": st.base_url,
        "servicetitan.ca_bundle": str(st.ca_pem),
        "nav.deployment": "online", "nav.tenant": nav.tenant, "nav.environment": nav.environment,
        "nav.company_id": nav.company_id, "nav.client_id": nav.client_id, "nav.authority": nav.authority,
        "nav.api_url": nav.base_url, "nav.ca_bundle": str(nav.ca_pem),
        "posting.mode": "post", "posting.post_journal": True,
        # a second dimension beside the territory: the ServiceTitan job number as NAV's JOB value
        "posting.dimension_rules": ["job:JOB:value"],
    }.items():
        settings.set_value(profile, key, value)
    credentials.set_secret(profile.name, "servicetitan.client_secret", st.client_secret)
    credentials.set_secret(profile.name, "nav.client_secret", nav.client_secret)
    audit.append("demo.configured", profile=profile.name, detail={"servicetitan": st.base_url, "nav": nav.base_url})


def accept_suggestions(profile: Profile, min_score: float = DEMO_SCORE) -> int:
    accepted = 0
    for suggestion in mapping.suggest(profile):
        if suggestion.score >= min_score and suggestion.kind != MappingKind.ITEM and not suggestion.warning:
            mapping.accept(profile, suggestion, actor="demo")
            accepted += 1
    mapping.refresh_readiness(profile)
    return accepted


def remember_company(profile: Profile, service: SyncService) -> None:
    from stnav_desktop.sync.views import status
    status.remember_companies(profile, service.companies())


def run_cycle(profile: Profile, service: SyncService, out=print) -> dict[str, object]:
    out("connection test:")
    for system, name, ok, message in service.test_connections():
        out(f"  {'PASS' if ok else 'FAIL'}  {system}: {name} — {message}")
    counts = service.refresh_refdata()
    out("reference data: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    summary = service.pull()
    out(f"pull: {summary.line()}")
    out(f"mappings: {accept_suggestions(profile)} suggestions accepted (score ≥ {DEMO_SCORE:.0f})")
    try:
        batch = batches.create_batch(profile, actor="demo-clerk")
    except batches.BatchError as exc:
        out(f"batch: {exc}")
        return {"posted": 0}
    dropped = batches.approve(batch, actor="demo-controller")
    out(f"batch {batch.id}: {batch.documents.count()} documents approved"
        + (f", {len(dropped)} taken out" if dropped else ""))
    results = service.post(batch)
    outcomes: dict[str, int] = defaultdict(int)
    for result in results:
        outcomes[result.outcome] += 1
    out("posting: " + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(outcomes.items())))
    return {"posted": outcomes.get("posted", 0) + outcomes.get("already_posted", 0), "outcomes": dict(outcomes)}


def territory_totals(profile: Profile, service: SyncService, out=print) -> bool:
    """ServiceTitan totals of the posted documents against NAV's G/L read back, per territory and month."""
    months = sorted({d.doc_date.strftime("%Y-%m") for d in StDocument.select().where(
        (StDocument.profile == profile) & (StDocument.status == DocStatus.POSTED)) if d.doc_date})
    all_equal = True
    out(f"{'month':<8} {'territory':<10} {'ST cost':>12} {'G/L cost':>12} {'ST invoiced':>12} {'G/L payables':>12}"
        f" {'G/L clearing':>12}")
    grand_st = grand_nav = Decimal("0.00")
    for month in months:
        report = service.reconcile(month)
        for t in report.territories:  # cost on cost accounts and payables apart, each read back from the G/L
            out(f"{month:<8} {t.code:<10} {t.st_cost:>12,.2f} {t.gl_cost:>12,.2f} {t.st_payables:>12,.2f} "
                f"{t.gl_payables:>12,.2f} {t.gl_clearing:>12,.2f}")
            all_equal &= t.cost_difference == 0 and t.payables_difference == 0
            grand_st += t.st_cost + t.st_payables
            grand_nav += t.gl_cost + t.gl_payables
        for clearing in report.clearing:
            if clearing.balance:
                out(f"         clearing {clearing.po_ref}: {clearing.balance:,.2f} ({clearing.explanation})")
    out(f"{'total':<19} {grand_st:>14,.2f} {grand_nav:>14,.2f} {grand_st - grand_nav:>11,.2f}")
    return all_equal


def returns_credited(profile: Profile, nav, out=print) -> None:
    """Vendor returns booked as purchase credit memos (docs/accounting.md), their total in ServiceTitan and in
    NAV, how many were applied to their PO's invoice, and the dimensions NAV booked."""
    rows = list(StDocument.select().where((StDocument.profile == profile) & (StDocument.kind == "inventory_return")))
    posted = [d for d in rows if d.status == DocStatus.POSTED]
    memos = {m["number"]: m for m in nav.purchase_credit_memos()}
    st_total = sum((d.total or Decimal("0.00") for d in posted), Decimal("0.00"))
    nav_total = sum((Decimal(str(memos[d.nav_number]["totalAmountExcludingTax"])) for d in posted
                     if d.nav_number in memos), Decimal("0.00"))
    applied = sum(1 for d in posted if d.nav_number in memos and memos[d.nav_number].get("invoiceNumber"))
    out(f"returns: {len(posted)} credited as purchase credit memos ({applied} applied to their PO's invoice), "
        f"ServiceTitan {st_total:,.2f}, NAV {nav_total:,.2f}; {len(rows) - len(posted)} not booked "
        "(canceled, deleted, or the vendor's credit not yet received)")
    dims = sorted({code for e in nav.gl_entries() for code in (d["code"] for d in e["dimensionSetLines"])})
    out(f"dimensions on the G/L entries: {', '.join(dims) or 'none'}")


def not_posted(profile: Profile, out=print, limit: int = 15) -> None:
    rows = list(StDocument.select().where((StDocument.profile == profile)
                                          & (StDocument.status != DocStatus.POSTED)).order_by(StDocument.id))
    if rows:
        out(f"not posted ({len(rows)}), with their reasons:")
    from stnav_desktop.sync.views.review import STATUS_LABELS

    for doc in rows[:limit]:
        out(f"  {mapping.kind_label(doc.kind):<15} {doc.number:<12} {STATUS_LABELS.get(doc.status, doc.status):<25} "
            f"{doc.problem[:100]}")
    if len(rows) > limit:
        out(f"  … and {len(rows) - limit} more (`stnav review list`)")


def prepare(purchase_orders: int = 60):
    """Shared by headless and GUI demos: an in-memory keychain, the store, the simulators."""
    keyring.set_keyring(DemoKeyring())
    paths = runtime.start()
    return paths, simulators(paths.data / "sandbox", purchase_orders=purchase_orders)


def run_headless(profile_name: str = "default", *, purchase_orders: int = 60) -> int:
    paths, sims_cm = prepare(purchase_orders)
    print("ml-connector demo (headless) — simulators with seeded data, nothing real is touched")
    print(f"  home: {os.environ.get('STNAV_HOME')}")
    with sims_cm as sims:
        profile = settings.get_profile(profile_name)
        configure(profile, sims)
        service = SyncService(profile)
        result = run_cycle(profile, service)
        equal = territory_totals(profile, service)
        returns_credited(profile, sims.nav)
        not_posted(profile)
        verify = audit.verify()
        print(verify.message())
        print(f"NAV holds {len(sims.nav.purchase_invoices())} purchase invoices, "
              f"{len(sims.nav.purchase_credit_memos())} purchase credit memos (with "
              f"{len(sims.nav.company.t('documentAttachments'))} source PDFs attached) and "
              f"{len({e['documentNumber'] for e in sims.nav.gl_entries() if e['documentNumber'].startswith('STB')})}"
              " posted bill journals; bills marked exported in ServiceTitan: "
              f"{len(sims.st.exported_bill_ids)}")
        print("RESULT: posted totals equal ServiceTitan to the cent" if equal else
              "RESULT: DIFFERENCES between ServiceTitan and NAV (see above)")
        return 0 if equal and verify.ok and result["posted"] else 1


def run_headless_classic(profile_name: str = "default", *, purchase_orders: int = 60) -> int:
    """The cycle against classic NAV (2016–2018) through page web services: documents go in unposted, the
    accountant posts them in NAV (played by the simulator), the app follows them up and reconciles."""
    from stnav_desktop.sandbox.navclassic import ClassicNavSandbox
    from stnav_desktop.sandbox.servicetitan import ServiceTitanSandbox
    from stnav_desktop.sync.app import posting, st_gateway

    keyring.set_keyring(DemoKeyring())
    paths = runtime.start()
    folder = paths.data / "sandbox"
    print("ml-connector demo (headless, classic NAV page web services) — simulators with seeded data")
    print(f"  home: {os.environ.get('STNAV_HOME')}")
    with ServiceTitanSandbox(folder / "tls", purchase_orders=purchase_orders) as st, \
            ClassicNavSandbox(folder / "tls") as nav:
        profile = settings.get_profile(profile_name)
        for key, value in {
            "servicetitan.environment": "integration", "servicetitan.tenant": str(st.tenant),
            "servicetitan.client_id": st.client_id, "servicetitan.app_key": st.app_key,
            "servicetitan.auth_url": st.auth_url, "servicetitan.api_url": st.base_url,
            "servicetitan.ca_bundle": str(st.ca_pem),
            "nav.deployment": "classic", "nav.classic_odata_url": nav.odata_url,
            "nav.classic_company": nav.company.name, "nav.auth": "basic", "nav.user": nav.user,
            "nav.ca_bundle": str(nav.ca_pem),
            "posting.mode": "draft", "posting.post_journal": False,  # the accountant posts in NAV
        }.items():
            settings.set_value(profile, key, value)
        credentials.set_secret(profile.name, "servicetitan.client_secret", st.client_secret)
        credentials.set_secret(profile.name, "nav.web_service_key", nav.web_service_key)
        service = SyncService(profile)
        run_cycle(profile, service)
        # in NAV, the accountant posts what the app left unposted
        headers = nav.rows("Purchase Header")
        for header in headers:
            if header.get("Vendor_Cr_Memo_No"):
                nav.post_purchase_credit_memo(header["No"])
            else:
                nav.post_purchase_invoice(header["No"])
        nav.post_journal()
        followed = posting.Poster(profile, service.nav_books(),
                                  write_back=st_gateway.WriteBack(service.st_client)).follow_up_drafts()
        print(f"the accountant posted {len(headers)} purchase documents and the journal in NAV; follow-up: "
              f"{followed['posted']} now posted, {followed['deleted']} deleted, {followed['changed']} changed")
        equal = territory_totals(profile, service)
        not_posted(profile)
        verify = audit.verify()
        print(verify.message())
        print("RESULT: posted totals equal ServiceTitan to the cent" if equal else
              "RESULT: DIFFERENCES between ServiceTitan and NAV (see above)")
        return 0 if equal and verify.ok and followed["posted"] else 1


def run_gui(profile_name: str = "default") -> int:
    paths, sims_cm = prepare()
    with sims_cm as sims:
        profile = settings.get_profile(profile_name)
        configure(profile, sims)
        service = SyncService(profile)
        remember_company(profile, service)
        service.refresh_refdata()
        service.pull()
        from stnav_desktop.ui.app import run_window

        return run_window(profile, service_fn=lambda: service, title_suffix="DEMO (simulators)")
