"""What a database failure was, in words an operator acts on: the disk full, the connection
lost (the server restarted or crashed), or another error. Commands that write in one
transaction per batch or per file say this and exit non-zero instead of a traceback."""

from __future__ import annotations

DISK_FULL = "53100"  # PostgreSQL: disk_full ("could not extend file ...: No space left on device")
# Connection exceptions, and the server shutting down or crashing (admin_shutdown, crash_shutdown,
# cannot_connect_now).
GONE = ("08", "57P01", "57P02", "57P03")


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a Django database error (psycopg's exception is its ``__cause__``)."""
    for candidate in (exc, exc.__cause__):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if code:
            return code
    return None


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def describe(exc: BaseException, during: str) -> str:
    """E.g. "The database ran out of disk space during the import (could not extend ...)."."""
    code = sqlstate(exc) or ""
    if code == DISK_FULL:
        what = "ran out of disk space"
    elif not code or code.startswith(GONE):
        what = "connection was lost"
    else:
        what = f"failed (SQLSTATE {code})"
    return f"The database {what} during {during} ({first_line(exc)})."
