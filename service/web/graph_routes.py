"""A job's place among its parents and children (application/graph.py, README "Dependencies")."""

import orjson
from aiohttp import web

from jobledger.application import graph
from jobledger.web import auth, handling, keys

routes = web.RouteTableDef()


@routes.get("/jobs/{id}/graph")
@auth.requires("read")
async def job_graph(request: web.Request) -> web.Response:
    """The job, its parents and its children, with their statuses (of the caller's tenant only)."""
    answer = await graph.read(request.app[keys.jobs_key], handling.job_id(request), auth.principal_of(request))
    return web.Response(body=orjson.dumps(answer), content_type="application/json")
