"""The worked example of docs/accounting.md as ServiceTitan payloads (official field names)."""

from __future__ import annotations

from stnav_desktop.sync.domain.accounting import PlanContext

PO = {
    "id": 40123377, "number": "10452-001", "status": "Received", "vendorId": 2001, "businessUnitId": 1001,
    "date": "2026-10-02T00:00:00Z", "receivedOn": "2026-10-09T13:02:44Z", "modifiedOn": "2026-10-09T13:02:44Z",
    "total": 251.54, "tax": 17.74, "shipping": 12.00, "vendorDocumentNumber": "INV-88231", "summary": "RTU job",
    "items": [
        {"id": 1, "skuId": 3001, "skuCode": "FLT-16x25", "skuName": "Air filter", "skuType": "Material",
         "quantity": 10, "quantityReceived": 10, "cost": 8.75, "total": 87.50},
        {"id": 2, "skuId": 3002, "skuCode": "CAP-45-5", "skuName": "Capacitor", "skuType": "Material",
         "quantity": 4, "quantityReceived": 4, "cost": 14.20, "total": 56.80},
        {"id": 3, "skuId": 3008, "skuCode": "MISC-FIT", "skuName": "Fittings", "skuType": "Material",
         "quantity": 25, "quantityReceived": 25, "cost": 3.10, "total": 77.50},
    ],
}


def _bill(bill_id, ref, date, amount, tax, shipping, items):
    return {
        "id": bill_id, "purchaseOrderId": PO["id"], "referenceNumber": ref, "billDate": date,
        "billAmount": amount, "taxAmount": tax, "shippingAmount": shipping, "otherAmount": None,
        "vendor": {"id": 2001, "name": "Ferguson Enterprises"},
        "businessUnit": {"id": 1001, "name": "HVAC Service - North"},
        "modifiedOn": date, "landedCostMethod": "None",
        "items": [{"order": i + 1, "id": 9000 + i, "skuId": s, "skuCode": c, "skuType": "Material", "name": n,
                   "quantity": q, "cost": p,
                   "costOfSaleAccount": {"id": 4001, "name": "Job Materials", "number": "6110", "type": "Expense"}}
                  for i, (s, c, n, q, p) in enumerate(items)],
    }


BILL_R1 = _bill(7700001, "10452-001-R1", "2026-10-05T00:00:00Z", "156.72", "10.72", "12.00",
                [(3001, "FLT-16x25", "Air filter", "10", "8.75"), (3008, "MISC-FIT", "Fittings", "15", "3.10")])
BILL_R2 = _bill(7700002, "10452-001-R2", "2026-10-09T00:00:00Z", "94.82", "7.02", "0.00",
                [(3002, "CAP-45-5", "Capacitor", "4", "14.20"), (3008, "MISC-FIT", "Fittings", "10", "3.10")])

MAPPINGS = {
    "vendor": {"2001": ("V10000", "")},
    "business_unit": {"1001": ("NORTH", "TERRITORY")},
    "item": {"3001": ("1000", "Item"), "3002": ("1010", "Item"), "3008": ("6110", "Account")},
    "gl_rule": {"sku_type:Material": ("6120", "")},
}

# what NAV's posting groups do with an Item line (seeded items 1000-1040 are MATERIALS -> 2130)
ITEM_INVENTORY_ACCOUNT = {"1000": "2130", "1010": "2130"}


def context(model="clearing", **kw) -> PlanContext:
    return PlanContext(model=model, mappings=MAPPINGS, **kw)
