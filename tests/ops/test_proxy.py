"""The compose proxy's nginx configuration, run by a real nginx in front of a real
`jobledger serve`: plain requests, request ids, WebSocket upgrades and large bodies pass.

Only what Docker provides is replaced: the upstream's name (Docker's DNS) becomes the
service's address, and the port and log paths become the test's.
"""

import asyncio
import shutil
import subprocess
from pathlib import Path

import aiohttp
import orjson
import pytest

from tests.live.processes import Service
from tests.test_cli import free_port

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "deploy" / "nginx.conf"


def _rendered(service_url: str, port: int, logs: Path) -> str:
    text = CONF.read_text()
    replaced = {
        "set $jobledger http://jobledger:8080;": f"set $jobledger {service_url};",
        "listen 8080;": f"listen 127.0.0.1:{port};",
        "access_log /dev/stdout json;": f"access_log {logs}/access.log json;",
    }
    for old, new in replaced.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


@pytest.fixture
async def proxy(pg_url, tmp_path):
    """nginx with the compose configuration in front of one service process; yields its URL."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    service = await Service(pg_url, tmp_path).start()
    try:  # the service is stopped however nginx fares (a missing nginx left it running, on a dropped database)
        port = free_port()
        (tmp_path / "nginx.conf").write_text(_rendered(service.url, port, tmp_path))
        command = [nginx, "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path), "-e", str(tmp_path / "error.log")]
        subprocess.run([*command, "-t"], check=True, capture_output=True, timeout=30)
        process = await asyncio.create_subprocess_exec(*command, "-g", "daemon off; user root;")
        try:
            await _answering(f"http://127.0.0.1:{port}/health", process)
            yield f"http://127.0.0.1:{port}", tmp_path / "access.log"
        finally:
            process.terminate()
            await asyncio.wait_for(process.wait(), 30)
    finally:
        await service.stop()


async def _answering(url: str, process) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            assert process.returncode is None, "nginx exited"
            try:
                async with session.get(url) as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError("nginx never answered")


async def test_requests_request_ids_and_websockets_pass_the_proxy(proxy):
    url, access_log = proxy
    async with aiohttp.ClientSession() as session:
        headers = {"X-Request-Id": "through-nginx"}
        async with session.post(f"{url}/jobs", json={"type": "echo"}, headers=headers) as resp:
            assert resp.status == 201 and resp.headers["X-Request-Id"] == "through-nginx"
            job = await resp.json()
        async with session.get(f"{url}/jobs/{job['id']}/events") as resp:
            assert (await resp.json())["events"][0]["metadata"]["request_id"] == "through-nginx"
        async with session.get(f"{url}/jobs/{job['id']}") as resp:
            proxy_id = resp.headers["X-Request-Id"]  # nginx's own id: the service kept it

        ws = await session.ws_connect(f"{url}/jobs/{job['id']}/ws")
        assert orjson.loads((await ws.receive(timeout=15)).data)["type"] == "job"
        async with session.post(f"{url}/jobs/{job['id']}/start") as resp:
            assert resp.status == 200
        event = orjson.loads((await ws.receive(timeout=15)).data)
        assert (event["type"], event["event"]) == ("event", "JobStarted")
        await ws.close()

    for _ in range(300):  # nginx logs a proxied WebSocket when its connection ends
        logged = [orjson.loads(line) for line in access_log.read_text().splitlines()]
        if any(line["status"] == 101 and line["uri"].endswith("/ws") for line in logged):
            break
        await asyncio.sleep(0.05)
    assert any(line["status"] == 101 and line["uri"].endswith("/ws") for line in logged)
    assert {"through-nginx", proxy_id} <= {line["request_id"] for line in logged}


async def test_a_body_over_the_service_limit_gets_the_service_json_413(proxy):
    url, _ = proxy
    async with aiohttp.ClientSession() as session:
        body = b'{"type": "echo", "payload": "' + b"x" * (1024 * 1024) + b'"}'
        async with session.post(f"{url}/jobs", data=body, headers={"Content-Type": "application/json"}) as resp:
            assert resp.status == 413
            assert (await resp.json())["error"]["code"] == "payload_too_large"
