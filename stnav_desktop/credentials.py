"""Credentials live in the OS keychain only (Windows Credential Manager, macOS Keychain, Secret
Service). One small interface in front of keyring that tells the failure modes apart:

- ``KeychainUnavailable``: no usable keychain (headless Linux without a Secret Service);
- ``KeychainLocked``: there is one, but it is locked;
- ``CredentialNotFound``: nothing stored for that profile and field.

There is no fallback to the database or a file, ever. Keychain calls can block (unlock prompts):
callers in the GUI run them on a worker thread.
"""

from __future__ import annotations

import logging
import sys

import keyring
import keyring.backend
import keyring.errors

from stnav_desktop import APP_NAME
from stnav_desktop.redact import register_secret

log = logging.getLogger(__name__)

SERVICE = APP_NAME
# Windows Credential Manager rejects blobs over 2,560 bytes; client secrets and keys are far smaller.
MAX_SECRET_BYTES = 2560

# Which secret fields exist, with a label for users.
SECRET_FIELDS: dict[str, str] = {
    "servicetitan.client_secret": "ServiceTitan client secret",
    "nav.client_secret": "NAV / Business Central (Entra ID) client secret",
    "nav.web_service_key": "NAV web service access key (Basic auth password)",
    "nav.windows_password": "Windows account password for NAV sign-in (NTLM)",
    "servicetitan.webhook_secret": "ServiceTitan webhook signing key",
    "nav.webhook_client_state": "NAV webhook clientState",
}


class CredentialError(Exception):
    pass


class KeychainUnavailable(CredentialError):
    pass


class KeychainLocked(CredentialError):
    pass


class CredentialNotFound(CredentialError):
    pass


def _install_hint() -> str:
    if sys.platform.startswith("linux"):
        return ("Install and start a Secret Service keychain (for example `apt install gnome-keyring` and "
                "log in to a desktop session, or run under `dbus-run-session` with "
                "`gnome-keyring-daemon --unlock`), or KWallet on KDE.")
    if sys.platform == "darwin":
        return "The macOS Keychain could not be reached; log in to a desktop session."
    return "Windows Credential Manager could not be reached; sign in to Windows as the user who runs the app."


def _username(profile: str, field: str) -> str:
    if field not in SECRET_FIELDS:
        raise CredentialError(f"Unknown secret field {field!r}; known fields: {', '.join(SECRET_FIELDS)}")
    return f"{profile}:{field}"


def backend_name() -> str:
    kr = keyring.get_keyring()
    return f"{type(kr).__module__}.{type(kr).__name__}"


def check_available() -> str:
    """Return the backend name, or raise ``KeychainUnavailable`` with what to install."""
    kr = keyring.get_keyring()
    name = backend_name()
    priority = getattr(kr, "priority", 1)
    if name.startswith("keyring.backends.fail") or name.startswith("keyring.backends.null") or (
            isinstance(priority, int | float) and priority <= 0 and not name.startswith("keyring.backends.chainer")):
        raise KeychainUnavailable(f"No OS keychain is available ({name}). {_install_hint()}")
    if name.startswith("keyring.backends.chainer") and not getattr(kr, "backends", None):
        raise KeychainUnavailable(f"No OS keychain is available. {_install_hint()}")
    return name


def _call(fn, *args):
    try:
        return fn(*args)
    except keyring.errors.NoKeyringError:
        raise KeychainUnavailable(f"No OS keychain is available. {_install_hint()}") from None
    except keyring.errors.KeyringLocked:
        raise KeychainLocked("The OS keychain is locked. Unlock it (log in to your desktop session) "
                             "and try again.") from None
    except keyring.errors.InitError as exc:
        raise KeychainUnavailable(f"The OS keychain could not be opened ({type(exc).__name__}). "
                                  f"{_install_hint()}") from None
    except keyring.errors.KeyringError as exc:
        # message of a backend error can hold the value; never pass it on
        raise CredentialError(f"The OS keychain refused the request ({type(exc).__name__}).") from None


def set_secret(profile: str, field: str, value: str) -> None:
    user = _username(profile, field)
    if not value:
        raise CredentialError(f"The {SECRET_FIELDS[field]} is empty; nothing was stored.")
    if len(value.encode("utf-8")) > MAX_SECRET_BYTES:
        raise CredentialError(f"The {SECRET_FIELDS[field]} is longer than {MAX_SECRET_BYTES} bytes; "
                              "the Windows keychain would refuse it.")
    register_secret(value)
    check_available()
    _call(keyring.set_password, SERVICE, user, value)
    log.info("stored %s for profile %s in the keychain", field, profile)


def get_secret(profile: str, field: str) -> str:
    user = _username(profile, field)
    check_available()
    value = _call(keyring.get_password, SERVICE, user)
    if value is None:
        raise CredentialNotFound(f"No {SECRET_FIELDS[field]} is stored for profile {profile!r}. "
                                 f"Set it with: stnav credentials set {profile} {field}")
    register_secret(value)
    return value


def has_secret(profile: str, field: str) -> bool:
    try:
        get_secret(profile, field)
    except CredentialNotFound:
        return False
    return True


def delete_secret(profile: str, field: str) -> bool:
    user = _username(profile, field)
    check_available()
    try:
        _call(keyring.delete_password, SERVICE, user)
    except CredentialError:
        return False
    return True


def status(profile: str) -> dict[str, str]:
    """Field -> 'stored' / 'missing' (never the value). Raises KeychainUnavailable/Locked."""
    return {f: ("stored" if has_secret(profile, f) else "missing") for f in SECRET_FIELDS}
