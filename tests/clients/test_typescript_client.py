"""The TypeScript client's own tests (clients/typescript/test/*.test.ts, under Node's test runner)
against a real `jobledger serve` with keys required, on each backend: every call, live subscriptions
(each filter, resuming, typed events), waitFor, the worker loop, and a subscription that lives
through restarts of the service (a clean shutdown and a SIGKILL) with nothing missed or repeated.

For the restarts, the node test asks a small HTTP endpoint of this process (JOBLEDGER_RESTART_URL)
to stop and start the service on the same port and database.
"""

import asyncio
import contextlib

import pytest
from aiohttp import web

from tests.clients.conftest import key, report, run, tool
from tests.test_cli import free_port

FILES = ["calls", "live", "worker", "restart"]
TEST_MS = 120_000  # each node test


def node_command(script: str) -> list[str]:
    """node --test, with the WebSocket that Node 20 keeps behind a flag (Node 22+ has it anyway)."""
    node = tool("node")
    major = int(run([node, "--version"]).stdout.strip().lstrip("v").split(".")[0])
    return [node, *(["--experimental-websocket"] if major < 22 else []), "--test", f"--test-timeout={TEST_MS}", script]


@contextlib.asynccontextmanager
async def restarter(service):
    """POST <url>/restart?how=stop (SIGINT: a clean shutdown) or how=kill (SIGKILL), then start it again."""
    async def restart(request: web.Request) -> web.Response:
        await (service.kill() if request.query.get("how") == "kill" else service.stop())
        await service.start()
        return web.Response(text="restarted")

    app = web.Application()
    app.router.add_post("/restart", restart)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/restart"
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("name", FILES)
async def test_typescript_client(name, compiled, service, db_url):
    admin, operator = await asyncio.gather(key(db_url, "admin"), key(db_url, "operator"))
    out = await asyncio.to_thread(compiled)
    async with restarter(service) as restart_url:
        env = {"JOBLEDGER_URL": service.url, "JOBLEDGER_KEY": admin, "JOBLEDGER_OPERATOR_KEY": operator,
               "JOBLEDGER_RESTART_URL": restart_url}
        result = await asyncio.to_thread(run, node_command(str(out / "test" / f"{name}.test.js")), env)
    assert result.returncode == 0, report(f"node --test {name}.test.js", result)
    assert "# skipped 0" in result.stdout and "# todo 0" in result.stdout, result.stdout
