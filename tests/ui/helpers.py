"""Helpers for the dashboard tests: a headless Chromium (Debian's, never a downloaded one)
and jobs driven over the HTTP API the way a worker drives them."""

import contextlib
import os

from playwright.async_api import Page, async_playwright

from tests.live.helpers import Api

CHROMIUM = "/usr/bin/chromium"
WAIT_MS = 15_000  # generous: two cores are shared by the whole test run
VIEWPORT = {"width": 1440, "height": 900}  # a laptop screen


@contextlib.asynccontextmanager
async def browser_page(base_url: str):
    """A page of a fresh headless Chromium, with the dashboard's console errors collected."""
    async with async_playwright() as playwright:
        args = ["--no-sandbox"] if os.geteuid() == 0 else []  # Chromium refuses root without it
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        try:
            page = await browser.new_page(viewport=VIEWPORT, base_url=base_url)
            page.errors, page.requests = [], []
            page.on("pageerror", lambda exc: page.errors.append(str(exc)))
            page.on("request", lambda request: page.requests.append(request))
            yield page
        finally:
            await browser.close()


async def open_dashboard(page: Page, path: str = "/ui/") -> None:
    """Open the dashboard and wait until its live connection is subscribed."""
    await page.goto(path)
    await page.wait_for_selector("#connection[data-state=live]", timeout=WAIT_MS)


class Worker:
    """A worker speaking the HTTP protocol: claim under a lease, then report with its token."""

    def __init__(self, api: Api, worker_id: str = "worker-1"):
        self.api, self.worker_id = api, worker_id
        self.tokens: dict[str, str] = {}

    async def claim(self, job_type: str) -> dict:
        resp = await self.api.client.post(
            "/workers/claim", json={"worker_id": self.worker_id, "types": [job_type], "limit": 1}
        )
        assert resp.status == 200, await resp.text()
        (job,) = (await resp.json())["jobs"]
        self.tokens[job["id"]] = job["lease_token"]
        return job

    async def report(self, job_id: str, action: str, body: dict | None = None) -> dict:
        return await self.api.post(job_id, action, {**(body or {}), "lease_token": self.tokens[job_id]})

    async def progress(self, job_id: str, percent: float, message: str | None = None) -> dict:
        return await self.report(job_id, "progress", {"percent": percent, "message": message})


async def finish(worker: Worker, job_id: str, phases: list[str], result) -> None:
    """Run a claimed job's phases and complete it."""
    for phase in phases:
        await worker.report(job_id, f"phases/{phase}/start")
        await worker.report(job_id, f"phases/{phase}/complete", {"result": {"ok": True}, "confidence": 0.9})
    await worker.report(job_id, "complete", {"result": result})


async def populate(api: Api) -> None:
    """A realistic morning: several job types, done, running, waiting, failed and cancelled jobs."""
    worker = Worker(api)
    rfp = ["research", "audit"]
    for n in range(3):
        await api.create(type="rfp-analysis", payload={"doc": f"rfp-{40 + n}.pdf"}, phases=rfp)
        job = await worker.claim("rfp-analysis")
        await finish(worker, job["id"], rfp, {"score": 0.8 + n / 20, "clauses": 25})
    for n in range(4):
        await api.create(type="ocr", payload={"file": f"scan-{n}.tiff"})
        job = await worker.claim("ocr")
        await worker.progress(job["id"], 100, "20 of 20 pages")
        await worker.report(job["id"], "complete", {"result": {"pages": 20}})
    await api.create(type="ocr", payload={"file": "scan-blurred.tiff"})
    job = await worker.claim("ocr")
    await worker.report(job["id"], "fail", {"error": {"code": "unreadable", "message": "page 3 is blank or blurred"}})
    for n in range(2):
        await api.create(type="llm-summary", payload={"thread": n})
        job = await worker.claim("llm-summary")
        await worker.report(job["id"], "complete", {"result": {"summary": "3 action items"}})
    await api.create(type="llm-summary", payload={"thread": 7}, max_attempts=3)
    job = await worker.claim("llm-summary")
    await worker.report(job["id"], "fail", {"error": {"code": "rate_limited", "message": "upstream answered 429"}})
    cancelled = await api.create(type="llm-summary", payload={"thread": 8})
    await api.post(cancelled["id"], "cancel", {"reason": "superseded"})
    await api.create(type="rfp-analysis", payload={"doc": "rfp-51.pdf"}, phases=rfp)
    job = await worker.claim("rfp-analysis")
    await worker.report(job["id"], "phases/research/start")
    await worker.report(job["id"], "phases/research/complete", {"result": {"sources": 14}, "confidence": 0.86})
    await worker.report(job["id"], "phases/audit/start")
    await worker.progress(job["id"], 72, "checking clause 18 of 25")
    await api.create(type="ocr", payload={"file": "contract-scan.tiff"})
    job = await worker.claim("ocr")
    await worker.progress(job["id"], 35, "page 7 of 20")
    await api.create(type="llm-summary", payload={"thread": 9})
    job = await worker.claim("llm-summary")
    await worker.progress(job["id"], 90, "writing the summary")
    for payload in ({"file": "invoice-88.pdf"}, {"file": "invoice-89.pdf"}):
        await api.create(type="ocr", payload=payload)
    await api.create(type="rfp-analysis", payload={"doc": "rfp-52.pdf"}, phases=rfp)
    await api.create(type="report", payload={"month": "2026-10"})
