"""`jobledger keys create|list|revoke`, run as real processes against the test database:
a key is shown once, stored only as a hash, listable and revocable."""

import asyncio
import hashlib

from tests.security.conftest import bearer
from tests.service.helpers import error_of, ok
from tests.test_cli import CLI


async def _cli(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *CLI, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    return process.returncode, out.decode(), err.decode()


async def test_create_list_use_revoke(secure, store, db_url):
    code, out, err = await _cli("keys", "create", "--db", db_url, "--role", "worker", "--tenant", "acme",
                                "--types", "ocr, llm", "--name", "scanner")
    assert code == 0, err
    key = out.strip()
    assert key.startswith("jl_") and "not shown again" in err
    (record,) = await store.registry.list_keys()
    assert record.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert (record.role, record.tenant, record.types, record.name) == ("worker", "acme", ("ocr", "llm"), "scanner")

    code, listing, _ = await _cli("keys", "list", "--db", db_url)
    assert code == 0 and key not in listing and record.key_hash not in listing
    assert listing.split("\t")[:5] == [record.key_id, "worker", "acme", "ocr,llm", "scanner"]

    await ok(await secure.post("/workers/claim", json={"worker_id": "w"}, headers=bearer(key)))
    code, out, _ = await _cli("keys", "revoke", "--db", db_url, record.key_id)
    assert code == 0 and record.key_id in out
    await error_of(await secure.post("/workers/claim", json={"worker_id": "w"}, headers=bearer(key)), 401, "unauthorized")
    code, listing, _ = await _cli("keys", "list", "--db", db_url)
    assert "revoked" in listing

    code, _, err = await _cli("keys", "revoke", "--db", db_url, record.key_id)
    assert code != 0 and "no active key" in err


async def test_create_refuses_bad_options(db_url, store):
    for args in (["--role", "root"], ["--role", "client", "--types", " , "], ["--role", "client", "--tenant", " "]):
        code, _, err = await _cli("keys", "create", "--db", db_url, *args)
        assert code == 2 and "Error" in err, args
    assert await store.registry.list_keys() == []
