"""The company data behind the pages: tables keyed by primary key, the validation NAV's tables and pages
run on insert/modify, and posting (what an accountant's "Post" in NAV does) for purchase invoices and
general journal lines.

Error texts and codes (reference §3.3/§3.4, ``dynamics-error-codes.md``): a record not found is
``Internal_RecordNotFound`` "The <Table> does not exist. Identification fields and values: <Field>='<v>'";
a table relation is ``Internal_InvalidTableRelation``; a TESTFIELD is
``Application_FieldValidationException`` "<Field> must have a value in <Table>: <key>. It cannot be zero or
empty."; AL ``Error()`` is ``Application_DialogException``; a duplicate key ``Internal_EntityWithSameKeyExists``.
The posting texts are the ones NAV's codeunits raise and the BC connector already recognises ("Purchase
Invoice %1 already exists for this vendor.", "Document No. %1 is out of balance by %2.", "There is nothing to
post."). Gen. Journal Line OnInsert does ``GenJnlTemplate.GET`` and ``GenJnlBatch.GET`` (NAVW111 table 81), so
an insert without template/batch fails with the template's record-not-found.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from stnav_desktop.sandbox import catalog
from stnav_desktop.sandbox.navclassic.pages import SHORTCUT_FIELDS

CENT = Decimal("0.01")
LINE_TYPES = ("_x0020_", "G_L_Account", "Item")
PAYABLES_ACCOUNT = catalog.PAYABLES_ACCOUNT


class NavError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def not_found(table: str, ident: str) -> NavError:
    return NavError(400, "Internal_RecordNotFound",
                    f"The {table} does not exist. Identification fields and values: {ident}")


def must_have_value(field: str, table: str, key: str) -> NavError:
    return NavError(400, "Application_FieldValidationException",
                    f"{field} must have a value in {table}: {key}. It cannot be zero or empty.")


def dialog(message: str) -> NavError:
    return NavError(400, "Application_DialogException", message)


class ClassicCompany:
    """One company's tables. Every record dict uses the page control names plus ``_ver`` (for ETags)."""

    def __init__(self, name: str, today: Callable[[], date], *, territory_shortcut: int = 2) -> None:
        self.name = name
        self.id = str(uuid.uuid5(uuid.NAMESPACE_DNS, "classic." + name))
        self.today = today
        self.lock = threading.RLock()
        self.tables: dict[str, dict[tuple, dict[str, Any]]] = {}
        self.dim_sets: dict[int, dict[str, str]] = {0: {}}
        self._series: dict[str, int] = {"PI": 1000, "PCM-": 0, "PPI": 100000, "PCM": 200000, "GLE": 0}
        self._seed(territory_shortcut)

    # -- tables --------------------------------------------------------------------------------
    def t(self, table: str) -> dict[tuple, dict[str, Any]]:
        return self.tables.setdefault(table, {})

    def put(self, table: str, key: tuple, rec: dict[str, Any]) -> dict[str, Any]:
        rec.setdefault("_ver", 1)
        self.t(table)[key] = rec
        return rec

    def next_no(self, series: str) -> str:
        self._series[series] += 1
        return f"{series}{self._series[series]:06d}" if series != "GLE" else str(self._series[series])

    def _seed(self, territory_shortcut: int) -> None:
        """The story both simulators tell (``sandbox/catalog.py``), plus DEPARTMENT and PROJECT dimensions so
        the territory can sit on a global dimension or on shortcut 3-8."""
        for _st, _st_name, no, name, *_rest, blocked in catalog.VENDORS:
            if no:
                self.put("Vendor", (no.upper(),), {"No": no.upper(), "Name": name, "Blocked": "All" if blocked else "_x0020_"})
        for no, name, _category, direct, blocked in catalog.GL_ACCOUNTS:
            self.put("G/L Account", (no,), {"No": no, "Name": name, "Account_Type": "Posting",
                                            "Direct_Posting": direct, "Blocked": blocked})
        for _id, kind, _code, name, _cost, item_no, _cat in catalog.SKUS:
            if item_no:
                group = "EQUIPMENT" if kind == "Equipment" else "MATERIALS"
                self.put("Item", (item_no,), {"No": item_no, "Description": name[:50], "Blocked": False,
                                              "_inventory_account": catalog.INVENTORY_ACCOUNT_BY_ITEM_GROUP[group]})
        dims: dict[str, list[tuple[str, bool]]] = {
            catalog.TERRITORY_DIMENSION: [(code, False) for *_x, code, _n in catalog.TERRITORIES]
            + [(code, True) for code, _n in catalog.BLOCKED_DIMENSION_VALUES],
            "DEPARTMENT": [("ADM", False), ("SALES", False), ("SERVICE", False)],
            "PROJECT": [("P100", False), ("P200", False)]}
        for code, values in dims.items():
            self.put("Dimension", (code,), {"Code": code, "Name": code.title(), "Blocked": False})
            for v, blocked in values:
                self.put("Dimension Value", (code, v), {"Dimension_Code": code, "Code": v, "Name": v.title(),
                                                        "Blocked": blocked})
        territory = catalog.TERRITORY_DIMENSION
        shortcuts = {1: "DEPARTMENT", 2: territory if territory_shortcut == 2 else "PROJECT"}
        if territory_shortcut > 2:
            shortcuts[territory_shortcut] = territory
        setup = {"Primary_Key": "", "Global_Dimension_1_Code": shortcuts[1], "Global_Dimension_2_Code": shortcuts[2]}
        for n in range(1, 9):
            setup[f"Shortcut_Dimension_{n}_Code"] = shortcuts.get(n, "")
        self.put("General Ledger Setup", ("",), setup)
        # what page 26 "Vendor Card" relates to: table 23's Country/Region Code (TableRelation Country/Region),
        # Gen. Bus. Posting Group and Vendor Posting Group, and the "Vendor Nos." series of Purchases &
        # Payables Setup that table 23's OnInsert numbers a vendor from (NAVW111 C/AL export of table 23)
        for code in ("US", "CA", "MX"):
            self.put("Country/Region", (code,), {"Code": code})
        for code in ("DOMESTIC", "FOREIGN"):
            self.put("Gen. Business Posting Group", (code,), {"Code": code})
            self.put("Vendor Posting Group", (code,), {"Code": code})
        self.put("No. Series", ("VEND",), {"Code": "VEND", "Manual_Nos": True, "Last_No_Used": "V90000"})
        self.put("Purchases & Payables Setup", ("",), {"Primary_Key": "", "Vendor_Nos": "VEND"})
        batches = {catalog.GENERAL_JOURNAL_TEMPLATE: ["DEFAULT", catalog.JOURNAL_BATCH], "PURCHASES": ["DEFAULT"]}
        for template, names in batches.items():
            self.put("Gen. Journal Template", (template,), {"Name": template})
            for b in names:
                self.put("Gen. Journal Batch", (template, b), {"Journal_Template_Name": template, "Name": b})

    # -- dimensions ------------------------------------------------------------------------------
    def shortcut_code(self, n: int) -> str:
        return self.t("General Ledger Setup")[("",)][f"Shortcut_Dimension_{n}_Code"]

    def check_dimensions(self, rec: dict[str, Any]) -> None:
        for n, fld in SHORTCUT_FIELDS.items():
            value = rec.get(fld)
            if not value:
                continue
            code = self.shortcut_code(n)
            if not code:
                # DimMgt.ValidateShortcutDimCode: the shortcut has no dimension behind it
                raise must_have_value(f"Shortcut Dimension {n} Code", "General Ledger Setup", "Primary Key=")
            dv = self.t("Dimension Value").get((code, value))
            if dv is None:
                raise not_found("Dimension Value", f"Dimension Code='{code}',Code='{value}'")
            if dv["Blocked"]:
                raise dialog(f"Dimension Value {code} - {value} is blocked.")

    def dimension_set(self, *recs: dict[str, Any]) -> int:
        dims: dict[str, str] = {}
        for rec in recs:
            for n, fld in SHORTCUT_FIELDS.items():
                if rec.get(fld):
                    dims[self.shortcut_code(n)] = rec[fld]
        for set_id, existing in self.dim_sets.items():
            if existing == dims:
                return set_id
        set_id = len(self.dim_sets)
        self.dim_sets[set_id] = dims
        for code, value in dims.items():  # table 480 "Dimension Set Entry"
            self.put("Dimension Set Entry", (set_id, code), {"Dimension_Set_ID": set_id, "Dimension_Code": code,
                                                              "Dimension_Value_Code": value})
        return set_id

    # -- vendors (page 26 "Vendor Card", table 23 Vendor) -------------------------------------------------
    def number_vendor(self, rec: dict[str, Any], *, given: bool) -> None:
        """Table 23: a No. typed in runs ``NoSeriesMgt.TestManual(PurchSetup."Vendor Nos.")`` (field No.
        OnValidate): refused when the series does not allow manual numbers; no No. at all makes OnInsert do
        ``PurchSetup.TESTFIELD("Vendor Nos.")`` and ``InitSeries`` (the next number of the series). The
        refusal's text is NAV's (``dynamics-error-codes.md``, Application_DialogException example)."""
        series = self.t("Purchases & Payables Setup")[("",)]["Vendor_Nos"]
        if given:
            if series and not self.t("No. Series")[(series,)]["Manual_Nos"]:
                raise dialog("You may not enter numbers manually. If you want to enter numbers manually, please "
                             f"activate Manual Nos. in No. Series {series}.")
            return
        if not series:
            raise must_have_value("Vendor Nos.", "Purchases & Payables Setup", "Primary Key=")
        line = self.t("No. Series")[(series,)]
        last = line["Last_No_Used"]
        digits = len(last) - len(last.rstrip("0123456789"))
        line["Last_No_Used"] = last[:len(last) - digits] + str(int(last[len(last) - digits:]) + 1).zfill(digits)
        rec["No"] = line["Last_No_Used"]

    def validate_vendor_card(self, rec: dict[str, Any]) -> None:
        """Table relations of table 23 that a card can break (``Internal_InvalidTableRelation``, text as in
        ``dynamics-error-codes.md``)."""
        for fld, caption, table in (("Country_Region_Code", "Country/Region Code", "Country/Region"),
                                    ("Gen_Bus_Posting_Group", "Gen. Bus. Posting Group", "Gen. Business Posting Group"),
                                    ("Vendor_Posting_Group", "Vendor Posting Group", "Vendor Posting Group")):
            value = rec.get(fld) or ""
            if value and (value,) not in self.t(table):
                raise NavError(400, "Internal_InvalidTableRelation",
                               f"The field {caption} of table Vendor contains a value ({value}) that cannot be found "
                               f"in the related table ({table}).")
        if rec.get("Blocked") not in ("_x0020_", "Payment", "All"):
            raise dialog(f"'{rec.get('Blocked')}' is not an option. The existing options are: _x0020_,Payment,All")

    # -- validation on insert / modify -----------------------------------------------------------------
    def validate_vendor(self, no: str) -> dict[str, Any]:
        vendor = self.t("Vendor").get((no,))
        if vendor is None:
            raise not_found("Vendor", f"No.='{no}'")
        if vendor["Blocked"] == "All":
            raise dialog(f"You cannot create this type of document when Vendor {no} is blocked with type All")
        return vendor

    def validate_account(self, no: str, table: str, field: str, *, direct: bool = True) -> None:
        acc = self.t("G/L Account").get((no,))
        if acc is None:
            raise NavError(400, "Internal_InvalidTableRelation",
                           f"The field {field} of table {table} contains a value ({no}) that cannot be found in the "
                           "related table (G/L Account).")
        if acc["Blocked"]:
            raise must_have_value("Blocked must be equal to 'No'", "G/L Account", f"No.={no}")
        if direct and not acc["Direct_Posting"]:
            raise NavError(400, "Application_FieldValidationException",
                           f"Direct Posting must be equal to 'Yes'  in G/L Account: No.={no}. Current value is 'No'.")

    def validate_header(self, rec: dict[str, Any]) -> None:
        if rec.get("Buy_from_Vendor_No"):
            rec["Buy_from_Vendor_Name"] = self.validate_vendor(rec["Buy_from_Vendor_No"])["Name"]
        self.check_dimensions(rec)

    def validate_purchase_line(self, header: dict[str, Any], rec: dict[str, Any]) -> None:
        key = f"Document Type={header['Document_Type']}, No.={header['No']}"
        if rec.get("Type") not in LINE_TYPES:
            raise dialog(f"'{rec.get('Type')}' is not an option. The existing options are: {','.join(LINE_TYPES)}")
        if rec["Type"] != "_x0020_":
            if not header.get("Buy_from_Vendor_No"):
                raise must_have_value("Buy-from Vendor No.", "Purchase Header", key)
            if rec["Type"] == "G_L_Account":
                self.validate_account(rec.get("No") or "", "Purchase Line", "No.")
            elif (rec.get("No") or "",) not in self.t("Item"):
                raise not_found("Item", f"No.='{rec.get('No') or ''}'")
        self.check_dimensions(rec)
        rec["Line_Amount"] = (Decimal(rec.get("Quantity") or 0) * Decimal(rec.get("Direct_Unit_Cost") or 0)
                              ).quantize(CENT, ROUND_HALF_UP)

    def validate_journal_line(self, rec: dict[str, Any]) -> None:
        template = rec.get("Journal_Template_Name") or ""
        batch = rec.get("Journal_Batch_Name") or ""
        if (template,) not in self.t("Gen. Journal Template"):
            raise not_found("Gen. Journal Template", f"Name='{template}'")
        if (template, batch) not in self.t("Gen. Journal Batch"):
            raise not_found("Gen. Journal Batch", f"Journal Template Name='{template}',Name='{batch}'")
        for type_field, no_field, caption in (("Account_Type", "Account_No", "Account No."),
                                              ("Bal_Account_Type", "Bal_Account_No", "Bal. Account No.")):
            if rec.get(no_field):
                if rec.get(type_field) != "G_L_Account":
                    raise dialog(f"The sandbox only models G/L account journal lines ({caption}).")
                self.validate_account(rec[no_field], "Gen. Journal Line", caption)
        self.check_dimensions(rec)

    # -- posting (what the accountant's Post does in NAV) -----------------------------------------------
    def post_purchase_invoice(self, no: str) -> str:
        return self.post_purchase_document("Invoice", no)

    def post_purchase_credit_memo(self, no: str) -> str:
        return self.post_purchase_document("Credit_Memo", no)

    def post_purchase_document(self, doc_type: str, no: str) -> str:
        """Codeunit 90 "Purch.-Post" as far as the G/L goes: an invoice debits its lines' accounts and credits
        the vendor's payables account; a credit memo the other way round, applied to the invoice it names."""
        memo = doc_type == "Credit_Memo"
        caption = "Credit Memo" if memo else "Invoice"
        number_field, number_caption = (("Vendor_Cr_Memo_No", "Vendor Cr. Memo No.") if memo else
                                        ("Vendor_Invoice_No", "Vendor Invoice No."))
        posted_table = "Purch. Cr. Memo Hdr." if memo else "Purch. Inv. Header"
        with self.lock:
            header = self.t("Purchase Header").get((doc_type, no))
            if header is None:
                raise not_found("Purchase Header", f"Document Type='{caption}',No.='{no}'")
            key = f"Document Type={caption}, No.={no}"
            if not header.get("Buy_from_Vendor_No"):
                raise must_have_value("Buy-from Vendor No.", "Purchase Header", key)
            self.validate_vendor(header["Buy_from_Vendor_No"])
            if not header.get(number_field):
                raise must_have_value(number_caption, "Purchase Header", key)
            lines = [ln for k, ln in sorted(self.t("Purchase Line").items()) if k[:2] == (doc_type, no)
                     and ln["Type"] != "_x0020_" and ln["Quantity"]]
            if not lines:
                raise dialog("There is nothing to post.")
            for posted in self.t(posted_table).values():
                if (posted["Buy_from_Vendor_No"] == header["Buy_from_Vendor_No"]
                        and posted[number_field] == header[number_field]):
                    raise dialog(f"Purchase {caption} {header[number_field]} already exists for this vendor.")
            if memo and header.get("Applies_to_Doc_No"):
                target = self.t("Purch. Inv. Header").get((header["Applies_to_Doc_No"],))
                if target is None or target["Buy_from_Vendor_No"] != header["Buy_from_Vendor_No"]:
                    raise dialog("There is no Vendor Ledger Entry within the filter.  Filters: Document No.: "
                                 f"{header['Applies_to_Doc_No']}, Document Type: Invoice, Vendor No.: "
                                 f"{header['Buy_from_Vendor_No']}")
            posted_no = self.next_no("PCM" if memo else "PPI")
            pdate = header["Posting_Date"]
            sign = Decimal(-1) if memo else Decimal(1)
            total = sum((ln["Line_Amount"] for ln in lines), Decimal(0))
            description = header.get("Posting_Description") or f"{caption} {no}"
            for ln in lines:
                account = ln["No"] if ln["Type"] == "G_L_Account" else self.t("Item")[(ln["No"],)]["_inventory_account"]
                self._gl_entry(pdate, doc_type, posted_no, account, description, sign * ln["Line_Amount"], ln)
            self._gl_entry(pdate, doc_type, posted_no, PAYABLES_ACCOUNT, description, -sign * total, header)
            rec = {"No": posted_no, "Buy_from_Vendor_No": header["Buy_from_Vendor_No"], number_field: header[number_field],
                   "Posting_Date": pdate, "Pre_Assigned_No": no, "Amount": total, "Amount_Including_VAT": total}
            if memo:
                rec.update({"Applies_to_Doc_Type": header.get("Applies_to_Doc_Type") or "_x0020_",
                            "Applies_to_Doc_No": header.get("Applies_to_Doc_No") or ""})
            self.put(posted_table, (posted_no,), rec)
            self.delete_purchase_document(doc_type, no)
            return posted_no

    def delete_purchase_invoice(self, no: str) -> None:
        self.delete_purchase_document("Invoice", no)

    def delete_purchase_document(self, doc_type: str, no: str) -> None:
        # Purchase Header OnDelete deletes its lines (table 38)
        self.t("Purchase Header").pop((doc_type, no), None)
        for k in [k for k in self.t("Purchase Line") if k[:2] == (doc_type, no)]:
            del self.t("Purchase Line")[k]

    def post_journal(self, template: str, batch: str, document_no: str | None = None) -> list[str]:
        """Post the batch's lines (or one document's): every document number must balance, else nothing posts."""
        with self.lock:
            table = self.t("Gen. Journal Line")
            keys = sorted(k for k, ln in table.items() if k[:2] == (template, batch)
                          and (document_no is None or ln["Document_No"] == document_no))
            if not keys:
                raise dialog("There is nothing to post.")
            by_doc: dict[str, list[dict[str, Any]]] = {}
            for k in keys:
                by_doc.setdefault(table[k]["Document_No"], []).append(table[k])
            for doc, lines in by_doc.items():
                diff = sum((ln["Amount"] for ln in lines if not ln.get("Bal_Account_No")), Decimal(0))
                if diff != 0:
                    raise dialog(f"Document No. {doc} is out of balance by {diff}. Please check that Posting Date, "
                                 "Document Type, Document No. and Amount are correct for each line.")
            for doc, lines in by_doc.items():
                for ln in lines:
                    dtype = ln.get("Document_Type") or "_x0020_"
                    desc = ln.get("Description") or ""
                    self._gl_entry(ln["Posting_Date"], dtype, doc, ln["Account_No"], desc, ln["Amount"], ln)
                    if ln.get("Bal_Account_No"):
                        self._gl_entry(ln["Posting_Date"], dtype, doc, ln["Bal_Account_No"], desc, -ln["Amount"], ln)
            for k in keys:
                del table[k]
            return list(by_doc)

    def _gl_entry(self, pdate: date, dtype: str, doc: str, account: str, description: str, amount: Decimal,
                  dims_from: dict[str, Any]) -> None:
        entry_no = int(self.next_no("GLE"))
        self.put("G/L Entry", (entry_no,), {
            "Entry_No": entry_no, "Posting_Date": pdate, "Document_Type": dtype, "Document_No": doc,
            "G_L_Account_No": account, "Description": description[:100], "Amount": amount,
            "Debit_Amount": amount if amount > 0 else Decimal("0"), "Credit_Amount": -amount if amount < 0 else Decimal("0"),
            "Global_Dimension_1_Code": dims_from.get(SHORTCUT_FIELDS[1]) or "",
            "Global_Dimension_2_Code": dims_from.get(SHORTCUT_FIELDS[2]) or "",
            "Dimension_Set_ID": self.dimension_set(dims_from)})
