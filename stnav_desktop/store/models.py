"""peewee models. Small query helpers only; the domain lives in ``sync/``. Enums are stored as strings.

Secrets are never columns here: credentials live in the OS keychain (``stnav_desktop.credentials``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from peewee import (
    SQL,
    AutoField,
    BooleanField,
    CharField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

from stnav_desktop.store.fields import JsonField, MoneyField, UtcDateTimeField, utcnow
from stnav_desktop.store.proxy import db

if TYPE_CHECKING:
    from peewee import ModelSelect


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


class SourceKind(StrEnum):
    PURCHASE_ORDER = "purchase_order"
    INVENTORY_BILL = "inventory_bill"
    INVENTORY_RETURN = "inventory_return"  # vendor returns (export/returns) -> purchase credit memos


class DocStatus(StrEnum):
    NEEDS_MAPPING = "needs_mapping"
    READY = "ready"
    APPROVED = "approved"
    POSTING = "posting"
    UNCONFIRMED = "unconfirmed"  # sent, NAV's answer lost: NAV is asked before anything is resent
    IN_NAV_DRAFT = "in_nav_draft"  # in NAV as an unposted document; followed up every run
    POSTED = "posted"  # posted in NAV (G/L entries exist)
    FAILED = "failed"  # a retry is scheduled
    NEEDS_ATTENTION = "needs_attention"  # retries exhausted: replayable
    REJECTED = "rejected"
    CHANGED_AFTER_POSTING = "changed_after_posting"
    SKIPPED = "skipped"  # not postable under the profile's rules (e.g. a Canceled PO)
    HELD = "held"  # must not be booked (deleted in ServiceTitan, orphaned, duplicate) until a person releases it
    DATA_PROBLEM = "data_problem"  # the ServiceTitan record itself is wrong: fixed there, checked on next pull
    WAITING = "waiting_for_receipt"  # a PO not (fully) received yet: postable once ServiceTitan says Received


class MappingKind(StrEnum):
    VENDOR = "vendor"  # ST vendor id -> NAV vendor number
    ITEM = "item"  # ST SKU id -> NAV item number or G/L account (target_type)
    BUSINESS_UNIT = "business_unit"  # ST business unit id -> dimension value (target2 = dimension code)
    GL_RULE = "gl_rule"  # inventory-bill line rule -> G/L account
    ST_GL_ACCOUNT = "st_gl_account"  # ST GL account -> NAV G/L account
    # "<attribute>:<ST id or value>" (job:38110004, project:12, inventory_location:5002) -> dimension value
    # (target_type = dimension code); see sync/domain/dimensions.py
    DIMENSION = "dimension"


class AttemptState(StrEnum):
    PENDING = "pending"  # recorded before the NAV write; outcome unknown until settled
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # NAV refused it: nothing was created
    SETTLED_FOUND = "settled_found"  # outcome was unknown; NAV had it
    SETTLED_ABSENT = "settled_absent"  # outcome was unknown; NAV did not have it


class SchemaVersion(BaseModel):
    version = IntegerField(primary_key=True)
    applied_at = UtcDateTimeField(default=utcnow)
    app_version = CharField(default="", constraints=[SQL("DEFAULT ''")])  # the stnav release that applied the step (older PCs name it)


class Profile(BaseModel):
    """A named connection profile (one PC can serve two NAV companies). Non-secret settings only."""

    id = AutoField()
    name = CharField(unique=True)
    created_at = UtcDateTimeField(default=utcnow)

    if TYPE_CHECKING:  # declared for the type checker only; peewee adds the backref itself
        settings: ModelSelect[ProfileSetting]


class ProfileSetting(BaseModel):
    profile = ForeignKeyField(Profile, backref="settings", on_delete="CASCADE")
    key = CharField()
    value = JsonField(null=True)
    updated_at = UtcDateTimeField(default=utcnow)

    class Meta:
        indexes = ((("profile", "key"), True),)


class Batch(BaseModel):
    id = AutoField()
    profile = ForeignKeyField(Profile, backref="batches", on_delete="CASCADE")
    status = CharField(default="prepared")  # prepared, approved, posting, done
    kind = CharField(default="documents")  # documents; corrections (credit memo / reversal of changed ones)
    prepared_by = CharField()
    prepared_at = UtcDateTimeField(default=utcnow)
    approved_by = CharField(null=True)
    approved_at = UtcDateTimeField(null=True)
    note = TextField(default="")


class StDocument(BaseModel):
    """A staged ServiceTitan document (purchase order or inventory bill)."""

    id = AutoField()
    profile = ForeignKeyField(Profile, backref="documents", on_delete="CASCADE")
    kind = CharField()  # SourceKind
    st_id = IntegerField()
    number = CharField(default="")
    modified_on = UtcDateTimeField(null=True)
    doc_date = UtcDateTimeField(null=True)
    vendor_st_id = IntegerField(null=True)
    vendor_name = CharField(default="")
    business_unit_st_id = IntegerField(null=True)
    business_unit_name = CharField(default="")
    purchase_order_st_id = IntegerField(null=True)  # bills: the PO they receive
    st_status = CharField(default="")
    total = MoneyField(null=True)
    raw = JsonField()
    content_hash = CharField()
    version = IntegerField(default=1)  # bumped whenever the content hash changes
    status = CharField(default=DocStatus.NEEDS_MAPPING)
    problem = TextField(default="")  # why it is not ready / why it failed, in plain words
    source_problems = JsonField(null=True)  # data problems found while parsing the ServiceTitan record
    # a newer ServiceTitan version that arrived while a NAV write was unsettled: applied after settling
    pending_raw = JsonField(null=True)
    batch = ForeignKeyField(Batch, backref="documents", null=True, on_delete="SET NULL")
    posted_hash = CharField(null=True)  # content hash of the version that was posted
    posted_version = IntegerField(null=True)
    nav_id = CharField(null=True)
    nav_number = CharField(null=True)
    reject_reason = TextField(default="")
    st_exported_at = UtcDateTimeField(null=True)  # bills: marked exported in ServiceTitan after posting
    st_export_error = TextField(default="")
    retry_count = IntegerField(default=0)
    next_retry_at = UtcDateTimeField(null=True)
    # bills: ``active`` of the export feed (false = deleted in ServiceTitan)
    st_active = BooleanField(default=True)
    # why it must not be booked, in words ("" = nothing holds it); and the hold a person released
    # (audited): a release covers exactly that reason, a new reason holds the document again
    hold_reason = TextField(default="")
    hold_released = TextField(default="")
    first_seen_at = UtcDateTimeField(default=utcnow)
    updated_at = UtcDateTimeField(default=utcnow)

    if TYPE_CHECKING:  # declared for the type checker only; peewee adds the backref and the id accessor
        attempts: ModelSelect[PostingAttempt]
        batch_id = IntegerField(null=True)

    class Meta:
        indexes = (
            (("profile", "kind", "st_id"), True),
            (("profile", "status"), False),
            (("profile", "doc_date"), False),
            (("profile", "number"), False),
            # a PO's bills: a return's credit is booked to the accounts its PO's bills used (returns.py)
            (("profile", "purchase_order_st_id"), False),
        )


class CorrectionItem(BaseModel):
    """A document in a correction batch (the document keeps its original batch: its history stays there)."""

    id = AutoField()
    batch = ForeignKeyField(Batch, backref="corrections", on_delete="CASCADE")
    document = ForeignKeyField(StDocument, backref="corrections", on_delete="CASCADE")
    result = TextField(default="")  # after posting: the NAV documents, or why not

    if TYPE_CHECKING:  # declared for the type checker only; peewee adds the id accessor
        document_id = IntegerField()

    class Meta:
        indexes = ((("batch", "document"), True),)


class Mapping(BaseModel):
    id = AutoField()
    profile = ForeignKeyField(Profile, backref="mappings", on_delete="CASCADE")
    kind = CharField()  # MappingKind
    source_key = CharField()  # ST id (as text) or rule key
    source_label = CharField(default="")
    target = CharField()  # NAV vendor number / item number / G/L account / dimension value
    target_type = CharField(default="")  # item: "Item" or "Account"; business unit: dimension code
    updated_by = CharField(default="")
    updated_at = UtcDateTimeField(default=utcnow)

    class Meta:
        indexes = ((("profile", "kind", "source_key"), True),)


class PostingAttempt(BaseModel):
    """Recorded BEFORE every NAV write (state pending), completed after it."""

    id = AutoField()
    document = ForeignKeyField(StDocument, backref="attempts", on_delete="CASCADE")
    idempotency_key = CharField(index=True)  # "<kind>:<st id>:v<version>"
    attempt_no = IntegerField()
    state = CharField(default=AttemptState.PENDING)
    operation = CharField(default="")  # purchase_invoice, journal_lines, mark_exported, ...
    started_at = UtcDateTimeField(default=utcnow)
    finished_at = UtcDateTimeField(null=True)
    request_summary = JsonField(null=True)
    nav_id = CharField(null=True)
    nav_number = CharField(null=True)
    gl_entries = JsonField(null=True)
    error = TextField(default="")
    error_code = CharField(default="")
    correlation_id = CharField(default="")

    if TYPE_CHECKING:  # declared for the type checker only; peewee adds the id accessor
        document_id = IntegerField()


class NavReference(BaseModel):
    """Cache of NAV reference data for pickers and validation."""

    id = AutoField()
    profile = ForeignKeyField(Profile, backref="nav_refs", on_delete="CASCADE")
    entity = CharField()  # vendors, items, accounts, dimensionValues, journals, companies
    key = CharField()  # number / code (dimension values: "<DIM>:<CODE>")
    name = CharField(default="")
    blocked = BooleanField(default=False)
    data = JsonField(null=True)
    refreshed_at = UtcDateTimeField(default=utcnow)

    class Meta:
        indexes = ((("profile", "entity", "key"), True),)


class StReference(BaseModel):
    """Cache of ServiceTitan reference data (vendors, SKUs, business units, GL accounts)."""

    id = AutoField()
    profile = ForeignKeyField(Profile, backref="st_refs", on_delete="CASCADE")
    entity = CharField()
    st_id = IntegerField()
    code = CharField(default="")
    name = CharField(default="")
    active = BooleanField(default=True)
    data = JsonField(null=True)
    refreshed_at = UtcDateTimeField(default=utcnow)

    class Meta:
        indexes = ((("profile", "entity", "st_id"), True),)


class SyncWatermark(BaseModel):
    profile = ForeignKeyField(Profile, backref="watermarks", on_delete="CASCADE")
    stream = CharField()  # export/purchase-orders, export/inventory-bills, ...
    token = TextField(null=True)  # continueFrom, stored only after the rows it covers
    modified_on_or_after = UtcDateTimeField(null=True)
    updated_at = UtcDateTimeField(default=utcnow)

    if TYPE_CHECKING:  # declared for the type checker only; peewee adds this implicit primary key itself
        id = AutoField()

    class Meta:
        indexes = ((("profile", "stream"), True),)


class WebhookSubscription(BaseModel):
    id = AutoField()
    profile = ForeignKeyField(Profile, backref="subscriptions", on_delete="CASCADE")
    system = CharField(default="nav")
    remote_id = CharField()
    resource = TextField()
    notification_url = TextField()
    expires_at = UtcDateTimeField()
    etag = TextField(default="")
    created_at = UtcDateTimeField(default=utcnow)
    renewed_at = UtcDateTimeField(null=True)


class NavChangeWatch(BaseModel):
    """How this profile hears of changes made in NAV: ``notifications`` (BC webhook subscriptions answered by
    the service's receiver) or ``polling`` (the scheduler re-reads), with the reason in plain words; written by
    the service, read by `stnav service status` and the Settings page of every PC."""

    profile = ForeignKeyField(Profile, backref="nav_watch", on_delete="CASCADE", unique=True)
    mode = CharField(default="polling")
    reason = TextField(default="")
    checked_at = UtcDateTimeField(null=True)
    last_notification_at = UtcDateTimeField(null=True)
    notifications = IntegerField(default=0)  # notification items received since the service started

    if TYPE_CHECKING:
        id = AutoField()


class SchedulerJob(BaseModel):
    """Persisted schedule state: due times come from here, so a missed run after sleep runs once."""

    profile = ForeignKeyField(Profile, backref="jobs", on_delete="CASCADE")
    name = CharField()
    last_run_at = UtcDateTimeField(null=True)
    next_due_at = UtcDateTimeField(null=True)
    last_result = TextField(default="")
    skipped_reason = TextField(default="")

    class Meta:
        indexes = ((("profile", "name"), True),)


class AuditEvent(BaseModel):
    """Append-only and hash-chained. Write through ``store.audit.append`` only; there is no update or
    delete path (``save`` on an existing row and ``delete_instance`` raise; triggers refuse both)."""

    seq = IntegerField(primary_key=True)
    ts = UtcDateTimeField()
    actor = CharField()
    action = CharField(index=True)
    profile_name = CharField(default="")
    st_ref = CharField(default="", index=True)
    nav_ref = CharField(default="")
    detail = TextField(default="{}")  # canonical JSON text, hashed as stored
    prev_hash = CharField()
    hash = CharField()
    # HMAC of seq and hash with this database's audit key (OS keychain); a SQL default too, so plain inserts
    # (migration v1's head row, older code) still work
    mac = CharField(default="", constraints=[SQL("DEFAULT ''")])
    host = CharField(default="", constraints=[SQL("DEFAULT ''")])  # the PC that appended it (hashed when set: store.audit.event_hash)

    def save(self, *args, **kwargs):
        if not kwargs.get("force_insert"):
            raise PermissionError("audit events are append-only")
        return super().save(*args, **kwargs)

    def delete_instance(self, *args, **kwargs):
        raise PermissionError("audit events are append-only")

    @classmethod
    def update(cls, *args, **kwargs):
        raise PermissionError("audit events are append-only")

    @classmethod
    def delete(cls):
        raise PermissionError("audit events are append-only")


class AuditHead(BaseModel):
    """The last sequence number and hash, so deleting the newest events is detectable too."""

    id = IntegerField(primary_key=True, default=1)
    seq = IntegerField(default=0)
    hash = CharField(default="")
    mac = CharField(default="", constraints=[SQL("DEFAULT ''")])  # keyed MAC: a reset head cannot be forged


class NavAttachment(BaseModel):
    """The ServiceTitan source document attached (as a PDF) to the NAV invoice or credit memo of a posted
    document (sync/app/attachments.py). A failure never blocks posting: it is kept here and retried."""

    id = AutoField()
    document = ForeignKeyField(StDocument, backref="nav_attachments", on_delete="CASCADE", unique=True)
    file_name = CharField(default="")
    state = CharField(default="pending")  # pending, attached, failed
    nav_attachment_id = CharField(null=True)
    byte_size = IntegerField(default=0)
    attempts = IntegerField(default=0)
    error = TextField(default="")
    attached_at = UtcDateTimeField(null=True)
    updated_at = UtcDateTimeField(default=utcnow)


ALL_MODELS = [
    SchemaVersion, Profile, ProfileSetting, Batch, StDocument, CorrectionItem, Mapping, PostingAttempt, NavReference,
    StReference, SyncWatermark, WebhookSubscription, SchedulerJob, AuditEvent, AuditHead,
    NavAttachment, NavChangeWatch,
]
