"""A clock the test sets, and a job type's history of known queue waits and run times, made
through the HTTP API (the estimate tests: tests/service/test_estimates.py, tests/ui/test_estimate.py)."""

from datetime import UTC, datetime, timedelta

from tests.service.helpers import ok, wait_until

T0 = datetime(2031, 3, 1, 9, 0, tzinfo=UTC)
WAITS = [8, 10, 12, 10, 30]  # seconds from create to start: median 10 (mean 14)
RUNS = [50, 60, 70, 60, 100]  # seconds from start to complete: median 60 (mean 68)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def at(self, seconds: float) -> None:
        self.now = T0 + timedelta(seconds=seconds)


async def history(client, clock, job_type: str, count: int, start: float = 0, headers=None) -> float:
    """`count` jobs of `job_type`, each waiting WAITS[i] and running RUNS[i], one after another
    from `start`; returns when the last one finished."""
    at = start
    for i in range(count):
        clock.at(at)
        job = await ok(await client.post("/jobs", json={"type": job_type}, headers=headers), 201)
        clock.at(at := at + WAITS[i])
        await ok(await client.post(f"/jobs/{job['id']}/start", headers=headers))
        clock.at(at := at + RUNS[i])
        done = await ok(await client.post(f"/jobs/{job['id']}/complete", headers=headers))
        assert done["estimate"] is None  # a finished job has none
    return at


async def caught_up(client, headers=None) -> None:
    """Wait until the stats projection has read the whole log."""

    async def lag_is_zero():
        return (await ok(await client.get("/stats", headers=headers)))["projection"]["lag"] == 0

    await wait_until(lag_is_zero)
