"""SQLite backend, the embedded default: each concern in a module of its own, all sharing one
`connection.Database` (the single writer and the reader); `stores()` composes them."""

from jobledger.eventlog.protocols import Stores
from jobledger.eventlog.sqlite.connection import Database, sqlite_path
from jobledger.eventlog.sqlite.edges import SQLiteGraph
from jobledger.eventlog.sqlite.erasure import SQLiteErasure
from jobledger.eventlog.sqlite.log import SQLiteLog
from jobledger.eventlog.sqlite.projections import SQLiteProjections
from jobledger.eventlog.sqlite.queue import SQLiteQueue
from jobledger.eventlog.sqlite.registry import SQLiteRegistry
from jobledger.eventlog.sqlite.schedules import SQLiteSchedules
from jobledger.eventlog.sqlite.status import SQLiteStatus
from jobledger.eventlog.sqlite.webhooks import SQLiteWebhooks
from jobledger.eventlog.sqlite.tree import SQLiteTree

__all__ = ["Database", "sqlite_path", "stores"]


def stores(db: Database) -> Stores:
    """Every concern's store on `db`. Claims append through the log's writer and tell its listeners."""
    log = SQLiteLog(db)
    return Stores(
        backend="sqlite",
        log=log,
        status=SQLiteStatus(db),
        queue=SQLiteQueue(db, log),
        registry=SQLiteRegistry(db),
        projections=SQLiteProjections(db),
        tree=SQLiteTree(db),
        webhooks=SQLiteWebhooks(db),
        erasure=SQLiteErasure(db),
        schedules=SQLiteSchedules(db, log),
        graph=SQLiteGraph(db),
        closers=(log.close, db.close),  # queued appends first, then the connections
    )
