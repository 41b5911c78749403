"""Rebuilding job_status beside the live table, then swapping it in: the DDL, and the
fold of the log's pages that both backends share.

The shadow table and its indexes come from the same tables.py definitions (compiled
for each dialect), under temporary names that the swap turns into the real ones.
"""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

from domain import events
from eventlog import codec, tables

SHADOW = "job_status_rebuild"
SUFFIX = "__rebuild"
PAGE = 10_000  # events read from the log at a time


def fold_page(fold, page: list, touched: set | None = None) -> int:
    """Apply rows (position, job id, type, schema version, data as JSON text, recorded time) to
    `fold`, adding their job ids to `touched`; returns the last position. The data of the whole
    page is parsed by one orjson call."""
    data = codec.loads("[" + ",".join([row[4] for row in page]) + "]")
    for (position, stream_id, type_, schema_version, _, at), values in zip(page, data):
        fold.apply(stream_id, position, events.decode(type_, values, schema_version), at)
    if touched is not None:
        touched.update([row[1] for row in page])
    return page[-1][0]


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
