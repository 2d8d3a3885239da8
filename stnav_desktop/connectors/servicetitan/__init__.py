"""ServiceTitan connector: auth, purchase orders, inventory bills, reference data, webhooks, checks.
No Qt, no database."""

from stnav_desktop.connectors.servicetitan.checks import Check, connection_checks
from stnav_desktop.connectors.servicetitan.client import ServiceTitanClient
from stnav_desktop.connectors.servicetitan.config import ServiceTitanConfig
from stnav_desktop.connectors.servicetitan.models import (
    BusinessUnit,
    Deduper,
    GLAccount,
    GLAccountRef,
    InventoryBill,
    InventoryBillItem,
    InventoryLocation,
    Job,
    KnownIds,
    MarkExportedResult,
    Page,
    PurchaseOrder,
    PurchaseOrderItem,
    Sku,
    Vendor,
    dedupe,
)
from stnav_desktop.connectors.servicetitan.webhooks import (
    WebhookEvent,
    WebhookReceiver,
    WebhookSettings,
    parse_event,
    verify_signature,
)

__all__ = [
    "Check", "WebhookEvent", "WebhookReceiver", "WebhookSettings", "connection_checks", "parse_event",
    "verify_signature",
    "BusinessUnit", "Deduper", "GLAccount", "GLAccountRef", "InventoryBill", "InventoryBillItem",
    "InventoryLocation", "Job", "KnownIds", "MarkExportedResult", "Page", "PurchaseOrder", "PurchaseOrderItem",
    "ServiceTitanClient", "ServiceTitanConfig", "Sku", "Vendor", "dedupe",
]
