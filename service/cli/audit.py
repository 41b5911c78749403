"""`jobledger audit ...` commands of the signed log (docs/auditing.md): registered on the `audit`
group of commands.py.

keygen makes the signing key; bundle writes a job's audit bundle, from a running service
(--url) or from the database (--db).
"""

import asyncio
import os
import socket
import sys
from pathlib import Path
from uuid import UUID

import aiohttp
import click

from jobledger.application import bundles, signing, storage
from jobledger.application.checkpoints import Checkpoints
from jobledger.domain import errors
from jobledger.web import audit_routes
from jobledger.web.config import Settings


@click.command("keygen")
@click.option("--name", default=None, help="the key's name, shown in each signature [default: jobledger/<host name>]")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write the signer key to FILE (mode 0600) and the verifier key to FILE.pub")
def keygen(name: str | None, out: Path | None) -> None:
    """Make a checkpoint signing key: the signer key (JOBLEDGER_SIGNING_KEY or
    JOBLEDGER_SIGNING_KEY_FILE, kept secret) and the verifier key (for auditors and witnesses).

    Without --out both are printed, the signer key first."""
    try:
        signer = signing.Signer.generate(name or f"jobledger/{socket.gethostname()}")
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--name") from None
    if out is None:
        click.echo(signer.signer_key())
        click.echo(signer.verifier_key())
        return
    _write_new(out, signer.signer_key() + "\n", 0o600)
    _write_new(out.with_name(out.name + ".pub"), signer.verifier_key() + "\n", 0o644)
    click.echo(f"signer key written to {out} (keep it secret); verifier key in {out}.pub:", err=True)
    click.echo(signer.verifier_key())


def _write_new(path: Path, text: str, mode: int) -> None:
    """Write a file that must not exist yet (a key is never overwritten), with `mode` from the start."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise click.ClickException(f"{path} exists already: a key is never overwritten") from None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


@click.command("bundle")
@click.argument("job_id", type=click.UUID)
@click.option("-o", "--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="the file to write the bundle to ('-': standard output)")
@click.option("--url", default=None, help="a running service, e.g. http://127.0.0.1:8080")
@click.option("--api-key", envvar="JOBLEDGER_API_KEY", default=None, help="an auditor's key, with --url")
@click.option("--db", "db", envvar=["DATABASE_URL", "JOBLEDGER_DB"], default=None,
              help="read the database instead of a service (the signing key, if set, issues a checkpoint)")
def bundle(job_id: UUID, out: Path, url: str | None, api_key: str | None, db: str | None) -> None:
    """Write JOB_ID's audit bundle: its events with their inclusion proofs in a signed
    checkpoint, for `jobledger audit verify-bundle`."""
    if url is not None:
        body = asyncio.run(_fetch_bundle(url, job_id, api_key))
    else:
        body = asyncio.run(_bundle_from_db(Settings(**({"db": db} if db else {})), job_id))
    if str(out) == "-":
        sys.stdout.buffer.write(body + b"\n")
    else:
        out.write_bytes(body + b"\n")
        click.echo(f"bundle of job {job_id} written to {out}", err=True)


async def _fetch_bundle(url: str, job_id: UUID, api_key: str | None) -> bytes:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{url.rstrip('/')}/jobs/{job_id}/bundle", headers=headers) as resp:
            body = await resp.read()
    if resp.status != 200:
        raise click.ClickException(f"GET /jobs/{job_id}/bundle answered {resp.status}: {body.decode(errors='replace')}")
    return body


async def _bundle_from_db(settings: Settings, job_id: UUID) -> bytes:
    configured = settings.signing_key is not None or settings.signing_key_file is not None
    signer = await audit_routes.signer_of(settings) if configured else None
    stores = await storage.open_stores(settings.db)
    try:
        checkpoints = Checkpoints(stores, signer, settings.log_origin or signing.default_origin())
        return await bundles.bundle(checkpoints, job_id, None)
    except (errors.JobNotFound, errors.NoCheckpoint) as exc:
        raise click.ClickException(exc.message) from None
    finally:
        await stores.close()


COMMANDS = (keygen, bundle)
