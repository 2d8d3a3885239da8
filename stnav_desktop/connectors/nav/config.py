"""Connection settings for one NAV / Business Central company (no secrets here: they live in the keychain)."""

from __future__ import annotations

from dataclasses import dataclass

SCOPE = "https://api.businesscentral.dynamics.com/.default"
ONLINE_API = "https://api.businesscentral.dynamics.com/v2.0/{tenant}/{environment}/api/v2.0/"
AUTHORITY = "https://login.microsoftonline.com/{tenant}"


@dataclass
class NavConfig:
    deployment: str = "online"  # "online" | "onprem"
    company_id: str = ""
    # online (Entra ID client credentials)
    tenant: str = ""
    environment: str = "Production"
    client_id: str = ""
    authority: str | None = None  # default https://login.microsoftonline.com/{tenant}
    scope: str = SCOPE
    # both: API root; online default is built from tenant + environment
    api_url: str | None = None  # on-prem e.g. https://nav.example.local:7048/BC/api/v2.0/
    # on-premises
    auth: str = "basic"  # "basic" | "windows" | "oauth"  (on-prem only; online is always oauth)
    user: str = ""
    ca_bundle: str | None = None  # internal CA; TLS verification is never switched off
    # posting
    post_mode: str = "draft"  # "draft" | "post"
    journal_template: str = "GENERAL"
    journal_batch: str = "STNAV"
    timeout: tuple[float, float] = (10.0, 120.0)

    def __post_init__(self) -> None:
        if self.deployment not in ("online", "onprem"):
            raise ValueError("deployment must be 'online' or 'onprem'")
        if self.post_mode not in ("draft", "post"):
            raise ValueError("post_mode must be 'draft' or 'post'")
        if self.deployment == "onprem" and self.auth not in ("basic", "windows", "oauth"):
            raise ValueError("on-premises auth must be 'basic', 'windows' or 'oauth'")
        if self.deployment == "onprem" and not self.api_url:
            raise ValueError("on-premises needs api_url, e.g. https://nav.example.local:7048/BC/api/v2.0/")

    @property
    def uses_oauth(self) -> bool:
        return self.deployment == "online" or self.auth == "oauth"

    @property
    def resolved_api_url(self) -> str:
        url = self.api_url or ONLINE_API.format(tenant=self.tenant, environment=self.environment)
        return url.rstrip("/") + "/"

    @property
    def resolved_authority(self) -> str:
        return (self.authority or AUTHORITY.format(tenant=self.tenant)).rstrip("/")

    @property
    def is_beta_api(self) -> bool:
        return "/api/beta" in self.resolved_api_url
