"""Requests the real Business Central refuses, and the NAV simulator must refuse the same way.

Each case names the AL source it comes from (microsoft/ALAppExtensions ``Apps/W1/APIV2/app/src/pages/`` unless it
says BaseApp), the request, and BC's answer: HTTP status, error code and message (without the
``CorrelationId`` suffix). Then the tests of issue #12 item 1: the connector's invoices and credit memos, single
and ``$batch``, are accepted and read back with each dimension once and with the value asked.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import requests

from stnav_desktop.connectors.nav import odata
from stnav_desktop.connectors.nav.credit_memos import PurchaseCreditMemos, PurchaseCreditMemoSpec
from stnav_desktop.connectors.nav.errors import DimensionCheckError
from stnav_desktop.connectors.nav.purchase_invoices import (
    InvoiceLineSpec,
    PurchaseInvoices,
    PurchaseInvoiceSpec,
    build_invoice_body,
)
from stnav_desktop.connectors.nav.refdata import RefData, period_of
from stnav_desktop.sandbox.nav import NavSandbox

D = Decimal
DAY = date(2026, 11, 2)
ALREADY = ("The dimension set line already exists. Check existing dimension set lines and the default dimension set "
           "lines on the parent.")
DIM_LINES = "APIV2DimensionSetLines.Page.al (page 30022)"
INV_LINES = "APIV2PurchaseInvoiceLines.Page.al (page 30043)"
AGGREGATOR = "BaseApp codeunit 5529 Purch. Inv. Aggregator"


# -- raw HTTP against the simulator -------------------------------------------------------------------
def call(sb: NavSandbox, method: str, path: str, body: Any = None, etag: str = "*") -> requests.Response:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if method in ("PATCH", "DELETE"):
        headers["If-Match"] = etag
    url = sb.base_url + (path if path.startswith("companies") else f"companies({sb.company_id})/{path}")
    return requests.request(method, url, data=json.dumps(body) if body is not None else None, headers=headers,
                            auth=(sb.basic_user, sb.basic_key), verify=str(sb.ca_pem), timeout=10)


def ok(resp: requests.Response) -> dict[str, Any]:
    assert resp.status_code < 300, resp.text
    return resp.json() if resp.content else {}


def line(number: str, dims: dict[str, str] | None = None, line_type: str = "Item", **extra: Any) -> dict[str, Any]:
    body = {"lineType": line_type, "lineObjectNumber": number, "quantity": 1, "unitCost": 10, **extra}
    if dims:
        body["dimensionSetLines"] = [{"code": k, "valueCode": v} for k, v in dims.items()]
    return body


def invoice(vendor: str = "V10000", dims: dict[str, str] | None = None, lines: list[dict[str, Any]] | None = None,
            number: str = "STRICT-1", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"vendorNumber": vendor, "vendorInvoiceNumber": number, "postingDate": DAY.isoformat(),
                            **extra}
    if dims:
        body["dimensionSetLines"] = [{"code": k, "valueCode": v} for k, v in dims.items()]
    body["purchaseInvoiceLines"] = lines if lines is not None else [line("1000")]
    return body


def memo(vendor: str = "V10000", dims: dict[str, str] | None = None, lines: list[dict[str, Any]] | None = None
         ) -> dict[str, Any]:
    body: dict[str, Any] = {"vendorNumber": vendor, "vendorCreditMemoNumber": "STRICT-CM-1",
                            "postingDate": DAY.isoformat()}
    if dims:
        body["dimensionSetLines"] = [{"code": k, "valueCode": v} for k, v in dims.items()]
    body["purchaseCreditMemoLines"] = lines if lines is not None else [line("1000")]
    return body


def draft(sb: NavSandbox) -> dict[str, str]:
    """A draft invoice of V10000 with header TERRITORY NORTH and two lines (item 1000, account 6210)."""
    rec = ok(call(sb, "POST", "purchaseInvoices?$expand=purchaseInvoiceLines",
                  invoice(dims={"TERRITORY": "NORTH"}, lines=[line("1000"), line("6210", line_type="Account")])))
    lines = rec["purchaseInvoiceLines"]
    territory = next(d for d in sb.company.t("dimensions").values() if d["code"] == "TERRITORY")
    return {"inv": rec["id"], "line": lines[0]["id"], "account_line": lines[1]["id"], "territory": territory["id"]}


def blocked_draft(sb: NavSandbox) -> dict[str, str]:
    """A draft whose header TERRITORY is CLOSED (a blocked value: the draft takes it)."""
    rec = ok(call(sb, "POST", "purchaseInvoices", invoice(dims={"TERRITORY": "CLOSED"})))
    return {"inv": rec["id"]}


def draft_memo(sb: NavSandbox) -> dict[str, str]:
    rec = ok(call(sb, "POST", "purchaseCreditMemos", memo()))
    return {"cm": rec["id"]}


def posted(sb: NavSandbox) -> dict[str, str]:
    ids = draft(sb)
    ok(call(sb, "POST", f"purchaseInvoices({ids['inv']})/Microsoft.NAV.post"))
    return ids


def narrow_posting_period(sb: NavSandbox) -> dict[str, str]:
    ids = draft(sb)
    sb.set_allowed_posting_dates(date(2026, 12, 1), date(2026, 12, 31))
    number = sb.company.t("purchaseInvoices")[ids["inv"]]["number"]
    return {**ids, "number": number}


def journal_id(sb: NavSandbox) -> str:
    return next(j["id"] for j in sb.company.t("journals").values() if j["code"] == "STNAV")


def account_id(sb: NavSandbox, number: str) -> str:
    return next(a["id"] for a in sb.company.t("accounts").values() if a["number"] == number)


@dataclass
class Case:
    name: str
    source: str  # the AL file (and label) the refusal comes from
    method: str
    path: str  # under companies({id})/, with {placeholders} filled from ``setup``
    body: Any
    status: int
    code: str
    message: str  # may hold {placeholders} too
    setup: Callable[[NavSandbox], dict[str, str]] | None = None
    nothing_created: tuple[str, ...] = field(default=())  # tables that must stay empty (atomic refusal)


CASES = [
    # -- issue #12 item 1: a dimension set line already in the parent's set -------------------------
    Case("old body: TERRITORY on the header and again on every line", f"{DIM_LINES} LoadLinesFromId "
         "RecordAlreadyExistErr; lines inherit the header's set (BaseApp PurchaseLine CreateDim)",
         "POST", "purchaseInvoices", invoice(dims={"TERRITORY": "NORTH"}, lines=[
             line("1000", {"TERRITORY": "NORTH"}), line("6210", {"TERRITORY": "NORTH"}, line_type="Account")]),
         400, "Application_DialogException", ALREADY, nothing_created=("purchaseInvoices", "purchaseInvoiceLines",
                                                                        "dimensionSetLines")),
    Case("old body on a credit memo", f"{DIM_LINES} RecordAlreadyExistErr; APIV2PurchaseCreditMemos.Page.al",
         "POST", "purchaseCreditMemos", memo(dims={"TERRITORY": "NORTH"}, lines=[line("1000", {"TERRITORY": "NORTH"})]),
         400, "Application_DialogException", ALREADY, nothing_created=("purchaseCreditMemos",)),
    Case("header repeats the vendor's default dimension (V30000 TERRITORY)", f"{DIM_LINES} RecordAlreadyExistErr; "
         "BaseApp PurchaseHeader CreateDimFromDefaultDim", "POST", "purchaseInvoices",
         invoice(vendor="V30000", dims={"TERRITORY": "SOUTH"}), 400, "Application_DialogException", ALREADY,
         nothing_created=("purchaseInvoices",)),
    Case("line repeats its item's default dimension (item 1100 DEPARTMENT)", f"{DIM_LINES} RecordAlreadyExistErr; "
         "BaseApp DimensionManagement GetDefaultDimID", "POST", "purchaseInvoices",
         invoice(lines=[line("1100", {"DEPARTMENT": "INSTALL"})]), 400, "Application_DialogException", ALREADY,
         nothing_created=("purchaseInvoices",)),
    Case("line repeats its G/L account's default dimension (6130 DEPARTMENT)", f"{DIM_LINES} RecordAlreadyExistErr",
         "POST", "purchaseInvoices", invoice(lines=[line("6130", {"DEPARTMENT": "ADMIN"}, line_type="Account")]),
         400, "Application_DialogException", ALREADY, nothing_created=("purchaseInvoices",)),
    Case("POST a dimension set line the line inherited from the header", f"{DIM_LINES} RecordAlreadyExistErr",
         "POST", "purchaseInvoices({inv})/purchaseInvoiceLines({line})/dimensionSetLines",
         {"code": "TERRITORY", "valueCode": "SOUTH"}, 400, "Application_DialogException", ALREADY, setup=draft),
    Case("journal line repeats its account's default dimension", f"{DIM_LINES} RecordAlreadyExistErr; BaseApp "
         "GenJournalLine CreateDim", "POST", "journals({journal})/journalLines",
         {"accountNumber": "6130", "amount": 5, "documentNumber": "J-1", "postingDate": DAY.isoformat(),
          "dimensionSetLines": [{"code": "DEPARTMENT", "valueCode": "SERVICE"}]}, 400,
         "Application_DialogException", ALREADY,
         setup=lambda sb: {"journal": journal_id(sb)},
         nothing_created=("journalLines",)),
    # -- journal lines (page 30049 APIV2JournalLines.Page.al) ----------------------------------------------
    Case("journal line of an unknown account number", "APIV2JournalLines.Page.al UpdateAccountIdForGLAccount "
         "AccountNumberDoesNotMatchAnAccountErr", "POST", "journals({journal})/journalLines",
         {"accountNumber": "9999", "amount": 5}, 400, "Application_DialogException",
         'The "accountNumber" does not match to an Account.', setup=lambda sb: {"journal": journal_id(sb)},
         nothing_created=("journalLines",)),
    Case("journal line whose accountId and accountNumber disagree", "APIV2JournalLines.Page.al "
         "AccountValuesDontMatchErr", "POST", "journals({journal})/journalLines",
         {"accountId": "{acc6110}", "accountNumber": "6120", "amount": 5}, 400, "Application_DialogException",
         "The account values do not match to a specific Account.",
         setup=lambda sb: {"journal": journal_id(sb), "acc6110": account_id(sb, "6110")},
         nothing_created=("journalLines",)),
    Case("journal line that names its journal", "APIV2JournalLines.Page.al journalDisplayName CannotEditBatchNameErr",
         "POST", "journals({journal})/journalLines", {"journalDisplayName": "STNAV", "accountNumber": "6110",
                                                    "amount": 5}, 400, "Application_DialogException",
         "The Journal Batch Display Name isn't editable.", setup=lambda sb: {"journal": journal_id(sb)},
         nothing_created=("journalLines",)),
    Case("journal lines read without a journal", "APIV2JournalLines.Page.al CheckFilters FiltersNotSpecifiedErr",
         "GET", "journalLines", None, 400, "Application_DialogException",
         "You must specify a journal batch ID or a journal ID to get a journal line."),
    # -- the other labels of page 30022 ---------------------------------------------------------------
    Case("dimension set line without id or code", f"{DIM_LINES} IdOrCodeShouldBeFilledErr", "POST",
         "purchaseInvoices({inv})/dimensionSetLines", {"valueCode": "NORTH"}, 400, "Application_DialogException",
         'The "id" or "code" field must be filled in.', setup=draft),
    Case("dimension set line without valueId or valueCode", f"{DIM_LINES} ValueIdOrValueCodeShouldBeFilledErr",
         "POST", "purchaseInvoices({inv})/dimensionSetLines", {"code": "DEPARTMENT"}, 400,
         "Application_DialogException", 'The "valueId" or "valueCode" field must be filled in.', setup=draft),
    Case("unknown dimension code", f"{DIM_LINES} DimensionCodeDoesNotMatchADimensionErr", "POST",
         "purchaseInvoices({inv})/dimensionSetLines", {"code": "AREA", "valueCode": "X"}, 400,
         "Application_DialogException", 'The "code" does not match to a Dimension.', setup=draft),
    Case("unknown dimension value", f"{DIM_LINES} DimensionValueCodeDoesNotMatchADimensionValueErr", "POST",
         "purchaseInvoices({inv})/dimensionSetLines", {"code": "DEPARTMENT", "valueCode": "NOPE"}, 400,
         "Application_DialogException", 'The "valueCode" does not match to a Dimension Value.', setup=draft),
    Case("posting a draft whose dimension value is blocked", "BaseApp DimensionManagement DimValueBlockedErr "
         "(checked at posting; page 30022 / table 5489 accept the value on the draft)", "POST",
         "purchaseInvoices({inv})/Microsoft.NAV.post", None, 400, "Application_DialogException",
         "Dimension Value TERRITORY - CLOSED is blocked.", setup=lambda sb: blocked_draft(sb)),
    Case("PATCH that changes a set line's dimension", f"{DIM_LINES} OnModifyRecord IdAndCodeCannotBeModifiedErr",
         "PATCH", "purchaseInvoices({inv})/dimensionSetLines({territory})", {"code": "DEPARTMENT", "valueCode": "ADMIN"},
         400, "Application_DialogException", 'The "id" and "code" fields cannot be modified.', setup=draft),
    Case("dimension set lines without a parent", f"{DIM_LINES} OnFindRecord ParentNotSpecifiedErr", "GET",
         "dimensionSetLines", None, 400, "Application_DialogException",
         "You must get to the parent first to get to the dimension set line."),
    Case("dimension set line created without a parent", f"{DIM_LINES} OnInsertRecord ParentIDRequiredErr", "POST",
         "dimensionSetLines", {"code": "TERRITORY", "valueCode": "NORTH"}, 400, "Application_DialogException",
         "You must get to the parent first to create a dimension set line."),
    # -- purchase invoice header (page 30042) ----------------------------------------------------------
    Case("invoice without a vendor", "APIV2PurchaseInvoices.Page.al CheckBuyFromVendor BuyFromVendorNotProvidedErr",
         "POST", "purchaseInvoices", {"vendorInvoiceNumber": "X-1"}, 400, "Application_DialogException",
         'A "vendorNumber" or a "vendorID" must be provided.', nothing_created=("purchaseInvoices",)),
    Case("invoice of an unknown vendor", "APIV2PurchaseInvoices.Page.al CouldNotFindBuyFromVendorErr", "POST",
         "purchaseInvoices", invoice(vendor="V99999"), 400, "Application_DialogException",
         "The vendor cannot be found.", nothing_created=("purchaseInvoices",)),
    Case("invoice in an unknown currency", "APIV2PurchaseInvoices.Page.al CurrencyCodeDoesNotMatchACurrencyErr",
         "POST", "purchaseInvoices", invoice(currencyCode="XYZ"), 400, "Application_DialogException",
         'The "currencyCode" does not match to a Currency.', nothing_created=("purchaseInvoices",)),
    Case("shortcut dimension 1 value that does not exist", "APIV2PurchaseInvoices.Page.al shortcutDimension1Code "
         "-> BaseApp DimensionManagement ValidateDimValueCode Text003", "POST", "purchaseInvoices",
         invoice(shortcutDimension1Code="XYZ"), 400, "Application_DialogException",
         "XYZ is not an available Code for that dimension.", nothing_created=("purchaseInvoices",)),
    Case("vendor invoice number longer than Code[35]", "BaseApp table 38 Purchase Header, Vendor Invoice No. "
         "Code[35] (platform length check)", "POST", "purchaseInvoices", invoice(number="X" * 36), 400,
         "Application_StringExceededLength", "The length of the string is 36, but it must be less than or equal to 35 "
         "characters. Value: " + "X" * 36, nothing_created=("purchaseInvoices",)),
    Case("posting outside the allowed posting dates", "BaseApp Purch.-Post (G/L Setup Allow Posting From/To; "
         "APIV2GLSetup.Page.al shows the range)", "POST", "purchaseInvoices({inv})/Microsoft.NAV.post", None, 400,
         "Application_FieldValidationException", "Posting Date is not within your range of allowed posting dates in "
         "Purchase Header: Document Type=Invoice, No.={number}.", setup=narrow_posting_period),
    Case("change to a posted invoice's line", f"{AGGREGATOR} CannotModifyPostedInvioceErr", "PATCH",
         "purchaseInvoices({inv})/purchaseInvoiceLines({line})", {"quantity": 2}, 400, "Application_DialogException",
         "The invoice has been posted and can no longer be modified.", setup=posted),
    # -- purchase invoice lines (page 30043) and credit memo lines (page 30084) --------------------------
    Case("line with both itemId and accountId", f"{INV_LINES} BothItemIdAndAccountIdAreSpecifiedErr", "POST",
         "purchaseInvoices({inv})/purchaseInvoiceLines",
         {"itemId": "00000000-0000-0000-0000-000000000001", "accountId": "00000000-0000-0000-0000-000000000002"},
         400, "Application_DialogException",
         'Both "itemId" and "accountId" are specified. Specify only one of them.', setup=draft),
    Case("line of an unknown item", f"{INV_LINES} lineObjectNumber ItemDoesNotExistErr", "POST", "purchaseInvoices",
         invoice(lines=[line("9999")]), 400, "Application_DialogException", "Item does not exist.",
         nothing_created=("purchaseInvoices",)),
    Case("line of an unknown G/L account", f"{INV_LINES} lineObjectNumber AccountDoesNotExistErr", "POST",
         "purchaseInvoices", invoice(lines=[line("9999", line_type="Account")]), 400, "Application_DialogException",
         "Account does not exist.", nothing_created=("purchaseInvoices",)),
    Case("invoice line with a sequence already taken", f"{AGGREGATOR} PropagateInsertLine "
         "CannotInsertALineThatAlreadyExistsErr", "POST", "purchaseInvoices({inv})/purchaseInvoiceLines",
         line("1010", sequence=10000), 400, "Application_DialogException",
         "You cannot insert a line with a duplicate sequence number.", setup=draft),
    Case("credit memo line with a sequence already taken", "BaseApp codeunit 5511 Graph Mgt - Purch. Cr. Memo "
         "CannotInsertALineThatAlreadyExistsErr", "POST", "purchaseCreditMemos({cm})/purchaseCreditMemoLines",
         line("1010", sequence=10000), 400, "Application_DialogException",
         "You cannot insert the line because  line already exists.", setup=draft_memo),
    Case("PATCH of a line's sequence", f"{INV_LINES} CannotChangeLineNoErr", "PATCH",
         "purchaseInvoices({inv})/purchaseInvoiceLines({line})", {"sequence": 90000}, 400,
         "Application_DialogException", "The value for sequence cannot be modified. Delete and insert the line again.",
         setup=draft),
    Case("PATCH of a line's lineObjectNumber", f"{INV_LINES} CannotChangeLineObjectNoErr", "PATCH",
         "purchaseInvoices({inv})/purchaseInvoiceLines({line})", {"lineObjectNumber": "1010"}, 400,
         "Application_DialogException", 'The value for "lineObjectNumber" cannot be modified.', setup=draft),
    Case("unit of measure on a G/L account line", f"{INV_LINES} unitOfMeasureCode -> {AGGREGATOR} "
         "VerifyCanUpdateUOM CanOnlySetUOMForTypeItemErr", "POST", "purchaseInvoices",
         invoice(lines=[line("6210", line_type="Account", unitOfMeasureCode="PCS")]), 400,
         "Application_DialogException", "Unit of Measure can be set only for lines with type Item.",
         nothing_created=("purchaseInvoices",)),
    # -- read-only setup pages ----------------------------------------------------------------------------
    Case("writing the G/L setup", "APIV2GLSetup.Page.al (InsertAllowed = false, Editable = false)", "POST",
         "generalLedgerSetup", {"allowPostingFrom": "2026-01-01"}, 405, "BadRequest_MethodNotAllowed",
         "'POST' requests for 'generalLedgerSetup' of EdmType 'Entity' are not allowed within Dynamics 365 Business "
         "Central OData web services."),
    Case("creating an accounting period", "APIV2AccountingPeriods.Page.al (InsertAllowed = false)", "POST",
         "accountingPeriods", {"startingDate": "2028-01-01"}, 405, "BadRequest_MethodNotAllowed",
         "'POST' requests for 'accountingPeriods' of EdmType 'Entity' are not allowed within Dynamics 365 Business "
         "Central OData web services."),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_sandbox_refuses_like_bc(nav_onprem, case: Case):
    sb = nav_onprem
    subs = case.setup(sb) if case.setup else {}
    before = {t: len(sb.company.t(t)) for t in case.nothing_created}
    body = ({k: v.format(**subs) if isinstance(v, str) else v for k, v in case.body.items()}
            if isinstance(case.body, dict) else case.body)
    resp = call(sb, case.method, case.path.format(**subs), body)
    assert resp.status_code == case.status, (case.source, resp.text)
    error = resp.json()["error"]
    assert error["code"] == case.code, case.source
    message, _, corr = error["message"].partition("  CorrelationId:  ")
    assert message == case.message.format(**subs), case.source
    assert corr, "BC appends a correlation id"
    for table, count in before.items():  # the whole request was refused: nothing of it is kept
        assert len(sb.company.t(table)) == count, (case.source, table)


def test_every_case_names_its_al_source():
    assert all(".al" in c.source or "BaseApp" in c.source for c in CASES)


def test_old_body_in_batch_fails_its_atomicity_group_only(nav_onprem):
    sb = nav_onprem
    root = f"companies({sb.company_id})/"
    bad = invoice(dims={"TERRITORY": "NORTH"}, lines=[line("1000", {"TERRITORY": "NORTH"})])
    good = invoice(number="STRICT-2", dims={"TERRITORY": "NORTH"})
    resp = requests.post(sb.base_url + "$batch", json={"requests": [
        {"method": "POST", "id": "1", "url": root + "purchaseInvoices", "atomicityGroup": "a", "body": bad,
         "headers": {"Content-Type": "application/json"}},
        {"method": "POST", "id": "2", "url": root + "purchaseInvoices", "atomicityGroup": "b", "body": good,
         "headers": {"Content-Type": "application/json"}}]},
        auth=(sb.basic_user, sb.basic_key), verify=str(sb.ca_pem), timeout=10)
    answers = {r["id"]: r for r in resp.json()["responses"]}
    assert answers["1"]["status"] == 400 and answers["1"]["body"]["error"]["message"].startswith(ALREADY)
    assert answers["2"]["status"] == 201
    assert [i["vendorInvoiceNumber"] for i in sb.purchase_invoices()] == ["STRICT-2"]


def test_patch_of_an_inherited_set_line_changes_its_value(nav_onprem):
    sb = nav_onprem
    ids = draft(sb)
    path = f"purchaseInvoices({ids['inv']})/purchaseInvoiceLines({ids['line']})/dimensionSetLines"
    got = ok(call(sb, "PATCH", f"{path}({ids['territory']})", {"valueCode": "SOUTH"}))
    assert got["code"] == "TERRITORY" and got["valueCode"] == "SOUTH"
    assert [(d["code"], d["valueCode"]) for d in ok(call(sb, "GET", path))["value"]] == [("TERRITORY", "SOUTH")]
    header = ok(call(sb, "GET", f"purchaseInvoices({ids['inv']})/dimensionSetLines"))["value"]
    assert [(d["code"], d["valueCode"]) for d in header] == [("TERRITORY", "NORTH")]  # the header keeps its own


def test_lines_inherit_header_vendor_and_object_defaults(nav_onprem):
    sb = nav_onprem
    rec = ok(call(sb, "POST", "purchaseInvoices?$expand=purchaseInvoiceLines",
                  invoice(vendor="V50000", dims={"TERRITORY": "EAST"},
                          lines=[line("1100"), line("6130", line_type="Account"), line("1000")])))
    inv = sb.purchase_invoices()[0]
    dims = lambda d: {x["code"]: x["valueCode"] for x in d["dimensionSetLines"]}  # noqa: E731
    assert dims(inv) == {"DEPARTMENT": "SERVICE", "TERRITORY": "EAST"}  # vendor default + the header's own
    # the header's DEPARTMENT wins over the item's / account's default (no Default Dimension Priorities)
    assert [dims(ln) for ln in inv["purchaseInvoiceLines"]] == [{"DEPARTMENT": "SERVICE", "TERRITORY": "EAST"}] * 3
    assert rec["id"] == inv["id"]


def test_header_shortcut_dimensions_follow_its_set(nav_onprem):
    """UpdateGlobalDimFromDimSetID: shortcutDimension1Code / 2Code show the set's Global Dimension 1 / 2 values
    (TERRITORY / DEPARTMENT in G/L Setup); a shortcut given on create replaces the vendor default's value, and the
    first value it is the beginning of is taken (ValidateDimValueCode)."""
    sb = nav_onprem
    rec = ok(call(sb, "POST", "purchaseInvoices", invoice(vendor="V30000", shortcutDimension1Code="nor")))
    assert rec["shortcutDimension1Code"] == "NORTH" and rec["shortcutDimension2Code"] == ""
    dims = ok(call(sb, "GET", f"purchaseInvoices({rec['id']})/dimensionSetLines"))["value"]
    assert [(d["code"], d["valueCode"]) for d in dims] == [("TERRITORY", "NORTH")]
    ok(call(sb, "POST", f"purchaseInvoices({rec['id']})/dimensionSetLines", {"code": "DEPARTMENT", "valueCode": "ADMIN"}))
    got = ok(call(sb, "GET", f"purchaseInvoices({rec['id']})"))
    assert (got["shortcutDimension1Code"], got["shortcutDimension2Code"]) == ("NORTH", "ADMIN")


# -- the connector against the strict simulator (issue #12 item 1) -------------------------------------
def inv_spec(vin: str, vendor: str = "V10000", dims: dict[str, str] | None = None,
             lines: list[InvoiceLineSpec] | None = None) -> PurchaseInvoiceSpec:
    return PurchaseInvoiceSpec(
        vendor_number=vendor, vendor_invoice_number=vin, invoice_date=DAY, posting_date=DAY,
        dimensions={"TERRITORY": "NORTH"} if dims is None else dims,
        lines=lines or [InvoiceLineSpec("Item", "1000", D("2"), D("8.75"), "Filters", {"TERRITORY": "NORTH"}),
                        InvoiceLineSpec("Account", "6210", D("1"), D("12.00"), "Freight", {"TERRITORY": "NORTH"})])


def cm_spec(vcm: str, vendor: str = "V10000", dims: dict[str, str] | None = None,
            lines: list[InvoiceLineSpec] | None = None) -> PurchaseCreditMemoSpec:
    s = inv_spec(vcm, vendor, dims, lines)
    return PurchaseCreditMemoSpec(vendor_number=vendor, vendor_credit_memo_number=vcm, credit_memo_date=DAY,
                                  posting_date=DAY, dimensions=s.dimensions, lines=s.lines)


def sets(doc: dict[str, Any], lines_property: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    def one(rec: dict[str, Any]) -> dict[str, str]:
        codes = [d["code"] for d in rec["dimensionSetLines"]]
        assert len(codes) == len(set(codes)), "a dimension is in a set twice"
        return {d["code"]: d["valueCode"] for d in rec["dimensionSetLines"]}
    return one(doc), [one(ln) for ln in doc[lines_property]]


def test_old_connector_body_is_refused_and_new_one_is_accepted(client, nav_onprem):
    spec = inv_spec("ST-PO-1")
    old = {**build_invoice_body(spec), "dimensionSetLines": [{"code": "TERRITORY", "valueCode": "NORTH"}]}
    for ln in old["purchaseInvoiceLines"]:
        ln["dimensionSetLines"] = [{"code": "TERRITORY", "valueCode": "NORTH"}]
    resp = call(nav_onprem, "POST", "purchaseInvoices", json.loads(connector_json(old)))
    assert resp.status_code == 400 and resp.json()["error"]["message"].startswith(ALREADY)
    body = build_invoice_body(spec)
    assert body["dimensionSetLines"] == [{"code": "TERRITORY", "valueCode": "NORTH"}]
    assert all("dimensionSetLines" not in ln for ln in body["purchaseInvoiceLines"])  # inherited from the header


def connector_json(body: dict[str, Any]) -> str:
    """The body as the connector writes it (Decimal and date values)."""
    return odata.dumps(body)


@pytest.mark.parametrize("kind", ["invoice", "credit memo"])
@pytest.mark.parametrize("path", ["single", "batch"])
def test_connector_documents_accepted_and_lines_read_back_territory_from_header(client, nav_onprem, kind, path):
    docs = PurchaseInvoices(client) if kind == "invoice" else PurchaseCreditMemos(client)
    spec = (inv_spec if kind == "invoice" else cm_spec)("ST-PO-2")
    if path == "single":
        result = docs.create(spec, post=False)
    else:
        [outcome] = docs.create_many([spec], post=False)
        assert outcome.error is None, outcome.error
        result = outcome.result
    assert result is not None and not result.posted
    held = nav_onprem.purchase_invoices() if kind == "invoice" else nav_onprem.purchase_credit_memos()
    lines_property = "purchaseInvoiceLines" if kind == "invoice" else "purchaseCreditMemoLines"
    header, lines = sets(held[0], lines_property)
    assert header == {"TERRITORY": "NORTH"} and lines == [{"TERRITORY": "NORTH"}] * 2


@pytest.mark.parametrize("path", ["single", "batch"])
def test_line_with_another_territory_is_patched_and_reads_back_right(client, nav_onprem, path):
    spec = inv_spec("ST-PO-3", lines=[
        InvoiceLineSpec("Item", "1000", D("1"), D("8.75"), "Filters", {"TERRITORY": "NORTH"}),
        InvoiceLineSpec("Item", "1010", D("1"), D("14.20"), "Capacitor", {"TERRITORY": "SOUTH"})])
    pi = PurchaseInvoices(client)
    before = nav_onprem.status_counts.get(400, 0)
    if path == "single":
        res = pi.create(spec, post=True)
    else:
        [out] = pi.create_many([spec], post=True)
        assert out.error is None, out.error
        res = out.result
    assert res.posted
    assert nav_onprem.status_counts.get(400, 0) == before  # nothing was refused on the way
    header, lines = sets(nav_onprem.purchase_invoices()[0], "purchaseInvoiceLines")
    assert header == {"TERRITORY": "NORTH"} and lines == [{"TERRITORY": "NORTH"}, {"TERRITORY": "SOUTH"}]
    by_desc = {e["description"]: {d["code"]: d["valueCode"] for d in e["dimensionSetLines"]}
               for e in nav_onprem.gl_entries()}
    assert by_desc["Capacitor"] == {"TERRITORY": "SOUTH"} and by_desc["Filters"] == {"TERRITORY": "NORTH"}


@pytest.mark.parametrize("path", ["single", "batch"])
def test_vendor_default_dimension_is_inherited_not_duplicated(client, nav_onprem, path):
    pi = PurchaseInvoices(client)
    plain = [InvoiceLineSpec("Item", "1000", D("2"), D("8.75"), "Filters"),
             InvoiceLineSpec("Account", "6210", D("1"), D("12.00"), "Freight")]
    same = inv_spec("ST-PO-4", vendor="V30000", dims={"TERRITORY": "SOUTH"}, lines=plain)  # = V30000's default
    other = inv_spec("ST-PO-5", vendor="V30000", lines=plain)  # NORTH: the vendor's default SOUTH is changed
    if path == "single":
        pi.create(same, post=True)
        pi.create(other, post=True)
    else:
        assert [o.error for o in pi.create_many([same, other], post=True)] == [None, None]
    held = {i["vendorInvoiceNumber"]: sets(i, "purchaseInvoiceLines") for i in nav_onprem.purchase_invoices()}
    assert held["ST-PO-4"] == ({"TERRITORY": "SOUTH"}, [{"TERRITORY": "SOUTH"}] * 2)
    assert held["ST-PO-5"] == ({"TERRITORY": "NORTH"}, [{"TERRITORY": "NORTH"}] * 2)
    payables = [e for e in nav_onprem.gl_entries() if e["accountNumber"] == "5410"]
    assert sorted(d["valueCode"] for e in payables for d in e["dimensionSetLines"]) == ["NORTH", "SOUTH"]


def test_line_dimension_against_an_unreadable_account_default_is_set_after_the_create(client, nav_onprem):
    """G/L account 6130 has DEPARTMENT INSTALL by default (not readable through API v2.0): the deep insert with the
    line's DEPARTMENT is refused, sent again without line dimensions, and the line's DEPARTMENT is PATCHed."""
    spec = inv_spec("ST-PO-6", lines=[
        InvoiceLineSpec("Account", "6130", D("1"), D("100.00"), "Install", {"DEPARTMENT": "ADMIN"})])
    res = PurchaseInvoices(client).create(spec, post=True)
    assert res.posted
    header, lines = sets(nav_onprem.purchase_invoices()[0], "purchaseInvoiceLines")
    assert header == {"TERRITORY": "NORTH"} and lines == [{"TERRITORY": "NORTH", "DEPARTMENT": "ADMIN"}]


@pytest.mark.parametrize("path", ["single", "batch"])
def test_dimension_that_cannot_be_set_deletes_the_draft_and_names_invoice_and_dimension(client, nav_onprem, path):
    bad = inv_spec("ST-PO-7", lines=[InvoiceLineSpec("Item", "1000", D("1"), D("1"), "x", {"TERRITORY": "GONE"})])
    pi = PurchaseInvoices(client)
    if path == "single":
        with pytest.raises(DimensionCheckError) as err:
            pi.create(bad, post=True)
        error = err.value
    else:
        good = inv_spec("ST-PO-8")
        out = pi.create_many([bad, good], post=True)
        error = out[0].error
        assert out[0].result is None and out[1].error is None and out[1].result.posted
    assert isinstance(error, DimensionCheckError)
    text = str(error)
    assert "ST-PO-7" in text and "TERRITORY" in text and "GONE" in text and "line 1" in text
    assert "deleted" in text
    assert [i["vendorInvoiceNumber"] for i in nav_onprem.purchase_invoices()] == (
        [] if path == "single" else ["ST-PO-8"])
    assert pi.find("V10000", "ST-PO-7") == []  # a retry's find-before-create finds nothing to post


def test_ensure_fixes_a_found_drafts_dimensions_before_posting_it(client, nav_onprem):
    """A draft left by an earlier attempt (e.g. a crash before the check) is checked before it is posted."""
    spec = inv_spec("ST-PO-9")
    body = json.loads(connector_json(build_invoice_body(spec)))
    body["dimensionSetLines"] = [{"code": "TERRITORY", "valueCode": "WEST"}]  # wrong header territory
    ok(call(nav_onprem, "POST", "purchaseInvoices", body))
    res = PurchaseInvoices(client).ensure(spec, post=True)
    assert res.posted and not res.created
    header, lines = sets(nav_onprem.purchase_invoices()[0], "purchaseInvoiceLines")
    # the lines inherited WEST from the wrong header: set right too
    assert header == {"TERRITORY": "NORTH"} and lines == [{"TERRITORY": "NORTH"}] * 2


def test_batch_path_reads_back_and_patches_in_one_batch_each(client, nav_onprem):
    specs = [inv_spec(f"ST-B-{i}", vendor="V30000") for i in range(6)]  # each needs header + line PATCHes
    calls_before = nav_onprem.requests_seen
    out = PurchaseInvoices(client).create_many(specs, post=True)
    assert all(o.error is None and o.result.posted for o in out)
    # vendor defaults, creates, read-backs, fixes, posts, reads: six $batch calls for the chunk
    assert nav_onprem.requests_seen - calls_before == 6
    for inv in nav_onprem.purchase_invoices():
        assert sets(inv, "purchaseInvoiceLines") == ({"TERRITORY": "NORTH"}, [{"TERRITORY": "NORTH"}] * 2)


# -- G/L setup and accounting periods (pages 30087, 30086) through the connector -------------------------
def test_gl_setup_and_accounting_periods_read_as_typed_values(client, nav_onprem):
    ref = RefData(client)
    setup = ref.gl_setup()
    assert setup is not None and setup.allow_posting_from is None and setup.allow_posting_to is None
    assert setup.global_dimension_1 == "TERRITORY" and setup.global_dimension_2 == "DEPARTMENT"
    assert setup.allows(DAY)
    nav_onprem.set_allowed_posting_dates(date(2026, 11, 1), date(2026, 11, 30))
    setup = ref.gl_setup()
    assert (setup.allow_posting_from, setup.allow_posting_to) == (date(2026, 11, 1), date(2026, 11, 30))
    assert setup.allows(DAY) and not setup.allows(date(2026, 12, 1))
    periods = ref.accounting_periods()
    assert periods[0].starting_date == date(2025, 1, 1) and periods[0].closed and periods[0].new_fiscal_year
    nov = period_of(periods, DAY)
    assert nov is not None and nov.starting_date == date(2026, 11, 1) and not nov.closed
    assert period_of(periods, date(2024, 6, 1)) is None


def test_transient_error_on_a_dimension_fix_keeps_the_draft_and_ensure_finishes_it(client, nav_onprem):
    """A 503 on the PATCH of an inherited dimension is no refusal: the draft is kept (outcome unknown), and the
    exactly-once path finds it, sets its dimensions and posts it, once."""
    spec = inv_spec("ST-PO-10", vendor="V30000", lines=[InvoiceLineSpec("Item", "1000", D("1"), D("8.75"), "F")])
    nav_onprem.faults.fail(503, times=1, method="PATCH", path_contains="dimensionSetLines")
    res = PurchaseInvoices(client).ensure(spec, post=True)
    assert res.posted
    [inv] = nav_onprem.purchase_invoices()
    assert sets(inv, "purchaseInvoiceLines") == ({"TERRITORY": "NORTH"}, [{"TERRITORY": "NORTH"}])


def test_posted_invoice_dimensions_can_change_but_its_gl_entries_keep_theirs(nav_onprem):
    """SaveDimensions modifies a posted invoice's Purch. Inv. Header set (APIV2DimensionSetLines.Page.al); the G/L
    entries were written at posting and do not change."""
    sb = nav_onprem
    ids = posted(sb)
    ok(call(sb, "PATCH", f"purchaseInvoices({ids['inv']})/dimensionSetLines({ids['territory']})", {"valueCode": "WEST"}))
    assert ok(call(sb, "GET", f"purchaseInvoices({ids['inv']})"))["shortcutDimension1Code"] == "WEST"
    assert {d["valueCode"] for e in sb.gl_entries() for d in e["dimensionSetLines"]} == {"NORTH"}
