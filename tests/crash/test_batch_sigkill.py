"""POST /jobs/batch when the service is killed with SIGKILL while batches are being written:
each batch is in the log whole or not at all, every acknowledged one whole, and the clients'
retries of the unanswered ones (the same idempotency keys) end with each job created exactly
once. On both backends."""

import asyncio
import itertools
import os
from collections import Counter

import aiohttp

from tests.crash.checks import global_log
from tests.live.helpers import wait_until
from tests.live.processes import Service

CLIENTS, BATCH = 4, 100
KILLS, ACKED_BEFORE_KILL = 5, 3  # five kills, each after 3 more batches were acknowledged
GONE = (aiohttp.ClientError, TimeoutError)


def batch_body(number: int) -> dict:
    jobs = [{"type": "import", "payload": {"batch": number, "n": n}, "idempotency_key": f"{number}-{n}"} for n in range(BATCH)]
    return {"jobs": jobs}


async def test_a_batch_cut_short_by_sigkill_is_written_whole_or_not_at_all(db_url, tmp_path):
    service = Service(db_url, tmp_path, env=dict(os.environ))
    numbers = itertools.count()
    acked: set[int] = set()
    unanswered: set[int] = set()

    async def client(session: aiohttp.ClientSession) -> None:
        while True:
            number = next(numbers)
            unanswered.add(number)
            try:
                async with session.post(f"{service.url}/jobs/batch", json=batch_body(number)) as resp:
                    assert resp.status in (201, 503), await resp.text()
                    if resp.status == 503:
                        continue  # written or not: retried at the end, as any unanswered batch
                    answer = await resp.json()
            except GONE:
                return
            assert answer["created"] == [True] * BATCH
            unanswered.discard(number)
            acked.add(number)

    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            for kill in range(KILLS):  # each kill lands at another moment of the batches in flight
                await service.start()
                tasks = [asyncio.create_task(client(session)) for _ in range(CLIENTS)]
                await wait_until(lambda: len(acked) >= (kill + 1) * ACKED_BEFORE_KILL, timeout=60)
                await service.kill()
                await asyncio.gather(*tasks)
            assert unanswered, "the kills cut no batch short"

            await service.start()
            per_batch = Counter(e["data"]["payload"]["batch"] for e in await global_log(session, service.url))
            assert set(per_batch.values()) <= {BATCH}, f"a batch was written in part: {per_batch}"
            assert acked <= set(per_batch), "an acknowledged batch is missing"

            for number in sorted(unanswered):  # the clients' retries: the same keys
                async with session.post(f"{service.url}/jobs/batch", json=batch_body(number)) as resp:
                    answer = await resp.json()
                    written = number in per_batch
                    assert resp.status == (200 if written else 201), answer
                    assert answer["created"] == [not written] * BATCH
            log = await global_log(session, service.url)
            assert [e["type"] for e in log] == ["JobCreated"] * len(log)
            keys = Counter((e["data"]["payload"]["batch"], e["data"]["payload"]["n"]) for e in log)
            assert set(keys.values()) == {1}
            assert {b for b, _ in keys} == acked | unanswered
    finally:
        await service.stop()

