"""Import checks the export's tree before it accepts the log: the root recomputed at each carried
checkpoint's size must be the one signed, and with --key each note's signature must verify; when
one fails, nothing is written. Defends against an export edited in transit or forged under another key."""

import json

import pytest

from jobledger.application import storage
from tests.audit.cli import jobledger
from tests.audit.test_tamper import a_finished_job


@pytest.fixture
def target(backend, tmp_path, request) -> str:
    """An empty database of the other backend."""
    return request.getfixturevalue("pg_url") if backend == "sqlite" else f"sqlite:///{tmp_path}/target.db"


async def exported(serve, audit_settings, db_url) -> list[str]:
    client = await serve(audit_settings)
    for _ in range(3):
        await a_finished_job(client)
    await client.post("/checkpoint")
    await client.close()
    ran = await jobledger("export", "--db", db_url)
    assert ran.code == 0, ran.err
    return ran.out.splitlines()


async def import_(tmp_path, target: str, lines: list[str], *more: str):
    path = tmp_path / "export.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return await jobledger("import", "--db", target, str(path), *more)


async def events_in(url: str) -> int:
    stores = await storage.open_stores(url)
    try:
        return len(await stores.log.raw_all(after=0, limit=100))
    finally:
        await stores.close()


async def test_an_export_imports_when_its_checkpoints_verify(serve, audit_settings, signer, db_url, target, tmp_path):
    lines = await exported(serve, audit_settings, db_url)
    assert any(line.startswith('{"checkpoint"') for line in lines)
    ran = await import_(tmp_path, target, lines, "--key", signer.verifier_key())
    assert ran.code == 0, ran.err
    assert "imported and verified 12 events" in ran.out
    assert await events_in(target) == 12


def edit_an_event(lines: list[str]) -> list[str]:
    return [line.replace('"percent":50', '"percent":99') for line in lines]


def drop_an_event(lines: list[str]) -> list[str]:
    return lines[:5] + lines[6:]


def swap_two_events(lines: list[str]) -> list[str]:
    first, second = json.loads(lines[3]), json.loads(lines[4])
    first["position"], second["position"] = second["position"], first["position"]
    return [*lines[:3], json.dumps(second), json.dumps(first), *lines[5:]]


@pytest.mark.parametrize("tamper, message", [
    (edit_an_event, "events do not hash to the root of its checkpoint of that size: refused"),
    (drop_an_event, "refused"),
    (swap_two_events, "events do not hash to the root of its checkpoint of that size: refused"),
])
async def test_a_tampered_export_is_refused_and_nothing_written(serve, audit_settings, db_url, target, tmp_path, tamper, message):
    lines = tamper(await exported(serve, audit_settings, db_url))
    ran = await import_(tmp_path, target, lines)
    assert ran.code == 1 and message in ran.err, ran.err
    assert await events_in(target) == 0


async def test_an_export_signed_by_another_key_is_refused(serve, audit_settings, signer, db_url, target, tmp_path):
    lines = await exported(serve, audit_settings, db_url)
    stranger = type(signer).generate("test.jobledger/log")
    ran = await import_(tmp_path, target, lines, "--key", stranger.verifier_key())
    assert ran.code == 1 and "the note is not signed by the key test.jobledger/log" in ran.err, ran.err
    without = await import_(tmp_path, target, [x for x in lines if not x.startswith('{"checkpoint"')], "--key", signer.verifier_key())
    assert without.code == 1 and "carries no checkpoint" in without.err
    assert await events_in(target) == 0
