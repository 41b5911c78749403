"""A child's handler reads its parents' results (`await ctx.parents()`): over HTTP and in-process, on both backends."""

from jobledger.sdk.worker import Parent
from tests.sdk.helpers import create, wait_for


async def test_a_childs_handler_reads_its_parents_results(client, make_worker):
    research = await create(client, type="research")
    upload = await create(client, type="upload")
    audit = await create(client, type="audit", depends_on=[research["id"], {"job": upload["id"], "on_failure": "run"}])
    worker = make_worker()
    seen = {}

    @worker.handler("research")
    async def do_research(doc, ctx):
        assert await ctx.parents() == []
        return {"sources": 3}

    @worker.handler("upload")
    async def do_upload(doc, ctx):
        raise RuntimeError("the bucket is gone")

    @worker.handler("audit")
    async def do_audit(doc, ctx):
        seen["parents"] = await ctx.parents()
        return {"checked": seen["parents"][0].result["sources"]}

    make_worker.start(worker)
    done = await wait_for(client, audit["id"])

    assert done["status"] == "completed" and done["result"] == {"checked": 3}
    assert seen["parents"] == [
        Parent(research["id"], "research", "completed", "cancel", {"sources": 3}),
        Parent(upload["id"], "upload", "failed", "run", None),
    ]
