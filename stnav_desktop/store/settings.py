"""Profile settings, declared once (key, default, type, label, help) and rendered generically by the
CLI and the settings dialog (Vorta ``store/settings.py``). Non-secret values only: secrets are keychain
fields (``stnav_desktop.credentials.SECRET_FIELDS``).

A machine-wide deployment file (``stnav_desktop.deploy``) can preset values and lock them; a locked
value wins over what the user stored and cannot be changed here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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
    kind: str  # str, int, bool, choice, list, url, path, time, date, timezone, account, dimension, money, limits
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
                return _url(self.key, str(raw).strip())
            if self.kind == "date":
                return _calendar_date(self.key, str(raw).strip())
            if self.kind == "timezone":
                return _timezone(self.key, str(raw).strip())
            if self.kind == "path":
                return _existing_file(self.key, str(raw).strip())
            if self.kind == "money":
                return _money(self.key, str(raw).strip())
            if self.kind == "limits":
                items = raw if isinstance(raw, list | tuple) else str(raw).split(",")
                out = []
                for entry in (str(v).strip() for v in items if str(v).strip()):
                    who, sep, amount = entry.rpartition("=")
                    if not sep or not who.strip():
                        raise SettingError(f"{self.key}: {entry!r} is not account=amount")
                    out.append(f"{who.strip()}={_money(self.key, amount.strip()) or '0.00'}")
                return out
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


DATE_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _calendar_date(key: str, text: str) -> str:
    """'' or a real calendar date written YYYY-MM-DD: 31/12/2026 and 2020-02-31 are refused."""
    if not text:
        return ""
    if not DATE_SHAPE.fullmatch(text):
        raise SettingError(f"{key}: {text!r} is not a date written YYYY-MM-DD (for example 2026-12-31)")
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise SettingError(f"{key}: {text} is not a day of the calendar") from None


def _timezone(key: str, text: str) -> str:
    """'' (this PC's zone) or an IANA name such as America/Chicago that this machine knows."""
    if not text:
        return ""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingError(f"{key}: {text!r} is not a time zone (use an IANA name such as America/Chicago)") from None
    return text


def _url(key: str, text: str) -> str:
    if not text:
        return ""
    try:
        parts = urlsplit(text)
        port = parts.port  # raises ValueError on a port that is not a number in range
    except ValueError:
        raise SettingError(f"{key}: {text!r} is not a valid URL") from None
    if parts.scheme != "https":
        raise SettingError(f"{key}: {text!r} must be an https:// URL")
    if not parts.hostname or any(c.isspace() for c in text) or (port is not None and port == 0):
        raise SettingError(f"{key}: {text!r} is not a valid URL (no server name, or spaces in it)")
    return text


def _money(key: str, text: str) -> str:
    """'' or a non-negative amount with at most two decimals, stored as text (exact, no float)."""
    if not text:
        return ""
    from decimal import Decimal, InvalidOperation

    try:
        value = Decimal(text.replace(",", ""))
        if not value.is_finite() or value < 0 or value >= Decimal("1e15") or value != value.quantize(
                Decimal("0.01")):
            raise InvalidOperation
    except InvalidOperation:  # also a value too large to hold in cents (quantize refuses it)
        raise SettingError(f"{key}: {text!r} is not an amount like 25000.00") from None
    return str(value.quantize(Decimal("0.01")))


def _existing_file(key: str, text: str) -> str:
    if not text:
        return ""
    shown = text if len(text) <= 200 else text[:200] + "…"
    path = Path(text).expanduser()
    try:
        if not path.is_file():
            raise SettingError(f"{key}: no file at {shown}")
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as exc:  # a name too long, a folder that cannot be searched, ...
        raise SettingError(f"{key}: {shown} cannot be read ({exc.strerror})") from None
    return str(path)


def check_against_nav(profile: Profile, setting: Setting, value: Any) -> None:
    """G/L accounts and dimension codes against NAV's cached chart (when it has been read): a number
    that is not there, blocked, or closed to direct posting is refused naming it."""
    from stnav_desktop.store.models import NavReference

    if not value or setting.kind not in ("account", "dimension"):
        return
    refs = NavReference.select().where(NavReference.profile == profile)
    if setting.kind == "account":
        accounts = refs.where(NavReference.entity == "accounts")
        if not accounts.exists():
            return  # the chart has not been read yet: nothing to check against
        ref = accounts.where(NavReference.key == str(value)).first()
        if ref is None:
            raise SettingError(f"{setting.key}: G/L account {value} does not exist in NAV's chart of accounts")
        if ref.blocked:
            raise SettingError(f"{setting.key}: G/L account {value} ({ref.name}) is blocked in NAV")
        if not (ref.data or {}).get("directPosting", True):
            raise SettingError(f"{setting.key}: G/L account {value} ({ref.name}) does not allow direct posting")
        return
    dims = refs.where(NavReference.entity == "dimensionValues")
    if dims.exists() and not dims.where(NavReference.key.startswith(f"{value}:")).exists():
        codes = sorted({r.key.split(":", 1)[0] for r in dims})
        raise SettingError(f"{setting.key}: NAV has no dimension {value}; it has {', '.join(codes)}")


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
    # --- NAV change notifications (Business Central API webhooks; `stnav run` / the service answers them) --
    Setting("nav.notification_url", "", "url", "Notification URL (NAV webhooks)",
            "The https:// address Business Central sends change notifications to, ending with the receiver's "
            "path, e.g. https://ap-server.contoso.local:8443/bc-webhook/default (on-premises: this PC on the LAN; "
            "online: a reverse proxy or public address). Empty: the service polls NAV instead."),
    Setting("nav.notification_port", 0, "int", "Receiver port", "The port the service listens on; 0: the URL's "
            "port (443 when the URL has none).", minimum=0, maximum=65535),
    Setting("nav.notification_bind", "0.0.0.0", "str", "Receiver address",
            "The local address the service listens on: 0.0.0.0 (every network card) for BC on the LAN, 127.0.0.1 "
            "behind a reverse proxy on this PC."),
    Setting("nav.notification_cert", "", "path", "Receiver TLS certificate (PEM)",
            "Certificate chain the receiver presents; empty: plain HTTP, only behind a reverse proxy that "
            "terminates TLS (BC sends to https:// only)."),
    Setting("nav.notification_key", "", "path", "Receiver TLS private key (PEM)"),
    # --- classic NAV page web services (nav.deployment = classic) ------------------------------
    # nav.auth: basic = nav.user + web service access key; windows = nav.user (DOMAIN\user) + the password
    # in the keychain (nav.windows_password), or, with nav.user empty, the logged-on Windows user (SSPI)
    Setting("nav.classic_odata_url", "", "url", "ODataV4 web services URL",
            "Classic NAV: https://server:7048/INSTANCE/ODataV4/"),
    Setting("nav.classic_company", "", "str", "Company name (or id)",
            "Classic NAV: the company's name exactly as NAV spells it (case-sensitive), or its id."),
    Setting("nav.classic_service_vendors", "Vendors", "str", "Service name of page 27 Vendor List"),
    Setting("nav.classic_service_vendor_card", "VendorCard", "str", "Service name of page 26 Vendor Card"),
    Setting("nav.classic_vendor_posting_group", "", "str", "Vendor posting group for new vendors",
            "Classic NAV: sent with a vendor created from the app (NAV applies no vendor template over OData)."),
    Setting("nav.classic_gen_bus_posting_group", "", "str", "Gen. bus. posting group for new vendors",
            "Classic NAV: sent with a vendor created from the app."),
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
    Setting("posting.territory_dimension", "TERRITORY", "dimension", "Territory dimension code"),
    Setting("posting.clearing_account", "2950", "account", "Purchases clearing G/L account"),
    Setting("posting.tax_account", "5630", "account", "Purchase tax G/L account"),
    Setting("posting.freight_account", "6210", "account", "Freight G/L account"),
    Setting("posting.other_account", "6220", "account", "Other charges G/L account"),
    Setting("posting.default_expense_account", "6110", "account", "Default G/L account for unmapped bill lines"),
    Setting("posting.postable_po_statuses", ["Received"], "list",
            "Postable PO statuses", "Canceled is never postable. Add Exported only if no other tool has "
            "exported purchase orders to NAV before: an Exported PO may already be in the books.",
            choices=tuple(s for s in PO_STATUSES if s != "Canceled")),
    Setting("posting.date_rule", "document_date", "choice", "Posting date",
            choices=("document_date", "receipt_date", "posting_day")),
    Setting("posting.allow_from", "", "date", "Allowed posting from (YYYY-MM-DD, if NAV does not say)"),
    Setting("posting.allow_to", "", "date", "Allowed posting to (YYYY-MM-DD, if NAV does not say)"),
    Setting("posting.apply_returns", True, "bool", "Apply vendor returns to their PO's invoice",
            "The credit memo of a return names the PO's posted invoice (Applies-to), so NAV reduces what is owed on "
            "it. Turn off if AP pays invoices before the vendor's credit arrives: NAV refuses to apply a credit "
            "to a paid invoice, and AP then applies the credit in NAV."),
    Setting("posting.dimension_rules", [], "list", "More dimensions (besides the territory)",
            "Each rule <attribute>:<DIMENSION>[:map|:value][:required][:default=<VALUE>], attributes: business_unit, "
            "job, job_type, project, budget_code, inventory_location, technician; e.g. job:JOB:value:required "
            "(docs/accounting.md, Dimensions)."),
    Setting("approval.two_person_rule", True, "bool", "Two-person rule",
            "The approver of a batch must differ from the person who prepared it (on for new profiles)."),
    Setting("approval.approvers", [], "list", "Who may approve (OS accounts)",
            "Windows accounts (DOMAIN\\user) or login names allowed to approve batches; empty: anyone. "
            "Checked against the account signed in to this PC, not an environment variable. IT can lock it."),
    Setting("approval.batch_limit", "", "money", "Largest batch total one approval covers",
            "Empty: no limit. A larger batch must be split. IT can lock it."),
    Setting("approval.approver_limits", [], "limits", "Approval limit per approver",
            "account=amount pairs, e.g. CONTOSO\\ana=25000, bob=5000; an approver not listed has the batch "
            "limit only. IT can lock it."),
    # --- schedule and retries ---------------------------------------------------------------
    Setting("schedule.enabled", True, "bool", "Pull on a schedule"),
    Setting("schedule.interval_minutes", 15, "int", "Pull every (minutes)", minimum=1, maximum=1440),
    Setting("schedule.business_hours_only", False, "bool", "Only in business hours"),
    Setting("schedule.business_start", "07:00", "time", "Business hours start"),
    Setting("schedule.business_end", "19:00", "time", "Business hours end"),
    Setting("schedule.business_days", ["Mon", "Tue", "Wed", "Thu", "Fri"], "list", "Business days",
            choices=("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")),
    Setting("schedule.timezone", "", "timezone", "Time zone for business hours (IANA, empty = this PC's)"),
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
    """Every setting at once: one query and one look at the deployment file (what ``get`` answers)."""
    dep = _deployment()
    prof = get_profile(profile) if isinstance(profile, str) else profile
    stored = {row.key: row.value for row in ProfileSetting.select(ProfileSetting.key, ProfileSetting.value)
              .where(ProfileSetting.profile == prof)}
    out = {}
    for s in SETTINGS:
        if s.key in dep.locked:
            out[s.key] = dep.values[s.key]
        elif s.key in stored:
            out[s.key] = stored[s.key]
        elif s.key in dep.values:
            out[s.key] = dep.values[s.key]
        else:
            out[s.key] = s.default
    return out


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
    check_against_nav(prof, setting, value)
    (ProfileSetting.insert(profile=prof, key=key, value=value, updated_at=utcnow())
     .on_conflict(conflict_target=[ProfileSetting.profile, ProfileSetting.key],
                  update={ProfileSetting.value: value, ProfileSetting.updated_at: utcnow()})
     .execute())
    return value
