"""Logging set-up: a rotating file in the log folder, and a filter that masks secrets in every
record, its arguments and its traceback before any handler sees it."""

from __future__ import annotations

import logging
import logging.handlers
import sys

from stnav_desktop.paths import AppPaths
from stnav_desktop.redact import redact

FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info:
            formatter = logging.Formatter()
            record.exc_text = redact(formatter.formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class _RedactingFormatter(logging.Formatter):
    """Belt and braces: the formatted line is redacted again (handlers added by other code)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class ConsoleFormatter(logging.Formatter):
    """The console gets one line per record: no traceback (that goes to the log file), no embedded
    newlines. With ``--verbose`` the traceback is shown too."""

    def __init__(self, *, tracebacks: bool = False) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        line = one_line(f"{record.levelname} {record.name}: {record.getMessage()}")
        if self.tracebacks and record.exc_text:
            return redact(line + "\n" + record.exc_text)
        return redact(line)


class NotOnConsole(logging.Filter):
    """Records logged with ``extra={"console": False}`` go to the log file only."""

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "console", True)


def one_line(text: object, limit: int = 400) -> str:
    """Collapse any text (an exception message, a server answer) to one console line."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def log_file_hint() -> str:
    for handler in _configured:
        if isinstance(handler, logging.FileHandler):
            return handler.baseFilename
    return ""


_configured: list[logging.Handler] = []


def setup_logging(paths: AppPaths, *, level: int = logging.INFO, console: bool = False,
                  console_tracebacks: bool = False) -> None:
    """Idempotent: replaces the handlers installed by an earlier call."""
    root = logging.getLogger()
    for handler in _configured:
        root.removeHandler(handler)
        handler.close()
    _configured.clear()
    paths.logs.mkdir(parents=True, exist_ok=True)
    file_handler = logging.handlers.RotatingFileHandler(paths.log_file, maxBytes=5_000_000, backupCount=5,
                                                        encoding="utf-8")
    file_handler.setFormatter(_RedactingFormatter(FORMAT))
    file_handler.addFilter(RedactingFilter())
    _configured.append(file_handler)
    if console:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(ConsoleFormatter(tracebacks=console_tracebacks))
        stream.addFilter(RedactingFilter())
        stream.addFilter(NotOnConsole())
        stream.setLevel(logging.WARNING)
        _configured.append(stream)
    for handler in _configured:
        root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("urllib3", "peewee", "msal"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
