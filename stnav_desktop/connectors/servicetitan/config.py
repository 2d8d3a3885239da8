"""Settings of one ServiceTitan connection (one tenant in one environment). No secrets here: the
client secret comes from the keychain and is handed to the client separately."""

from __future__ import annotations

from dataclasses import dataclass, field

from stnav_desktop.connectors.http import RetryPolicy

HOSTS = {
    # environment: (token URL, API root)  -- reference §1.1
    "production": ("https://auth.servicetitan.io/connect/token", "https://api.servicetitan.io"),
    "integration": ("https://auth-integration.servicetitan.io/connect/token",
                    "https://api-integration.servicetitan.io"),
}
MAX_PAGE_SIZE = 5000


@dataclass(frozen=True)
class ServiceTitanConfig:
    """``tenant`` is the integer tenant id that appears in every API path. ``auth_url`` (the full token
    URL) and ``api_url`` (the API root, without ``/{module}/v2``) override the environment's hosts,
    e.g. for the local simulator."""

    tenant: int | str
    client_id: str
    app_key: str
    environment: str = "production"  # "production" | "integration"
    auth_url: str | None = None
    api_url: str | None = None
    ca_bundle: str | None = None
    calls_per_second: int = 60
    connect_timeout: float = 10.0
    read_timeout: float = 100.0  # ServiceTitan's own server-side timeout is 100 s
    page_size: int = MAX_PAGE_SIZE
    refresh_margin: float = 60.0  # refresh the token this many seconds before it expires
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def __post_init__(self) -> None:
        if self.environment not in HOSTS:
            raise ValueError(f"environment must be one of {sorted(HOSTS)}, not {self.environment!r}")
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        if self.calls_per_second < 1:
            raise ValueError("calls_per_second must be at least 1")

    @property
    def token_url(self) -> str:
        return self.auth_url or HOSTS[self.environment][0]

    @property
    def api_root(self) -> str:
        return (self.api_url or HOSTS[self.environment][1]).rstrip("/")

    @property
    def tenant_id(self) -> str:
        return str(self.tenant).strip()

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout, self.read_timeout)
