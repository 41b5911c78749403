"""Export the log from one backend, import it into the other: identical jobs, verified chains."""

import subprocess
import sys

import pytest

from jobledger.web.app import create_app
from jobledger.web.config import Settings

CLI = [sys.executable, "-c", "from jobledger.cli.commands import main; main()"]


def cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], input=stdin, capture_output=True, timeout=120)


async def some_history(client) -> None:
    for i in range(5):
        job = await (await client.post("/jobs", json={"type": "t", "payload": {"i": i, "f": 0.1, "big": 2500000000000000.5, "tiny": 1e-300}})).json()
        if i % 2:
            await client.post(f"/jobs/{job['id']}/start")
            await client.post(f"/jobs/{job['id']}/progress", json={"percent": 12.5, "message": "naïve ✓"})
        if i == 3:
            await client.post(f"/jobs/{job['id']}/complete", json={"result": {"nested": [1, {"x": None}]}})


def _split(export: bytes) -> tuple[list[bytes], list[bytes]]:
    """An export's event lines, and its checkpoint lines (docs/auditing.md)."""
    lines = export.splitlines()
    return [x for x in lines if not x.startswith(b'{"checkpoint"')], [x for x in lines if x.startswith(b'{"checkpoint"')]


async def all_jobs(client) -> list[dict]:
    return (await (await client.get("/jobs?limit=500")).json())["jobs"]


@pytest.mark.parametrize("direction", ["sqlite->postgres", "postgres->sqlite"])
async def test_export_then_import_reproduces_every_job(aiohttp_client, tmp_path, pg_url, direction):
    sqlite_url = f"sqlite:///{tmp_path}/jobledger.db"
    source, target = (sqlite_url, pg_url) if direction == "sqlite->postgres" else (pg_url, sqlite_url)
    client = await aiohttp_client(create_app(Settings(db=source)))
    await some_history(client)
    before = await all_jobs(client)
    await client.close()

    exported = cli("export", "--db", source)
    assert exported.returncode == 0, exported.stderr
    events, checkpoints = _split(exported.stdout)
    assert len(events) == 5 + 2 * 2 + 1
    assert checkpoints  # the signed checkpoints follow the events

    imported = cli("import", "--db", target, "-", stdin=exported.stdout)
    assert imported.returncode == 0, imported.stderr
    assert b"verified 10 events" in imported.stdout

    client = await aiohttp_client(create_app(Settings(db=target)))
    assert await all_jobs(client) == before
    again = _split(cli("export", "--db", target).stdout)
    assert again[0] == events and again[1][: len(checkpoints)] == checkpoints  # and the new service's own after them
    assert cli("import", "--db", target, "-", stdin=exported.stdout).returncode != 0  # not empty any more


async def test_import_of_a_tampered_export_reports_the_broken_link(tmp_path, aiohttp_client):
    source = f"sqlite:///{tmp_path}/a.db"
    client = await aiohttp_client(create_app(Settings(db=source)))
    await some_history(client)
    await client.close()
    lines = cli("export", "--db", source).stdout.splitlines()
    tampered = next(i for i, line in enumerate(lines) if b'"i":2' in line)
    lines[tampered] = lines[tampered].replace(b'"i":2', b'"i":7')
    result = cli("import", "--db", f"sqlite:///{tmp_path}/b.db", "-", stdin=b"\n".join(lines))
    assert result.returncode == 1
    assert b"BROKEN" in result.stderr and b"at version 1" in result.stderr
