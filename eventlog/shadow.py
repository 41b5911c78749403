"""Rebuilding job_status beside the live table, then swapping it in: the DDL, and the
fold of the log's pages that both backends share.

The shadow table and its indexes come from the same tables.py definitions (compiled
for each dialect), under temporary names that the swap turns into the real ones.
"""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

from jobledger.domain import events
from jobledger.eventlog import codec, tables

SHADOW = "job_status_rebuild"
SUFFIX = "__rebuild"
PAGE = 10_000  # events read from the log at a time


# The columns of the log a fold reads, in the order both backends select them (fold_select).
# fold_page reads them at these names' indexes: it is a rebuild's hottest loop, and a lookup
# by key costs twice as much on an asyncpg Record (a tenth of the fold).
FOLD_COLUMNS = ("position", "stream_id", "type", "schema_version", "data", "recorded_at")
_POSITION, _STREAM_ID, _TYPE, _SCHEMA_VERSION, _DATA, _RECORDED_AT = map(
    FOLD_COLUMNS.index, ("position", "stream_id", "type", "schema_version", "data", "recorded_at")
)


def fold_select(data: str = "data") -> str:
    """The SELECT list of FOLD_COLUMNS, with `data` as the backend reads it as JSON text."""
    return ", ".join(data if column == "data" else column for column in FOLD_COLUMNS)


def fold_page(fold, page: list, touched: set | None = None, *, job_id=None, time=None) -> int:
    """Apply rows of FOLD_COLUMNS (data as JSON text) to `fold`, adding their job ids to `touched`;
    returns the last position. `job_id` and `time` parse those columns where a backend stores
    them as text. The data of the whole page is parsed by one orjson call."""
    data = codec.loads("[" + ",".join([row[_DATA] for row in page]) + "]")
    ids = [row[_STREAM_ID] for row in page] if job_id is None else [job_id(row[_STREAM_ID]) for row in page]
    times = [row[_RECORDED_AT] for row in page] if time is None else [time(row[_RECORDED_AT]) for row in page]
    for row, stream_id, at, values in zip(page, ids, times, data):
        fold.apply(stream_id, row[_POSITION], events.decode(row[_TYPE], values, row[_SCHEMA_VERSION]), at)
    if touched is not None:
        touched.update(ids)
    return page[-1][_POSITION]


def _shadow_table() -> sa.Table:
    table = tables.job_status.to_metadata(sa.MetaData(), name=SHADOW)
    for index in table.indexes:
        index.name = index.name + SUFFIX
    return table


def create_table(dialect: str) -> str:
    return str(CreateTable(_shadow_table()).compile(dialect=_dialect(dialect)))


def create_indexes(dialect: str, final_names: bool = False, table_name: str = SHADOW) -> list[str]:
    """CREATE INDEX statements for the shadow (or, with final_names, for the swapped-in table)."""
    table = _shadow_table() if not final_names else tables.job_status.to_metadata(sa.MetaData(), name=table_name)
    return [str(CreateIndex(index).compile(dialect=_dialect(dialect))) for index in table.indexes]


def index_names() -> list[str]:
    return [index.name for index in tables.job_status.indexes]


def _dialect(name: str):
    return postgresql.dialect() if name == "postgresql" else sqlite.dialect()
