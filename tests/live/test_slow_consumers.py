"""Point 6: a listener that falls behind is closed with 4008 "lagging", never slows the others,
and resumes with `after`."""

import asyncio

import aiohttp
import pytest

from jobledger.web.live import LAGGING
from tests.live.helpers import closed, receive_events, subscribe, wait_until

BUFFER = 64 * 1024
BIG = "x" * 40_000  # each message carries the job document, payload included
EVENTS = 300  # about 12 MB per listener: more than the kernel's socket buffers hold


@pytest.fixture
def live_settings() -> dict[str, str]:
    return {"JOBLEDGER_WS_SEND_BUFFER_BYTES": str(BUFFER), "JOBLEDGER_WS_CLOSE_TIMEOUT": "30"}


async def _progress(api, job_id: str, count: int) -> None:
    for i in range(count):
        await api.progress(job_id, i % 100)


async def _resume(client, after: int, count: int) -> list[dict]:
    ws = await client.ws_connect("/ws")
    await ws.send_json({"type": "subscribe", "all": True, "after": after})
    events = await receive_events(ws, count)
    await ws.close()
    return events


async def test_a_listener_that_stops_reading_is_closed_lagging_and_the_others_get_everything(client, api, hub):
    job = await api.create(payload=BIG)
    await api.post(job["id"], "start")
    start = job["position"] + 1
    slow = await client.ws_connect("/ws")
    await subscribe(slow, all=True)
    fast = await client.ws_connect("/ws")
    await subscribe(fast, all=True)

    fast_events, _ = await asyncio.gather(receive_events(fast, EVENTS, timeout=60), _progress(api, job["id"], EVENTS))
    log = [e["position"] for e in await api.log(start)]
    assert [e["position"] for e in fast_events] == log
    await wait_until(lambda: hub.watched() == 1, timeout=30)  # the slow one was dropped, not buffered

    received, close = await closed(slow, timeout=30)
    assert close.type is aiohttp.WSMsgType.CLOSE and (close.data, close.extra) == (LAGGING, "lagging")
    got = [m["position"] for m in received if m["type"] == "event"]
    assert got == log[: len(got)] and len(got) < len(log)
    rest = await _resume(client, got[-1] if got else start, len(log) - len(got))
    assert got + [e["position"] for e in rest] == log
    await fast.close()


async def test_live_events_held_back_during_a_replay_are_bounded_too(client, api, hub):
    job = await api.create(payload=BIG)
    await api.post(job["id"], "start")
    await _progress(api, job["id"], EVENTS)  # a long replay for a reader that does not read
    slow = await client.ws_connect("/ws")
    await slow.send_json({"type": "subscribe", "all": True, "after": 0})
    await wait_until(lambda: hub.watched() == 1)
    await _progress(api, job["id"], 5)  # held back while the replay waits for the reader: over the bound
    await wait_until(lambda: hub.watched() == 0, timeout=30)

    received, close = await closed(slow, timeout=30)
    assert (close.data, close.extra) == (LAGGING, "lagging")
    log = [e["position"] for e in await api.log(0)]
    got = [m["position"] for m in received if m["type"] == "event"]
    assert got == log[: len(got)]
    rest = await _resume(client, got[-1], len(log) - len(got))
    assert got + [e["position"] for e in rest] == log
