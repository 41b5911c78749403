"""`jobledger serve --loop uvloop`: served on uvloop where it is installed, else refused by name."""

import asyncio
import importlib.util
import subprocess

from tests.test_cli import CLI, free_port, wait_healthy


async def test_serve_on_uvloop_or_say_what_is_missing(tmp_path):
    command = [*CLI, "serve", "--db", "sqlite:///:memory:", "--port", str(free_port()), "--loop", "uvloop"]
    if importlib.util.find_spec("uvloop") is None:
        refused = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert refused.returncode == 2 and "pip install uvloop" in refused.stderr
        return
    process = await asyncio.create_subprocess_exec(*command, cwd=tmp_path, stdout=asyncio.subprocess.DEVNULL)
    try:
        health = await wait_healthy(f"http://127.0.0.1:{command[command.index('--port') + 1]}/health", process)
        assert health["status"] == "ok"
    finally:
        process.terminate()
        assert await asyncio.wait_for(process.wait(), 10) == 0
