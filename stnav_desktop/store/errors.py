"""What can stop the app from using its database, each told in one line naming the file and what to do."""

from __future__ import annotations

from stnav_desktop import __version__


class DatabaseProblem(Exception):
    """The database cannot be used; the message names the file and what to do."""


class SchemaTooNew(DatabaseProblem):
    """The database was upgraded by a newer release than this PC runs: refused, never written."""


def newer_schema_message(where: str, version: int, latest: int, needed: str) -> str:
    release = f"stnav {needed} or later" if needed else "a newer stnav release"
    return (f"database {where} was written by a newer ml-connector: schema v{version} (upgraded by {release}); "
            f"this PC runs stnav {__version__}, which knows schema v{latest}: install {release} on this PC; "
            "nothing was changed")
