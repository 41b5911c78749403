"""`jobledger audit verify`, `verify-bundle` and `watch`: the verifying side of the signed log
(docs/auditing.md), registered on the `audit` group of commands.py.

verify-bundle needs no database and no service: only the bundle and the log's verifier key. The
witness (`watch`) keeps the last checkpoint it verified in its state folder.
"""

import asyncio
import json
import time
from pathlib import Path
from uuid import UUID

import click

from jobledger.application import audit as audit_checks
from jobledger.application import storage
from jobledger.application.jobs import utcnow
from jobledger.cli import witness
from jobledger.domain import errors
from jobledger.proof import ProofError, bundle, note
from jobledger.web.config import Settings

_db_option = click.option(
    "--db", "db", envvar=["DATABASE_URL", "JOBLEDGER_DB"], default=None,
    help="sqlite:///path/file.db or postgresql://user@host:port/db [default: sqlite:///jobledger.db]",
)  # fmt: skip


def verifier_key(text_or_file: str) -> note.VerifierKey:
    """A verifier key given as its text or as a file holding it."""
    path = Path(text_or_file)
    text = path.read_text() if "+" not in text_or_file and path.is_file() else text_or_file
    try:
        return note.parse_verifier_key(text)
    except ProofError as exc:
        raise click.BadParameter(str(exc), param_hint="--key") from None


@click.command("verify")
@_db_option
@click.option("--job", "job_id", type=click.UUID, default=None, help="check one job only")
@click.option("--key", default=None, help="the log's verifier key (or a file holding it): check checkpoint signatures")
def verify(db: str | None, job_id: UUID | None, key: str | None) -> None:
    """Check every hash chain, every status row against its events, and the tree against every
    checkpoint; report every broken job (the first 100 listed) and exit 1 if anything is."""
    settings = Settings(**({"db": db} if db else {}))
    trusted = verifier_key(key) if key else None
    try:
        report = asyncio.run(_verify(settings, job_id, trusted))
    except errors.JobNotFound:
        click.echo(f"no such job: {job_id}", err=True)
        raise SystemExit(1) from None
    if not report.ok:
        click.echo(f"BROKEN: {report.count} problem(s) in {report.checked} events", err=True)
        for problem in report.problems:
            click.echo(f"  {problem.kind}: {problem}", err=True)
        if report.count > len(report.problems):
            click.echo(f"  ... and {report.count - len(report.problems)} more", err=True)
        raise SystemExit(1)
    signed = f", {report.checkpoints} checkpoints ({'signatures checked' if trusted else 'signatures not checked'})"
    click.echo(f"ok: {report.checked} events verified{signed if report.checkpoints else ''}")


async def _verify(settings: Settings, job_id: UUID | None, key: note.VerifierKey | None) -> audit_checks.Report:
    stores = await storage.open_stores(settings.db)
    retention = audit_checks.finished_before(settings.retention_seconds, utcnow())
    try:
        if job_id is not None:
            return await audit_checks.verify_job(stores, job_id, retention)
        return await audit_checks.verify_log(stores, key=key, finished_before=retention)
    finally:
        await stores.close()


@click.command("verify-bundle")
@click.argument("file", type=click.File("rb"))
@click.option("--key", required=True, help="the log's verifier key (or a file holding it)")
def verify_bundle(file, key: str) -> None:
    """Check a job's audit bundle offline, with the log's public key only."""
    trusted = verifier_key(key)
    try:
        result = bundle.verify_bundle(json.loads(file.read()), trusted)
    except (ProofError, ValueError) as exc:
        click.echo(f"FAILED: {exc}", err=True)
        raise SystemExit(1) from None
    cp = result.checkpoint
    erased = f"; {result.erased} of them erased: their leaves are proven, their data is gone" if result.erased else ""
    click.echo(
        f"ok: job {result.job_id}: {result.events} events (versions 1..{result.events}) are in the log "
        f"{cp.origin} of {cp.size} leaves, signed by {trusted.name}{erased}"
    )


@click.command("watch")
@click.argument("url")
@click.option("--key", required=True, help="the log's verifier key (or a file holding it)")
@click.option("--state", required=True, type=click.Path(file_okay=False, path_type=Path), help="the witness's folder")
@click.option("--every", type=click.FloatRange(min=0.1), default=None, help="check again every SECONDS, until one fails")
@click.option("--api-key", envvar="JOBLEDGER_API_KEY", default=None, help="an auditor's key")
@click.option("--db", "db", default=None, help="also recompute the leaves from this database's events")
def watch(url: str, key: str, state: Path, every: float | None, api_key: str | None, db: str | None) -> None:
    """Witness the log: fetch its checkpoint, check the signature and that it extends the one kept
    in STATE (a consistency proof); keep it only then. Exit 1, loudly, on the first failure."""
    trusted = verifier_key(key)
    state.mkdir(parents=True, exist_ok=True)
    while True:
        try:
            click.echo(asyncio.run(witness.check_once(url, trusted, state, api_key, db)))
        except witness.WitnessAlert as exc:
            click.echo(f"ALERT: {exc}", err=True)
            raise SystemExit(1) from None
        if every is None:
            return
        time.sleep(every)


COMMANDS = (verify, verify_bundle, watch)
