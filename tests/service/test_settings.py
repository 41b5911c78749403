"""The service stores to the database it is configured with, however the URL is given."""

from uuid import UUID

import pytest

from jobledger.web.config import Settings
from tests.service.helpers import BACKEND_NAMES, ok


@pytest.mark.parametrize("keyword", ["db", "DATABASE_URL", "JOBLEDGER_DB"])
async def test_configured_database_is_the_one_written(serve, db_url, backend, store, keyword):
    client = await serve(Settings(**{keyword: db_url}, sweep_interval=0.05))

    health = await ok(await client.get("/health"))
    job = await ok(await client.post("/jobs", json={"type": "report"}), 201)

    assert health["backend"] == BACKEND_NAMES[backend]
    assert sum(health["jobs"].values()) == 0
    assert [e.position for e in await store.log.read_stream(UUID(job["id"]))] == [job["position"]]
