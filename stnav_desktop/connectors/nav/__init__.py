"""NAV / Business Central connector (API v2.0). No Qt, no database; money is Decimal."""

from stnav_desktop.connectors.nav.checks import Check, connection_checks
from stnav_desktop.connectors.nav.client import BatchRequest, BatchResponse, NavClient
from stnav_desktop.connectors.nav.config import NavConfig
from stnav_desktop.connectors.nav.credit_memos import (
    CreditMemoLineSpec,
    CreditMemoResult,
    PurchaseCreditMemos,
    PurchaseCreditMemoSpec,
)
from stnav_desktop.connectors.nav.errors import (
    ConflictError,
    DuplicateDocumentError,
    NavAuthError,
    NavError,
    SpecError,
    UnsupportedServerError,
)
from stnav_desktop.connectors.nav.gl_entries import find_gl_entries
from stnav_desktop.connectors.nav.journals import JournalLineSpec, Journals
from stnav_desktop.connectors.nav.purchase_invoices import (
    InvoiceLineSpec,
    InvoiceOutcome,
    InvoiceResult,
    PurchaseInvoices,
    PurchaseInvoiceSpec,
)
from stnav_desktop.connectors.nav.refdata import RefData
from stnav_desktop.connectors.nav.subscriptions import NotificationReceiver, Subscription, Subscriptions
from stnav_desktop.connectors.nav.vendors import NavVendor, Vendors, VendorSpec

__all__ = [
    "BatchRequest", "BatchResponse", "Check", "ConflictError", "CreditMemoLineSpec", "CreditMemoResult",
    "DuplicateDocumentError", "InvoiceLineSpec",
    "InvoiceOutcome", "InvoiceResult", "JournalLineSpec", "Journals", "NavAuthError", "NavClient", "NavConfig",
    "NavError", "NotificationReceiver", "PurchaseCreditMemoSpec", "PurchaseCreditMemos", "PurchaseInvoiceSpec",
    "PurchaseInvoices", "RefData", "SpecError",
    "Subscription", "Subscriptions", "UnsupportedServerError", "connection_checks", "find_gl_entries",
    "NavVendor", "VendorSpec", "Vendors",
]
