"""Profile settings, declared once (key, default, type, label, help) and rendered generically by the
CLI and the settings dialog (Vorta ``store/settings.py``). Non-secret values only: secrets are keychain
fields (``stnav_desktop.credentials.SECRET_FIELDS``).

A machine-wide deployment file (``stnav_desktop.deploy``) can preset values and lock them; a locked
value wins over what the user stored and cannot be changed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stnav_desktop.store.fields import utcnow
from stnav_desktop.store.models import Profile, ProfileSetting


class SettingError(ValueError):
    pass


class SettingLocked(SettingError):
    pass


@dataclass(frozen=True)
class Setting:
    key: str
    default: Any
    kind: str  # str, int, bool, choice, list, url, path
    label: str
    help: str = ""
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)

    def parse(self, raw: Any) -> Any:
        """Turn user or file input into the stored value; raise SettingError naming the key."""
        if raw is None:
            return None
        try:
            if self.kind == "bool":
                if isinstance(raw, bool):
                    return raw
                text = str(raw).strip().lower()
                if text in ("1", "true", "yes", "on"):
                    return True
                if text in ("0", "false", "no", "off"):
                    return False
                raise SettingError(f"{self.key}: expected true or false, got {raw!r}")
            if self.kind == "int":
                if isinstance(raw, bool):
                    raise SettingError(f"{self.key}: expected a whole number, got {raw!r}")
                value = int(str(raw).strip())
                if self.minimum is not None and value < self.minimum:
                    raise SettingError(f"{self.key}: {value} is below the minimum {self.minimum}")
                if self.maximum is not None and value > self.maximum:
                    raise SettingError(f"{self.key}: {value} is above the maximum {self.maximum}")
                return value
            if self.kind == "choice":
                text = str(raw).strip()
                if text not in self.choices:
                    raise SettingError(f"{self.key}: {text!r} is not one of {', '.join(self.choices)}")
                return text
            if self.kind == "list":
                items = raw if isinstance(raw, list | tuple) else str(raw).split(",")
                values = [str(v).strip() for v in items if str(v).strip()]
                if self.choices:
                    bad = [v for v in values if v not in self.choices]
                    if bad:
                        raise SettingError(f"{self.key}: {', '.join(bad)} not allowed; choose from "
                                           f"{', '.join(self.choices)}")
                return values
            if self.kind == "url":
                text = str(raw).strip()
                if text and not text.startswith("https://"):
                    raise SettingError(f"{self.key}: {text!r} must be an https:// URL")
                return text
            if self.kind == "time":
                text = str(raw).strip()
                hh, _, mm = text.partition(":")
                if not (hh.isdigit() and mm.isdigit() and 0 <= int(hh) <= 23 and 0 <= int(mm) <= 59):
                    raise SettingError(f"{self.key}: {text!r} is not a time like 07:30")
                return f"{int(hh):02d}:{int(mm):02d}"
            if not isinstance(raw, str | int):
                raise SettingError(f"{self.key}: expected text, got {type(raw).__name__}")
            text = str(raw).strip()
            if len(text) > 2000:
                raise SettingError(f"{self.key}: value is longer than 2000 characters")
            return text
        except ValueError as exc:
            if isinstance(exc, SettingError):
                raise
            raise SettingError(f"{self.key}: {raw!r} is not a valid {self.kind}") from None


PO_STATUSES = ("Pending", "Sent", "PartiallyReceived", "Received", "Exported", "Canceled")

SETTINGS: list[Setting] = [
    # --- ServiceTitan -----------------------------------------------------------------------
    Setting("servicetitan.environment", "production", "choice", "ServiceTitan environment",
            choices=("production", "integration")),
    Setting("servicetitan.tenant", "", "str", "ServiceTitan tenant id"),
    Setting("servicetitan.client_id", "", "str", "ServiceTitan client id"),
    Setting("servicetitan.app_key", "", "str", "ServiceTitan app key", "Sent as the ST-App-Key header."),
    Setting("servicetitan.auth_url", "", "url", "ServiceTitan token URL (override)",
            "Leave empty for the environment's default."),
    Setting("servicetitan.api_url", "", "url", "ServiceTitan API URL (override)"),
    Setting("servicetitan.ca_bundle", "", "path", "ServiceTitan CA bundle (PEM)"),
    Setting("servicetitan.calls_per_second", 60, "int", "ServiceTitan calls per second", minimum=1, maximum=60),
    # --- NAV / Business Central -------------------------------------------------------------
    Setting("nav.deployment", "online", "choice", "NAV deployment",
            "online / onprem: Business Central API v2.0; classic: NAV 2016-2018 or BC on-premises through "
            "ODataV4 page web services.", choices=("online", "onprem", "classic")),
    Setting("nav.tenant", "", "str", "Entra ID tenant (online)"),
    Setting("nav.environment", "production", "str", "Business Central environment (online)"),
    Setting("nav.company_id", "", "str", "Company id"),
    Setting("nav.client_id", "", "str", "Entra ID application (client) id"),
    Setting("nav.authority", "", "url", "Entra ID authority (override)"),
    Setting("nav.api_url", "", "url", "API base URL", "On-premises: https://server:7048/INSTANCE/api/v2.0/"),
    Setting("nav.auth", "oauth", "choice", "Authentication", choices=("oauth", "basic", "windows")),
    Setting("nav.user", "", "str", "User name (Basic auth)"),
    Setting("nav.ca_bundle", "", "path", "NAV CA bundle (PEM)"),
    # --- classic NAV page web services (nav.deployment = classic) ------------------------------
    # nav.auth: basic = nav.user + web service access key; windows = nav.user (DOMAIN\user) + the password
    # in the keychain (nav.windows_password), or, with nav.user empty, the logged-on Windows user (SSPI)
    Setting("nav.classic_odata_url", "", "url", "ODataV4 web services URL",
            "Classic NAV: https://server:7048/INSTANCE/ODataV4/"),
    Setting("nav.classic_company", "", "str", "Company name (or id)",
            "Classic NAV: the company's name exactly as NAV spells it (case-sensitive), or its id."),
    Setting("nav.classic_service_vendors", "Vendors", "str", "Service name of page 27 Vendor List"),
    Setting("nav.classic_service_items", "Items", "str", "Service name of page 31 Item List"),
    Setting("nav.classic_service_accounts", "ChartOfAccounts", "str", "Service name of page 16 Chart of Accounts"),
    Setting("nav.classic_service_dimensions", "Dimensions", "str", "Service name of page 536 Dimensions"),
    Setting("nav.classic_service_dimension_values", "DimensionValues", "str",
            "Service name of page 537 Dimension Values"),
    Setting("nav.classic_service_gl_setup", "GeneralLedgerSetup", "str",
            "Service name of page 118 General Ledger Setup"),
    Setting("nav.classic_service_purchase_invoice", "PurchaseInvoice", "str",
            "Service name of page 51 Purchase Invoice"),
    Setting("nav.classic_service_general_journal", "GeneralJournal", "str",
            "Service name of page 39 General Journal"),
    Setting("nav.classic_service_gl_entries", "GeneralLedgerEntries", "str",
            "Service name of page 20 General Ledger Entries"),
    Setting("nav.classic_service_dimension_set_entries", "DimensionSetEntries", "str",
            "Service name of page 479 Dimension Set Entries"),
    Setting("nav.classic_service_posted_purchase_invoice", "PostedPurchaseInvoice", "str",
            "Service name of page 138 Posted Purchase Invoice"),
    Setting("nav.classic_service_purchase_credit_memo", "PurchaseCreditMemo", "str",
            "Service name of page 52 Purchase Credit Memo"),
    Setting("nav.classic_service_posted_purchase_credit_memo", "PostedPurchaseCreditMemo", "str",
            "Service name of page 140 Posted Purchase Credit Memo"),
    Setting("nav.classic_posting_codeunit", "", "str", "Posting codeunit service (optional)",
            "Empty: the accountant posts in NAV. Else the service name of a published codeunit with "
            "PostPurchaseInvoice(documentNo), PostPurchaseCreditMemo(documentNo) and "
            "PostJournalDocument(templateName, batchName, documentNo)."),
    Setting("nav.classic_posting_soap_url", "", "url", "SOAP URL for the posting codeunit (NAV 2016-2018)",
            "NAV 2016-2018 publish codeunits over SOAP only: https://server:7047/INSTANCE/WS/. Empty: the "
            "codeunit is called as an OData action (Business Central 15 and later)."),
    Setting("nav.classic_journal_template", "GENERAL", "str", "General journal template"),
    Setting("nav.classic_shortcut_dimensions", "", "str", "Shortcut dimension numbers",
            "Only when page 118 is not published: which shortcut dimension (1-8) each code is, "
            "e.g. TERRITORY=3, DEPARTMENT=1."),
    # --- posting and the accounting model (docs/accounting.md) ------------------------------
    Setting("posting.model", "clearing", "choice", "Accounting model",
            "clearing: bills to the journal against a clearing account, POs as invoices against it; "
            "invoice_only: POs as purchase invoices, no journal; journal_only: bills as accruals.",
            choices=("clearing", "invoice_only", "journal_only")),
    Setting("posting.mode", "draft", "choice", "Purchase invoices", "Leave as draft for review in NAV, or post.",
            choices=("draft", "post")),
    Setting("posting.post_journal", False, "bool", "Post the journal after adding lines"),
    Setting("posting.journal_batch", "STNAV", "str", "Journal batch"),
    Setting("posting.territory_dimension", "TERRITORY", "str", "Territory dimension code"),
    Setting("posting.clearing_account", "2950", "str", "Purchases clearing G/L account"),
    Setting("posting.tax_account", "5630", "str", "Purchase tax G/L account"),
    Setting("posting.freight_account", "6210", "str", "Freight G/L account"),
    Setting("posting.other_account", "6220", "str", "Other charges G/L account"),
    Setting("posting.default_expense_account", "6110", "str", "Default G/L account for unmapped bill lines"),
    Setting("posting.postable_po_statuses", ["Received"], "list",
            "Postable PO statuses", "Canceled is never postable. Add Exported only if no other tool has "
            "exported purchase orders to NAV before: an Exported PO may already be in the books.",
            choices=tuple(s for s in PO_STATUSES if s != "Canceled")),
    Setting("posting.date_rule", "document_date", "choice", "Posting date",
            choices=("document_date", "receipt_date", "posting_day")),
    Setting("posting.allow_from", "", "str", "Allowed posting from (YYYY-MM-DD, if NAV does not say)"),
    Setting("posting.allow_to", "", "str", "Allowed posting to (YYYY-MM-DD, if NAV does not say)"),
    Setting("approval.two_person_rule", False, "bool", "Two-person rule",
            "The approver of a batch must differ from the person who prepared it."),
    # --- schedule and retries ---------------------------------------------------------------
    Setting("schedule.enabled", True, "bool", "Pull on a schedule"),
    Setting("schedule.interval_minutes", 15, "int", "Pull every (minutes)", minimum=1, maximum=1440),
    Setting("schedule.business_hours_only", False, "bool", "Only in business hours"),
    Setting("schedule.business_start", "07:00", "time", "Business hours start"),
    Setting("schedule.business_end", "19:00", "time", "Business hours end"),
    Setting("schedule.business_days", ["Mon", "Tue", "Wed", "Thu", "Fri"], "list", "Business days",
            choices=("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")),
    Setting("schedule.timezone", "", "str", "Time zone for business hours (IANA, empty = this PC's)"),
    Setting("retry.max_attempts", 5, "int", "Attempts before a document needs attention", minimum=1, maximum=50),
    Setting("retry.base_seconds", 60, "int", "First retry after (seconds)", minimum=1, maximum=86400),
    Setting("retry.cap_seconds", 3600, "int", "Longest wait between retries (seconds)", minimum=1, maximum=604800),
]
BY_KEY: dict[str, Setting] = {s.key: s for s in SETTINGS}


def declared(key: str) -> Setting:
    try:
        return BY_KEY[key]
    except KeyError:
        raise SettingError(f"unknown setting {key!r}") from None


def get_profile(name: str = "default", *, create: bool = True) -> Profile:
    profile = Profile.get_or_none(Profile.name == name)
    if profile is None:
        if not create:
            raise SettingError(f"no profile named {name!r}")
        profile, _ = Profile.get_or_create(name=name)
    return profile


def _deployment():
    from stnav_desktop import deploy

    return deploy.current()


def locked_keys() -> set[str]:
    return set(_deployment().locked)


def get(profile: Profile | str, key: str) -> Any:
    setting = declared(key)
    dep = _deployment()
    if key in dep.locked:
        return dep.values[key]
    prof = get_profile(profile) if isinstance(profile, str) else profile
    row = ProfileSetting.get_or_none((ProfileSetting.profile == prof) & (ProfileSetting.key == key))
    if row is not None:
        return row.value
    if key in dep.values:
        return dep.values[key]
    return setting.default


def all_values(profile: Profile | str) -> dict[str, Any]:
    return {s.key: get(profile, s.key) for s in SETTINGS}


def origins(profile: Profile | str) -> dict[str, tuple[Any, str]]:
    """Every setting's value and where it comes from: locked by IT, set, preset by IT, or default."""
    dep = _deployment()
    prof = get_profile(profile) if isinstance(profile, str) else profile
    stored = {row.key for row in prof.settings}
    out = {}
    for setting in SETTINGS:
        if setting.key in dep.locked:
            origin = "locked by IT"
        elif setting.key in stored:
            origin = "set"
        elif setting.key in dep.values:
            origin = "preset by IT"
        else:
            origin = "default"
        out[setting.key] = (get(prof, setting.key), origin)
    return out


def set_value(profile: Profile | str, key: str, raw: Any) -> Any:
    setting = declared(key)
    if key in locked_keys():
        raise SettingLocked(f"{key} is locked by your IT department's deployment file "
                            f"({_deployment().source}); ask IT to change it there.")
    value = setting.parse(raw)
    prof = get_profile(profile) if isinstance(profile, str) else profile
    (ProfileSetting.insert(profile=prof, key=key, value=value, updated_at=utcnow())
     .on_conflict(conflict_target=[ProfileSetting.profile, ProfileSetting.key],
                  update={ProfileSetting.value: value, ProfileSetting.updated_at: utcnow()})
     .execute())
    return value
