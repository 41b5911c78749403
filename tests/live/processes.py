"""Real service processes (`jobledger serve`) for the multi-instance and reconnection tests, and
for tests whose clients block (no event loop may run around them)."""

import asyncio
import contextlib
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import aiohttp

from tests.test_cli import CLI, free_port


class Service:
    """One `jobledger serve` process; `url` is its base URL."""

    def __init__(self, db: str, log_dir: Path, port: int | None = None, env: dict[str, str] | None = None):
        self.db, self.port = db, port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"serve-{self.port}.log"
        self.env = env
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> "Service":
        with open(self.log_path, "ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *CLI, "serve", "--db", self.db, "--port", str(self.port), stdout=log, stderr=log, env=self.env,
            )
        try:
            async with aiohttp.ClientSession() as session:
                for _ in range(400):
                    assert self.process.returncode is None, self.log_path.read_text()
                    with contextlib.suppress(aiohttp.ClientConnectionError):
                        async with session.get(f"{self.url}/health") as resp:
                            if resp.status == 200:
                                return self
                    await asyncio.sleep(0.05)
            raise AssertionError(f"the service never answered:\n{self.log_path.read_text()}")
        except BaseException:  # a process that did not start right is not left running
            if self.process.returncode is None:
                await self.kill()
            raise

    async def kill(self) -> None:
        """SIGKILL: the process ends where it stands, with no shutdown of any kind."""
        self.process.kill()
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


@contextlib.asynccontextmanager
async def services(db: str, log_dir: Path, count: int):
    """`count` service processes on one database."""
    running = [Service(db, log_dir) for _ in range(count)]
    try:
        for service in running:
            await service.start()
        yield running
    finally:
        for service in running:
            await service.stop()


@contextlib.contextmanager
def blocking_service(db: str, log_dir: Path, *args: str) -> Iterator[tuple[str, Path]]:
    """A `jobledger serve` process (with `args`) started and awaited without an event loop: its URL
    and its log's path once it answers /health; terminated on leaving."""
    port, log_path = free_port(), log_dir / "serve.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([*CLI, "serve", "--db", db, "--port", str(port), *args], stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(400):
            assert process.poll() is None, log_path.read_text()
            with contextlib.suppress(urllib.error.URLError, ConnectionError):
                with urllib.request.urlopen(f"{url}/health", timeout=1) as resp:
                    if resp.status == 200:
                        break
            time.sleep(0.05)
        else:
            raise AssertionError(f"the service never answered:\n{log_path.read_text()}")
        yield url, log_path
    finally:
        process.terminate()
        process.wait(15)
