"""One simulated Business Central company: seeded from ``sandbox/catalog.py``, with BC's rules for
purchase invoices, journal lines, dimension set lines and posting (G/L entries).

Messages are BC's texts where the reference quotes them (businesscentral-api.md §2, §3.4).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from stnav_desktop.sandbox import catalog
from stnav_desktop.sandbox.nav.schema import ENTITY_TYPE, FIELDS
from stnav_desktop.sandbox.nav.store import ApiError, Store, Txn, dialog, field_error

NS = uuid.UUID("5a1d0c4e-8f0e-4c1b-9a57-4e0d7b6a1c2f")
CENT = Decimal("0.01")
LCY = "USD"
EXCHANGE = {"USD": Decimal("1"), "CAD": Decimal("0.73"), "EUR": Decimal("1.08")}

MAX_LEN = {
    "number": 20, "documentNumber": 20, "vendorInvoiceNumber": 35, "externalDocumentNumber": 35,
    "description": 100, "description2": 50, "code": 20, "valueCode": 20, "accountNumber": 20,
    "balancingAccountNumber": 20, "vendorNumber": 20, "lineObjectNumber": 20, "comment": 250,
    "displayName": 100, "currencyCode": 10, "clientState": 2048, "notificationUrl": 250, "resource": 250,
    "vendorCreditMemoNumber": 35, "invoiceNumber": 20,
}
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def sid(*parts: str) -> str:
    return str(uuid.uuid5(NS, "/".join(parts)))


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# Vendor table field lengths (BaseApp table 23 Vendor; the v1.0 OpenAPI file BCOAS1.0.yaml gives the same
# maxLength values: number 20, displayName 100, city 30, state 30, postalCode 20, countryLetterCode 10,
# phoneNumber 30, email 80, website 80, taxRegistrationNumber 20 (VAT Registration No.); street 152 = Address 100
# + Address 2 50 + separator)
VENDOR_MAX_LEN = {
    **MAX_LEN, "addressLine1": 100, "addressLine2": 50, "city": 30, "state": 30, "country": 10, "postalCode": 20,
    "phoneNumber": 30, "email": 80, "website": 80, "taxRegistrationNumber": 20, "irs1099Code": 10,
}
# The catalog does not flag these (the AL page has no Editable=false on them) but BC refuses them on POST
# ("balance" and "lastModifiedDateTime" are read-only controls: MicrosoftDocs/dynamics365smb-devitpro-pb#2390)
VENDOR_COMPUTED = ("balance", "lastModifiedDateTime")
VENDOR_BLOCKED = (" ", "Payment", "All")
COUNTRIES = ("US", "CA", "MX", "GB", "DE", "FR")  # Country/Region table of the simulated company
# Vendor Posting Group -> Payables Account (Vendor Posting Group table)
VENDOR_POSTING_GROUPS = {"DOMESTIC": catalog.PAYABLES_ACCOUNT}

# A second dimension and some Default Dimensions (table 352), as a real company has them: a vendor with a default
# TERRITORY (its documents' header dimension set starts with it), a vendor with a default DEPARTMENT, and a G/L
# account and an item with a default DEPARTMENT (their purchase lines get it). None of these are the accounts or
# vendors the worked accounting examples post to with exact dimension sets (V10000; 6110/6120/5630/6210).
DEPARTMENT_DIMENSION = "DEPARTMENT"
DEPARTMENTS = [("SERVICE", "Service department"), ("INSTALL", "Installation department"), ("ADMIN", "Administration")]
# (table of the parent: "Vendor" | "Item" | "G/L Account", its number, dimension code, value code)
DEFAULT_DIMENSIONS = [
    ("Vendor", "V30000", catalog.TERRITORY_DIMENSION, "SOUTH"),
    ("Vendor", "V50000", DEPARTMENT_DIMENSION, "SERVICE"),
    ("G/L Account", "6130", DEPARTMENT_DIMENSION, "INSTALL"),
    ("Item", "1100", DEPARTMENT_DIMENSION, "INSTALL"),
]
DEFAULT_DIM_TABLES = {"Vendor": "vendors", "Item": "items", "G/L Account": "accounts"}
EMPTY_DATE = "0001-01-01"  # an empty Date field as the API shows it
GLOBAL_DIMENSIONS = (catalog.TERRITORY_DIMENSION, DEPARTMENT_DIMENSION)  # G/L Setup Global Dimension 1 / 2


@dataclass(frozen=True)
class PurchaseDocType:
    """What differs between the two purchase documents the simulator keeps: tables, BC's captions and
    messages (each page has its own labels) and the few rules that are not the same."""

    table: str  # entity set of the headers; ``lines_table`` is also the deep-insert property
    lines_table: str
    record_caption: str  # the source table, in "The record in table ... already exists."
    dim_parent_type: str  # parentType of the header's / a line's dimension set lines
    line_dim_parent_type: str
    posted_message: str  # a change to a posted document or its lines
    delete_posted_message: str
    sequence_locked_message: str
    line_object_locked_message: str
    duplicate_sequence_message: str  # a new line whose sequence is taken (PropagateInsertLine)
    uom_only_for_items: bool  # unitOfMeasureId/Code on a non-item line -> CanOnlySetUOMForTypeItemErr


INVOICE = PurchaseDocType(
    table="purchaseInvoices", lines_table="purchaseInvoiceLines", record_caption="Purch. Inv. Entity Aggregate",
    dim_parent_type="Purchase Invoice", line_dim_parent_type="Purchase Invoice Line",
    posted_message="The invoice has been posted and can no longer be modified.",
    delete_posted_message="You cannot delete a posted invoice with the simulator.",
    # labels of APIV2PurchaseInvoiceLines.Page.al (CannotChangeLineNoErr, CannotChangeLineObjectNoErr) and of
    # codeunit 5529 "Purch. Inv. Aggregator" (CannotModifyPostedInvioceErr, CannotInsertALineThatAlreadyExistsErr)
    sequence_locked_message="The value for sequence cannot be modified. Delete and insert the line again.",
    line_object_locked_message='The value for "lineObjectNumber" cannot be modified.',
    duplicate_sequence_message="You cannot insert a line with a duplicate sequence number.",
    uom_only_for_items=True)
CREDIT_MEMO = PurchaseDocType(
    table="purchaseCreditMemos", lines_table="purchaseCreditMemoLines", record_caption="Purch. Cr. Memo Entity Buffer",
    dim_parent_type="Purchase Credit Memo", line_dim_parent_type="Purchase Credit Memo Line",
    posted_message="The credit memo has been posted and can no longer be modified.",
    delete_posted_message="You cannot delete a posted credit memo with the simulator.",
    # labels of APIV2PurchCrMemoLines.Page.al and codeunit 5511 "Graph Mgt - Purch. Cr. Memo" (its duplicate line
    # label has BC's double space); its unitOfMeasure fields do not call VerifyCanUpdateUOM
    sequence_locked_message="The value for sequence cannot be modified. Delete and insert the line again.",
    line_object_locked_message='The value for "lineObjectNumber" cannot be modified.',
    duplicate_sequence_message="You cannot insert the line because  line already exists.",
    uom_only_for_items=False)

# lineType -> (table, id property, dialog when the id is unknown, table caption when the number is unknown)
LINE_OBJECTS = {"Item": ("items", "itemId", "Item does not exist.", "Item"),
                "Account": ("accounts", "accountId", "Account does not exist.", "G/L Account")}


def in_field_order(entity: str, values: dict[str, Any]) -> dict[str, Any]:
    """A record with exactly the entity's fields, in the order of ``FIELDS[entity]`` (values for fields the
    entity does not have are left out)."""
    return {name: values[name] for name in FIELDS[entity]}


def line_amount(quantity: Decimal, unit_cost: Decimal, discount: Decimal) -> Decimal:
    return money(quantity * unit_cost) - discount


def line_amount_fields(amount: Decimal) -> dict[str, Decimal]:
    """A document line's amounts (the simulator has no tax)."""
    return {"amountExcludingTax": amount, "amountIncludingTax": amount, "netAmount": amount,
            "netAmountIncludingTax": amount}


def check_body(entity: str, body: Any, *, allow: tuple[str, ...] = (), allow_id: bool = False,
               lengths: dict[str, int] | None = None, read_only: tuple[str, ...] = ()) -> dict[str, Any]:
    """Unknown properties, read-only properties, types and lengths, as the OData layer checks them."""
    if not isinstance(body, dict):
        raise ApiError(400, "BadRequest", "Invalid Request Body")
    fields = FIELDS[entity]
    type_name = f"Microsoft.NAV.{ENTITY_TYPE[entity]}"
    for name, value in body.items():
        if name.startswith("@odata."):
            continue
        if name in allow:
            continue
        if name not in fields:
            raise ApiError(400, "BadRequest",
                           f"The property '{name}' does not exist on type '{type_name}'. Make sure to only use "
                           "property names that are defined by the type.")
        doc_type, is_read_only = fields[name]
        if (is_read_only or name in read_only) and not (name == "id" and allow_id):
            raise ApiError(400, "BadRequest_InvalidOperation", f"Control '{name}' is read-only.")
        if value is None:
            continue
        if doc_type == "decimal" and (isinstance(value, bool) or not isinstance(value, int | Decimal)):
            raise ApiError(400, "BadRequest", f"Cannot convert the literal '{value}' to the expected type 'Edm.Decimal'.")
        if doc_type == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
            raise ApiError(400, "BadRequest", f"Cannot convert the literal '{value}' to the expected type 'Edm.Int32'.")
        if doc_type == "date":
            ok = isinstance(value, str) and DATE_RE.match(value)
            if ok:
                try:
                    date.fromisoformat(value)
                except ValueError:
                    ok = False
            if not ok:
                raise ApiError(400, "BadRequest", f"Cannot convert the literal '{value}' to the expected type 'Edm.Date'.")
        if doc_type == "GUID" and not (isinstance(value, str) and GUID_RE.match(value)):
            raise ApiError(400, "Application_InvalidGUID", f"Invalid GUID '{value}'.")
        if doc_type == "boolean" and not isinstance(value, bool):
            raise ApiError(400, "BadRequest", f"Cannot convert the literal '{value}' to the expected type 'Edm.Boolean'.")
        if doc_type in ("string",) or doc_type.startswith("NAV."):
            if not isinstance(value, str):
                raise ApiError(400, "BadRequest", f"Cannot convert the literal '{value}' to the expected type 'Edm.String'.")
            limit = (lengths or MAX_LEN).get(name)
            if limit and len(value) > limit:
                raise ApiError(400, "Application_StringExceededLength",
                               f"The length of the string is {len(value)}, but it must be less than or equal to "
                               f"{limit} characters. Value: {value}")
    return body


class Company:
    def __init__(self, store: Store, clock: Callable[[], datetime], name: str = "ML Mechanical") -> None:
        self.store = store
        self.clock = clock
        self.id = sid("company", name)
        self.name = name
        self.ext_doc_no_mandatory = True
        self.allow_posting_from: date | None = None
        self.allow_posting_to: date | None = None
        self.vendor_ledger: list[dict[str, Any]] = []
        # what a vendor created through the API gets from the vendor template (Vendor Templ. / config
        # template for the API): Vendor Posting Group; None = no template, posting then fails like BC's TestField
        self.vendor_template_posting_group: str | None = "DOMESTIC"
        self.vendor_nos_manual = True  # No. Series "Manual Nos." of Purchases & Payables Setup "Vendor Nos."
        self._seed()

    # -- tables --------------------------------------------------------------------------------
    def t(self, name: str) -> dict[str, dict[str, Any]]:
        return self.store.table(f"{self.id}:{name}")

    def tn(self, name: str) -> str:
        return f"{self.id}:{name}"

    def now_iso(self) -> str:
        return self.clock().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    def today(self) -> str:
        return self.clock().date().isoformat()

    def _put(self, table: str, rec: dict[str, Any]) -> None:
        rec.setdefault("lastModifiedDateTime", self.now_iso())
        rec["_ver"] = 1
        self.t(table)[rec["id"]] = rec

    def _seed(self) -> None:
        for (_st, _stname, number, name, tax, street, city, state, zip_, blocked) in catalog.VENDORS:
            if number is None:
                continue
            self._put("vendors", {
                "id": sid("vendor", number), "number": number, "displayName": name, "addressLine1": street,
                "addressLine2": "", "city": city, "state": state, "country": "US", "postalCode": zip_,
                "phoneNumber": "", "email": "", "website": "", "taxRegistrationNumber": tax,
                "currencyId": "00000000-0000-0000-0000-000000000000", "currencyCode": "",
                "irs1099Code": "", "paymentTermsId": "00000000-0000-0000-0000-000000000000",
                "paymentMethodId": "00000000-0000-0000-0000-000000000000", "taxLiable": False,
                "blocked": "All" if blocked else " ", "balance": Decimal("0"), "_postingGroup": "DOMESTIC"})
        for (_sku, kind, _code, name, cost, number, _cat) in catalog.SKUS:
            if number is None:
                continue
            group = "EQUIPMENT" if kind == "Equipment" else "MATERIALS"
            self._put("items", {
                "id": sid("item", number), "number": number, "displayName": name, "displayName2": "",
                "type": "Inventory", "itemCategoryId": "00000000-0000-0000-0000-000000000000",
                "itemCategoryCode": "", "blocked": False, "gtin": "", "inventory": Decimal("0"),
                "unitPrice": Decimal("0"), "priceIncludesTax": False, "unitCost": cost,
                "taxGroupId": "00000000-0000-0000-0000-000000000000", "taxGroupCode": "",
                "baseUnitOfMeasureId": sid("uom", "PCS"), "baseUnitOfMeasureCode": "PCS",
                "generalProductPostingGroupId": sid("gpp", "RETAIL"), "generalProductPostingGroupCode": "RETAIL",
                "inventoryPostingGroupId": sid("ipg", group), "inventoryPostingGroupCode": group})
        for (number, name, category, direct, blocked) in catalog.GL_ACCOUNTS:
            self._put("accounts", {
                "id": sid("account", number), "number": number, "displayName": name, "category": category,
                "subCategory": "", "blocked": blocked, "accountType": "Posting", "directPosting": direct,
                "netChange": Decimal("0"), "consolidationTranslationMethod": "", "consolidationDebitAccount": "",
                "consolidationCreditAccount": "", "excludeFromConsolidation": False})
        dim_id = sid("dimension", catalog.TERRITORY_DIMENSION)
        self._put("dimensions", {"id": dim_id, "code": catalog.TERRITORY_DIMENSION, "displayName": "Territory",
                                 "consolidationCode": ""})
        for (_bu, _buname, code, name) in catalog.TERRITORIES:
            self._put("dimensionValues", {"id": sid("dimval", catalog.TERRITORY_DIMENSION, code), "code": code,
                                          "dimensionId": dim_id, "displayName": name, "consolidationCode": "",
                                          "_blocked": False})
        for code, name in catalog.BLOCKED_DIMENSION_VALUES:
            self._put("dimensionValues", {"id": sid("dimval", catalog.TERRITORY_DIMENSION, code), "code": code,
                                          "dimensionId": dim_id, "displayName": name, "consolidationCode": "",
                                          "_blocked": True})
        dept_id = sid("dimension", DEPARTMENT_DIMENSION)
        self._put("dimensions", {"id": dept_id, "code": DEPARTMENT_DIMENSION, "displayName": "Department",
                                 "consolidationCode": ""})
        for code, name in DEPARTMENTS:
            self._put("dimensionValues", {"id": sid("dimval", DEPARTMENT_DIMENSION, code), "code": code,
                                          "dimensionId": dept_id, "displayName": name, "consolidationCode": "",
                                          "_blocked": False})
        for parent_table, number, code, value in DEFAULT_DIMENSIONS:
            self.set_default_dimension(parent_table, number, code, value)
        # Accounting Period table (page 30086): months of 2025-2027, fiscal years from January; 2025 is closed
        for year in (2025, 2026, 2027):
            for month in range(1, 13):
                start = date(year, month, 1).isoformat()
                self._put("accountingPeriods", {
                    "id": sid("period", start), "startingDate": start, "name": date(year, month, 1).strftime("%B"),
                    "newFiscalYear": month == 1, "closed": year == 2025, "dateLocked": year == 2025})
        for code, name in ((catalog.JOURNAL_BATCH, "ServiceTitan inventory bills"), ("DEFAULT", "Default journal")):
            self._put("journals", {"id": sid("journal", code), "code": code, "displayName": name,
                                   "templateDisplayName": catalog.GENERAL_JOURNAL_TEMPLATE,
                                   "balancingAccountId": "00000000-0000-0000-0000-000000000000",
                                   "balancingAccountNumber": ""})

    def company_record(self) -> dict[str, Any]:
        return {"id": self.id, "systemVersion": "25.0.23364.24536", "timestamp": 1, "name": self.name,
                "displayName": self.name + " Inc.", "businessProfileId": "",
                "systemCreatedAt": "2026-01-01T00:00:00Z", "systemCreatedBy": "00000000-0000-0000-0000-000000000001",
                "systemModifiedAt": "2026-01-01T00:00:00Z", "systemModifiedBy": "00000000-0000-0000-0000-000000000001",
                "_ver": 1}

    def set_default_dimension(self, parent_table: str, number: str, code: str, value: str,
                              posting_validation: str = " ") -> dict[str, Any]:
        """A Default Dimension (table 352) of a vendor, item or G/L account (seed data and test hook)."""
        parent = self.by_field(DEFAULT_DIM_TABLES[parent_table], "number", number)
        dim = self.by_field("dimensions", "code", code)
        assert parent is not None and dim is not None, (parent_table, number, code)
        val = next(v for v in self.t("dimensionValues").values() if v["dimensionId"] == dim["id"] and v["code"] == value)
        rec = {"id": sid("defaultdim", parent_table, number, code), "parentType": parent_table,
               "parentId": parent["id"], "dimensionId": dim["id"], "dimensionCode": code,
               "dimensionValueId": val["id"], "dimensionValueCode": value, "postingValidation": posting_validation}
        self._put("defaultDimensions", rec)
        return rec

    def default_dims(self, parent_id: str) -> dict[str, str]:
        """The Default Dimensions of one vendor / item / G/L account: {dimension code: value code}."""
        return {d["dimensionCode"]: d["dimensionValueCode"] for d in self.t("defaultDimensions").values()
                if d["parentId"] == parent_id and d["dimensionValueCode"]}

    def default_dimension_records(self, parent_id: str) -> list[dict[str, Any]]:
        return [d for d in self.t("defaultDimensions").values() if d["parentId"] == parent_id]

    def gl_setup_record(self) -> dict[str, Any]:
        """The one General Ledger Setup record (page 30087 "APIV2 - G/L Setup"). Empty dates read 0001-01-01.
        Global dimension 1 is TERRITORY (what the header's shortcutDimension1Code shows), 2 is DEPARTMENT."""
        def d(value: date | None) -> str:
            return value.isoformat() if value else EMPTY_DATE
        return {"id": sid("glsetup", self.id), "allowPostingFrom": d(self.allow_posting_from),
                "allowPostingTo": d(self.allow_posting_to), "additionalReportingCurrency": "",
                "localCurrencyCode": LCY, "localCurrencySymbol": "$", "lastModifiedDateTime": "2026-01-01T00:00:00Z",
                "allowQueryFromConsolidation": False, "shortcutDimension1Code": GLOBAL_DIMENSIONS[0],
                "shortcutDimension2Code": GLOBAL_DIMENSIONS[1], "shortcutDimension3Code": "",
                "shortcutDimension4Code": "", "shortcutDimension5Code": "", "shortcutDimension6Code": "",
                "shortcutDimension7Code": "", "shortcutDimension8Code": "", "_ver": 1}

    # -- lookups -------------------------------------------------------------------------------
    def by_field(self, table: str, field: str, value: Any) -> dict[str, Any] | None:
        for rec in self.t(table).values():
            if rec.get(field) == value:
                return rec
        return None

    def vendor(self, body: dict[str, Any]) -> dict[str, Any]:
        vid, vno = body.get("vendorId"), body.get("vendorNumber")
        if not vid and not vno:
            raise dialog('A "vendorNumber" or a "vendorID" must be provided.')
        vendor = self.t("vendors").get(vid) if vid else self.by_field("vendors", "number", vno)
        if vendor is None or (vid and vno and vendor["number"] != vno):
            raise dialog("The vendor cannot be found.")
        return vendor

    def check_vendor_blocked(self, vendor: dict[str, Any], verb: str) -> None:
        if vendor["blocked"] == "All":
            raise dialog(f"You cannot {verb} this type of document when Vendor {vendor['number']} is blocked "
                         "with type All")

    def payables_account(self, vendor: dict[str, Any], where: str) -> str:
        """Purch.-Post: TestField(Vendor Posting Group) on the header, then the group's Payables Account."""
        group = vendor.get("_postingGroup") or ""
        if not group:
            raise field_error(f"Vendor Posting Group must have a value in {where}. It cannot be zero or empty.")
        return VENDOR_POSTING_GROUPS[group]

    # -- vendors (page 30010 "APIV2 - Vendors", table 23 Vendor) ----------------------------------
    def create_vendor(self, txn: Txn, body: Any) -> dict[str, Any]:
        """OnInsertRecord of the API page: a given No. that already exists -> Rec.Insert() fails with the
        duplicate-key error; a blank No. comes from the "Vendor Nos." series (Vendor.OnInsert); then the
        vendor template (ProcessNewRecordFromAPI) sets the posting groups. Code fields are upper-cased."""
        check_body("vendors", body, allow_id=True, lengths=VENDOR_MAX_LEN, read_only=VENDOR_COMPUTED)
        body = {k: v for k, v in body.items() if not k.startswith("@odata.") and v is not None}
        vendor_id = (body.pop("id", None) or str(uuid.uuid4())).lower()
        if vendor_id in self.t("vendors"):
            raise ApiError(400, "Internal_EntityWithSameKeyExists", "The record in table Vendor already exists. "
                           f"Identification fields and values: SystemId='{{{vendor_id.upper()}}}'")
        number = (body.get("number") or "").upper()
        if number and not self.vendor_nos_manual:
            raise dialog("You may not enter numbers manually. If you want to enter numbers manually, please "
                         "activate Manual Nos. in No. Series V.")
        if not number:
            number = f"V{self.store.next_in(txn, f'{self.id}:vendor-nos', 7) * 10000}"
        if self.by_field("vendors", "number", number) is not None:
            raise ApiError(400, "Internal_EntityWithSameKeyExists", "The record in table Vendor already exists. "
                           f"Identification fields and values: No.='{number}'")
        blocked = body.get("blocked", " ")
        if blocked not in VENDOR_BLOCKED:
            raise ApiError(400, "BadRequest", f"Cannot convert the literal '{blocked}' to the expected type "
                           "'Microsoft.NAV.vendorBlocked'.")
        country = (body.get("country") or "").upper()
        if country and country not in COUNTRIES:
            raise ApiError(400, "Internal_InvalidTableRelation", f"The field Country/Region Code of table Vendor "
                           f"contains a value ({country}) that cannot be found in the related table (Country/Region).")
        email = body.get("email") or ""
        if email and not re.fullmatch(r"[^@\s;,]+@[^@\s;,]+\.[^@\s;,]+", email):
            raise dialog(f'The email address "{email}" is not valid.')
        currency = (body.get("currencyCode") or "").upper()
        if currency == LCY:
            currency = ""
        if currency and currency not in EXCHANGE:
            raise dialog('The "currencyCode" does not match to a Currency.')
        for field, label in (("paymentTermsId", "Payment Terms"), ("paymentMethodId", "Payment Method")):
            if body.get(field, EMPTY_GUID) != EMPTY_GUID:  # the simulated company has neither table filled
                raise dialog(f'The "{field}" does not match to a {label}.')
        rec = {
            "id": vendor_id, "number": number, "displayName": body.get("displayName", ""),
            "addressLine1": body.get("addressLine1", ""), "addressLine2": body.get("addressLine2", ""),
            "city": body.get("city", ""), "state": body.get("state", ""), "country": country,
            "postalCode": (body.get("postalCode") or "").upper(), "phoneNumber": body.get("phoneNumber", ""),
            "email": email, "website": body.get("website", ""),
            "taxRegistrationNumber": body.get("taxRegistrationNumber", ""),
            "currencyId": sid("currency", currency) if currency else EMPTY_GUID, "currencyCode": currency,
            "irs1099Code": (body.get("irs1099Code") or "").upper(), "paymentTermsId": EMPTY_GUID,
            "paymentMethodId": EMPTY_GUID, "taxLiable": bool(body.get("taxLiable", False)), "blocked": blocked,
            "balance": Decimal("0"), "lastModifiedDateTime": self.now_iso(),
            "_postingGroup": self.vendor_template_posting_group or "",
        }
        return self.store.insert(txn, self.tn("vendors"), rec)

    def check_account(self, account: dict[str, Any]) -> None:
        if account["accountType"] != "Posting":
            raise field_error(f"Account Type must be equal to 'Posting'  in G/L Account: No.={account['number']}. "
                              f"Current value is '{account['accountType']}'.")
        if account["blocked"]:
            raise field_error(f"Blocked must be equal to 'No'  in G/L Account: No.={account['number']}. "
                              "Current value is 'Yes'.")
        if not account["directPosting"]:
            raise field_error(f"Direct Posting must be equal to 'Yes'  in G/L Account: No.={account['number']}. "
                              "Current value is 'No'.")

    def check_posting_date(self, posting_date: str, where: str) -> None:
        d = date.fromisoformat(posting_date)
        if (self.allow_posting_from and d < self.allow_posting_from) or (
                self.allow_posting_to and d > self.allow_posting_to):
            raise field_error(f"Posting Date is not within your range of allowed posting dates in {where}.")

    # -- dimension set lines -------------------------------------------------------------------
    def dim_lines(self, parent_id: str) -> list[dict[str, Any]]:
        return [r for r in self.t("dimensionSetLines").values() if r["parentId"] == parent_id]

    def dims_of(self, parent_id: str) -> dict[str, str]:
        return {r["code"]: r["valueCode"] for r in self.dim_lines(parent_id)}

    def add_dim_line(self, txn: Txn, parent_type: str, parent_id: str, body: dict[str, Any],
                     *, read_only: bool = False) -> dict[str, Any]:
        if read_only:
            raise dialog(f"Parent with ID {parent_id} does not exist or dimension set lines are read only "
                         f"for parent type {parent_type}.")
        check_body("dimensionSetLines", body)
        dim_id, code = body.get("id"), body.get("code")
        if not dim_id and not code:
            raise dialog('The "id" or "code" field must be filled in.')
        dim = self.t("dimensions").get(dim_id) if dim_id else self.by_field("dimensions", "code", code)
        if dim is None:
            raise dialog('The "code" does not match to a Dimension.' if code else
                         'The "id" does not match to a Dimension.')
        if dim_id and code and dim["code"] != code:
            raise dialog("The dimension field values do not match to a specific Dimension.")
        value = self._dim_value(dim, body)
        key = f"{parent_id}|{dim['id']}"
        if key in self.t("dimensionSetLines"):
            raise dialog("The dimension set line already exists. Check existing dimension set lines and the "
                         "default dimension set lines on the parent.")
        rec = {"id": dim["id"], "code": dim["code"], "consolidationCode": dim["consolidationCode"],
               "parentId": parent_id, "parentType": parent_type, "displayName": dim["displayName"],
               "valueId": value["id"], "valueCode": value["code"],
               "valueConsolidationCode": value["consolidationCode"], "valueDisplayName": value["displayName"]}
        self.store.insert(txn, self.tn("dimensionSetLines"), rec, key=key)
        rec["id"] = dim["id"]
        self._sync_global_dims(txn, parent_type, parent_id)
        return rec

    def _dim_value(self, dim: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        vid, vcode = body.get("valueId"), body.get("valueCode")
        if not vid and not vcode:
            raise dialog('The "valueId" or "valueCode" field must be filled in.')
        value = None
        for rec in self.t("dimensionValues").values():
            if rec["dimensionId"] == dim["id"] and ((vid and rec["id"] == vid) or (not vid and rec["code"] == vcode)):
                value = rec
        if value is None:
            raise dialog('The "valueCode" does not match to a Dimension Value.' if vcode else
                         'The "valueId" does not match to a Dimension Value.')
        if vid and vcode and value["code"] != vcode:
            raise dialog('The values of the "dimensionCode" field and the "dimensionId" field do not refer to '
                         "the same Dimension Value.")
        # no Blocked check here: page 30022, table 5489 "Dimension Set Entry Buffer" and DimensionManagement
        # GetDimensionSetID accept a blocked value; posting refuses it (check_dims_on_post)
        return value

    def patch_dim_line(self, txn: Txn, parent_id: str, dim_id: str, body: dict[str, Any],
                       *, read_only: bool = False) -> dict[str, Any]:
        check_body("dimensionSetLines", body)
        key = f"{parent_id}|{dim_id}"
        rec = self.t("dimensionSetLines").get(key)
        if rec is None:
            raise ApiError(404, "Internal_RecordNotFound", "The Dimension Set Entry does not exist.")
        if read_only:
            raise dialog(f"Parent with ID {parent_id} does not exist or dimension set lines are read only "
                         f"for parent type {rec['parentType']}.")
        if ("id" in body and body["id"] != rec["id"]) or ("code" in body and body["code"] != rec["code"]):
            raise dialog('The "id" and "code" fields cannot be modified.')
        dim = self.t("dimensions")[dim_id]
        value = self._dim_value(dim, body)
        updated = self.store.update(txn, self.tn("dimensionSetLines"), key, {
            "valueId": value["id"], "valueCode": value["code"], "valueDisplayName": value["displayName"]})
        self._sync_global_dims(txn, rec["parentType"], parent_id)
        return updated

    def delete_dim_line(self, txn: Txn, parent_id: str, dim_id: str) -> None:
        rec = self.t("dimensionSetLines")[f"{parent_id}|{dim_id}"]
        self.store.delete(txn, self.tn("dimensionSetLines"), f"{parent_id}|{dim_id}")
        self._sync_global_dims(txn, rec["parentType"], parent_id)

    def check_dims_on_post(self, parent_id: str) -> None:
        """Posting checks the set's values: DimensionManagement DimValueBlockedErr '%1 %2 - %3 is blocked.'"""
        for line in self.dim_lines(parent_id):
            value = self.t("dimensionValues").get(line["valueId"])
            if value is None or value.get("_blocked"):
                raise dialog(f"Dimension Value {line['code']} - {line['valueCode']} is blocked.")

    # -- purchase documents: what invoices and credit memos share --------------------------------
    def document(self, kind: PurchaseDocType, doc_id: str) -> dict[str, Any]:
        """The invoice or credit memo header (each answers a missing id in its own way)."""
        return self.invoice(doc_id) if kind is INVOICE else self.credit_memo(doc_id)

    def document_lines(self, kind: PurchaseDocType, doc_id: str) -> list[dict[str, Any]]:
        lines = [r for r in self.t(kind.lines_table).values() if r["documentId"] == doc_id]
        return sorted(lines, key=lambda r: r["sequence"])

    def _check_draft(self, kind: PurchaseDocType, doc: dict[str, Any]) -> None:
        if doc["status"] != "Draft":
            raise dialog(kind.posted_message)

    def _document_body(self, kind: PurchaseDocType, body: Any) -> tuple[dict[str, Any], list[Any], list[Any]]:
        """A deep-insert body checked and split into (header properties, lines, header dimension set lines)."""
        check_body(kind.table, body, allow=(kind.lines_table, "dimensionSetLines"), allow_id=True)
        body = dict(body)
        lines = body.pop(kind.lines_table, None) or []
        dims = body.pop("dimensionSetLines", None) or []
        if not isinstance(lines, list) or not isinstance(dims, list):
            raise ApiError(400, "BadRequest", "Invalid Request Body")
        return body, lines, dims

    def _new_document_id(self, kind: PurchaseDocType, body: dict[str, Any]) -> str:
        doc_id = body.pop("id", None) or str(uuid.uuid4())
        if self.t(kind.table).get(doc_id):
            raise ApiError(400, "Internal_EntityWithSameKeyExists",
                           f"The record in table {kind.record_caption} already exists. Identification "
                           f"fields and values: Id='{doc_id}'")
        return doc_id

    @staticmethod
    def _vendor_ids(vendor: dict[str, Any]) -> dict[str, Any]:
        """Buy-from and pay-to vendor of a purchase header (set again when the vendor changes)."""
        return {"vendorId": vendor["id"], "vendorNumber": vendor["number"], "vendorName": vendor["displayName"],
                "payToVendorId": vendor["id"], "payToVendorNumber": vendor["number"], "payToName": vendor["displayName"]}

    @staticmethod
    def _vendor_addresses(vendor: dict[str, Any]) -> dict[str, Any]:
        return {"buyFromAddressLine1": vendor["addressLine1"], "buyFromAddressLine2": "", "buyFromCity": vendor["city"],
                "buyFromCountry": vendor["country"], "buyFromState": vendor["state"],
                "buyFromPostCode": vendor["postalCode"], "payToAddressLine1": vendor["addressLine1"],
                "payToAddressLine2": "", "payToCity": vendor["city"], "payToCountry": vendor["country"],
                "payToState": vendor["state"], "payToPostCode": vendor["postalCode"]}

    def _new_draft(self, kind: PurchaseDocType, vendor: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
        """A new draft header: the vendor's fields, empty amounts, then ``own`` (the document's own fields)."""
        values = {
            **self._vendor_ids(vendor), **self._vendor_addresses(vendor),
            "shortcutDimension1Code": "", "shortcutDimension2Code": "", "currencyId": EMPTY_GUID, "purchaser": "",
            "pricesIncludeTax": False, "discountAmount": Decimal("0"), "discountAppliedBeforeTax": True,
            "totalAmountExcludingTax": Decimal("0"), "totalTaxAmount": Decimal("0"),
            "totalAmountIncludingTax": Decimal("0"), "status": "Draft", "lastModifiedDateTime": self.now_iso(),
            **own,
        }
        return in_field_order(kind.table, values)

    @staticmethod
    def _shortcut_codes(body: dict[str, Any]) -> dict[int, str]:
        return {i: body[f"shortcutDimension{i}Code"] for i in (1, 2) if body.get(f"shortcutDimension{i}Code")}

    def _global_dim_value(self, number: int, value_code: str) -> str:
        """DimensionManagement.ValidateDimValueCode for Global Dimension ``number``: the value, or the first one it
        is the beginning of; else Text003 '%1 is not an available %2 for that dimension.'"""
        dim = self.by_field("dimensions", "code", GLOBAL_DIMENSIONS[number - 1])
        assert dim is not None
        codes = sorted(v["code"] for v in self.t("dimensionValues").values() if v["dimensionId"] == dim["id"])
        if value_code.upper() in codes:
            return value_code.upper()
        found = next((c for c in codes if c.startswith(value_code.upper())), None)
        if found is None:
            raise dialog(f"{value_code} is not an available Code for that dimension.")
        return found

    def _sync_global_dims(self, txn: Txn, parent_type: str, parent_id: str) -> None:
        """DimensionManagement.UpdateGlobalDimFromDimSetID after a change of a purchase header's set: the header's
        shortcutDimension1Code / 2Code show its Global Dimension 1 / 2 values (G/L Setup, page 30087)."""
        kind = {INVOICE.dim_parent_type: INVOICE, CREDIT_MEMO.dim_parent_type: CREDIT_MEMO}.get(parent_type)
        if kind is None or parent_id not in self.t(kind.table):
            return
        dims = self.dims_of(parent_id)
        new = {f"shortcutDimension{i}Code": dims.get(code, "") for i, code in enumerate(GLOBAL_DIMENSIONS, 1)}
        rec = self.t(kind.table)[parent_id]
        if any(rec.get(k) != v for k, v in new.items()):
            self.store.update(txn, self.tn(kind.table), parent_id, new)

    def _insert_document(self, txn: Txn, kind: PurchaseDocType, rec: dict[str, Any], dims: list[Any],
                         lines: list[Any], shortcuts: dict[int, str] | None = None) -> dict[str, Any]:
        self.store.insert(txn, self.tn(kind.table), rec)
        # Purchase Header, Validate("Buy-from Vendor No.") -> CreateDimFromDefaultDim: the header's dimension set
        # starts as the vendor's Default Dimensions (BaseApp PurchaseHeader.Table.al, DimensionManagement
        # GetDefaultDimID); the API page then shows them as dimensionSetLines of the header
        for code, value in self.default_dims(rec["vendorId"]).items():
            self._put_dim_line(txn, kind.dim_parent_type, rec["id"], code, value)
        # shortcutDimension1Code / 2Code (APIV2PurchaseInvoices.Page.al fields) -> ValidateShortcutDimCode ->
        # DimensionManagement.ValidateShortcutDimValues: the global dimension's value in the set is replaced
        for number, value_code in (shortcuts or {}).items():
            code = self._global_dim_value(number, value_code)
            dim = self.by_field("dimensions", "code", GLOBAL_DIMENSIONS[number - 1])
            assert dim is not None
            if f"{rec['id']}|{dim['id']}" in self.t("dimensionSetLines"):
                self.store.delete(txn, self.tn("dimensionSetLines"), f"{rec['id']}|{dim['id']}")
            self._put_dim_line(txn, kind.dim_parent_type, rec["id"], dim["code"], code)
        # Deep insert: the page's parts in page order (APIV2PurchaseInvoices.Page.al / APIV2PurchaseCreditMemos
        # .Page.al declare dimensionSetLines before the lines), each insert through the part's page, so a header
        # dimension set line that repeats a vendor default fails with RecordAlreadyExistErr
        # (APIV2DimensionSetLines.Page.al LoadLinesFromId) and, being one request, nothing of the body is kept
        for d in dims:
            self.add_dim_line(txn, kind.dim_parent_type, rec["id"], d)
        for line in lines:
            self.create_document_line(txn, kind, rec, line)
        return rec

    def _put_dim_line(self, txn: Txn, parent_type: str, parent_id: str, code: str, value_code: str) -> dict[str, Any]:
        """A dimension set entry that BC sets itself (inherited / default dimensions): no API checks."""
        dim = self.by_field("dimensions", "code", code)
        assert dim is not None
        value = next(v for v in self.t("dimensionValues").values()
                     if v["dimensionId"] == dim["id"] and v["code"] == value_code)
        rec = {"id": dim["id"], "code": dim["code"], "consolidationCode": dim["consolidationCode"],
               "parentId": parent_id, "parentType": parent_type, "displayName": dim["displayName"],
               "valueId": value["id"], "valueCode": value["code"],
               "valueConsolidationCode": value["consolidationCode"], "valueDisplayName": value["displayName"]}
        self.store.insert(txn, self.tn("dimensionSetLines"), rec, key=f"{parent_id}|{dim['id']}")
        self._sync_global_dims(txn, parent_type, parent_id)
        return rec

    def inherited_line_dims(self, header_dims: dict[str, str], object_id: str | None) -> dict[str, str]:
        """A new purchase line's dimension set: Purchase Line CreateDim -> DimMgt.GetRecDefaultDimID(..., PurchHeader
        ."Dimension Set ID", Database::Vendor). GetDefaultDimID (BaseApp DimensionManagement.Codeunit.al) puts the
        header's set first and adds a Default Dimension of the line's G/L account / item only for a dimension the
        header's set does not have (without Default Dimension Priorities the inherited value is kept)."""
        dims = dict(header_dims)
        for code, value in (self.default_dims(object_id) if object_id else {}).items():
            dims.setdefault(code, value)
        return dims

    def create_document_line(self, txn: Txn, kind: PurchaseDocType, doc: dict[str, Any], body: Any) -> dict[str, Any]:
        check_body(kind.lines_table, body, allow=("dimensionSetLines",), allow_id=True)
        self._check_draft(kind, doc)
        body = dict(body)
        dims = body.pop("dimensionSetLines", None) or []
        if body.get("documentId") and body["documentId"] != doc["id"]:
            raise dialog('The value for "documentId" cannot be modified.')
        line_id = body.pop("id", None) or str(uuid.uuid4())
        if line_id in self.t(kind.lines_table):
            raise ApiError(400, "Internal_EntityWithSameKeyExists", "The record in table Purch. Inv. Line Aggregate "
                           "already exists.")
        existing = self.document_lines(kind, doc["id"])
        seq = body.get("sequence") or (max((ln["sequence"] for ln in existing), default=0) + 10000)
        if any(ln["sequence"] == seq for ln in existing):  # PropagateInsertLine: PurchaseLine.Get(...) -> Error
            raise dialog(kind.duplicate_sequence_message)
        if body.get("itemId") and body.get("accountId"):
            raise dialog('Both "itemId" and "accountId" are specified. Specify only one of them.')
        line_type = "Item" if body.get("itemId") else "Account" if body.get("accountId") else body.get("lineType")
        line_type = line_type or "Comment"
        if line_type not in ("Item", "Account", "Comment"):
            raise dialog(f"The simulator does not support lineType '{line_type}'.")
        if kind.uom_only_for_items and line_type != "Item" and (body.get("unitOfMeasureId") or
                                                                  body.get("unitOfMeasureCode")):
            # APIV2PurchaseInvoiceLines.Page.al unitOfMeasureId/Code OnValidate -> Purch. Inv. Aggregator
            # VerifyCanUpdateUOM: CanOnlySetUOMForTypeItemErr
            raise dialog("Unit of Measure can be set only for lines with type Item.")
        number, item, account = body.get("lineObjectNumber") or "", None, None
        if line_type == "Item":
            item = self._line_object(kind, body, line_type, number)
            if item["blocked"]:
                raise field_error(f"Blocked must be equal to 'No'  in Item: No.={item['number']}. Current value is 'Yes'.")
            number = item["number"]
        elif line_type == "Account":
            account = self._line_object(kind, body, line_type, number)
            self.check_account(account)
            number = account["number"]
        quantity = Decimal(body.get("quantity") or 0)
        unit_cost = Decimal(body["unitCost"]) if body.get("unitCost") is not None else (
            item["unitCost"] if item else Decimal("0"))
        discount = Decimal(body.get("discountAmount") or 0)
        amount = line_amount(quantity, unit_cost, discount)
        rec = in_field_order(kind.lines_table, {
            "id": line_id, "documentId": doc["id"], "sequence": seq,
            "itemId": item["id"] if item else EMPTY_GUID, "accountId": account["id"] if account else EMPTY_GUID,
            "lineType": line_type, "lineObjectNumber": number,
            "description": body.get("description") or (item or account or {}).get("displayName", ""),
            "description2": body.get("description2") or "",
            "unitOfMeasureId": item["baseUnitOfMeasureId"] if item else EMPTY_GUID,
            "unitOfMeasureCode": item["baseUnitOfMeasureCode"] if item else "",
            "unitCost": unit_cost, "quantity": quantity, "discountAmount": discount,
            "discountPercent": Decimal("0"), "discountAppliedBeforeTax": True, "taxCode": body.get("taxCode") or "",
            "taxPercent": Decimal("0"), "totalTaxAmount": Decimal("0"), "invoiceDiscountAllocation": Decimal("0"),
            "netTaxAmount": Decimal("0"), **line_amount_fields(amount),
            "expectedReceiptDate": doc["postingDate"], "itemVariantId": EMPTY_GUID, "locationId": EMPTY_GUID,
        })
        self.store.insert(txn, self.tn(kind.lines_table), rec)
        # Purch. Inv. Aggregator / Graph Mgt - Purch. Cr. Memo PropagateInsertLine -> PurchaseLine.Insert(true) with
        # "No." validated: the line's set is the header's set plus its G/L account's / item's Default Dimensions
        # (inherited_line_dims). The line's own dimensionSetLines are then inserted through page 30022: one whose
        # dimension is already in that set fails with RecordAlreadyExistErr (APIV2DimensionSetLines.Page.al,
        # LoadLinesFromId with IsInsert) -- the value is changed with PATCH of that set line instead
        object_id = (item or account or {}).get("id")
        for code, value in self.inherited_line_dims(self.dims_of(doc["id"]), object_id).items():
            self._put_dim_line(txn, kind.line_dim_parent_type, line_id, code, value)
        for d in dims:
            self.add_dim_line(txn, kind.line_dim_parent_type, line_id, d)
        self.recompute_document(txn, kind, doc["id"])
        return rec

    def _line_object(self, kind: PurchaseDocType, body: dict[str, Any], line_type: str, number: str) -> dict[str, Any]:
        """The line's item or G/L account, by ``itemId`` / ``accountId`` or else by ``lineObjectNumber``."""
        table, id_field, missing, _caption = LINE_OBJECTS[line_type]
        if body.get(id_field):
            rec = self.t(table).get(body[id_field])
        else:
            rec = self.by_field(table, "number", number)
        if rec is None:
            raise dialog(missing)
        return rec

    def patch_document_line(self, txn: Txn, kind: PurchaseDocType, line: dict[str, Any], body: Any) -> dict[str, Any]:
        check_body(kind.lines_table, body)
        doc = self.document(kind, line["documentId"])
        self._check_draft(kind, doc)
        if "documentId" in body and body["documentId"] != line["documentId"]:
            raise dialog('The value for "documentId" cannot be modified.')
        if "sequence" in body and body["sequence"] != line["sequence"]:
            raise dialog(kind.sequence_locked_message)
        if "lineObjectNumber" in body and body["lineObjectNumber"] != line["lineObjectNumber"]:
            raise dialog(kind.line_object_locked_message)
        # description2 exists on invoice lines only; check_body has refused it on credit memo lines
        changes = {k: v for k, v in body.items() if k in ("description", "description2", "unitCost", "quantity",
                                                         "discountAmount", "taxCode")}
        q = Decimal(changes.get("quantity", line["quantity"]))
        c = Decimal(changes.get("unitCost", line["unitCost"]))
        disc = Decimal(changes.get("discountAmount", line["discountAmount"]))
        changes.update(line_amount_fields(line_amount(q, c, disc)))
        rec = self.store.update(txn, self.tn(kind.lines_table), line["id"], changes)
        self.recompute_document(txn, kind, doc["id"])
        return rec

    def recompute_document(self, txn: Txn, kind: PurchaseDocType, doc_id: str) -> None:
        total = sum((ln["amountExcludingTax"] for ln in self.document_lines(kind, doc_id)), Decimal("0"))
        self.store.update(txn, self.tn(kind.table), doc_id, {
            "totalAmountExcludingTax": total, "totalTaxAmount": Decimal("0"), "totalAmountIncludingTax": total,
            "lastModifiedDateTime": self.now_iso()})

    def _delete_dim_lines(self, txn: Txn, parent_id: str) -> None:
        for d in self.dim_lines(parent_id):
            self.store.delete(txn, self.tn("dimensionSetLines"), f"{parent_id}|{d['id']}")

    def delete_document(self, txn: Txn, kind: PurchaseDocType, doc: dict[str, Any]) -> None:
        if doc["status"] != "Draft":
            raise dialog(kind.delete_posted_message)
        for line in self.document_lines(kind, doc["id"]):
            self.delete_document_line(txn, kind, line, recompute=False)
        self._delete_dim_lines(txn, doc["id"])
        self.store.delete(txn, self.tn(kind.table), doc["id"])

    def delete_document_line(self, txn: Txn, kind: PurchaseDocType, line: dict[str, Any], *,
                             recompute: bool = True) -> None:
        doc = self.document(kind, line["documentId"])
        self._check_draft(kind, doc)
        self._delete_dim_lines(txn, line["id"])
        self.store.delete(txn, self.tn(kind.lines_table), line["id"])
        if recompute:
            self.recompute_document(txn, kind, doc["id"])

    # -- posting a purchase document (Purch.-Post) ----------------------------------------------
    @staticmethod
    def _lines_to_post(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
        lines = [ln for ln in lines if ln["lineType"] != "Comment"]
        if any(ln["quantity"] == 0 for ln in lines):
            raise dialog("One or more document lines with a value in the No. field do not have a quantity specified.")
        if not lines:
            raise dialog("There is nothing to post.")
        return lines

    def _check_not_posted_before(self, document_type: str, vendor_number: str, vendor_document_number: str) -> None:
        """The vendor's own document number may be posted once per vendor and document type."""
        if vendor_document_number and any(
                v["vendorNumber"] == vendor_number and v["externalDocumentNumber"] == vendor_document_number
                and v["documentType"] == document_type and not v["reversed"] for v in self.vendor_ledger):
            raise dialog(f"Purchase {document_type} {vendor_document_number} already exists for this vendor.")

    def _line_postings(self, lines: list[dict[str, Any]], rate: Decimal, *, credit: bool,
                       check_blocked_items: bool) -> list[tuple[str, Decimal, str, dict[str, str]]]:
        """(G/L account, amount in LCY, description, dimensions) per line; ``credit`` posts the lines as credits."""
        postings: list[tuple[str, Decimal, str, dict[str, str]]] = []
        for ln in lines:
            self.check_dims_on_post(ln["id"])
            if ln["lineType"] == "Item":
                item = self.t("items")[ln["itemId"]]
                if check_blocked_items and item["blocked"]:
                    raise field_error(f"Blocked must be equal to 'No'  in Item: No.={item['number']}. "
                                      "Current value is 'Yes'.")
                account_no = catalog.INVENTORY_ACCOUNT_BY_ITEM_GROUP[item["inventoryPostingGroupCode"]]
            else:
                account = self.t("accounts")[ln["accountId"]]
                self.check_account(account)
                account_no = account["number"]
            amount = money(ln["amountExcludingTax"] * rate)
            postings.append((account_no, -amount if credit else amount, ln["description"], self.dims_of(ln["id"])))
        return postings

    def _post_to_gl(self, txn: Txn, doc: dict[str, Any], document_type: str, posted_no: str, payables: str,
                    postings: list[tuple[str, Decimal, str, dict[str, str]]]) -> Decimal:
        """G/L entries for the lines and the balancing payables entry; returns the payables amount."""
        payable = -sum((p[1] for p in postings), Decimal("0"))
        postings.append((payables, payable, f"{document_type} {posted_no}", self.dims_of(doc["id"])))
        for account_no, amount, description, dims in postings:
            self.add_gl_entry(txn, doc["postingDate"], posted_no, document_type, account_no, amount, description, dims)
        return payable

    # -- purchase invoices ---------------------------------------------------------------------
    def create_invoice(self, txn: Txn, body: Any) -> dict[str, Any]:
        body, lines, dims = self._document_body(INVOICE, body)
        vendor = self.vendor(body)
        self.check_vendor_blocked(vendor, "create")
        inv_id = self._new_document_id(INVOICE, body)
        currency = body.get("currencyCode") or LCY
        if currency not in EXCHANGE:  # APIV2PurchaseInvoices.Page.al currencyCode: CurrencyCodeDoesNotMatchACurrencyErr
            raise dialog('The "currencyCode" does not match to a Currency.')
        posting = body.get("postingDate") or self.today()
        invoice_date = body.get("invoiceDate") or posting
        number = str(self.store.next_in(txn, f"{self.id}:pi-draft", 1001))
        rec = self._new_draft(INVOICE, vendor, {
            "id": inv_id, "number": number, "postingDate": posting, "invoiceDate": invoice_date,
            "dueDate": body.get("dueDate") or invoice_date,
            "vendorInvoiceNumber": body.get("vendorInvoiceNumber") or "", "payToContact": "",
            "shipToName": "", "shipToContact": "", "shipToAddressLine1": "", "shipToAddressLine2": "",
            "shipToCity": "", "shipToCountry": "", "shipToState": "", "shipToPostCode": "",
            "currencyCode": currency, "orderId": EMPTY_GUID, "orderNumber": "",
        })
        for k in ("shipToName", "shipToContact", "purchaser"):
            if body.get(k):
                rec[k] = body[k]
        return self._insert_document(txn, INVOICE, rec, dims, lines, self._shortcut_codes(body))

    def invoice(self, inv_id: str) -> dict[str, Any]:
        rec = self.t("purchaseInvoices").get(inv_id)
        if rec is None:
            raise ApiError(404, "Internal_RecordNotFound", f"The Purch. Inv. Entity Aggregate does not exist. "
                           f"Identification fields and values: Id='{inv_id}'")
        return rec

    def invoice_lines(self, inv_id: str) -> list[dict[str, Any]]:
        return self.document_lines(INVOICE, inv_id)

    def create_invoice_line(self, txn: Txn, inv: dict[str, Any], body: Any) -> dict[str, Any]:
        return self.create_document_line(txn, INVOICE, inv, body)

    def patch_invoice_line(self, txn: Txn, line: dict[str, Any], body: Any) -> dict[str, Any]:
        return self.patch_document_line(txn, INVOICE, line, body)

    def recompute(self, txn: Txn, inv_id: str) -> None:
        self.recompute_document(txn, INVOICE, inv_id)

    def patch_invoice(self, txn: Txn, inv: dict[str, Any], body: Any) -> dict[str, Any]:
        check_body("purchaseInvoices", body, allow_id=True)
        if "id" in body and body["id"] != inv["id"]:
            raise dialog('The "id" cannot be changed.')
        self._check_draft(INVOICE, inv)
        changes = {k: v for k, v in body.items() if k != "id"}
        if "vendorNumber" in changes or "vendorId" in changes:
            vendor = self.vendor(changes)
            self.check_vendor_blocked(vendor, "create")
            changes.update(self._vendor_ids(vendor))
        changes["lastModifiedDateTime"] = self.now_iso()
        return self.store.update(txn, self.tn("purchaseInvoices"), inv["id"], changes)

    def delete_invoice(self, txn: Txn, inv: dict[str, Any]) -> None:
        self.delete_document(txn, INVOICE, inv)

    def delete_invoice_line(self, txn: Txn, line: dict[str, Any], *, recompute: bool = True) -> None:
        self.delete_document_line(txn, INVOICE, line, recompute=recompute)

    def post_invoice(self, txn: Txn, inv: dict[str, Any]) -> None:
        if inv["status"] != "Draft":
            raise dialog("The action can be applied to a draft invoice only.")
        vendor = self.t("vendors")[inv["vendorId"]]
        self.check_vendor_blocked(vendor, "post")
        lines = self._lines_to_post(self.invoice_lines(inv["id"]))
        where = f"Purchase Header: Document Type=Invoice, No.={inv['number']}"
        if self.ext_doc_no_mandatory and not inv["vendorInvoiceNumber"]:
            raise field_error(f"Vendor Invoice No. must have a value in {where}. It cannot be zero or empty.")
        payables = self.payables_account(vendor, where)
        self.check_posting_date(inv["postingDate"], where)
        self._check_not_posted_before("Invoice", inv["payToVendorNumber"], inv["vendorInvoiceNumber"])
        self.check_dims_on_post(inv["id"])
        rate = EXCHANGE[inv["currencyCode"] or LCY]
        postings = self._line_postings(lines, rate, credit=False, check_blocked_items=False)
        posted_no = str(self.store.next_in(txn, f"{self.id}:pi-posted", 108001))
        payable = self._post_to_gl(txn, inv, "Invoice", posted_no, payables, postings)
        self.vendor_ledger.append({"vendorNumber": inv["payToVendorNumber"], "documentType": "Invoice",
                                   "externalDocumentNumber": inv["vendorInvoiceNumber"], "documentNumber": posted_no,
                                   "reversed": False, "remainingAmount": payable, "open": True,
                                   "documentId": inv["id"]})
        ledger = self.vendor_ledger
        txn.record(lambda: ledger.pop())
        self.store.update(txn, self.tn("purchaseInvoices"), inv["id"], {
            "number": posted_no, "status": "Open", "lastModifiedDateTime": self.now_iso()})
        txn.commit()  # Purch.-Post commits

    def add_gl_entry(self, txn: Txn, posting_date: str, document_no: str, document_type: str, account_no: str,
                     amount: Decimal, description: str, dims: dict[str, str]) -> dict[str, Any]:
        account = self.by_field("accounts", "number", account_no)
        assert account is not None
        entry_no = self.store.next_in(txn, f"{self.id}:gl-entry", 1)
        rec = {"id": str(uuid.uuid4()), "entryNumber": entry_no, "postingDate": posting_date,
               "documentNumber": document_no, "documentType": document_type, "accountId": account["id"],
               "accountNumber": account_no, "description": description[:100],
               "debitAmount": amount if amount > 0 else Decimal("0.00"),
               "creditAmount": -amount if amount < 0 else Decimal("0.00"),
               "additionalCurrencyDebitAmount": Decimal("0"), "additionalCurrencyCreditAmount": Decimal("0"),
               "lastModifiedDateTime": self.now_iso()}
        self.store.insert(txn, self.tn("generalLedgerEntries"), rec)
        for code, value in dims.items():
            dim = self.by_field("dimensions", "code", code)
            val = next(v for v in self.t("dimensionValues").values()
                       if dim and v["dimensionId"] == dim["id"] and v["code"] == value)
            assert dim is not None
            self.store.insert(txn, self.tn("dimensionSetLines"), {
                "id": dim["id"], "code": code, "consolidationCode": dim["consolidationCode"], "parentId": rec["id"],
                "parentType": "General Ledger Entry", "displayName": dim["displayName"], "valueId": val["id"],
                "valueCode": value, "valueConsolidationCode": val["consolidationCode"],
                "valueDisplayName": val["displayName"]}, key=f"{rec['id']}|{dim['id']}")
        return rec

    # -- purchase credit memos -----------------------------------------------------------------
    # Page 30083 "APIV2 - Purchase Credit Memos" (source table "Purch. Cr. Memo Entity Buffer": drafts AND
    # posted, key Id kept after posting) and page 30084 "APIV2 - Purch. Cr. Memo Lines". Messages are the
    # pages' labels; posting follows Purch.-Post for Document Type "Credit Memo".
    def credit_memo_vendor(self, body: dict[str, Any]) -> dict[str, Any]:
        vid, vno = body.get("vendorId"), body.get("vendorNumber")
        if not vid and not vno:
            raise dialog('A "vendorNumber" or a "vendorId" must be provided.')
        vendor = self.t("vendors").get(vid) if vid else self.by_field("vendors", "number", vno)
        if vendor is None:
            raise dialog("The buy-from vendor cannot be found.")
        if vid and vno and vendor["number"] != vno:
            raise dialog("The buy-from vendor values do not match to a Vendor.")
        return vendor

    def _applies_to(self, body: dict[str, Any]) -> str | None:
        """``invoiceId`` / ``invoiceNumber`` -> Applies-to Doc. No. (None = not given)."""
        inv_id, inv_no = body.get("invoiceId"), body.get("invoiceNumber")
        number = None
        if inv_id is not None:
            if inv_id == EMPTY_GUID:
                number = ""
            else:
                inv = self.t("purchaseInvoices").get(inv_id)
                if inv is None or inv["status"] == "Draft":  # only posted invoices (Purch. Inv. Header)
                    raise dialog('The "invoiceId" does not match to an Invoice.')
                number = inv["number"]
        if inv_no is not None:
            if number is not None and number and inv_no != number:
                raise dialog('The "invoiceId" and "invoiceNumber" do not match to a specific Invoice.')
            number = inv_no
        return number

    def _invoice_id_for(self, number: str) -> str:
        if number:
            for inv in self.t("purchaseInvoices").values():
                if inv["number"] == number and inv["status"] != "Draft":
                    return inv["id"]
        return EMPTY_GUID

    def create_credit_memo(self, txn: Txn, body: Any) -> dict[str, Any]:
        body, lines, dims = self._document_body(CREDIT_MEMO, body)
        vendor = self.credit_memo_vendor(body)
        self.check_vendor_blocked(vendor, "create")
        cm_id = self._new_document_id(CREDIT_MEMO, body)
        currency = body.get("currencyCode") or LCY
        if currency not in EXCHANGE:
            raise dialog('The "currencyCode" does not match to a Currency.')
        applies_to = self._applies_to(body) or ""
        posting = body.get("postingDate") or self.today()
        doc_date = body.get("creditMemoDate") or posting
        number = f"PCM{self.store.next_in(txn, f'{self.id}:pcm-draft', 1001):05d}"
        rec = self._new_draft(CREDIT_MEMO, vendor, {
            "id": cm_id, "number": number, "creditMemoDate": doc_date, "postingDate": posting,
            "dueDate": body.get("dueDate") or doc_date,
            "vendorCreditMemoNumber": body.get("vendorCreditMemoNumber") or "",
            "currencyCode": currency, "paymentTermsId": EMPTY_GUID, "shipmentMethodId": EMPTY_GUID,
            "invoiceId": self._invoice_id_for(applies_to), "invoiceNumber": applies_to,
            "vendorReturnReasonId": EMPTY_GUID,
        })
        if body.get("purchaser"):
            rec["purchaser"] = body["purchaser"]
        return self._insert_document(txn, CREDIT_MEMO, rec, dims, lines, self._shortcut_codes(body))

    def credit_memo(self, cm_id: str) -> dict[str, Any]:
        rec = self.t("purchaseCreditMemos").get(cm_id)
        if rec is None:
            raise dialog("The credit memo cannot be found.")
        return rec

    def credit_memo_lines(self, cm_id: str) -> list[dict[str, Any]]:
        return self.document_lines(CREDIT_MEMO, cm_id)

    def create_credit_memo_line(self, txn: Txn, cm: dict[str, Any], body: Any) -> dict[str, Any]:
        return self.create_document_line(txn, CREDIT_MEMO, cm, body)

    def patch_credit_memo_line(self, txn: Txn, line: dict[str, Any], body: Any) -> dict[str, Any]:
        return self.patch_document_line(txn, CREDIT_MEMO, line, body)

    def recompute_credit_memo(self, txn: Txn, cm_id: str) -> None:
        self.recompute_document(txn, CREDIT_MEMO, cm_id)

    def patch_credit_memo(self, txn: Txn, cm: dict[str, Any], body: Any) -> dict[str, Any]:
        check_body("purchaseCreditMemos", body, allow_id=True)
        if "id" in body and body["id"] != cm["id"]:
            raise dialog('The "id" cannot be changed.')
        self._check_draft(CREDIT_MEMO, cm)
        changes = {k: v for k, v in body.items() if k not in ("id", "invoiceId", "invoiceNumber")}
        if "vendorNumber" in changes or "vendorId" in changes:
            vendor = self.credit_memo_vendor(changes)
            self.check_vendor_blocked(vendor, "create")
            changes.update(self._vendor_ids(vendor))
        if "currencyCode" in changes and (changes["currencyCode"] or LCY) not in EXCHANGE:
            raise dialog('The "currencyCode" does not match to a Currency.')
        applies_to = self._applies_to(body)
        if applies_to is not None:
            changes.update(invoiceNumber=applies_to, invoiceId=self._invoice_id_for(applies_to))
        changes["lastModifiedDateTime"] = self.now_iso()
        return self.store.update(txn, self.tn("purchaseCreditMemos"), cm["id"], changes)

    def delete_credit_memo(self, txn: Txn, cm: dict[str, Any]) -> None:
        self.delete_document(txn, CREDIT_MEMO, cm)

    def delete_credit_memo_line(self, txn: Txn, line: dict[str, Any], *, recompute: bool = True) -> None:
        self.delete_document_line(txn, CREDIT_MEMO, line, recompute=recompute)

    def post_credit_memo(self, txn: Txn, cm: dict[str, Any]) -> None:
        """Purch.-Post for a credit memo: the reverse of ``post_invoice`` (lines credited, payables debited)
        and, with an Applies-to Doc. No. (``invoiceNumber``), applied to that open posted invoice."""
        if cm["status"] != "Draft":
            raise dialog("The action can be applied to a draft credit memo only.")
        all_lines = self.credit_memo_lines(cm["id"])
        if not all_lines:
            raise dialog("Please add at least one line item to the credit memo.")
        vendor = self.t("vendors")[cm["vendorId"]]
        self.check_vendor_blocked(vendor, "post")
        lines = self._lines_to_post(all_lines)
        where = f"Purchase Header: Document Type=Credit Memo, No.={cm['number']}"
        if self.ext_doc_no_mandatory and not cm["vendorCreditMemoNumber"]:
            raise field_error(f"Vendor Cr. Memo No. must have a value in {where}. It cannot be zero or empty.")
        payables = self.payables_account(vendor, where)
        self.check_posting_date(cm["postingDate"], where)
        self._check_not_posted_before("Credit Memo", cm["payToVendorNumber"], cm["vendorCreditMemoNumber"])
        applied = None
        if cm["invoiceNumber"]:
            applied = next((v for v in self.vendor_ledger if v["documentNumber"] == cm["invoiceNumber"]
                            and v["documentType"] == "Invoice" and v["vendorNumber"] == cm["payToVendorNumber"]
                            and v.get("open")), None)
            if applied is None:  # Gen. Jnl.-Post Line: OldVendLedgEntry.FindFirst() on the Applies-to filter
                raise dialog(f"There is no Vendor Ledger Entry within the filter.  Filters: Document No.: "
                             f"{cm['invoiceNumber']}, Document Type: Invoice, Vendor No.: {cm['payToVendorNumber']}, "
                             "Open: Yes")
        self.check_dims_on_post(cm["id"])
        rate = EXCHANGE[cm["currencyCode"] or LCY]
        postings = self._line_postings(lines, rate, credit=True, check_blocked_items=True)
        posted_no = f"PPCM{self.store.next_in(txn, f'{self.id}:pcm-posted', 109001):06d}"
        total = self._post_to_gl(txn, cm, "Credit Memo", posted_no, payables, postings)
        entry = {"vendorNumber": cm["payToVendorNumber"], "documentType": "Credit Memo",
                 "externalDocumentNumber": cm["vendorCreditMemoNumber"], "documentNumber": posted_no,
                 "reversed": False, "remainingAmount": total, "open": total != 0, "documentId": cm["id"]}
        ledger = self.vendor_ledger
        ledger.append(entry)
        txn.record(lambda: ledger.remove(entry))
        if applied is not None:
            old = dict(applied)
            txn.record(lambda: applied.update(old))
            amount = max(Decimal("0"), min(-applied["remainingAmount"], entry["remainingAmount"]))
            applied["remainingAmount"] += amount
            entry["remainingAmount"] -= amount
            applied["open"] = applied["remainingAmount"] != 0
            entry["open"] = entry["remainingAmount"] != 0
            if not applied["open"]:  # PurchInvAggregator: a closed vendor ledger entry shows as Paid
                self.store.update(txn, self.tn("purchaseInvoices"), applied["documentId"], {
                    "status": "Paid", "lastModifiedDateTime": self.now_iso()})
        self.store.update(txn, self.tn("purchaseCreditMemos"), cm["id"], {
            "number": posted_no, "status": "Open" if entry["open"] else "Paid", "lastModifiedDateTime": self.now_iso()})
        txn.commit()  # Purch.-Post commits

    # -- journals ------------------------------------------------------------------------------
    def journal(self, jid: str) -> dict[str, Any]:
        rec = self.t("journals").get(jid)
        if rec is None:
            raise ApiError(404, "Internal_RecordNotFound", f"The General Journal Batch with ID {jid} cannot be found.")
        return rec

    def journal_lines(self, jid: str) -> list[dict[str, Any]]:
        return sorted((r for r in self.t("journalLines").values() if r["journalId"] == jid),
                      key=lambda r: r["lineNumber"])

    def create_journal(self, txn: Txn, body: Any) -> dict[str, Any]:
        check_body("journals", body)
        code = body.get("code") or ""
        if not code:
            raise field_error("Name must have a value in Gen. Journal Batch. It cannot be zero or empty.")
        if len(code) > 10:
            raise ApiError(400, "Application_StringExceededLength", f"The length of the string is {len(code)}, but "
                           f"it must be less than or equal to 10 characters. Value: {code}")
        if self.by_field("journals", "code", code):
            raise ApiError(400, "Internal_EntityWithSameKeyExists", f"The record in table Gen. Journal Batch already "
                           f"exists. Identification fields and values: Journal Template Name='GENERAL',Name='{code}'")
        rec = {"id": str(uuid.uuid4()), "code": code, "displayName": body.get("displayName") or "",
               "templateDisplayName": body.get("templateDisplayName") or catalog.GENERAL_JOURNAL_TEMPLATE,
               "balancingAccountId": "00000000-0000-0000-0000-000000000000", "balancingAccountNumber": "",
               "lastModifiedDateTime": self.now_iso()}
        return self.store.insert(txn, self.tn("journals"), rec)

    def create_journal_line(self, txn: Txn, journal: dict[str, Any], body: Any) -> dict[str, Any]:
        check_body("journalLines", body, allow=("dimensionSetLines",), allow_id=True)
        body = dict(body)
        dims = body.pop("dimensionSetLines", None) or []
        if body.get("journalId") and body["journalId"] != journal["id"]:
            raise dialog("The Journal Batch Id isn't editable.")
        if "journalDisplayName" in body:  # APIV2JournalLines.Page.al journalDisplayName OnValidate: always an error
            raise dialog("The Journal Batch Display Name isn't editable.")
        line_id = body.pop("id", None) or str(uuid.uuid4())
        if line_id in self.t("journalLines"):
            raise ApiError(400, "Internal_EntityWithSameKeyExists", "The record in table Gen. Journal Line already exists.")
        existing = self.journal_lines(journal["id"])
        line_no = body.get("lineNumber") or (max((ln["lineNumber"] for ln in existing), default=0) + 10000)
        if any(ln["lineNumber"] == line_no for ln in existing):
            raise ApiError(400, "Internal_EntityWithSameKeyExists", "The record in table Gen. Journal Line already exists.")
        account_type = body.get("accountType") or "G/L Account"
        if account_type != "G/L Account":
            raise dialog(f"The simulator supports accountType 'G/L Account' only, not '{account_type}'.")
        account = self._journal_account(body.get("accountId"), body.get("accountNumber"), "account")
        bal_type = body.get("balanceAccountType") or "G/L Account"
        bal_no = body.get("balancingAccountNumber")
        bal_id = body.get("balancingAccountId")
        if not bal_no and not bal_id and journal.get("balancingAccountNumber"):
            bal_no = journal["balancingAccountNumber"]
        balancing = self._journal_account(bal_id, bal_no, "balancingAccount") if (bal_no or bal_id) else None
        posting = body.get("postingDate") or (existing[-1]["postingDate"] if existing else self.today())
        doc_no = body.get("documentNumber") or ""
        if not doc_no:
            if existing and existing[-1]["externalDocumentNumber"] == (body.get("externalDocumentNumber") or ""):
                doc_no = existing[-1]["documentNumber"]
            else:
                doc_no = f"G{self.store.next_in(txn, f'{self.id}:gj-doc', 1):05d}"
        rec = {
            "id": line_id, "journalId": journal["id"], "journalDisplayName": journal["code"], "lineNumber": line_no,
            "accountType": account_type, "accountId": account["id"] if account else "00000000-0000-0000-0000-000000000000",
            "accountNumber": account["number"] if account else "", "postingDate": posting, "documentNumber": doc_no,
            "externalDocumentNumber": body.get("externalDocumentNumber") or "",
            "amount": Decimal(body.get("amount") or 0),
            "description": body.get("description") or (account["displayName"] if account else ""),
            "comment": body.get("comment") or "", "taxCode": body.get("taxCode") or "",
            "balanceAccountType": bal_type,
            "balancingAccountId": balancing["id"] if balancing else "00000000-0000-0000-0000-000000000000",
            "balancingAccountNumber": balancing["number"] if balancing else "",
            "lastModifiedDateTime": self.now_iso(),
        }
        self.store.insert(txn, self.tn("journalLines"), rec)
        # Gen. Journal Line, Validate("Account No." / "Bal. Account No.") -> CreateDim: the Default Dimensions of
        # the account, then of the balancing account for dimensions not set yet (DimensionManagement
        # GetDefaultDimID); the line's dimensionSetLines must not repeat them (APIV2DimensionSetLines.Page.al)
        defaults: dict[str, str] = {}
        for acc in (account, balancing):
            for code, value in (self.default_dims(acc["id"]) if acc else {}).items():
                defaults.setdefault(code, value)
        for code, value in defaults.items():
            self._put_dim_line(txn, "Journal Line", line_id, code, value)
        for d in dims:
            self.add_dim_line(txn, "Journal Line", line_id, d)
        return rec

    def _journal_account(self, aid: str | None, number: str | None, what: str) -> dict[str, Any] | None:
        if not aid and not number:
            return None
        # APIV2JournalLines.Page.al: accountId / balancingAccountId OnValidate (AccountIdDoesNotMatchAnAccountErr,
        # BalAccountIdDoesNotMatchAnAccountErr), accountNumber -> UpdateAccountIdForGLAccount
        # (AccountNumberDoesNotMatchAnAccountErr; AccountValuesDontMatchErr when it is not the accountId's account)
        account = self.t("accounts").get(aid) if aid else self.by_field("accounts", "number", number)
        if account is None:
            raise dialog(f'The "{what}{"Id" if aid else "Number"}" does not match to an Account.')
        if aid and number and account["number"] != number and what == "account":
            raise dialog("The account values do not match to a specific Account.")
        self.check_account(account)
        return account

    def patch_journal_line(self, txn: Txn, line: dict[str, Any], body: Any) -> dict[str, Any]:
        check_body("journalLines", body)
        if "journalId" in body and body["journalId"] != line["journalId"]:
            raise dialog("The Journal Batch Id isn't editable.")
        changes = {k: v for k, v in body.items() if k in (
            "postingDate", "documentNumber", "externalDocumentNumber", "amount", "description", "comment", "taxCode")}
        if "amount" in changes:
            changes["amount"] = Decimal(changes["amount"])
        if "accountNumber" in body or "accountId" in body:
            acc = self._journal_account(body.get("accountId"), body.get("accountNumber"), "account")
            assert acc is not None
            changes.update(accountId=acc["id"], accountNumber=acc["number"])
        if "balancingAccountNumber" in body or "balancingAccountId" in body:
            bal = self._journal_account(body.get("balancingAccountId"), body.get("balancingAccountNumber"),
                                        "balancingAccount")
            changes.update(balancingAccountId=bal["id"] if bal else "00000000-0000-0000-0000-000000000000",
                           balancingAccountNumber=bal["number"] if bal else "")
        changes["lastModifiedDateTime"] = self.now_iso()
        return self.store.update(txn, self.tn("journalLines"), line["id"], changes)

    def delete_journal_line(self, txn: Txn, line: dict[str, Any]) -> None:
        self._delete_dim_lines(txn, line["id"])
        self.store.delete(txn, self.tn("journalLines"), line["id"])

    def post_journal(self, txn: Txn, journal: dict[str, Any]) -> None:
        lines = self.journal_lines(journal["id"])
        if not lines:
            raise dialog("There is nothing to post.")
        balance: dict[tuple[str, str], Decimal] = {}
        for ln in lines:
            where = (f"Gen. Journal Line: Journal Template Name={journal['templateDisplayName']},"
                     f"Journal Batch Name={journal['code']},Line No.={ln['lineNumber']}")
            if not ln["accountNumber"]:
                raise field_error(f"Account No. must have a value in {where}. It cannot be zero or empty.")
            self.check_account(self.t("accounts")[ln["accountId"]])
            if ln["balancingAccountNumber"]:
                self.check_account(self.t("accounts")[ln["balancingAccountId"]])
            self.check_posting_date(ln["postingDate"], where)
            self.check_dims_on_post(ln["id"])
            if not ln["balancingAccountNumber"]:
                key = (ln["documentNumber"], ln["postingDate"])
                balance[key] = balance.get(key, Decimal("0")) + ln["amount"]
        for (doc_no, posting_date), diff in balance.items():
            if diff != 0:
                raise dialog(f"Document No. {doc_no} is out of balance by {money(diff)}. Check that Posting Date "
                             f"{posting_date}, Document Type, Document No. and Amount are correct for each line.")
        for ln in lines:
            dims = self.dims_of(ln["id"])
            self.add_gl_entry(txn, ln["postingDate"], ln["documentNumber"], " ", ln["accountNumber"], ln["amount"],
                              ln["description"], dims)
            if ln["balancingAccountNumber"]:
                self.add_gl_entry(txn, ln["postingDate"], ln["documentNumber"], " ", ln["balancingAccountNumber"],
                                  -ln["amount"], ln["description"], dims)
            self.delete_journal_line(txn, ln)
        txn.commit()  # Gen. Jnl.-Post Batch commits
