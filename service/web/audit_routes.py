"""The log's signed checkpoints, its proofs and a job's audit bundle over HTTP (docs/auditing.md).

Auditor and admin keys reach them (action `log`). Checkpoints and consistency proofs hold only
hashes of the whole log. An inclusion proof names a leaf by index: an auditor gets one only for
its own tenant's events (another's answers 404, as a job of another tenant does); an admin gets
one for any leaf. A bundle holds one job's events, the caller's.
"""

import asyncio
import contextlib
import logging

from aiohttp import web
from pydantic import Field

from jobledger.application import bodies, bundles, signing
from jobledger.application.bodies import MAX_INT64, Body
from jobledger.application.checkpoints import Checkpoints
from jobledger.web import auth, handling, keys, schemas
from jobledger.web.config import Settings

log = logging.getLogger("jobledger.checkpoints")
routes = web.RouteTableDef()
checkpoints_key = web.AppKey("checkpoints", Checkpoints)
EPHEMERAL_KEY_NAME = "jobledger-ephemeral"


class CheckpointsQuery(Body):
    after: int | None = Field(None, ge=0, le=MAX_INT64, description="only checkpoints of larger trees (none: all)")
    limit: int = Field(100, ge=1, le=1000)


class InclusionQuery(Body):
    leaf_index: int = Field(ge=0, le=MAX_INT64, description="the leaf: how many settled events come before it")
    tree_size: int = Field(ge=1, le=MAX_INT64, description="the tree the proof is for (a checkpoint's size)")


class ConsistencyQuery(Body):
    first: int = Field(ge=0, le=MAX_INT64, description="the older tree's size")
    second: int = Field(ge=0, le=MAX_INT64, description="the newer tree's size")


async def signer_of(settings: Settings) -> signing.Signer:
    """The configured signing key; without one, a new key for this run only, with a warning."""
    text = settings.signing_key.get_secret_value() if settings.signing_key else None
    if text is None and settings.signing_key_file:
        text = await asyncio.to_thread(_read, settings.signing_key_file)
    if text is not None:
        return signing.parse_signer_key(text)
    signer = signing.Signer.generate(EPHEMERAL_KEY_NAME)
    log.warning(
        "no signing key configured (JOBLEDGER_SIGNING_KEY or JOBLEDGER_SIGNING_KEY_FILE): checkpoints are signed "
        "with a key made for this run only, which no auditor can hold; its verifier key is %s",
        signer.verifier_key(),
    )
    return signer


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


async def checkpoints_context(app: web.Application):
    """The tree's builder and signer, following the log for as long as the app runs."""
    settings = app[keys.settings_key]
    checkpoints = Checkpoints(
        app[keys.stores_key], await signer_of(settings), settings.log_origin or signing.default_origin(),
        interval=settings.checkpoint_interval,
    )
    app[checkpoints_key] = checkpoints
    task = asyncio.create_task(checkpoints.run())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _note(text: str) -> web.Response:
    return web.Response(text=text, content_type="text/plain", charset="utf-8")


@routes.get("/checkpoint")
@auth.requires("log")
async def latest_checkpoint(request: web.Request) -> web.Response:
    """The latest signed checkpoint: a signed note."""
    return _note((await request.app[checkpoints_key].latest()).note)


@routes.post("/checkpoint")
@auth.requires("log")
async def issue_checkpoint(request: web.Request) -> web.Response:
    """Sign the tree now if it grew (every event settled by now included); the latest checkpoint."""
    await schemas.read_body(request, bodies.EmptyBody)
    return _note((await request.app[checkpoints_key].catch_up()).note)


@routes.get("/checkpoints")
@auth.requires("log")
async def list_checkpoints(request: web.Request) -> web.Response:
    query = schemas.parse_query(CheckpointsQuery, request.query)
    after = -1 if query.after is None else query.after  # the empty tree's checkpoint too
    found = await request.app[keys.stores_key].tree.list_checkpoints(after, query.limit)
    return handling.json_response([
        {"tree_size": c.tree_size, "root_hash": bundles.b64(c.root_hash), "note": c.note, "issued_at": c.issued_at}
        for c in found
    ])


@routes.get("/proofs/inclusion")
@auth.requires("log")
async def inclusion_proof(request: web.Request) -> web.Response:
    query = schemas.parse_query(InclusionQuery, request.query)
    principal = auth.principal_of(request)
    checkpoints = request.app[checkpoints_key]
    proving = checkpoints.inclusion(query.leaf_index, query.tree_size)
    if principal.role == "admin":
        leaf_hash, proof = await proving
    else:  # whose the leaf is, read beside the proof: a round trip more for an auditor, not two
        visible = bundles.visible_leaf(checkpoints.stores, query.leaf_index, principal)
        (leaf_hash, proof), _ = await _in_order(proving, visible)
    return handling.json_response({
        "leaf_index": query.leaf_index, "tree_size": query.tree_size, "leaf_hash": bundles.b64(leaf_hash),
        "proof": [bundles.b64(h) for h in proof],
    })


async def _in_order(first, second) -> tuple:
    """Both results, awaited side by side; if both fail, the first's error is raised (a bad size's
    400 comes before a hidden leaf's 404, as when they ran one after the other)."""
    outcomes = await asyncio.gather(first, second, return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return tuple(outcomes)


@routes.get("/proofs/consistency")
@auth.requires("log")
async def consistency_proof(request: web.Request) -> web.Response:
    query = schemas.parse_query(ConsistencyQuery, request.query)
    proof = await request.app[checkpoints_key].consistency(query.first, query.second)
    return handling.json_response(
        {"first": query.first, "second": query.second, "proof": [bundles.b64(h) for h in proof]}
    )


@routes.get("/jobs/{id}/bundle")
@auth.requires("log")
async def job_bundle(request: web.Request) -> web.Response:
    """The job's audit bundle against the latest checkpoint, for `jobledger audit verify-bundle`."""
    job_id = handling.job_id(request)
    body = await bundles.bundle(request.app[checkpoints_key], job_id, auth.principal_of(request))
    return web.Response(body=body, content_type="application/json")
