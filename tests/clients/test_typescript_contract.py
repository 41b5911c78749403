"""The TypeScript client (clients/typescript) against a real `jobledger serve`, on each backend, with
keys required: its committed types are what openapi-typescript makes of the document the service
serves, byte for byte; they compile under `tsc --strict`; and its node test calls every operation of
that document through them.

Needs Node 20+ and npm: without them this fails, it never skips (see tests/clients/conftest.py).
"""

import asyncio
import difflib
from pathlib import Path

import pytest

from tests.clients.conftest import PACKAGE, SCHEMA, key, report, run, tool


def _drift(generated: Path, url: str) -> str:
    """A diff of the committed types against the ones just generated, and how to commit the new ones."""
    diff = difflib.unified_diff(
        SCHEMA.read_text().splitlines(keepends=True), generated.read_text().splitlines(keepends=True),
        "src/schema.ts (committed)", f"generated from {url}/openapi.json",
    )
    return (
        "clients/typescript/src/schema.ts is not what openapi-typescript makes of the document the service"
        " serves; regenerate it from a service that requires keys, and commit it:\n"
        "    .venv/bin/jobledger serve --db sqlite:///:memory: --auth required &\n"
        "    cd clients/typescript && JOBLEDGER_URL=http://127.0.0.1:8080 npm run generate\n\n"
        + "".join(diff)[:30_000]
    )


async def test_typescript_client_calls_every_operation(compiled, service, db_url, tmp_path):
    generated = tmp_path / "schema.ts"
    sources = {"JOBLEDGER_URL": service.url, "JOBLEDGER_SCHEMA_OUT": str(generated)}
    admin, operator, result = await asyncio.gather(
        key(db_url, "admin"), key(db_url, "operator"),
        asyncio.to_thread(run, [tool("npm"), "run", "--silent", "generate"], sources),
    )
    assert result.returncode == 0, report("npm run generate", result)
    if generated.read_bytes() != SCHEMA.read_bytes():
        pytest.fail(_drift(generated, service.url))

    out = await asyncio.to_thread(compiled)
    env = {"JOBLEDGER_URL": service.url, "JOBLEDGER_KEY": admin, "JOBLEDGER_OPERATOR_KEY": operator}
    result = await asyncio.to_thread(run, [tool("node"), "--test", str(out / "test" / "contract.test.js")], env)
    assert result.returncode == 0, report("node --test", result)
