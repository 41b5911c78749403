"""Fixtures for the dashboard tests: the service on each backend, seen through a real browser."""

import pytest

from tests.live.helpers import Api
from tests.ui import helpers


@pytest.fixture
def api(client) -> Api:
    return Api(client)


@pytest.fixture
def worker(api) -> helpers.Worker:
    return helpers.Worker(api)


@pytest.fixture
async def page(client):
    """A headless Chromium page on the service; the test fails if the page threw a JavaScript error."""
    async with helpers.browser_page(str(client.make_url(""))) as page:
        yield page
        assert page.errors == [], page.errors
