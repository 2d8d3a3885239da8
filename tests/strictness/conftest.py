"""The NAV simulator fixtures of tests/nav, shared here."""

from tests.nav.conftest import FAST_RETRY, client, clock, nav_onprem, onprem_config, tls_dir  # noqa: F401
