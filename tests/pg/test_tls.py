"""TLS to the shared database: sslmode=verify-full with the office CA connects encrypted; a server
whose certificate another CA signed is refused with a line that says what to check."""

import os

import pytest
import trustme

from stnav_desktop.store import backend
from stnav_desktop.store.db import close_db, db
from stnav_desktop.store.pg import StoreUnavailable, open_postgres


@pytest.fixture
def tls_server(memory_keyring):
    from tests.conftest import pg_server_or_skip

    server = pg_server_or_skip()
    ca = os.environ.get("STNAV_TEST_PG_CA", "")
    if not ca:
        if os.environ.get("CI"):
            pytest.fail("STNAV_TEST_PG_CA is not set: .ci/run's server has TLS on and must be tested with it")
        pytest.skip("TLS case: set STNAV_TEST_PG_CA to the CA of the test server's certificate (.ci/run does)")
    memory_keyring.set_password("ml-connector", f"{backend.KEYCHAIN_PROFILE}:{backend.PASSWORD_FIELD}",
                                server.password)
    yield server, ca
    close_db()


def test_verify_full_with_the_office_ca_connects_encrypted(tls_server):
    server, ca = tls_server
    cfg = backend.StoreConfig(url=server.url(server.admin_db), sslmode="verify-full", sslrootcert=ca)
    open_postgres(cfg, migrate=False)
    ssl, version = db.execute_sql("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()
    assert ssl is True and version.startswith("TLS")
    assert "sslmode verify-full" in cfg.describe()


def test_a_certificate_from_another_ca_is_refused_naming_the_setting(tls_server, tmp_path):
    server, _ca = tls_server
    stranger = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(stranger))
    cfg = backend.StoreConfig(url=server.url(server.admin_db), sslmode="verify-full", sslrootcert=str(stranger))
    with pytest.raises(StoreUnavailable, match="certificate.*check store.sslmode and store.sslrootcert"):
        open_postgres(cfg, migrate=False)
