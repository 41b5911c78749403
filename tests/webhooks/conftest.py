"""A real aiohttp receiver for webhook deliveries, checking each signature with the Standard
Webhooks reference library (standardwebhooks, from PyPI), and a service allowed to send to it."""

import asyncio
import contextlib

import orjson
import pytest
from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.workers.helpers import ok, wait_until

#: the retry schedule of these tests: two short retries, then the endpoint is disabled
SCHEDULE = "0.05,0.1"


class Receiver:
    """Records what arrives at /{name}; answers `status[name]` (200 by default) after `delay[name]` seconds."""

    def __init__(self) -> None:
        self.received: dict[str, list[dict]] = {}
        self.secrets: dict[str, list[str]] = {}  # name -> the secrets each delivery must verify with
        self.status: dict[str, int] = {}
        self.delay: dict[str, float] = {}
        self.released = asyncio.Event()  # ends every delay at once (the test is over)
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        body = await request.read()
        if self.delay.get(name):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.released.wait(), self.delay[name])
        verified = []
        for secret in self.secrets.get(name, []):
            try:
                Webhook(secret).verify(body, dict(request.headers))
                verified.append(secret)
            except WebhookVerificationError:
                pass
        self.received.setdefault(name, []).append({
            "headers": dict(request.headers), "body": body, "verified": verified,
        })
        return web.Response(status=self.status.get(name, 200))

    def bodies(self, name: str) -> list[dict]:
        return [orjson.loads(r["body"]) for r in self.received.get(name, [])]

    def to(self, name: str) -> str:
        return f"{self.url}/{name}"


@pytest.fixture
async def receiver():
    hooks = Receiver()
    app = web.Application()
    app.router.add_post("/{name}", hooks.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    hooks.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    yield hooks
    hooks.released.set()
    await runner.cleanup()


@pytest.fixture
def hook_settings(settings):
    """The service allowed to send to loopback (the receiver), with a short retry schedule."""
    return settings.model_copy(update={
        "webhook_allow_private": "loopback", "webhook_retry_schedule": SCHEDULE, "webhook_timeout": 0.5,
    })


@pytest.fixture
async def hooks_client(serve, hook_settings):
    return await serve(hook_settings)


async def arrived(receiver: Receiver, name: str, count: int, timeout: float = 10) -> list[dict]:
    """The bodies received at /{name}, once there are at least `count`."""

    async def enough():
        await asyncio.sleep(0)
        return len(receiver.received.get(name, [])) >= count

    await wait_until(enough, timeout=timeout)
    return receiver.bodies(name)


async def make_webhook(client, receiver: Receiver, name: str, **body) -> dict:
    """A new endpoint sending to /{name} of the receiver, which checks its deliveries with its secret."""
    made = await ok(await client.post("/webhooks", json={"url": receiver.to(name), **body}), 201)
    receiver.secrets[name] = [made["secret"]]
    return made


async def deliveries(client, webhook: dict) -> list[dict]:
    return (await ok(await client.get(f"/webhooks/{webhook['id']}/deliveries")))["deliveries"]
