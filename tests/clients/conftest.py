"""Fixtures for the TypeScript client's tests: Node and npm (they fail, never skip, without them),
`npm ci` once per machine (a file lock keeps pytest-xdist workers from running it together), `tsc`
once per process, and a `jobledger serve` with keys required.
"""

import asyncio
import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.live.processes import Service
from tests.test_cli import CLI

PACKAGE = Path(__file__).resolve().parents[2] / "clients" / "typescript"
SCHEMA = PACKAGE / "src" / "schema.ts"
LOCK = Path(tempfile.gettempdir()) / f"jobledger-npm-ci-{hashlib.sha256(bytes(PACKAGE)).hexdigest()[:12]}.lock"
TIMEOUT = 600  # seconds for any one step; npm ci on a cold cache is the slowest


def run(command: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=PACKAGE, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=TIMEOUT
    )


def report(step: str, result: subprocess.CompletedProcess) -> str:
    return f"{step} exited {result.returncode}\n{result.stdout[-20_000:]}\n{result.stderr[-10_000:]}"


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: the TypeScript client's contract test needs Node 20+ and npm")
    return found


def _installed() -> bool:
    """node_modules is there and no older than package-lock.json (npm writes its own copy on install)."""
    hidden = PACKAGE / "node_modules" / ".package-lock.json"
    return hidden.exists() and hidden.stat().st_mtime >= (PACKAGE / "package-lock.json").stat().st_mtime


@pytest.fixture(scope="session")
def node_modules() -> None:
    """`npm ci` if node_modules is missing or stale; one process at a time, the others wait and find it done."""
    node = tool("node")
    version = run([node, "--version"]).stdout.strip()
    assert int(version.lstrip("v").split(".")[0]) >= 20, f"Node 20+ is needed, found {version}"
    npm = tool("npm")
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _installed():
            result = run([npm, "ci", "--no-audit", "--no-fund"])
            assert result.returncode == 0, report("npm ci", result)


@pytest.fixture(scope="session")
def compiled(node_modules, tmp_path_factory) -> Callable[[], Path]:
    """tsc (strict, tsconfig.json) over src/ and test/ once per process, into a folder of its own. It starts
    at once, so that it runs while the first service starts; the function returns the folder when it is done."""
    out = tmp_path_factory.mktemp("typescript")
    tsc = subprocess.Popen(
        [str(PACKAGE / "node_modules" / ".bin" / "tsc"), "-p", ".", "--outDir", str(out)],
        cwd=PACKAGE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    done: list[subprocess.CompletedProcess] = []

    def wait() -> Path:
        if not done:
            stdout, stderr = tsc.communicate(timeout=TIMEOUT)
            done.append(subprocess.CompletedProcess(tsc.args, tsc.returncode, stdout, stderr))
        assert done[0].returncode == 0, report("tsc -p . (strict)", done[0])
        return out

    yield wait
    if tsc.poll() is None:
        tsc.kill()
        tsc.wait()


async def key(db_url: str, role: str) -> str:
    created = await asyncio.to_thread(run, [*CLI, "keys", "create", "--role", role, "--db", db_url])
    assert created.returncode == 0, report(f"jobledger keys create --role {role}", created)
    return created.stdout.strip()


@pytest.fixture
async def service(db_url, tmp_path) -> Service:
    """`jobledger serve` with keys required; fails the test if it logged an error."""
    # loopback allowed: the webhook calls make endpoints on 127.0.0.1 (a closed port: deliveries fail, as they may)
    env = {**os.environ, "JOBLEDGER_AUTH": "required", "JOBLEDGER_WEBHOOK_ALLOW_PRIVATE": "loopback"}
    running = Service(db_url, tmp_path, env=env)
    await running.start()
    yield running
    await running.stop()
    errors = [line for line in running.log_path.read_text().splitlines() if '"level":"error"' in line]
    assert not errors, "\n".join(errors)


