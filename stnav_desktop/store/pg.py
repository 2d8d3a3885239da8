"""Opening the shared PostgreSQL store: bind the ``db`` proxy, connect, migrate under the lock.

Connection failures become one line that names the server and what to check, never the password.
"""

from __future__ import annotations

import logging

from stnav_desktop.store import backend
from stnav_desktop.store.backend import StoreConfig

log = logging.getLogger(__name__)


class StoreUnavailable(RuntimeError):
    """The shared database cannot be reached or refused this PC's login."""


def _explain(cfg: StoreConfig, exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    where = cfg.describe()
    low = text.lower()
    if "password authentication failed" in low or "no password supplied" in low:
        hint = "store the database password with `stnav store password` (it lives in this user's keychain)"
    elif "certificate" in low or "ssl" in low:
        hint = "check store.sslmode and store.sslrootcert (the CA that signed the server's certificate)"
    elif "does not exist" in low:
        hint = "ask IT to create the database and role (packaging/README.md, shared database)"
    else:
        hint = "check that the server is running and this PC may connect (firewall, pg_hba.conf)"
    return f"cannot open the shared database {where}: {text}; {hint}"


def open_postgres(cfg: StoreConfig, *, migrate: bool = True, password: str | None = None):
    from stnav_desktop.store import migrations
    from stnav_desktop.store.db import db

    if not db.is_closed():
        db.close()
    database = backend.make_postgres(cfg, password=password)
    db.initialize(database)
    try:
        db.connect(reuse_if_open=True)
    except Exception as exc:
        raise StoreUnavailable(_explain(cfg, exc)) from None
    if migrate:
        migrations.migrate(db, None)
    else:
        migrations.refuse_if_newer(db)
    log.info("store: %s", cfg.describe())
    return db
