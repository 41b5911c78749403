"""The event log: the append-only source of truth, on SQLite or PostgreSQL."""
