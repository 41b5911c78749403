"""PostgreSQL backend (asyncpg): each concern in a module of its own, all sharing one
`connection.Database` (pool, DSN, append connections, LISTEN/NOTIFY); `stores()` composes them."""

from jobledger.eventlog.postgres.appends import Appends
from jobledger.eventlog.postgres.connection import Database, asyncpg_dsn
from jobledger.eventlog.postgres.edges import PostgresGraph
from jobledger.eventlog.postgres.erasure import PostgresErasure
from jobledger.eventlog.postgres.log import PostgresLog
from jobledger.eventlog.postgres.projections import PostgresProjections
from jobledger.eventlog.postgres.queue import PostgresQueue
from jobledger.eventlog.postgres.registry import PostgresRegistry
from jobledger.eventlog.postgres.schedules import PostgresSchedules
from jobledger.eventlog.postgres.status import PostgresStatus
from jobledger.eventlog.postgres.webhooks import PostgresWebhooks
from jobledger.eventlog.postgres.tree import PostgresTree
from jobledger.eventlog.protocols import Stores

__all__ = ["Database", "asyncpg_dsn", "open_stores", "stores"]


def stores(db: Database) -> Stores:
    """Every concern's store on `db`. Appends, the log's and the claims', go through one batch writer."""
    appends = Appends(db.wakeups)
    log = PostgresLog(db, appends)
    return Stores(
        backend="postgresql",
        log=log,
        status=PostgresStatus(db),
        queue=PostgresQueue(db, appends),
        registry=PostgresRegistry(db),
        projections=PostgresProjections(db),
        tree=PostgresTree(db),
        webhooks=PostgresWebhooks(db),
        erasure=PostgresErasure(db),
        schedules=PostgresSchedules(db, appends),
        graph=PostgresGraph(db),
        closers=(log.close, db.close),  # queued appends first, then the connections
    )


async def open_stores(url: str, *, min_size: int = 2, max_size: int = 10) -> Stores:
    """The stores of the database at `url` (not migrated here)."""
    return stores(await Database.open(url, min_size=min_size, max_size=max_size))
