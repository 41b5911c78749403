"""An application's client of the HTTP API: create jobs, read them, act on them, wait for them.

    async with jobledger.Client("http://127.0.0.1:8080", api_key=key) as jobs:
        job = await jobs.create("report", {"pages": 3}, metadata={"user_id": "42"})
        done = await jobs.wait_for(job["id"], timeout=60)

    with jobledger.SyncClient("http://127.0.0.1:8080") as jobs:   # the same calls, blocking
        for job in jobs.list(status="failed"):
            jobs.retry(job["id"])

Answers are the service's JSON documents (README, HTTP API). A refusal raises `Refused` with the
service's `code`, `message`, HTTP `status` and `details`: `job_not_found`, `invalid_request`
(`details.fields`), `illegal_transition`, `unauthorized`, ... `wait_for` and `subscribe` are
the live client's (jobledger.client), over the WebSockets.
"""

from __future__ import annotations  # `list` is a method here: annotations stay text

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

import aiohttp
import orjson

from jobledger.sdk import client as live
from jobledger.sdk.client import Refused

_JSON = {"Content-Type": "application/json"}


class Client:
    """The HTTP API for an application (async). One connection pool; close it, or use `async with`."""

    def __init__(self, url: str, *, api_key: str | None = None, timeout: float = 30.0):
        self.url = url.rstrip("/")
        self.api_key = api_key
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *_) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def create(self, type: str, payload: Any = None, *, idempotency_key: str | None = None, **fields: Any) -> dict:
        """A new job (`fields`: metadata, phases, priority, max_attempts, run_at, expires_in, message, ...);
        with `idempotency_key`, sending the same job again answers the first one."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return await self._call("POST", "/jobs", _body(type=type, payload=payload, **fields), headers)

    async def create_batch(self, jobs: list[dict[str, Any]]) -> list[dict]:
        """Up to 100 jobs (POST /jobs's bodies, each with an optional idempotency_key), all or none."""
        return (await self._call("POST", "/jobs/batch", {"jobs": jobs}))["jobs"]

    async def get(self, job_id: UUID | str) -> dict:
        return await self._call("GET", f"/jobs/{job_id}")

    async def list(
        self, *, status: str | None = None, type: str | None = None, metadata: dict[str, str] | None = None,
        created_after: datetime | str | None = None, created_before: datetime | str | None = None, page: int = 100,
    ) -> AsyncIterator[dict]:
        """Every matching job, newest first, a page of `page` at a time (the cursor is followed):
        `metadata` values must all be held by a job's metadata (GET /jobs?metadata.<key>=)."""
        times = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in
                 (("created_after", created_after), ("created_before", created_before))}  # fmt: skip
        query = _body(status=status, type=type, limit=page, **times)
        query.update({f"metadata.{key}": value for key, value in (metadata or {}).items()})
        while True:
            answer = await self._call("GET", "/jobs", params=query)
            for job in answer["jobs"]:
                yield job
            if answer["next_cursor"] is None:
                return
            query["cursor"] = answer["next_cursor"]

    async def cancel(self, job_id: UUID | str, reason: str | None = None) -> dict:
        return await self._call("POST", f"/jobs/{job_id}/cancel", _body(reason=reason))

    async def retry(self, job_id: UUID | str, reason: str | None = None) -> dict:
        """Queue a failed or expired job again, keeping its history."""
        return await self._call("POST", f"/jobs/{job_id}/retry", _body(reason=reason))

    async def events(self, job_id: UUID | str) -> list[dict]:
        """The job's events, versions 1..n."""
        return (await self._call("GET", f"/jobs/{job_id}/events"))["events"]

    async def wait_for(self, job_id: UUID | str, *, timeout: float | None = None) -> dict:
        """The job's final document (completed, failed, cancelled or expired), over its WebSocket;
        TimeoutError after `timeout` seconds."""
        return await live.wait_for(self.url, job_id, timeout=timeout, session=self._open(), api_key=self.api_key)

    async def create_and_wait(self, type: str, payload: Any = None, *, timeout: float | None = None, **fields: Any) -> dict:
        """create(), then wait_for() its final document."""
        job = await self.create(type, payload, **fields)
        return await self.wait_for(job["id"], timeout=timeout)

    def subscribe(self, **options: Any) -> AsyncIterator[live.Event]:
        """jobledger.client.subscribe (jobs=, job_types=, metadata=, all=, after=) with this client's URL and key."""
        return live.subscribe(self.url, session=self._open(), api_key=self.api_key, **options)

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
            self._session = aiohttp.ClientSession(headers=headers, timeout=self._timeout)
        return self._session

    async def _call(self, method: str, path: str, body: dict | None = None, headers: dict | None = None,
                    params: dict | None = None) -> Any:
        data = None if body is None else orjson.dumps(body)
        headers = {**(_JSON if data is not None else {}), **(headers or {})}
        async with self._open().request(method, self.url + path, data=data, headers=headers, params=params) as resp:
            raw = await resp.read()
        try:
            answer = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:  # not the service's answer: a proxy's error page, say
            answer = None
        if resp.status >= 400 or answer is None:
            raise _refused(resp.status, answer)
        return answer


def _body(**fields: Any) -> dict[str, Any]:
    """The fields that were given (None: left to the service's default)."""
    return {name: value for name, value in fields.items() if value is not None}


def _refused(status: int, answer: Any) -> Refused:
    error = answer.get("error") if isinstance(answer, dict) else None
    if isinstance(error, dict) and "code" in error:
        return Refused.from_error(error, status)
    return Refused(f"http_{status}", f"the service answered {status} without a jobledger error body", status)


class SyncClient:
    """Client's calls, blocking: for scripts and synchronous back ends. Not for use inside a running event loop."""

    def __init__(self, url: str, *, api_key: str | None = None, timeout: float = 30.0):
        self._runner = asyncio.Runner()
        self._client = Client(url, api_key=api_key, timeout=timeout)

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *_) -> None:
        self.close()

    def close(self) -> None:
        self._runner.run(self._client.close())
        self._runner.close()

    def create(self, type: str, payload: Any = None, **fields: Any) -> dict:
        return self._runner.run(self._client.create(type, payload, **fields))

    def create_batch(self, jobs: list[dict[str, Any]]) -> list[dict]:
        return self._runner.run(self._client.create_batch(jobs))

    def get(self, job_id: UUID | str) -> dict:
        return self._runner.run(self._client.get(job_id))

    def list(self, **query: Any) -> Iterator[dict]:
        pages = self._client.list(**query)
        try:
            while True:
                try:
                    yield self._runner.run(anext(pages))
                except StopAsyncIteration:
                    return
        finally:
            self._runner.run(pages.aclose())

    def cancel(self, job_id: UUID | str, reason: str | None = None) -> dict:
        return self._runner.run(self._client.cancel(job_id, reason))

    def retry(self, job_id: UUID | str, reason: str | None = None) -> dict:
        return self._runner.run(self._client.retry(job_id, reason))

    def events(self, job_id: UUID | str) -> list[dict]:
        return self._runner.run(self._client.events(job_id))

    def wait_for(self, job_id: UUID | str, *, timeout: float | None = None) -> dict:
        return self._runner.run(self._client.wait_for(job_id, timeout=timeout))

    def create_and_wait(self, type: str, payload: Any = None, *, timeout: float | None = None, **fields: Any) -> dict:
        return self._runner.run(self._client.create_and_wait(type, payload, timeout=timeout, **fields))
