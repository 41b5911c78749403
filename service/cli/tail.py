"""`jobledger tail`: print events live as they are committed."""

import asyncio
import contextlib
from typing import Any

import click
import orjson

from jobledger import client


def describe(event: client.Event) -> str:
    """One line per event: position, time, job, version, event type, status and the gist of its data."""
    job, data = event.job, event.data
    detail = ""
    if event.event == "ProgressReported":
        percent = f"{data['percent']:g}%" if data.get("percent") is not None else ""
        detail = " ".join(p for p in (percent, data.get("message") or "") if p)
    elif "phase" in data:
        detail = data["phase"]
    elif event.event in ("JobFailed", "PhaseFailed", "RetryScheduled") and data.get("error") is not None:
        detail = _short(data["error"])
    elif event.event == "JobCancelled" and data.get("reason"):
        detail = data["reason"]
    time = event.recorded_at[11:23]
    line = f"{event.position:>8} {time} {event.job_id} {job['type']} v{event.version} {event.event} [{job['status']}]"
    return f"{line} {detail}".rstrip()


def _short(value: Any, width: int = 80) -> str:
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return text if len(text) <= width else text[: width - 1] + "…"


async def _tail(url: str, jobs: tuple, job_types: tuple, after: int | None, as_json: bool, api_key: str | None) -> None:
    subscription = client.subscribe(url, jobs=jobs, job_types=job_types, after=after, api_key=api_key)
    async with contextlib.aclosing(subscription) as events:
        async for event in events:
            if as_json:
                click.echo(orjson.dumps({"type": "event", **{k: getattr(event, k) for k in event.__slots__}}).decode())
            else:
                click.echo(describe(event))


@click.command()
@click.option("--url", envvar="JOBLEDGER_URL", default="http://127.0.0.1:8080", show_default=True, help="the service")
@click.option("--job", "jobs", type=click.UUID, multiple=True, help="follow this job (repeatable)")
@click.option("--type", "job_types", multiple=True, help="follow jobs of this type (repeatable)")
@click.option("--after", type=click.IntRange(min=0), default=None, help="first replay the events after this position")
@click.option("--json", "as_json", is_flag=True, help="print each event as a JSON line")
@click.option("--api-key", envvar="JOBLEDGER_API_KEY", default=None, help="an API key (needed where keys are required)")
def tail(url: str, jobs: tuple, job_types: tuple, after: int | None, as_json: bool, api_key: str | None) -> None:
    """Print events live as they are committed: of these jobs or types, else of all jobs."""
    try:
        asyncio.run(_tail(url, jobs, job_types, after, as_json, api_key))
    except KeyboardInterrupt:
        pass
    except client.Refused as exc:
        raise click.ClickException(str(exc)) from None
