"""The schema, one definition for both backends; Alembic migrations are built from it."""

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement

metadata = sa.MetaData()
_active = sa.text("status IN ('waiting', 'queued', 'running')")  # what may expire
_queued = sa.text("status = 'queued'")
_running = sa.text("status = 'running'")
_finished = sa.text("status IN ('completed', 'failed', 'cancelled', 'expired')")

_position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite aliases INTEGER PRIMARY KEY to rowid
_time = sa.DateTime(timezone=True).with_variant(sa.Text(), "sqlite")  # ISO 8601 text on SQLite

events = sa.Table(
    "events",
    metadata,
    sa.Column("position", _position, sa.Identity(always=False), primary_key=True),
    sa.Column("stream_id", sa.Uuid(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("type", sa.Text(), nullable=False),
    sa.Column("schema_version", sa.SmallInteger(), nullable=False),
    # json, not jsonb: the stored text is exactly the text the hash chain covers
    sa.Column("data", sa.JSON(), nullable=False),
    sa.Column("metadata", sa.JSON(), nullable=False),
    sa.Column("recorded_at", _time, nullable=False),
    sa.Column("hash", sa.Text(), nullable=False),  # sha256(previous event's hash + this event's digest)
    # PostgreSQL: the id of the transaction that appended it; followers read only events of
    # transactions older than any still running (eventlog/postgres/log.py). SQLite: 0, one writer.
    sa.Column("tx", sa.BigInteger(), nullable=False, server_default="0"),
    # the event's Merkle leaf hash, worked out at append for the tree's builder (migration 0016);
    # NULL where it was written before that or imported: the builder hashes those from the event
    sa.Column("leaf", sa.LargeBinary()),
    sa.UniqueConstraint("stream_id", "version", name="events_stream_version_key"),
    sqlite_autoincrement=True,  # positions are never reused, even after the newest row is deleted
)

job_status = sa.Table(
    "job_status",
    metadata,
    sa.Column("job_id", sa.Uuid(), primary_key=True),
    sa.Column("tenant", sa.Text(), nullable=False),
    sa.Column("type", sa.Text(), nullable=False),
    sa.Column("status", sa.Text(), nullable=False),
    sa.Column("priority", sa.Integer(), nullable=False),
    sa.Column("run_at", _time),
    sa.Column("expires_at", _time, nullable=False),
    sa.Column("lease_expires_at", _time),
    sa.Column("created_at", _time, nullable=False),
    sa.Column("updated_at", _time, nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("created_position", sa.BigInteger(), nullable=False),
    sa.Column("last_position", sa.BigInteger(), nullable=False),
    sa.Column("doc", sa.JSON(), nullable=False),  # json, not jsonb: kept as written, key order too
    # set once the job is terminal: retention's column (see migration 0007); last, as that migration added it
    sa.Column("finished_at", _time),
    sa.Index("job_status_created", "created_position"),
    sa.Index("job_status_status_created", "status", "created_position"),
    sa.Index("job_status_type_created", "type", "created_position"),
    sa.Index("job_status_expiry", "expires_at", postgresql_where=_active, sqlite_where=_active),
    sa.Index("job_status_leases", "lease_expires_at", postgresql_where=_running, sqlite_where=_running),
    sa.Index("job_status_finished", "finished_at", postgresql_where=_finished, sqlite_where=_finished),
)

# When a queued job is due: its run_at where that is later than its creation, else its
# creation (a retry's run_at is its backoff; a run_at in the past does not jump the queue).
# Claims take the highest priority first, then the longest due. Both backends write it the
# same way in the queue indexes and in the claim's queries, so that the indexes are used.
DUE_AT = {
    "postgresql": "greatest(run_at, created_at)",  # greatest ignores a NULL run_at
    "sqlite": "max(coalesce(run_at, created_at), created_at)",  # UTC ISO 8601 text sorts as time
}


class _DueAt(ColumnElement):
    inherit_cache = True
    type = sa.DateTime(timezone=True)


@compiles(_DueAt)
def _due_at(element, compiler, **kw) -> str:
    return DUE_AT[compiler.dialect.name]


# The claim's queue, in the order claims take jobs (highest priority, then longest due, then
# first logged): due jobs lead each priority's part of an index, so a claim reads its `limit`
# due jobs off it and stops at the first job not yet due, however many wait behind. One per
# type (a worker names its types), one across types (a worker that takes any type).
sa.Index(
    "job_status_queue", job_status.c.type, job_status.c.priority.desc(), _DueAt(), job_status.c.created_position,
    postgresql_where=_queued, sqlite_where=_queued,
)
sa.Index(
    "job_status_queue_any", job_status.c.priority.desc(), _DueAt(), job_status.c.created_position,
    postgresql_where=_queued, sqlite_where=_queued,
)

# The metadata index (eventlog/metadata.py, migration 0013): a job's scalar metadata values,
# written by job_status's triggers, read by lists filtered on metadata, newest first.
job_metadata = sa.Table(
    "job_metadata",
    metadata,
    sa.Column("job_id", sa.Uuid(), primary_key=True),
    sa.Column("key", sa.Text(), primary_key=True),
    sa.Column("tenant", sa.Text(), nullable=False),
    sa.Column("value", sa.Text(), nullable=False),
    sa.Column("created_position", sa.BigInteger(), nullable=False),
    sa.Index("job_metadata_lookup", "tenant", "key", "value", "created_position"),
)

# Each tenant has its own job types, as it has its own jobs (migration 0011): the read model of
# the types' own streams, written by a trigger on events (migration 0014, eventlog/type_rows.py).
job_types = sa.Table(
    "job_types",
    metadata,
    sa.Column("tenant", sa.Text(), primary_key=True),
    sa.Column("name", sa.Text(), primary_key=True),
    sa.Column("config", sa.JSON(), nullable=False),
    sa.Column("updated_at", _time, nullable=False),
    sa.Column("paused", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("paused_reason", sa.Text(), nullable=True),
    sa.Column("version", sa.Integer(), nullable=False, server_default="0"),  # the type's stream version
)

# Jobs and their parents (migration 0017, domain/dependencies.py): the read model of the `depends_on`
# of JobCreated events, written by a trigger on events (eventlog/edge_rows.py); a parent's children by key.
job_edges = sa.Table(
    "job_edges",
    metadata,
    sa.Column("parent", sa.Uuid(), primary_key=True),
    sa.Column("child", sa.Uuid(), primary_key=True),
    sa.Column("on_failure", sa.Text(), nullable=False),  # "cancel" or "run"
    sa.Index("job_edges_child", "child"),
)

# API keys: only a hash of each key is kept; `types` (a JSON list) narrows what the key may touch.
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_id", sa.Text(), primary_key=True),
    sa.Column("key_hash", sa.Text(), nullable=False),
    sa.Column("role", sa.Text(), nullable=False),
    sa.Column("tenant", sa.Text(), nullable=False),
    sa.Column("types", sa.JSON(), nullable=True),
    sa.Column("name", sa.Text(), nullable=True),
    sa.Column("created_at", _time, nullable=False),
    sa.Column("revoked_at", _time, nullable=True),
    sa.UniqueConstraint("key_hash", name="api_keys_key_hash_key"),
)

# Asynchronous projections: documents per (projection, generation, key), and where each
# generation has read the log up to. A rebuild fills a new generation beside the live
# one, then makes it the active one in one transaction.
projection_rows = sa.Table(
    "projection_rows",
    metadata,
    sa.Column("projection", sa.Text(), primary_key=True),
    sa.Column("generation", sa.Integer(), primary_key=True),
    sa.Column("key", sa.Text(), primary_key=True),
    sa.Column("doc", sa.JSON(), nullable=False),
)

projection_checkpoints = sa.Table(
    "projection_checkpoints",
    metadata,
    sa.Column("projection", sa.Text(), primary_key=True),
    sa.Column("generation", sa.Integer(), primary_key=True),
    sa.Column("position", sa.BigInteger(), nullable=False),
    sa.Column("active", sa.Boolean(), nullable=False),
    sa.Column("updated_at", _time, nullable=False),
)

# Erased jobs' events (migration 0015, domain/erasure.py): their data was replaced; what their bytes
# were is kept as commitments, so their chain and the Merkle tree still verify.
erased_events = sa.Table(
    "erased_events",
    metadata,
    sa.Column("position", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("stream_id", sa.Uuid(), nullable=False),
    sa.Column("digest", sa.LargeBinary(), nullable=False),  # sha256 of the canonical bytes as they were
    sa.Column("leaf", sa.LargeBinary(), nullable=False),  # the leaf hash of those bytes
)

# The log's Merkle tree (migration 0012, docs/auditing.md): each settled event is a leaf, in
# position order, with its leaf hash; positions may have gaps, leaf indexes have none. Nodes are
# the hashes of the complete subtrees of 64 leaves and up (merkle.STORED_LEVEL), (level, index) as
# eventlog/merkle.py names them: a proof at any size reads a few of them by primary key, and one
# block of at most 64 leaf hashes for the levels below. Checkpoints are keyed by size, so two
# instances can never store two roots for one size.
_hash = sa.LargeBinary()

# Leaves in blocks of 64 (migration 0016, merkle.BLOCK): per block its first leaf's position
# and each leaf's position, job id and hash, concatenated (merkle.pack_leaves).
merkle_leaves = sa.Table(
    "merkle_leaves",
    metadata,
    sa.Column("block", sa.BigInteger(), primary_key=True, autoincrement=False),  # leaf index // 64
    sa.Column("first_position", sa.BigInteger(), nullable=False),
    sa.Column("positions", _hash, nullable=False),
    sa.Column("job_ids", _hash, nullable=False),
    sa.Column("hashes", _hash, nullable=False),
    sa.UniqueConstraint("first_position", name="merkle_leaves_first_position_key"),
)

merkle_nodes = sa.Table(
    "merkle_nodes",
    metadata,
    sa.Column("level", sa.SmallInteger(), primary_key=True, autoincrement=False),
    sa.Column("idx", sa.BigInteger(), primary_key=True, autoincrement=False),  # the node's index in its level
    sa.Column("hash", _hash, nullable=False),
)

merkle_checkpoints = sa.Table(
    "merkle_checkpoints",
    metadata,
    sa.Column("tree_size", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("root_hash", _hash, nullable=False),
    sa.Column("note", sa.Text(), nullable=False),
    sa.Column("issued_at", _time, nullable=False),
)

# Each tenant's schedules (domain/schedule.py, migration 0018): the read model of the schedules'
# streams, written by a trigger on the log's inserts (eventlog/schedule_rows.py). `next_fire_at` is
# the first fire time still to handle; `last_fires` the latest fires and skips, oldest first.
_active_schedule = sa.text("status = 'active'")
schedules = sa.Table(
    "schedules",
    metadata,
    sa.Column("tenant", sa.Text(), primary_key=True),
    sa.Column("name", sa.Text(), primary_key=True),
    sa.Column("stream_id", sa.Uuid(), nullable=False),
    sa.Column("status", sa.Text(), nullable=False),
    sa.Column("config", sa.JSON(), nullable=False),
    sa.Column("paused_reason", sa.Text()),
    sa.Column("next_fire_at", _time),
    sa.Column("generation", sa.Integer(), nullable=False),  # the version of its last ScheduleCreated
    sa.Column("last_job_id", sa.Uuid()),
    sa.Column("last_fires", sa.JSON(), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),  # the schedule's stream version
    sa.Column("created_at", _time, nullable=False),
    sa.Column("updated_at", _time, nullable=False),
    sa.Index("schedules_due", "next_fire_at", postgresql_where=_active_schedule, sqlite_where=_active_schedule),
)

# Webhook endpoints (migration 0019, domain/webhook.py): the read model of their streams, written
# by a trigger on events (eventlog/webhook_rows.py). Secrets are kept apart, in webhook_secrets,
# never in an event: the log is exported and bundled, this table is not.
webhooks = sa.Table(
    "webhooks",
    metadata,
    sa.Column("webhook_id", sa.Text(), primary_key=True),
    sa.Column("tenant", sa.Text(), nullable=False),
    sa.Column("url", sa.Text(), nullable=False),
    sa.Column("event_types", sa.JSON(), nullable=True),  # a JSON list, or null: every job event
    sa.Column("job_types", sa.JSON(), nullable=True),
    sa.Column("description", sa.Text(), nullable=True),
    sa.Column("status", sa.Text(), nullable=False),
    sa.Column("disabled_reason", sa.Text(), nullable=True),
    sa.Column("secret_id", sa.Text(), nullable=False),
    sa.Column("previous_secret_id", sa.Text(), nullable=True),
    sa.Column("previous_expires_at", sa.Text(), nullable=True),  # ISO 8601, as the event holds it
    sa.Column("created_position", sa.BigInteger(), nullable=False),  # deliveries are of later events
    sa.Column("created_at", _time, nullable=False),
    sa.Column("updated_at", _time, nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Index("webhooks_tenant", "tenant", "created_position"),
)

webhook_secrets = sa.Table(
    "webhook_secrets",
    metadata,
    sa.Column("webhook_id", sa.Text(), primary_key=True),
    sa.Column("secret_id", sa.Text(), primary_key=True),
    sa.Column("secret", sa.Text(), nullable=False),
    sa.Column("created_at", _time, nullable=False),
)

# One row per (endpoint, event) to send; `state` pending until delivered, or failed once its
# retries ran out. A sender leases a row (leased_until) while it sends it: one instance each.
webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("delivery_id", sa.Text(), primary_key=True),
    sa.Column("webhook_id", sa.Text(), nullable=False),
    sa.Column("job_id", sa.Uuid(), nullable=False),
    sa.Column("position", sa.BigInteger(), nullable=False),
    sa.Column("event_type", sa.Text(), nullable=False),
    sa.Column("body", sa.Text(), nullable=False),  # the JSON sent, signed as it is
    sa.Column("state", sa.Text(), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("schedule_from", sa.Integer(), nullable=False),  # attempts made when its retries last began (a resend)
    sa.Column("next_attempt_at", _time, nullable=False),
    sa.Column("leased_until", _time, nullable=True),
    sa.Column("created_at", _time, nullable=False),
    sa.Column("delivered_at", _time, nullable=True),
    sa.UniqueConstraint("webhook_id", "position", name="webhook_deliveries_webhook_position_key"),
    sa.Index("webhook_deliveries_due", "state", "next_attempt_at"),
    sa.Index("webhook_deliveries_job", "webhook_id", "job_id", "position"),
    sa.Index("webhook_deliveries_of_job", "job_id"),  # a purge rewrites a job's bodies
)

webhook_attempts = sa.Table(
    "webhook_attempts",
    metadata,
    sa.Column("delivery_id", sa.Text(), primary_key=True),
    sa.Column("attempt", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("attempted_at", _time, nullable=False),
    sa.Column("status_code", sa.Integer(), nullable=True),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("duration_ms", sa.Float(), nullable=False),
)

# Where the dispatcher has read the log up to: moved in the transaction that writes the deliveries.
webhook_checkpoint = sa.Table(
    "webhook_checkpoint",
    metadata,
    sa.Column("name", sa.Text(), primary_key=True),
    sa.Column("position", sa.BigInteger(), nullable=False),
)
