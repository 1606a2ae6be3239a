"""Read replicas (`DATABASE_REPLICA_URLS`): aliases `replica1`, `replica2`, … and the database
router that sends read-only work to one of them.

Only work that opts in reads from a replica: the admin's report pages, search (`search_cases`,
`similar_documents`) and list pages marked so, each inside `replica_reads()`. Everything else
stays on the primary, and inside that block so do reads in a transaction on the primary, and
every read after this request (or block) wrote, so that a user sees their own write at once.

A replica is used only while it is reachable and at most `DATABASE_REPLICA_MAX_LAG` seconds
behind; it is checked at most once a second per process (`replica_state`), and a replica that
fails the check is skipped: the primary serves."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

logger = logging.getLogger("legalplatform.db")

REPLICA_ALIAS_PREFIX = "replica"
# Seconds a replica's check is trusted before it is asked again.
CHECK_INTERVAL = 1.0

# Whether this context's reads may go to a replica, and whether it wrote already.
_replica_reads = contextvars.ContextVar("replica_reads", default=False)
_wrote = contextvars.ContextVar("wrote_to_primary", default=False)

# How far behind the primary the standby has replayed: 0 when it replayed all it received,
# else the age of the last transaction it replayed (NULL before it replayed any).
LAG_SQL = """
    SELECT pg_is_in_recovery(),
           CASE WHEN NOT pg_is_in_recovery() THEN 0
                WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())
           END
"""


def replica_aliases() -> list[str]:
    return [alias for alias in settings.DATABASES if alias.startswith(REPLICA_ALIAS_PREFIX)]


@dataclass(frozen=True)
class ReplicaState:
    alias: str
    reachable: bool
    standby: bool | None = None
    lag_seconds: float | None = None
    error: str | None = None
    checked_at: float = 0.0

    @property
    def usable(self) -> bool:
        return (
            self.reachable
            and bool(self.standby)
            and self.lag_seconds is not None
            and self.lag_seconds <= settings.DATABASE_REPLICA_MAX_LAG
        )

    @property
    def role(self) -> str:
        if not self.reachable:
            return "unreachable"
        return "standby" if self.standby else "primary"

    def describe(self) -> dict:
        answer = {"role": self.role, "usable": self.usable}
        if self.lag_seconds is not None:
            answer["lag_seconds"] = round(self.lag_seconds, 3)
        if self.error:
            answer["error"] = self.error
        return answer


_states: dict[str, ReplicaState] = {}
_states_lock = threading.Lock()


def standby_status(cursor) -> tuple[bool, float | None]:
    """(whether the server behind `cursor` is a standby, seconds it is behind)."""
    cursor.execute(LAG_SQL)
    standby, lag = cursor.fetchone()
    return bool(standby), (None if lag is None else float(lag))


def is_standby(alias: str) -> bool:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        return bool(cursor.fetchone()[0])


def replica_state(alias: str, *, fresh: bool = False) -> ReplicaState:
    """The replica's last check, or a new one when older than CHECK_INTERVAL (or `fresh`)."""
    state = _states.get(alias)
    now = time.monotonic()
    if state is not None and not fresh and now - state.checked_at < CHECK_INTERVAL:
        return state
    connection = connections[alias]
    try:
        with connection.cursor() as cursor:
            standby, lag = standby_status(cursor)
        state = ReplicaState(alias, True, standby, lag, checked_at=now)
    except Exception as exc:  # unreachable, or failing: skipped either way
        connection.close()
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        state = ReplicaState(alias, False, error=first_line, checked_at=now)
    with _states_lock:
        previous = _states.get(alias)
        _states[alias] = state
    if previous is not None and previous.usable and not state.usable:
        logger.warning("replica %s skipped: %s", alias, _why_unusable(state))
    return state


def _why_unusable(state: ReplicaState) -> str:
    if not state.reachable:
        return f"unreachable ({state.error})"
    if not state.standby:
        return "not a standby"
    limit = settings.DATABASE_REPLICA_MAX_LAG
    return f"{state.lag_seconds:.1f} s behind (DATABASE_REPLICA_MAX_LAG {limit})"


def usable_replica() -> str | None:
    """A replica alias to read from now, or None for the primary."""
    for alias in replica_aliases():
        if replica_state(alias).usable:
            return alias
    return None


@contextlib.contextmanager
def replica_reads():
    """Reads in the block may go to a replica (see the module's docstring)."""
    token = _replica_reads.set(True)
    try:
        yield
    finally:
        _replica_reads.reset(token)


def reads_from_replica(function):
    """A view or selector whose reads may go to a replica. A view's TemplateResponse is rendered
    in the block: its template still reads (a form's choices, a queryset left lazy), and Django
    would render it only after the view has returned."""
    import functools

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with replica_reads():
            result = function(*args, **kwargs)
            if getattr(result, "is_rendered", True) is False:
                result.render()
            return result

    return wrapper


def begin_request(**kwargs) -> None:
    """request_started: a request has written nothing yet."""
    _wrote.set(False)


def replica_for_read() -> str | None:
    """The replica a read goes to now, or None for the primary: only in work that opted in,
    when this request wrote nothing and no transaction is open on the primary."""
    if not _replica_reads.get() or _wrote.get():
        return None
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return None  # a read inside a write transaction sees that transaction
    return usable_replica()


class ReplicaRouter:
    """Django's database router: writes on the primary; reads of opted-in work on a usable
    replica unless this request wrote or the primary has a transaction open."""

    def db_for_read(self, model, **hints):
        return replica_for_read()

    def db_for_write(self, model, **hints):
        _wrote.set(True)
        instance = hints.get("instance")
        if instance is not None and (instance._state.db or "").startswith(REPLICA_ALIAS_PREFIX):
            return DEFAULT_DB_ALIAS  # a row read from a replica is written to the primary
        return None  # Django's choice: the instance's database (migrate on "direct"), or default

    def allow_relation(self, obj1, obj2, **hints):
        return True  # replicas hold the same rows as the primary

    def allow_migrate(self, db, app_label, **hints):
        return not db.startswith(REPLICA_ALIAS_PREFIX)
