"""The worker protocol over HTTP: what a worker in any language does (see README, Workers)."""

from typing import Any
from urllib.parse import quote

import aiohttp
import orjson

from jobledger.sdk._job import traced
from jobledger.sdk._transport import Claimed, DocumentAnswer, ServiceError, Unavailable, service_error

_JSON = {"Content-Type": "application/json"}
_CALL_TIMEOUT = 30.0  # seconds for one call; a claim adds its long-poll wait
_TIMEOUT = aiohttp.ClientTimeout(total=_CALL_TIMEOUT)


class HttpTransport:
    def __init__(self, url: str, *, worker_id: str, connections: int = 100, api_key: str | None = None):
        self.url = url.rstrip("/")
        self._headers = {**_JSON, "X-Actor": f"worker:{worker_id}"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        connector = aiohttp.TCPConnector(limit=self._connections, ttl_dns_cache=300)
        # A worker's calls carry no cookies and get small JSON answers: no cookie jar to consult
        # and no decompression to set up on every call; one timeout for every call but a claim.
        self._session = aiohttp.ClientSession(
            self.url, connector=connector, headers=self._headers, cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False, timeout=_TIMEOUT,
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _post(
        self, path: str, body: dict[str, Any] | None, timeout: aiohttp.ClientTimeout = _TIMEOUT, method: str = "POST"
    ) -> Any:
        try:
            data = None if body is None else orjson.dumps(body)
        except TypeError as exc:
            raise ServiceError("invalid_request", f"not JSON: {exc}") from None
        try:
            async with self._session.request(method, path, data=data, timeout=timeout, headers=traced()) as resp:
                raw = await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Unavailable("unavailable", f"{type(exc).__name__}: {exc}") from exc
        try:
            answer = orjson.loads(raw)
        except orjson.JSONDecodeError:
            answer = None
        if status < 300 and answer is not None:
            return answer
        error = answer.get("error") if isinstance(answer, dict) else None
        if status >= 500 or not isinstance(error, dict):
            raise Unavailable("unavailable", f"HTTP {status} from {method} {path}")
        raise service_error(error.get("code", "error"), error.get("message", ""), error.get("details"))

    async def _report(self, job_id: str, action: str, token: str, body: dict[str, Any]) -> DocumentAnswer:
        return DocumentAnswer(await self._post(f"/jobs/{job_id}/{action}", {**body, "lease_token": token}))

    async def claim(self, worker_id, types, limit, lease_seconds, wait_seconds, stop) -> list[Claimed]:
        # Not cut short on `stop`: the service may claim jobs for a poll the worker walked away from.
        body = {"worker_id": worker_id, "types": types, "limit": limit, "wait_seconds": wait_seconds}
        if lease_seconds is not None:
            body["lease_seconds"] = lease_seconds
        answer = await self._post("/workers/claim", body, timeout=aiohttp.ClientTimeout(total=wait_seconds + _CALL_TIMEOUT))
        return [Claimed(doc, doc.pop("lease_token"), doc.pop("traceparent", None)) for doc in answer["jobs"]]

    async def heartbeat(self, job_id, token, lease_seconds):
        return await self._report(job_id, "heartbeat", token, {"lease_seconds": lease_seconds})

    async def progress(self, job_id, token, percent, message, details):
        return await self._report(
            job_id, "progress", token, {"percent": percent, "message": message, "details": details}
        )

    async def start_phase(self, job_id, token, phase):
        return await self._report(job_id, _phase(phase, "start"), token, {})

    async def complete_phase(self, job_id, token, phase, result, confidence):
        return await self._report(
            job_id, _phase(phase, "complete"), token, {"result": result, "confidence": confidence}
        )

    async def fail_phase(self, job_id, token, phase, error):
        return await self._report(job_id, _phase(phase, "fail"), token, {"error": error})

    async def add_artifact(self, job_id, token, name, data, content_type):
        body = {"name": name, "content_type": content_type, "data": data}
        return await self._report(job_id, "artifacts", token, body)

    async def complete(self, job_id, token, result):
        return await self._report(job_id, "complete", token, {"result": result})

    async def fail(self, job_id, token, error, retryable):
        return await self._report(job_id, "fail", token, {"error": error, "retryable": retryable})

    async def release(self, job_id, token, reason):
        return await self._report(job_id, "release", token, {"reason": reason})

    async def graph(self, job_id, token):
        return await self._post(f"/jobs/{job_id}/graph", None, method="GET")


def _phase(name: str, action: str) -> str:
    return f"phases/{quote(name, safe='')}/{action}"
