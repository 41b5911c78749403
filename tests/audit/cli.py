"""The `jobledger` command in a thread of the test's process: the CLI itself (its options, output
and exit code) without a new interpreter per call; the service under test keeps serving meanwhile."""

import asyncio
from dataclasses import dataclass

from click.testing import CliRunner

from jobledger.cli.commands import main


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str


async def jobledger(*args: str) -> Ran:
    result = await asyncio.to_thread(CliRunner().invoke, main, list(args), catch_exceptions=False)
    return Ran(result.exit_code, result.stdout, result.stderr)
