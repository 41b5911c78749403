"""A real aiohttp receiver for webhook deliveries, checking each signature with the Standard
Webhooks reference library (standardwebhooks, from PyPI), and a service allowed to send to it."""

import asyncio

import pytest
from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

#: the retry schedule of these tests: two short retries, then the endpoint is disabled
SCHEDULE = "0.05,0.1"


class Receiver:
    """Records what arrives at /{name}; answers `status[name]` (200 by default) after `delay[name]` seconds."""

    def __init__(self) -> None:
        self.received: dict[str, list[dict]] = {}
        self.secrets: dict[str, list[str]] = {}  # name -> the secrets each delivery must verify with
        self.status: dict[str, int] = {}
        self.delay: dict[str, float] = {}
        self.arrived = asyncio.Event()
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        body = await request.read()
        await asyncio.sleep(self.delay.get(name, 0))
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
        self.arrived.set()
        return web.Response(status=self.status.get(name, 200))

    def bodies(self, name: str) -> list[dict]:
        import orjson

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
