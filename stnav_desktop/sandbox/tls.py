"""Certificates for the local simulators: a private CA and a localhost server certificate.

The CA is written to a folder so clients can trust it explicitly (``ca_bundle`` setting, or
``REQUESTS_CA_BUNDLE`` for third-party clients). TLS verification stays on everywhere.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class SandboxTLS:
    ca_pem: Path
    cert_pem: Path
    key_pem: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(self.cert_pem), str(self.key_pem))
        return ctx


def ensure_tls(folder: Path) -> SandboxTLS:
    """Create (once) a CA and a server certificate for localhost/127.0.0.1/::1 in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    tls = SandboxTLS(folder / "sandbox-ca.pem", folder / "sandbox-server.pem", folder / "sandbox-server.key")
    if tls.ca_pem.exists() and tls.cert_pem.exists() and tls.key_pem.exists():
        return tls
    ca = trustme.CA(organization_name="ml-connector sandbox")
    cert = ca.issue_cert("localhost", "127.0.0.1", "::1")
    ca.cert_pem.write_to_path(str(tls.ca_pem))
    cert.private_key_pem.write_to_path(str(tls.key_pem))
    cert.cert_chain_pems[0].write_to_path(str(tls.cert_pem))
    for extra in cert.cert_chain_pems[1:]:
        with open(tls.cert_pem, "ab") as fh:
            fh.write(extra.bytes())
    return tls
