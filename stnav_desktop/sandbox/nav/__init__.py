"""A strict local Business Central (API v2.0) for tests, the demo and benchmarks.

Online flavour: Entra ID token endpoint + openid-configuration (msal works unchanged), Bearer tokens;
on-premises flavour: Basic auth with a web service access key. Companies, vendors, items, accounts,
dimensions, dimensionValues, journals, journalLines, purchaseInvoices, purchaseInvoiceLines,
purchaseCreditMemos, purchaseCreditMemoLines, dimensionSetLines, generalLedgerEntries, defaultDimensions (under
vendors and items), generalLedgerSetup, accountingPeriods, subscriptions; BC's field names, errors, ETags, paging,
``$filter`` subset, ``$batch`` with atomicity groups, deep insert, dimension sets built the way BC builds them
(vendor defaults on the header, header set plus item/account defaults on lines, a repeated dimension refused),
posting with G/L entries (credit memos reverse and apply to the invoice), rate limiting, webhook handshake/expiry
and fault injection. Seeded from ``sandbox/catalog.py`` (plus NAV-only default dimensions in ``company.py``).
Every behaviour names its AL source; ``tests/strictness/test_bc_strict.py`` lists the refusals.
"""

from stnav_desktop.sandbox.nav.faults import Faults
from stnav_desktop.sandbox.nav.sandbox import NavSandbox, run_standalone

__all__ = ["Faults", "NavSandbox", "run_standalone"]
