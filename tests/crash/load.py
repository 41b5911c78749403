"""A load of creates, claims, reports and completions over HTTP that records what the
service acknowledged, so a test can prove afterwards that none of it was lost."""

import asyncio
import uuid
from collections import Counter
from dataclasses import dataclass

import aiohttp

JOB_TYPE = "crash"
LEASE_SECONDS = 3
CREATE_BODY = {"type": JOB_TYPE, "max_attempts": 5, "retry_base_seconds": 0.1, "retry_max_seconds": 0.5}
GONE = (aiohttp.ClientError, TimeoutError)  # the service went away mid-request: the answer is unknown
RUNNING_EVENTS = {"JobStarted", "ProgressReported", "LeaseExtended"}


@dataclass(frozen=True, slots=True)
class Ack:
    """A 2xx answer: the job was at `version`, and its last event was an `event`."""

    job_id: str
    version: int
    event: str


class Load:
    """Clients of one service. A 503 must carry Retry-After, and is retried after it: a create
    with the same Idempotency-Key, a claim as it was; a worker lets go of a job instead."""

    def __init__(self, session: aiohttp.ClientSession, url: str):
        self.session, self.url = session, url
        self.acks: list[Ack] = []
        self.keys: dict[str, str | None] = {}  # Idempotency-Key -> job id; None while the answer is unknown
        self.in_flight: Counter[str] = Counter()  # job id -> requests sent and never answered
        self.statuses: Counter[int] = Counter()
        self.holding: set[str] = set()  # jobs a worker holds (heartbeating) without finishing them
        self.gone = 0  # tasks that lost the service mid-request
        self.stop = asyncio.Event()

    async def send(self, method: str, path: str, job_id: str = "", **kwargs) -> tuple[int, dict]:
        self.in_flight[job_id] += 1
        async with self.session.request(method, self.url + path, **kwargs) as resp:
            body = await resp.json()
        self.in_flight[job_id] -= 1
        self.statuses[resp.status] += 1
        if resp.status == 503:
            assert body["error"]["code"] == "store_unavailable", body
            await asyncio.sleep(float(resp.headers["Retry-After"]))
        return resp.status, body

    def unanswered(self) -> set[str]:
        return {job_id for job_id, count in self.in_flight.items() if count and job_id}

    def last_acks(self) -> dict[str, Ack]:
        """Each job's newest acknowledged state."""
        last: dict[str, Ack] = {}
        for ack in self.acks:
            if ack.job_id not in last or ack.version > last[ack.job_id].version:
                last[ack.job_id] = ack
        return last

    async def until_gone(self, coro) -> None:
        """Run one client until it is stopped or the service goes away."""
        try:
            await coro
        except GONE:
            self.gone += 1

    async def creator(self, pause: float = 0.0) -> None:
        while not self.stop.is_set():
            await self.create(uuid.uuid4().hex)
            await asyncio.sleep(pause)

    async def create(self, key: str) -> str:
        """Create (or replay) the job of `key` until acknowledged; its id."""
        self.keys[key] = None
        while True:
            status, job = await self.send("POST", "/jobs", json=CREATE_BODY, headers={"Idempotency-Key": key})
            if status != 503:
                break
        assert status in (200, 201), job
        self.keys[key] = job["id"]
        self.acks.append(Ack(job["id"], 1, "JobCreated"))
        return job["id"]

    async def claim(self, worker_id: str, limit: int) -> list[dict]:
        body = {"worker_id": worker_id, "types": [JOB_TYPE], "limit": limit, "lease_seconds": LEASE_SECONDS, "wait_seconds": 1}
        status, answer = await self.send("POST", "/workers/claim", json=body)
        if status == 503:
            return []
        assert status == 200, answer
        for job in answer["jobs"]:
            self.acks.append(Ack(job["id"], job["version"], "JobStarted"))
        return answer["jobs"]

    async def worker(self, worker_id: str) -> None:
        while not self.stop.is_set():
            for job in await self.claim(worker_id, limit=2):
                steps = [("progress", {"percent": 50}), ("progress", {"percent": 90}), ("complete", {"result": worker_id})]
                await self.steps(job, steps)

    async def holder(self, worker_id: str) -> None:
        """A worker busy with one long job: it reports once, then only heartbeats."""
        while not (jobs := await self.claim(worker_id, limit=1)):
            pass
        job = jobs[0]
        if await self.steps(job, [("progress", {"percent": 10})]):
            self.holding.add(job["id"])
            while await self.steps(job, [("heartbeat", {"lease_seconds": LEASE_SECONDS})]):
                await asyncio.sleep(0.5)

    async def steps(self, job: dict, steps: list[tuple[str, dict]]) -> bool:
        """Report on a claimed job; False if it had to let go (lease lost, or the store out of reach)."""
        for action, body in steps:
            status, answer = await self.send(
                "POST", f"/jobs/{job['id']}/{action}", job["id"], json={**body, "lease_token": job["lease_token"]}
            )
            if status != 200:
                assert status in (409, 503), answer  # a lease that ran out under load; the sweeper takes the job back
                return False
            self.acks.append(Ack(job["id"], answer["version"], _EVENTS[action]))
        return True


_EVENTS = {"progress": "ProgressReported", "complete": "JobCompleted", "heartbeat": "LeaseExtended"}
