"""Who is doing what on a shared store (issue #19): documents being posted by another PC, and people's
names for the holders the store records (``alice@AP-PC-2#4242`` → ``alice@AP-PC-2``)."""

from __future__ import annotations

from stnav_desktop.store import claims
from stnav_desktop.store.models import StDocument


def holder_name(holder: str) -> str:
    """``alice@AP-PC-2#4242`` as people read it: ``alice@AP-PC-2``."""
    return holder.rsplit("#", 1)[0] if "#" in holder else holder


def being_posted() -> dict[int, set[str]]:
    """Batch id → who (``user@PC``) holds live posting claims on its documents, other than this process."""
    me = claims.default_holder()
    live = {doc_id: c.holder for doc_id, c in claims.holders().items() if not c.expired and c.holder != me}
    if not live:
        return {}
    out: dict[int, set[str]] = {}
    for doc in StDocument.select(StDocument.id, StDocument.batch).where(StDocument.id.in_(list(live))).iterator():
        if doc.batch_id is not None:
            out.setdefault(doc.batch_id, set()).add(holder_name(live[doc.id]))
    return out
