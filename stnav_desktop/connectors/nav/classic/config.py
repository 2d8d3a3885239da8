"""Connection settings for classic NAV (2016-2018) / BC on-premises reached through ODataV4 page web
services. No secrets here: the web service access key or the Windows account's password is in the keychain,
and Windows sign-in as the logged-on user (SSPI) stores nothing.

Service names are whatever the IT person typed in NAV's Web Services page (reference §5.2: installation
specific), so every page the app uses has a setting with a default; ``PAGES`` says which page each one must
publish, so a connection check can tell IT exactly what to add.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

AUTH_MODES = ("basic", "ntlm", "sspi")


@dataclass(frozen=True)
class PageRole:
    page_id: int
    caption: str
    default_service: str
    required: bool
    why: str


# role -> the page IT must publish (NAV 2018 page numbers; BC on-prem keeps them)
PAGES: dict[str, PageRole] = {
    "vendors": PageRole(27, "Vendor List", "Vendors", True, "vendor look-ups"),
    "vendor_card": PageRole(26, "Vendor Card", "VendorCard", False, "creating vendors from ServiceTitan vendors"),
    "items": PageRole(31, "Item List", "Items", False, "item look-ups (item lines)"),
    "accounts": PageRole(16, "Chart of Accounts", "ChartOfAccounts", True, "G/L account look-ups"),
    "dimensions": PageRole(536, "Dimensions", "Dimensions", False, "dimension look-ups"),
    "dimension_values": PageRole(537, "Dimension Values", "DimensionValues", False, "territory values"),
    "gl_setup": PageRole(118, "General Ledger Setup", "GeneralLedgerSetup", False,
                         "which shortcut dimension holds the territory"),
    "purchase_invoice": PageRole(51, "Purchase Invoice", "PurchaseInvoice", True, "creating purchase invoices"),
    "purchase_credit_memo": PageRole(52, "Purchase Credit Memo", "PurchaseCreditMemo", False,
                                     "corrections of posted invoices"),
    "posted_purchase_credit_memo": PageRole(140, "Posted Purchase Credit Memo", "PostedPurchaseCreditMemo", False,
                                            "finding credit memos the accountant posted"),
    "general_journal": PageRole(39, "General Journal", "GeneralJournal", True, "creating journal lines"),
    "dimension_set_entries": PageRole(479, "Dimension Set Entries", "DimensionSetEntries", False,
                                      "reconciling by a territory on shortcut dimension 3-8 (page 20 shows "
                                      "global dimensions only)"),
    "gl_entries": PageRole(20, "General Ledger Entries", "GeneralLedgerEntries", True,
                           "reconciliation and exactly-once look-ups of posted journals"),
    "posted_purchase_invoice": PageRole(138, "Posted Purchase Invoice", "PostedPurchaseInvoice", True,
                                        "finding invoices the accountant posted"),
}


@dataclass
class ClassicConfig:
    odata_url: str  # https://nav.example.local:7048/NAV/ODataV4/
    company: str  # the company's name (case-sensitive, as NAV compares it) or its id (GUID)
    auth: str = "basic"  # basic: user + web service access key; ntlm: DOMAIN\user + password; sspi: this Windows user
    user: str = ""
    services: dict[str, str] = field(default_factory=dict)  # role -> service name (defaults from PAGES)
    posting_codeunit: str = ""  # published codeunit service with PostPurchaseInvoice / PostJournalDocument
    posting_soap_url: str = ""  # NAV 2016-2018: the codeunit over SOAP, e.g. https://nav:7047/NAV/WS/ (else OData)
    journal_template: str = "GENERAL"
    journal_batch: str = "STNAV"
    shortcut_dimensions: dict[str, int] = field(default_factory=dict)  # "TERRITORY" -> 3 when page 118 isn't published
    vendor_posting_group: str = ""  # sent with a vendor created through page 26 (no vendor template over OData)
    gen_bus_posting_group: str = ""
    lines_part: str = "PurchLines"  # page 51's part control name (a customised page may rename it)
    ca_bundle: str | None = None
    timeout: tuple[float, float] = (10.0, 120.0)

    def __post_init__(self) -> None:
        if self.auth not in AUTH_MODES:
            raise ValueError(f"classic NAV sign-in must be one of {', '.join(AUTH_MODES)}")
        if not self.odata_url:
            raise ValueError("classic NAV needs the ODataV4 URL, e.g. https://nav.example.local:7048/NAV/ODataV4/")
        if not self.company:
            raise ValueError("classic NAV needs the company name (or id)")
        for code, n in self.shortcut_dimensions.items():
            if not 1 <= n <= 8:
                raise ValueError(f"shortcut dimension number for {code} must be 1 to 8, not {n}")

    def service(self, role: str) -> str:
        return self.services.get(role) or PAGES[role].default_service

    @property
    def company_is_id(self) -> bool:
        try:
            uuid.UUID(self.company)
        except ValueError:
            return False
        return True

    @property
    def base_url(self) -> str:
        return self.odata_url.rstrip("/") + "/"


def parse_shortcut_dimensions(text: str) -> dict[str, int]:
    """``"TERRITORY=3, DEPARTMENT=1"`` -> ``{"TERRITORY": 3, "DEPARTMENT": 1}`` (ValueError names the bad part)."""
    out: dict[str, int] = {}
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        code, sep, num = part.partition("=")
        if not sep or not code.strip() or not num.strip().isdigit() or not 1 <= int(num) <= 8:
            raise ValueError(f"'{part}' is not like TERRITORY=3 (a dimension code and a shortcut number 1 to 8)")
        out[code.strip().upper()] = int(num)
    return out
