"""What job estimates add to a page of jobs: CPU only (the type's durations are kept).

    python bench/estimates.py [--pages 2000]

Times, per page of 50 stored job documents (queued, running with a percent, and finished),
`Estimates.of_documents` with the type's durations kept (what GET /jobs adds to each page),
beside the machine's own floor for the same page: `orjson.loads` of its 50 documents, which
any look at the documents costs. No database: the durations are put in the cache by hand.
"""

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import orjson

from jobledger.application.estimates import Estimates
from jobledger.domain import commands, decide
from jobledger.domain.job import fold
from jobledger.projections import job_status
from jobledger.projections.estimates import KEEP, History

NOW = datetime(2031, 1, 1, tzinfo=UTC)


def page() -> list[str]:
    """50 stored documents of one type: a third queued, a third running at 40 %, a third completed."""
    texts = []
    for i in range(50):
        body = commands.CreateJob("report", payload={"doc": "s3://bucket/x.pdf", "pages": list(range(20))}, metadata={"user": str(i)})
        job_id = uuid4()
        job = fold(None, decide.create(job_id, body, NOW), NOW, job_id)
        for command in ([], [commands.StartJob(), commands.ReportProgress(40.0)], [commands.StartJob(), commands.CompleteJob()])[i % 3]:
            job = fold(job, decide.decide(job, command, NOW + timedelta(seconds=5)), NOW + timedelta(seconds=5))
        texts.append(job_status.document_json(job))
    return texts


def per_page(run, pages: int) -> float:
    for _ in range(pages // 10):
        run()
    started = time.perf_counter()
    for _ in range(pages):
        run()
    return (time.perf_counter() - started) / pages * 1000


def main(pages: int) -> None:
    texts = page()
    estimates = Estimates(stores=None, cache_seconds=1e9)
    estimates._kept[("default", "report")] = (time.monotonic(), History((10.0,) * KEEP, (60.0,) * KEEP))
    loop = asyncio.new_event_loop()
    at = NOW + timedelta(seconds=30)
    found = loop.run_until_complete(estimates.of_documents(texts, at))
    assert sum(e is not None for e in found) == 34, found  # the queued and running ones
    floor = per_page(lambda: [orjson.loads(t) for t in texts], pages)
    cost = per_page(lambda: loop.run_until_complete(estimates.of_documents(texts, at)), pages)
    print(f"machine: orjson.loads of a page of 50 documents: {floor:.3f} ms")
    print(f"estimates of the page (34 queued or running, 16 finished): {cost:.3f} ms, {cost / floor:.1f} x the floor")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=2000)
    main(parser.parse_args().pages)
