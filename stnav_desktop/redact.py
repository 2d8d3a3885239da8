"""Secret redaction for anything that leaves the process as text: logs, exceptions shown to users,
audit details, exported files and support bundles.

Two layers:
- patterns: bearer tokens, ``Authorization``/key headers, ``client_secret=`` style pairs, JSON
  ``"password": "..."`` members and passwords inside URLs, wherever they appear;
- known values: every secret read from or written to the keychain is registered here, so it is
  masked even where no pattern would recognise it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

MASK = "***"

_SECRET_NAMES = (
    r"client[_-]?secret|secret|password|passwd|pwd|access[_-]?token|refresh[_-]?token|id[_-]?token"
    r"|api[_-]?key|app[_-]?key|web[_-]?service[_-]?(?:access[_-]?)?key|ws[_-]?key|st-app-key"
    r"|assertion|client[_-]?assertion|x-functions-key|signature"
)

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Authorization: Bearer xyz / Basic xyz / Negotiate xyz, header or repr form
    (re.compile(r"(?i)\b(authorization['\"]?\s*[:=]\s*['\"]?)(bearer|basic|negotiate|ntlm)?\s*[^\s'\",}]+"),
     lambda m: f"{m.group(1)}{(m.group(2) + ' ') if m.group(2) else ''}{MASK}"),
    # bare "Bearer <token>" anywhere
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*"), lambda m: f"{m.group(1)} {MASK}"),
    # JSON / dict members: "client_secret": "value"
    (re.compile(r"(?i)(['\"](?:" + _SECRET_NAMES + r")['\"]\s*:\s*)(['\"])(?:\\.|(?!\2).)*\2"),
     lambda m: f"{m.group(1)}{m.group(2)}{MASK}{m.group(2)}"),
    # form / query / header style: client_secret=value, ST-App-Key: value; not a dotted setting name
    # ("servicetitan.app_key: value is longer than ..." is a message about the setting, not a secret)
    (re.compile(r"(?i)\b(" + _SECRET_NAMES + r")(\s*=\s*)([^\s&'\",;}]+)"),
     lambda m: f"{m.group(1)}{m.group(2)}{MASK}"),
    (re.compile(r"(?i)(?<![.\w])(" + _SECRET_NAMES + r")(\s*:\s*)([^\s&'\",;}]+)"),
     lambda m: f"{m.group(1)}{m.group(2)}{MASK}"),
    # scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^/\s:@]+:)([^@\s/]+)(@)"),
     lambda m: f"{m.group(1)}{MASK}{m.group(3)}"),
]

# every pattern above needs one of these words (each secret name contains one): an ASCII text without
# any, in any case, cannot match and skips the patterns (most texts; a scan per word is far cheaper)
_TRIGGER_WORDS = ("authorization", "bearer", "://", "secret", "password", "passwd", "pwd", "token", "key",
                  "assertion", "signature")

_TRIGGER_BYTES = tuple(word.encode("ascii") for word in _TRIGGER_WORDS)

_known: set[str] = set()
_known_lock = threading.Lock()
# shorter values would mask ordinary words; real client secrets and keys are far longer
_MIN_KNOWN_LEN = 6


def register_secret(value: str | None) -> None:
    """Remember a secret value so it is masked wherever it later appears."""
    if not value or len(value) < _MIN_KNOWN_LEN:
        return
    with _known_lock:
        _known.add(value)


def forget_secrets() -> None:
    """For tests: drop every registered value."""
    with _known_lock:
        _known.clear()


def redact(text: object) -> str:
    """Return ``text`` as a string with every secret masked."""
    s = text if isinstance(text, str) else str(text)
    if not s:
        return s
    with _known_lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        if value in s:
            s = s.replace(value, MASK)
    if s.isascii():  # lower() is then exactly the case-insensitive match the patterns use
        lowered = s.lower()
        if not any(word in lowered for word in _TRIGGER_WORDS):
            return s
    for pattern, repl in _PATTERNS:
        s = pattern.sub(repl, s)
    return s


def redact_texts(texts: Iterable[str], group: int = 64) -> dict[str, str]:
    """``{text: redact(text)}`` for many texts (an audit batch's reasons), checked a group at a time: when
    the group's texts joined by a line break are ASCII and hold neither a known secret nor a trigger word,
    neither does any of them (each is a part of the joined text, and lowering ASCII lowers each part), so
    ``redact`` would return each as it is; any other group is redacted text by text, as ``redact`` does."""
    unique = list(dict.fromkeys(texts))
    with _known_lock:
        known = sorted(_known, key=len, reverse=True)
    out: dict[str, str] = {}
    for start in range(0, len(unique), group):
        part = unique[start:start + group]
        joined = "\n".join(part)
        if joined.isascii() and not any(value in joined for value in known):
            # ASCII: bytes.lower() lowers A-Z as str.lower() does, several times faster
            lowered = joined.encode("ascii").lower()
            if not any(word in lowered for word in _TRIGGER_BYTES):
                out.update(zip(part, part, strict=True))
                continue
        for text in part:
            out[text] = redact(text)
    return out


def redact_mapping(data: object) -> object:
    """Deep copy of JSON-like data with secret-looking members and known values masked."""
    name_re = re.compile(r"(?i)^(?:" + _SECRET_NAMES + r"|authorization)$")
    if isinstance(data, dict):
        return {k: (MASK if isinstance(k, str) and name_re.match(k) and v else redact_mapping(v))
                for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [redact_mapping(v) for v in data]
    if isinstance(data, str):
        return redact(data)
    return data
