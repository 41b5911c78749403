"""The bodies of the bulk actions (`POST /jobs/cancel`, `/jobs/retry`, `/jobs/purge`, application/bulk.py):
the list's filters as JSON, each action's narrowed to the statuses it applies to."""

from typing import Literal

from pydantic import Field

from jobledger.application.bodies import Body, Name
from jobledger.application.json_types import MetadataFilter, UtcTime, text
from jobledger.domain.status import Status


class BulkFilter(Body):
    """Which jobs a bulk action takes: the filters of GET /jobs, as JSON (the status: one the action applies to)."""

    status: Status | None = None
    type: Name | None = None
    metadata: MetadataFilter = Field(default_factory=dict)
    created_after: UtcTime | None = None
    created_before: UtcTime | None = None


class CancelFilter(BulkFilter):
    status: Literal[Status.WAITING, Status.QUEUED, Status.RUNNING] | None = Field(
        None, description="waiting, queued or running: what cancel takes"
    )


class RetryFilter(BulkFilter):
    status: Literal[Status.FAILED, Status.EXPIRED] | None = Field(None, description="failed or expired: what retry takes")


class PurgeFilter(BulkFilter):
    status: Literal[Status.COMPLETED, Status.FAILED, Status.CANCELLED, Status.EXPIRED] | None = Field(
        None, description="a finished status: what purge takes"
    )


class BulkBody(Body):
    filter: BulkFilter = Field(default_factory=BulkFilter)
    dry_run: bool = Field(False, description="count the jobs it would act on, and act on none")
    as_of: UtcTime | None = Field(
        None, description="act only on jobs that were already selected at this time (default: now); the answer "
        "gives it: send the same request with it again to resume after a crash, and no job is acted on twice",
    )
    reason: text(10_000) | None = None


class CancelManyBody(BulkBody):
    filter: CancelFilter = Field(default_factory=CancelFilter)


class RetryManyBody(BulkBody):
    filter: RetryFilter = Field(default_factory=RetryFilter)


class PurgeManyBody(BulkBody):
    filter: PurgeFilter = Field(default_factory=PurgeFilter)
