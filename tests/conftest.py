"""Shared fixtures: a neutral environment, a fresh STNAV_HOME per test, an in-memory keychain."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["DBUS_SESSION_BUS_ADDRESS"] = "disabled:"

import keyring  # noqa: E402
import keyring.backend  # noqa: E402
import pytest  # noqa: E402

from stnav_desktop import redact  # noqa: E402


class MemoryKeyring(keyring.backend.KeyringBackend):
    """In-memory keychain for tests (never the database, never a file)."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        from keyring.errors import PasswordDeleteError

        if (service, username) not in self.store:
            raise PasswordDeleteError("not found")
        del self.store[(service, username)]


def pytest_configure(config: pytest.Config) -> None:
    for var in ("STNAV_PROFILE", "PYTHON_KEYRING_BACKEND", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        os.environ.pop(var, None)


@pytest.fixture(autouse=True)
def stnav_home(tmp_path, monkeypatch):
    home = tmp_path / "stnav-home"
    monkeypatch.setenv("STNAV_HOME", str(home))
    # never let a machine-wide deployment file of the developer's PC leak into a test
    monkeypatch.setenv("STNAV_DEPLOY_FILE", str(tmp_path / "no-deploy.toml"))
    yield home


@pytest.fixture
def deploy_file(tmp_path, monkeypatch):
    """A machine-wide deployment file (deploy.toml) the test writes."""
    path = tmp_path / "deploy.toml"
    monkeypatch.setenv("STNAV_DEPLOY_FILE", str(path))
    return path


@pytest.fixture
def nav(tmp_path):
    """An on-premises NAV simulator (Basic auth) for tests that post through the real connector."""
    from stnav_desktop.sandbox.nav import NavSandbox

    with NavSandbox(tmp_path / "tls", flavour="onprem") as sb:
        yield sb


# --- store backends: SQLite always; PostgreSQL where STNAV_TEST_PG_DSN names a server ---------------
# (.ci/run starts a throw-away cluster and sets it; modules marked both_backends run on both)
PG_DSN_ENV = "STNAV_TEST_PG_DSN"
# store, posting and audit tests of other areas, run on both backends without editing them
BOTH_BACKEND_MODULES = ("tests/foundation/test_store.py", "tests/foundation/test_audit.py",
                        "tests/sync/test_posting.py", "tests/sync/test_posting_batched.py")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store_backend" not in metafunc.fixturenames:
        return
    path = str(metafunc.definition.path).replace(os.sep, "/")
    marked = metafunc.definition.get_closest_marker("both_backends") is not None
    if metafunc.definition.get_closest_marker("sqlite_only") is not None:
        return
    for mark in metafunc.definition.iter_markers("parametrize"):  # the test chose its backends itself
        names = mark.args[0] if mark.args else ""
        if "store_backend" in (names.replace(" ", "").split(",") if isinstance(names, str) else names):
            return
    if marked or path.endswith(BOTH_BACKEND_MODULES):
        metafunc.parametrize("store_backend", ["sqlite", "postgresql"], indirect=True)


class PgServer:
    """The test server from STNAV_TEST_PG_DSN; each test gets a database of its own."""

    def __init__(self, dsn: str) -> None:
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(dsn)
        self.dsn = dsn
        self.password = parts.password or ""
        netloc = parts.netloc.rsplit("@", 1)
        user = (parts.username or "")
        self.user = user
        self._base = (parts.scheme, f"{user}@{netloc[-1]}" if user else netloc[-1], parts.query)
        self.admin_db = parts.path.lstrip("/") or "postgres"
        self._urlunsplit = urlunsplit

    def url(self, dbname: str) -> str:
        """The store URL as the app takes it: no password (that is a keychain secret)."""
        scheme, netloc, query = self._base
        return self._urlunsplit((scheme, netloc, "/" + dbname, query, ""))

    def connect(self, dbname: str | None = None, **kw):
        import psycopg

        from stnav_desktop.store.backend import parse_url

        params = parse_url(self.url(dbname or self.admin_db))
        return psycopg.connect(**params, password=self.password or None, **kw)

    def create_database(self) -> str:
        import uuid

        name = f"stnav_t_{uuid.uuid4().hex[:12]}"
        with self.connect(autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        import time

        import psycopg

        with self.connect(autocommit=True) as con:
            for attempt in range(10):
                try:
                    con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                    return
                except psycopg.errors.InsufficientPrivilege:
                    # an autovacuum worker (the server's own role) is in it, which the test role may not
                    # terminate, so FORCE refuses as a whole: end our own sessions, then a plain DROP
                    # DATABASE, which makes autovacuum leave by itself (waits up to 5 s)
                    con.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                                "AND usename = current_user AND pid <> pg_backend_pid()", (name,))
                    try:
                        con.execute(f'DROP DATABASE IF EXISTS "{name}"')
                        return
                    except psycopg.errors.ObjectInUse:
                        time.sleep(0.2 * (attempt + 1))
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # the last word: its error, if any


def pg_server_or_skip() -> PgServer:
    dsn = os.environ.get(PG_DSN_ENV, "").strip()
    if not dsn:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_DSN_ENV} is not set: CI must run the PostgreSQL cases (.ci/run starts a server)")
        pytest.skip(f"PostgreSQL case: set {PG_DSN_ENV}=postgresql://user:pw@host:port/db "
                    "(.ci/run starts a throw-away server and sets it)")
    return PgServer(dsn)


def use_pg_store(server: PgServer, dbname: str, keyring_backend) -> str:
    """Point this test's STNAV_HOME at ``dbname`` the way a user would: store.toml plus the keychain."""
    from stnav_desktop.store import backend

    url = server.url(dbname)
    backend.write_config(backend.StoreConfig(url=url))
    if server.password:
        keyring_backend.set_password("ml-connector", f"{backend.KEYCHAIN_PROFILE}:{backend.PASSWORD_FIELD}",
                                     server.password)
    return url


@pytest.fixture
def store_backend(request, stnav_home, memory_keyring):
    """"sqlite" (default) or "postgresql" (a fresh database on the test server, dropped afterwards)."""
    kind = getattr(request, "param", "sqlite")
    if kind == "sqlite":
        yield kind
        return
    server = pg_server_or_skip()
    dbname = server.create_database()
    use_pg_store(server, dbname, memory_keyring)
    request.node.pg_server = server
    request.node.pg_dbname = dbname
    try:
        yield kind
    finally:
        from stnav_desktop.store.db import close_db

        close_db()
        server.drop_database(dbname)


@pytest.fixture
def store(store_backend, stnav_home):
    """A fresh, migrated database in this test's STNAV_HOME (SQLite, or PostgreSQL when parametrised)."""
    from stnav_desktop.paths import app_paths
    from stnav_desktop.store.db import close_db, open_db

    paths = app_paths().ensure()
    database = open_db(paths.database)
    yield database
    close_db()


@pytest.fixture
def raw_sql(store, store_backend, request):
    """Run SQL behind the app's back on the current backend (what the sqlite3 tool or psql would do),
    with the audit log's guard triggers switched off first. ``?`` placeholders on both."""
    def run(sql: str, *params, guards_off: bool = True):
        if store_backend == "postgresql":
            node = request.node
            with node.pg_server.connect(node.pg_dbname, autocommit=True) as con:
                if guards_off:
                    con.execute("ALTER TABLE audit_event DISABLE TRIGGER USER")
                try:
                    cur = con.execute(sql.replace("?", "%s"), params)
                    return cur.fetchall() if cur.description else []
                finally:
                    if guards_off:
                        con.execute("ALTER TABLE audit_event ENABLE TRIGGER USER")
        import sqlite3

        from stnav_desktop.paths import app_paths

        con = sqlite3.connect(app_paths().database)
        try:
            if guards_off:
                con.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
                con.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")
            rows = con.execute(sql, params).fetchall()
            if guards_off:  # back on, as they were (store/migrations.py v1)
                con.execute("""CREATE TRIGGER IF NOT EXISTS audit_event_no_update BEFORE UPDATE ON audit_event
                               BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""")
                con.execute("""CREATE TRIGGER IF NOT EXISTS audit_event_no_delete BEFORE DELETE ON audit_event
                               BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""")
            con.commit()
            return rows
        finally:
            con.close()

    return run


@pytest.fixture(autouse=True)
def memory_keyring():
    previous = keyring.get_keyring()
    kr = MemoryKeyring()
    keyring.set_keyring(kr)
    yield kr
    keyring.set_keyring(previous)
    redact.forget_secrets()
