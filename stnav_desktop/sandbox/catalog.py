"""The one seeded story both simulators tell, so the demo and the tests line up end to end:
a regional HVAC and plumbing contractor with four service territories, its suppliers on both sides
(names close but not identical, as in real life, so mapping needs suggestions), its SKUs and the
NAV chart of accounts the accounting model posts to.

Both simulators build their seeded data from here; the sync tests rely on these keys. Plain data.
"""

from __future__ import annotations

from decimal import Decimal

# --- territories: ServiceTitan business units -> NAV dimension values (dimension TERRITORY) -------
TERRITORY_DIMENSION = "TERRITORY"
TERRITORIES = [
    # (ServiceTitan business unit id, business unit name, NAV dimension value code, NAV value name)
    (1001, "HVAC Service - North", "NORTH", "North territory"),
    (1002, "HVAC Service - South", "SOUTH", "South territory"),
    (1003, "Plumbing - East", "EAST", "East territory"),
    (1004, "Plumbing - West", "WEST", "West territory"),
]
# a NAV dimension value that exists but is blocked (validation must catch it)
BLOCKED_DIMENSION_VALUES = [("CLOSED", "Closed territory (blocked)")]

# --- vendors ------------------------------------------------------------------------------------
VENDORS = [
    # (ST vendor id, ST name, NAV number, NAV name, tax id, street, city, state, zip, nav_blocked)
    (2001, "Ferguson Enterprises", "V10000", "Ferguson Enterprises LLC", "54-1234567",
     "12500 Jefferson Ave", "Newport News", "VA", "23602", False),
    (2002, "Johnstone Supply", "V20000", "Johnstone Supply Inc.", "93-0563390",
     "11632 NE Ainsworth Cir", "Portland", "OR", "97220", False),
    (2003, "Carrier Enterprise", "V30000", "Carrier Enterprise, LLC", "59-3471218",
     "4300 W Cypress St", "Tampa", "FL", "33607", False),
    (2004, "O'Brien Plumbing Supply", "V40'00", "O'Brien Plumbing Supply Co", "36-4412019",
     "77 Water St", "Chicago", "IL", "60601", False),
    (2005, "Watsco HVAC", "V50000", "Watsco Inc", "59-0778222",
     "2665 S Bayshore Dr", "Miami", "FL", "33133", False),
    (2006, "Grainger Industrial", "V60000", "W.W. Grainger", "36-1150280",
     "100 Grainger Pkwy", "Lake Forest", "IL", "60045", True),  # blocked in NAV
    # in ServiceTitan only: the "create vendor in NAV" path
    (2007, "Hajoca Corporation", None, None, "23-1346100",
     "127 Coulter Ave", "Ardmore", "PA", "19003", False),
]

# --- SKUs: ServiceTitan pricebook materials/equipment -> NAV items or non-stock GL accounts ----
SKUS = [
    # (ST sku id, kind, code, name, unit cost, NAV item number or None, category)
    (3001, "Material", "FLT-16x25", "Air filter 16x25x1 MERV 11", Decimal("8.75"), "1000", "Filters"),
    (3002, "Material", "CAP-45-5", "Run capacitor 45/5 MFD 440V", Decimal("14.20"), "1010", "Electrical"),
    (3003, "Material", "REF-R410A", "Refrigerant R-410A 25 lb", Decimal("189.00"), "1020", "Refrigerant"),
    (3004, "Material", "PEX-075", "PEX tubing 3/4 in x 100 ft", Decimal("62.40"), "1030", "Pipe"),
    (3005, "Material", "VLV-BALL-1", "Ball valve 1 in brass", Decimal("18.95"), "1040", "Valves"),
    (3006, "Equipment", "WH-50G", "Water heater 50 gal gas", Decimal("845.00"), "1100", "Water heaters"),
    (3007, "Equipment", "CND-3T", "Condenser 3 ton 16 SEER", Decimal("2150.00"), "1110", "Condensers"),
    (3008, "Material", "MISC-FIT", "Assorted fittings (non-stock)", Decimal("3.10"), None, "Consumables"),
    (3009, "Material", "TAPE-FOIL", "Foil duct tape 2.5 in", Decimal("11.49"), None, "Consumables"),
]

# --- NAV chart of accounts used by the accounting model (docs/accounting.md) ------------------
GL_ACCOUNTS = [
    # (number, name, category, direct posting allowed, blocked)
    ("2130", "Inventory, Materials", "Assets", False, False),  # posted only through item posting groups
    ("2140", "Inventory, Equipment", "Assets", False, False),
    ("2950", "Purchases clearing (received not invoiced)", "Liabilities", True, False),
    ("5410", "Vendors, Domestic (payables)", "Liabilities", False, False),
    ("5630", "Purchase sales tax", "Liabilities", True, False),
    ("6110", "Job materials, consumables", "Expense", True, False),
    ("6120", "Job materials, stock", "Expense", True, False),
    ("6130", "Equipment installed", "Expense", True, False),
    ("6210", "Freight in", "Expense", True, False),
    ("6220", "Other purchase charges", "Expense", True, False),
    ("6900", "Old suspense account", "Expense", True, True),  # blocked
]
PAYABLES_ACCOUNT = "5410"
CLEARING_ACCOUNT = "2950"
INVENTORY_ACCOUNT_BY_ITEM_GROUP = {"MATERIALS": "2130", "EQUIPMENT": "2140"}

# ServiceTitan's own GL accounts (accounting v2), seen on inventory-bill lines: seeds suggestions.
ST_GL_ACCOUNTS = [
    # (ST id, name, number, type)
    (4001, "Job Materials", "6110", "Expense"),
    (4002, "Equipment Cost", "6130", "Expense"),
    (4003, "Accounts Payable", "2000", "Liability"),
    (4004, "Freight", "6210", "Expense"),
]

GENERAL_JOURNAL_TEMPLATE = "GENERAL"
JOURNAL_BATCH = "STNAV"  # the journal batch the app posts bills into
