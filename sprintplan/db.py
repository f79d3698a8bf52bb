"""Database failures that are not the client's fault: what they mean and how to answer.

Two kinds are transient. A *write conflict* (PostgreSQL serialization failure or deadlock)
rolled the transaction back: nothing was written and running it again is safe. A *lost
connection* (the server restarted, a pooler or an administrator ended the session) may
have happened before or during COMMIT: the write may or may not be there, so the client
is told to read again; our writes carry a version, which makes a blind retry safe too.
The API runs such a request once more where that is safe (sprintplan.api's
RetryTransientDatabaseErrors); otherwise neither is answered with 500: 409 for a conflict,
503 with Retry-After for a lost connection (sprintplan.api for the API,
sprintplan.views.server_error for pages)."""

from django.db import DatabaseError, InterfaceError, OperationalError

# SQLSTATE codes: serialization_failure, deadlock_detected.
WRITE_CONFLICT_CODES = {"40001", "40P01"}
RETRY_AFTER_SECONDS = 1


def sqlstate(exc: BaseException) -> str | None:
    cause = exc.__cause__ or exc
    return getattr(cause, "pgcode", None) or getattr(cause, "sqlstate", None)


def is_write_conflict(exc: BaseException) -> bool:
    return isinstance(exc, DatabaseError) and sqlstate(exc) in WRITE_CONFLICT_CODES


def is_connection_lost(exc: BaseException) -> bool:
    if not isinstance(exc, OperationalError | InterfaceError) or is_write_conflict(exc):
        return False
    if "database is locked" in str(exc):
        return False  # SQLite busy: a live database refusing for now (sprintplan.api: 503 busy)
    # An OperationalError with a SQLSTATE is a refusal by a live server (e.g. a lock
    # timeout); without one, the connection itself failed.
    return (
        isinstance(exc, InterfaceError)
        or sqlstate(exc) is None
        or sqlstate(exc)[:2]
        in {
            "08",  # connection exception
            "57",  # operator intervention: admin_shutdown, terminated by administrator
        }
    )


def is_transient(exc: BaseException) -> bool:
    return is_write_conflict(exc) or is_connection_lost(exc)


def problem(exc: BaseException) -> tuple[int, dict]:
    """The status and JSON body that answer a transient failure."""
    if is_write_conflict(exc):
        return 409, {
            "code": "write_conflict",
            "detail": "Another change to the same data happened at the same moment; nothing "
            "was saved. Read it again and retry.",
        }
    return 503, {
        "code": "database_unavailable",
        "detail": "The database connection was lost. Read the item again before retrying: "
        "the change may or may not have been saved.",
    }
