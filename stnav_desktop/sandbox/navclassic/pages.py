"""The NAV pages the sandbox can publish as ODataV4 web services: page id, source table, primary key,
control names, fixed table view, parts (containments), and what the page allows.

Sources (reference ``businesscentral-api.md`` §5.2): field names are page control names with spaces and
punctuation turned into ``_`` (``Buy_from_Vendor_No``, ``ShortcutDimCode_x005B_3_x005D_`` for the control
bound to ``ShortcutDimCode[3]``); keys are the table's primary key; a part becomes a containment named
``<ServiceName><PartName>`` (page 51 part ``PurchLines`` -> ``PurchaseInvoicePurchLines``). Page numbers and
controls follow the NAV 2018 (NAVW111) C/AL exports named in §5.2: 51 "Purchase Invoice" (view
``Document Type=Invoice``, part ``PurchLines`` = page 55 "Purch. Invoice Subform", ``AutoSplitKey``), 39
"General Journal" (``AutoSplitKey``, OnOpenPage exits for ODataV4 clients), 20 "General Ledger Entries"
(read-only, global dimensions 1-2 only), 138 "Posted Purchase Invoice", 118 "General Ledger Setup", 27
"Vendor List", 16 "Chart of Accounts", 536 "Dimensions", 537 "Dimension Values", 479 "Dimension Set
Entries" (table 480, one row per dimension of a set), 52 "Purchase Credit Memo"
(part ``PurchLines`` = page 98 "Purch. Cr. Memo Subform", view ``Document Type=Credit Memo``), 140 "Posted
Purchase Credit Memo", 26 "Vendor Card" (table 23 Vendor; controls bound to the table fields of the NAVW111
C/AL export of table 23: No. Code20, Name Text50, Address Text50, Address 2 Text50, City Text30, Country/Region
Code Code10 related to Country/Region, ...). Option values go over the
wire as their enum member names (spaces -> ``_``: ``G_L_Account``; blank option ``_x0020_``) (M: what
ODataV4 pages return in public client code; $metadata of a real server is the authority).
"""

from __future__ import annotations

from dataclasses import dataclass, field

SHORTCUT_FIELDS = {n: f"ShortcutDimCode_x005B_{n}_x005D_" for n in range(3, 9)}
SHORTCUT_FIELDS[1] = "Shortcut_Dimension_1_Code"
SHORTCUT_FIELDS[2] = "Shortcut_Dimension_2_Code"
DIM_FIELDS = [SHORTCUT_FIELDS[n] for n in range(1, 9)]


@dataclass
class Page:
    page_id: int
    caption: str
    table: str
    key: tuple[str, ...]
    fields: dict[str, str]  # control name -> Edm type
    read_only: set[str] = field(default_factory=set)
    view: dict[str, object] = field(default_factory=dict)  # SourceTableView (fixed filter, set on insert)
    parts: dict[str, str] = field(default_factory=dict)  # part name -> page key in PAGES
    link: dict[str, str] = field(default_factory=dict)  # subpage field -> parent field (SubPageLink)
    defaults: dict[str, object] = field(default_factory=dict)  # InitValue of the table fields (option 0 etc.)
    insert: bool = True
    modify: bool = True
    delete: bool = True


S, D, DEC, INT, B = "Edm.String", "Edm.Date", "Edm.Decimal", "Edm.Int32", "Edm.Boolean"

PAGES: dict[str, Page] = {
    "vendor_list": Page(27, "Vendor List", "Vendor", ("No",), {"No": S, "Name": S, "Blocked": S},
                        insert=False, modify=False, delete=False),
    "vendor_card": Page(26, "Vendor Card", "Vendor", ("No",),
                        {"No": S, "Name": S, "Address": S, "Address_2": S, "City": S, "County": S, "Post_Code": S,
                         "Country_Region_Code": S, "Phone_No": S, "E_Mail": S, "VAT_Registration_No": S,
                         "Gen_Bus_Posting_Group": S, "Vendor_Posting_Group": S, "Blocked": S},
                        defaults={"Blocked": "_x0020_"}),
    "item_list": Page(31, "Item List", "Item", ("No",), {"No": S, "Description": S, "Blocked": B},
                      insert=False, modify=False, delete=False),
    "chart_of_accounts": Page(16, "Chart of Accounts", "G/L Account", ("No",),
                              {"No": S, "Name": S, "Account_Type": S, "Direct_Posting": B, "Blocked": B},
                              insert=False, modify=False, delete=False),
    "dimensions": Page(536, "Dimensions", "Dimension", ("Code",), {"Code": S, "Name": S, "Blocked": B},
                       insert=False, modify=False, delete=False),
    "dimension_values": Page(537, "Dimension Values", "Dimension Value", ("Dimension_Code", "Code"),
                             {"Dimension_Code": S, "Code": S, "Name": S, "Blocked": B},
                             insert=False, modify=False, delete=False),
    "gl_setup": Page(118, "General Ledger Setup", "General Ledger Setup", ("Primary_Key",),
                     {"Primary_Key": S, "Global_Dimension_1_Code": S, "Global_Dimension_2_Code": S,
                      **{f"Shortcut_Dimension_{n}_Code": S for n in range(1, 9)}},
                     insert=False, delete=False),
    "purchase_invoice": Page(51, "Purchase Invoice", "Purchase Header", ("Document_Type", "No"),
                             {"Document_Type": S, "No": S, "Buy_from_Vendor_No": S, "Buy_from_Vendor_Name": S,
                              "Vendor_Invoice_No": S, "Posting_Date": D, "Document_Date": D, "Due_Date": D,
                              "Currency_Code": S, "Posting_Description": S, "Status": S,
                              "Shortcut_Dimension_1_Code": S, "Shortcut_Dimension_2_Code": S},
                             read_only={"Buy_from_Vendor_Name", "Status"},
                             view={"Document_Type": "Invoice"}, parts={"PurchLines": "purch_invoice_subform"}),
    "purch_invoice_subform": Page(55, "Purch. Invoice Subform", "Purchase Line",
                                  ("Document_Type", "Document_No", "Line_No"),
                                  {"Document_Type": S, "Document_No": S, "Line_No": INT, "Type": S, "No": S,
                                   "Description": S, "Quantity": DEC, "Direct_Unit_Cost": DEC, "Line_Amount": DEC,
                                   **{f: S for f in DIM_FIELDS}},
                                  read_only={"Line_Amount"}, defaults={"Type": "_x0020_"},
                                  link={"Document_Type": "Document_Type", "Document_No": "No"}),
    "purchase_credit_memo": Page(52, "Purchase Credit Memo", "Purchase Header", ("Document_Type", "No"),
                                 {"Document_Type": S, "No": S, "Buy_from_Vendor_No": S, "Buy_from_Vendor_Name": S,
                                  "Vendor_Cr_Memo_No": S, "Posting_Date": D, "Document_Date": D, "Due_Date": D,
                                  "Currency_Code": S, "Applies_to_Doc_Type": S, "Applies_to_Doc_No": S,
                                  "Posting_Description": S, "Status": S,
                                  "Shortcut_Dimension_1_Code": S, "Shortcut_Dimension_2_Code": S},
                                 read_only={"Buy_from_Vendor_Name", "Status"}, view={"Document_Type": "Credit_Memo"},
                                 parts={"PurchLines": "purch_cr_memo_subform"}),
    "purch_cr_memo_subform": Page(98, "Purch. Cr. Memo Subform", "Purchase Line",
                                  ("Document_Type", "Document_No", "Line_No"),
                                  {"Document_Type": S, "Document_No": S, "Line_No": INT, "Type": S, "No": S,
                                   "Description": S, "Quantity": DEC, "Direct_Unit_Cost": DEC, "Line_Amount": DEC,
                                   **{f: S for f in DIM_FIELDS}},
                                  read_only={"Line_Amount"}, defaults={"Type": "_x0020_"},
                                  link={"Document_Type": "Document_Type", "Document_No": "No"}),
    "posted_purchase_credit_memo": Page(140, "Posted Purchase Credit Memo", "Purch. Cr. Memo Hdr.", ("No",),
                                        {"No": S, "Buy_from_Vendor_No": S, "Vendor_Cr_Memo_No": S, "Posting_Date": D,
                                         "Pre_Assigned_No": S, "Applies_to_Doc_Type": S, "Applies_to_Doc_No": S,
                                         "Amount": DEC, "Amount_Including_VAT": DEC},
                                        insert=False, modify=False, delete=False),
    "general_journal": Page(39, "General Journal", "Gen. Journal Line",
                            ("Journal_Template_Name", "Journal_Batch_Name", "Line_No"),
                            {"Journal_Template_Name": S, "Journal_Batch_Name": S, "Line_No": INT, "Posting_Date": D,
                             "Document_Type": S, "Document_No": S, "External_Document_No": S, "Account_Type": S,
                             "Account_No": S, "Description": S, "Amount": DEC, "Bal_Account_Type": S,
                             "Bal_Account_No": S, **{f: S for f in DIM_FIELDS}},
                            # option 0 of Account Type / Bal. Account Type is "G/L Account", of Document Type " "
                            defaults={"Account_Type": "G_L_Account", "Bal_Account_Type": "G_L_Account",
                                      "Document_Type": "_x0020_"}),
    "gl_entries": Page(20, "General Ledger Entries", "G/L Entry", ("Entry_No",),
                       {"Entry_No": INT, "Posting_Date": D, "Document_Type": S, "Document_No": S, "G_L_Account_No": S,
                        "Description": S, "Amount": DEC, "Debit_Amount": DEC, "Credit_Amount": DEC,
                        "Global_Dimension_1_Code": S, "Global_Dimension_2_Code": S, "Dimension_Set_ID": INT},
                       insert=False, modify=False, delete=False),
    "dimension_set_entries": Page(479, "Dimension Set Entries", "Dimension Set Entry",
                                  ("Dimension_Set_ID", "Dimension_Code"),
                                  {"Dimension_Set_ID": INT, "Dimension_Code": S, "Dimension_Value_Code": S},
                                  insert=False, modify=False, delete=False),
    "posted_purchase_invoice": Page(138, "Posted Purchase Invoice", "Purch. Inv. Header", ("No",),
                                    {"No": S, "Buy_from_Vendor_No": S, "Vendor_Invoice_No": S, "Posting_Date": D,
                                     "Pre_Assigned_No": S, "Amount": DEC, "Amount_Including_VAT": DEC},
                                    insert=False, modify=False, delete=False),
}

# Field lengths of the NAV 2018 (NAVW111) tables behind these controls: Code fields are stored upper-case
# (NAV's Code type), Text fields as given; a longer value is refused with Application_StringExceededLength
# (reference §3.4). BC later widened several descriptions to Text[100]: ``TEXT_LEN_BC``.
CODE_LEN = {"No": 20, "Buy_from_Vendor_No": 20, "Vendor_Invoice_No": 35, "Currency_Code": 10, "Document_No": 20,
            "External_Document_No": 35, "Account_No": 20, "Bal_Account_No": 20, "Journal_Template_Name": 10,
            "Journal_Batch_Name": 10, "Pre_Assigned_No": 20, "Vendor_Cr_Memo_No": 35, "Applies_to_Doc_No": 20, "G_L_Account_No": 20, "Dimension_Code": 20, "Code": 20,
            "Global_Dimension_1_Code": 20, "Global_Dimension_2_Code": 20, **{f: 20 for f in DIM_FIELDS},
            # table 23 Vendor
            "Post_Code": 20, "Country_Region_Code": 10, "Gen_Bus_Posting_Group": 20, "Vendor_Posting_Group": 20}
TEXT_LEN = {"Description": 50, "Name": 50, "Posting_Description": 50, "Buy_from_Vendor_Name": 50,
            "Address": 50, "Address_2": 50, "City": 30, "County": 30, "Phone_No": 30, "E_Mail": 80,
            "VAT_Registration_No": 20}
TEXT_LEN_BC = {**TEXT_LEN, "Description": 100, "Name": 100, "Posting_Description": 100, "Buy_from_Vendor_Name": 100,
               "Address": 100}

# default service names an IT person typically gives these pages (the Web Services page's Service Name)
DEFAULT_SERVICES = {
    "vendor_list": "Vendors", "vendor_card": "VendorCard", "item_list": "Items", "chart_of_accounts": "ChartOfAccounts", "dimensions": "Dimensions",
    "dimension_values": "DimensionValues", "gl_setup": "GeneralLedgerSetup", "purchase_invoice": "PurchaseInvoice",
    "general_journal": "GeneralJournal", "gl_entries": "GeneralLedgerEntries",
    "posted_purchase_invoice": "PostedPurchaseInvoice", "purchase_credit_memo": "PurchaseCreditMemo",
    "posted_purchase_credit_memo": "PostedPurchaseCreditMemo", "dimension_set_entries": "DimensionSetEntries",
}
