"""Schema evolution: stored events of an older schema version, brought to the current shape at read time.

The log is never rewritten; each upcaster turns version n of an event's data into
version n + 1, and `upcast` applies them until the current version.
"""

import hashlib
from collections.abc import Callable
from typing import Any

Data = dict[str, Any]


def _job_created_v1(data: Data) -> Data:
    """v1 had no retry policy: jobs retried with the defaults of the time."""
    return {**data, "retry_base_seconds": 1.0, "retry_max_seconds": 300.0}


def _job_created_v2(data: Data) -> Data:
    """v2 had no user: every job was created with an API key, which sees its whole tenant."""
    return {**data, "user": None}


def _job_created_v3(data: Data) -> Data:
    """v3 had no message: a job was created with no progress to show."""
    return {**data, "message": None}


def _job_started_v1(data: Data) -> Data:
    """v1 stored the lease token itself; v2 keeps only its SHA-256."""
    token = data.get("lease_token")
    upgraded = {k: v for k, v in data.items() if k != "lease_token"}
    upgraded["lease_token_hash"] = hashlib.sha256(token.encode()).hexdigest() if token else None
    return upgraded


UPCASTERS: dict[tuple[str, int], Callable[[Data], Data]] = {
    ("JobCreated", 1): _job_created_v1,
    ("JobCreated", 2): _job_created_v2,
    ("JobCreated", 3): _job_created_v3,
    ("JobStarted", 1): _job_started_v1,
}


def upcast(type_name: str, schema_version: int, data: Data) -> Data:
    """`data` of a stored `type_name` event at `schema_version`, in the current shape."""
    while (type_name, schema_version) in UPCASTERS:
        data = UPCASTERS[(type_name, schema_version)](data)
        schema_version += 1
    return data
