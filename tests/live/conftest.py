"""Fixtures for the live-update tests: a running service on each backend, and real WebSocket clients."""

import pytest

from jobledger.web import keys
from tests.live.helpers import Api


@pytest.fixture
def live_settings() -> dict[str, str]:
    """The hub's settings, as environment variables; override to test small buffers or short heartbeats."""
    return {"JOBLEDGER_WS_HEARTBEAT": "5"}


@pytest.fixture(autouse=True)
def _live_environment(monkeypatch, live_settings) -> None:
    for name, value in live_settings.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def api(client) -> Api:
    return Api(client)


@pytest.fixture
def hub(client):
    return client.server.app[keys.hub_key]
