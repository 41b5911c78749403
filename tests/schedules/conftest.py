"""Fixtures for the schedule tests: the service with its clock under the test's control and its
scheduler loop off (`fire_at` runs the scheduler's tick at a given time), and helpers to read
what the fires made."""

from datetime import UTC, datetime

import pytest

from jobledger.web import keys
from tests.service.helpers import ok


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def app(serve, settings):
    """(client, clock): the scheduler fires only when the test calls `tick`."""
    client = await serve(settings.model_copy(update={"scheduler": False}))
    clock = Clock(datetime(2031, 3, 1, 9, 0, tzinfo=UTC))
    client.app[keys.jobs_key].clock = clock
    return client, clock


@pytest.fixture
def tick(app):
    """`await tick(at)`: set the clock to `at` and fire what is due; how many schedules fired."""
    client, clock = app

    async def run(at: datetime) -> int:
        clock.now = at
        return await client.app[keys.scheduler_key].tick()

    return run


async def schedule_events(client, name: str, headers=None) -> list[dict]:
    return (await ok(await client.get(f"/schedules/{name}/events", headers=headers)))["events"]


async def fired(client, name: str) -> dict[str, str]:
    """fire time -> job id, of every ScheduleFired of the schedule."""
    return {e["data"]["fire_at"]: e["data"]["job_id"] for e in await schedule_events(client, name) if e["type"] == "ScheduleFired"}


async def jobs_by_key(client) -> dict[str, dict]:
    """Every job of the tenant, by its idempotency key."""
    listed = await ok(await client.get("/jobs", params={"limit": 500}))
    return {j["idempotency_key"]: j for j in listed["jobs"]}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)
