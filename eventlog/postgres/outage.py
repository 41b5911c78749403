"""When PostgreSQL is out of reach: which asyncpg errors mean that, and the timeouts that
keep a request from waiting long for it.

Each such error becomes StoreUnavailable (HTTP 503 with Retry-After): the client tries again.
Nothing here retries by itself, because an append whose connection died may or may not have
committed; the client's retry (Idempotency-Key, If-Match) is what makes it safe. The pool
replaces a lost connection on its next acquire, so the service recovers when the database does.
"""

import contextlib

import asyncpg

from jobledger.domain import errors

CONNECT_TIMEOUT = 5.0  #: seconds to open a connection (an unreachable host would take minutes)
ACQUIRE_TIMEOUT = 10.0  #: seconds a request waits for a pooled connection before answering 503

_LOST = (
    OSError,  # refused, reset, host unreachable
    TimeoutError,  # connecting, or waiting for a pooled connection, took too long
    asyncpg.PostgresConnectionError,  # class 08: the connection does not exist, or failed
    asyncpg.InterfaceError,  # the connection is closed (client side)
    asyncpg.exceptions.InternalClientError,  # a session terminated while idle: "cannot switch to state ..."
    asyncpg.exceptions.OperatorInterventionError,  # class 57: terminated, shutting down, cannot connect now
    asyncpg.exceptions.InsufficientResourcesError,  # class 53: too many connections, disk full
    asyncpg.exceptions.InvalidCatalogNameError,  # the database is not there (dropped, or not yet restored)
)


def unavailable(exc: BaseException) -> errors.StoreUnavailable:
    """The error clients are answered (503, no word of hosts, ports or drivers); its `str()`,
    which the service logs, names what asyncpg said."""
    return errors.StoreUnavailable(cause=f"PostgreSQL: {type(exc).__name__}: {exc}")


@contextlib.contextmanager
def translated():
    """Raise StoreUnavailable for an error that means the database is out of reach."""
    try:
        yield
    except _LOST as exc:
        raise unavailable(exc) from exc


async def connect(*args, **kwargs) -> asyncpg.Connection:
    """asyncpg.connect, bounded in time; a database that refuses connections for now
    (`ALTER DATABASE ... ALLOW_CONNECTIONS false`, SQLSTATE 55000 when connecting) is
    unavailable, not broken."""
    kwargs.setdefault("timeout", CONNECT_TIMEOUT)
    try:
        return await asyncpg.connect(*args, **kwargs)
    except asyncpg.exceptions.ObjectNotInPrerequisiteStateError as exc:
        raise unavailable(exc) from exc
