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
    # one per installation (profile "installation"), not per profile: store/backend.py
    "store.password": "Shared database (PostgreSQL) password",
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


# OS keychains; anything else (a plaintext or "encrypted" file of keyrings.alt / keyrings.cryptfile, a test
# backend) is not one, whatever priority it claims
OS_KEYCHAIN_MODULES = ("keyring.backends.Windows", "keyring.backends.macOS", "keyring.backends.SecretService",
                       "keyring.backends.kwallet", "keyring.backends.libsecret")
FILE_BACKEND_MODULES = ("keyrings.alt.file", "keyrings.alt.Windows", "keyrings.cryptfile", "keyrings.alt.pyfs")


def is_os_keychain() -> bool:
    kr = keyring.get_keyring()
    backends = getattr(kr, "backends", None) if backend_name().startswith("keyring.backends.chainer") else [kr]
    return bool(backends) and all(type(b).__module__.startswith(OS_KEYCHAIN_MODULES) for b in backends)


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
    if name.startswith(FILE_BACKEND_MODULES):
        raise KeychainUnavailable(f"The keyring backend {name} keeps secrets in a file, not in an OS keychain; "
                                  f"secrets are never stored in a file. {_install_hint()}")
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


def check_secret_value(field: str, value: str) -> None:
    """Refuse what cannot be a real secret, naming the field; nothing is stored then."""
    what = f"the {SECRET_FIELDS[field]} ({field})"
    if not value:
        raise CredentialError(f"{what} is empty; nothing was stored.")
    if not value.strip():
        raise CredentialError(f"{what} is only spaces; nothing was stored (the stored one, if any, is kept).")
    if value != value.strip():
        raise CredentialError(f"{what} starts or ends with spaces (a copy-paste slip?); nothing was stored. "
                              "Paste it again without them.")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise CredentialError(f"{what} holds a control character (a line break, a tab or NUL); nothing was stored.")
    if len(value.encode("utf-8")) > MAX_SECRET_BYTES:
        raise CredentialError(f"{what} is longer than {MAX_SECRET_BYTES} bytes; the Windows keychain would "
                              "refuse it.")


def _audit_change(action: str, profile: str, field: str) -> None:
    """Every credential change is an audit event: which profile and field, who and when; never the value."""
    from stnav_desktop.store import audit

    if not audit.store_open():  # no database open (a bare library call): nothing to record into
        log.warning("%s for profile %s field %s not audited: no database open", action, profile, field)
        return
    audit.append(action, profile=profile, detail={"field": field, "label": SECRET_FIELDS[field]})


def set_secret(profile: str, field: str, value: str) -> None:
    user = _username(profile, field)
    check_secret_value(field, value)
    register_secret(value)
    check_available()
    _call(keyring.set_password, SERVICE, user, value)
    log.info("stored %s for profile %s in the keychain", field, profile)
    _audit_change("credential.set", profile, field)


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
    _audit_change("credential.deleted", profile, field)
    return True


def status(profile: str) -> dict[str, str]:
    """Field -> 'stored' / 'missing' (never the value). Raises KeychainUnavailable/Locked."""
    return {f: ("stored" if has_secret(profile, f) else "missing") for f in SECRET_FIELDS}


# --- the audit log's MAC key (store/audit.py): one random key per database file, in the keychain --------

AUDIT_KEY_PREFIX = "audit-key:"
_audit_key_cache: list = []  # [(keyring object, database id, key)]; the keyring object, not its id
# the last "no usable keychain" answer: [(keyring object, database id, monotonic time, message)]. Each audit
# append asks for the key; without a keychain (a headless server, a service account) that was one keychain
# call and one warning per event. Asked again after AUDIT_KEY_RETRY_SECONDS (a keychain unlocked later
# seals the events from then on); warned once per process and message.
_audit_key_missing: list = []
AUDIT_KEY_RETRY_SECONDS = 300.0


def audit_key(database_id: str, *, create: bool) -> bytes | None:
    """This database's audit MAC key; created on first use when ``create``. None when there is no usable
    keychain (or none stored and not ``create``): the log is then hash-chained but not sealed."""
    import secrets
    import time

    kr = keyring.get_keyring()
    for cached_kr, cached_id, key in _audit_key_cache:
        if cached_kr is kr and cached_id == database_id:
            return key
    previous = next((m for m in _audit_key_missing if m[0] is kr and m[1] == database_id), None)
    if previous is not None and time.monotonic() - previous[2] < AUDIT_KEY_RETRY_SECONDS:
        return None
    user = AUDIT_KEY_PREFIX + database_id
    try:
        check_available()
        value = _call(keyring.get_password, SERVICE, user)
        if value is None and create:
            value = secrets.token_hex(32)
            _call(keyring.set_password, SERVICE, user, value)
            log.info("audit key created in the keychain for database %s", database_id)
    except CredentialError as exc:
        told = any(m[3] == str(exc) for m in _audit_key_missing)
        (log.debug if told else log.warning)(
            "audit key unavailable (%s): audit events are hash-chained but not sealed", exc)
        _audit_key_missing[:] = [(kr, database_id, time.monotonic(), str(exc))]
        return None
    _audit_key_missing.clear()
    if value is None:
        return None
    register_secret(value)
    key = bytes.fromhex(value) if all(c in "0123456789abcdef" for c in value) else value.encode("utf-8")
    _audit_key_cache[:] = [(kr, database_id, key)]
    return key


def forget_audit_key(database_id: str) -> None:
    """Remove a throw-away database's audit key (self-test, demo) from the keychain."""
    _audit_key_cache.clear()
    _audit_key_missing.clear()
    try:
        check_available()
        _call(keyring.delete_password, SERVICE, AUDIT_KEY_PREFIX + database_id)
    except CredentialError:
        pass
