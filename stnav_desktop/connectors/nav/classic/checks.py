"""Connection checks for classic NAV page web services, one clear line each, nothing written.

``$metadata`` lists every published service (reference §5.2: the Web Services page's Service Name becomes
the entity set), so a missing one is named together with the page IT must publish under that name."""

from __future__ import annotations

from stnav_desktop.connectors.http import ConnectorError
from stnav_desktop.connectors.nav.checks import Check
from stnav_desktop.connectors.nav.classic.client import ClassicClient, Metadata
from stnav_desktop.connectors.nav.classic.config import PAGES

PROCEDURES = ("PostPurchaseInvoice", "PostPurchaseCreditMemo", "PostJournalDocument")


def publish_hint(service: str, role: str) -> str:
    page = PAGES[role]
    return (f"In NAV open Web Services, add a line: Object Type Page, Object ID {page.page_id} ({page.caption}), "
            f"Service Name {service}, tick Published.")


def classic_connection_checks(client: ClassicClient) -> list[Check]:
    cfg = client.config
    checks: list[Check] = []
    try:
        companies = client.companies()
    except ConnectorError as exc:
        return [Check("sign-in", False, str(exc))]
    checks.append(Check("sign-in", True, "Signed in; the ODataV4 web services answer."))
    if cfg.company_is_id:
        match = [c for c in companies if c["id"].lower() == cfg.company.lower()]
    else:
        match = [c for c in companies if c["name"] == cfg.company]
    if not match:
        names = ", ".join(repr(c["name"]) for c in companies) or "none"
        near = [c["name"] for c in companies if c["name"].lower() == cfg.company.lower()]
        hint = f" Company names are case-sensitive: did you mean {near[0]!r}?" if near else ""
        checks.append(Check("company", False, f"Company {cfg.company!r} was not found.{hint} Available: {names}."))
        return checks
    checks.append(Check("company", True, f"Company {match[0]['name']!r} is reachable."))
    try:
        md = client.metadata()
    except ConnectorError as exc:
        checks.append(Check("services", False, f"Could not read $metadata: {exc}"))
        return checks
    checks.extend(service_checks(md, client))
    return checks


def service_checks(md: Metadata, client: ClassicClient) -> list[Check]:
    cfg = client.config
    out: list[Check] = []
    published = sorted(md.entity_sets)
    for role, page in PAGES.items():
        service = cfg.service(role)
        name = f"service {service}"
        if service not in md.entity_sets:
            if role == "gl_setup" and cfg.shortcut_dimensions:
                out.append(Check(name, True, f"{service} (page {page.page_id}) is not published; the shortcut "
                                             "dimension numbers set in the connection settings are used."))
                continue
            need = "needed" if page.required or role == "gl_setup" else "recommended"
            out.append(Check(name, not (page.required or role == "gl_setup"),
                             f"No service named {service} is published ({need} for {page.why}). "
                             f"{publish_hint(service, role)} Published now: {', '.join(published) or 'none'}."))
            continue
        if role in ("purchase_invoice", "purchase_credit_memo"):
            part = service + cfg.lines_part
            if part not in md.containments_of(service):
                out.append(Check(name, False, f"{service} has no lines part {part}: it must be page {page.page_id} "
                                              f"({page.caption}), the card with its lines, not a list page. "
                                              f"{publish_hint(service, role)}"))
                continue
        if role == "general_journal":
            missing = {"Journal_Template_Name", "Journal_Batch_Name", "Line_No", "Document_No"} - md.fields_of(service)
            if missing:
                out.append(Check(name, False, f"{service} has no {', '.join(sorted(missing))}: it does not look like "
                                              f"page 39. {publish_hint(service, role)}"))
                continue
        out.append(Check(name, True, f"{service} is published ({page.caption}, page {page.page_id})."))
    if cfg.posting_codeunit and cfg.posting_soap_url:
        try:
            client.http.request("GET", client.soap_url(cfg.posting_codeunit), headers={"Accept": "text/xml"})
        except ConnectorError as exc:
            out.append(Check("posting codeunit", False, f"The posting codeunit {cfg.posting_codeunit} is not reachable "
                                                        f"over SOAP ({exc}): publish the codeunit (Object Type "
                                                        "Codeunit) under that service name, check the SOAP URL, or "
                                                        "clear the setting so the accountant posts in NAV."))
        else:
            out.append(Check("posting codeunit", True, f"The posting codeunit {cfg.posting_codeunit} answers over SOAP."))
    elif cfg.posting_codeunit:
        absent = [p for p in PROCEDURES if f"{cfg.posting_codeunit}_{p}" not in md.actions]
        out.append(Check("posting codeunit", not absent,
                         f"The posting codeunit {cfg.posting_codeunit} is published." if not absent else
                         f"The posting codeunit service {cfg.posting_codeunit} does not offer "
                         f"{', '.join(absent)}: publish the codeunit (Object Type Codeunit) under that service name, "
                         "or clear the setting so the accountant posts in NAV."))
    return out
