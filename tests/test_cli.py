"""The `jobledger` command line, run as a real process."""

import asyncio
import os
import socket
import subprocess
import sys

import aiohttp

CLI = [sys.executable, "-c", "from jobledger.cli.commands import main; main()"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_healthy(url: str, process: asyncio.subprocess.Process) -> dict:
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            assert process.returncode is None, "the service exited"
            try:
                async with session.get(url) as resp:
                    return await resp.json()
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
    raise AssertionError("the service never answered")


async def test_serve_in_memory_answers_and_stops(tmp_path):
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *CLI, "serve", "--db", "sqlite:///:memory:", "--port", str(port),
        cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    try:
        health = await wait_healthy(f"http://127.0.0.1:{port}/health", process)
        assert health["status"] == "ok" and health["backend"] == "sqlite"
        async with aiohttp.ClientSession() as session:
            async with session.post(f"http://127.0.0.1:{port}/jobs", json={"type": "demo"}) as resp:
                assert resp.status == 201
        assert not list(tmp_path.iterdir()), "an in-memory service wrote files"
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)


async def test_serve_without_configuration_stores_to_jobledger_db(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "JOBLEDGER_DB")}
    process = await asyncio.create_subprocess_exec(
        *CLI, "serve", "--port", str(port), cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    try:
        await wait_healthy(f"http://127.0.0.1:{port}/health", process)
        assert (tmp_path / "jobledger.db").exists()
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)


def test_migrate_command_on_each_backend(db_url):
    result = subprocess.run([*CLI, "migrate", "--db", db_url], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"migrated {db_url}" in result.stdout


def test_unsupported_database_url_is_a_clear_error():
    result = subprocess.run([*CLI, "migrate", "--db", "mysql://x/y"], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "unsupported database URL" in result.stderr
    assert "Traceback" not in result.stderr
