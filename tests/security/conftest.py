"""Fixtures for the trust tests: keys made the way `jobledger keys create` makes them, and a
service that requires them (the revocation cache off, so a revoked key fails at once)."""

import pytest

from jobledger.web import auth
from jobledger.application.jobs import utcnow


@pytest.fixture
def secure_settings(settings):
    return settings.model_copy(update={"auth": "required", "auth_cache_seconds": 0})


@pytest.fixture
async def secure(serve, secure_settings):
    return await serve(secure_settings)


@pytest.fixture
def make_key(store):
    """make_key(role, tenant="acme", types=None) -> the key, stored (only its hash) in the test database."""

    async def make(role: str, tenant: str = "acme", types: tuple[str, ...] | None = None) -> str:
        key, record = auth.new_key(role, tenant, types, None, utcnow())
        await store.registry.put_key(record)
        return key

    return make


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def tenant_clients(serve, settings, store, **update) -> tuple:
    """A service requiring keys (its settings with `update`), and an admin key's headers for the
    tenants acme and globex."""
    client = await serve(settings.model_copy(update={"auth": "required", "auth_cache_seconds": 0, **update}))
    keys = {}
    for tenant in ("acme", "globex"):
        key, record = auth.new_key("admin", tenant, None, None, utcnow())
        await store.registry.put_key(record)
        keys[tenant] = bearer(key)
    return client, keys

