"""A verified JWT is taken again without its checks for JOBLEDGER_AUTH_CACHE_SECONDS (verifying
costs more than the rest of a read: bench/jwt_overhead.py), never past its expiry; only tokens
that passed are kept. On both backends, over real HTTP, against a real JWKS server."""

import asyncio
import time

import pytest

from tests.security.conftest import bearer
from tests.security.test_jwt import idp, jwt_settings  # noqa: F401 - fixtures
from tests.service.helpers import error_of, ok


@pytest.fixture
async def cached(serve, jwt_settings):  # noqa: F811
    return await serve(jwt_settings.model_copy(update={"auth_cache_seconds": 60}))


async def test_a_verified_token_outlives_its_retired_key_for_the_cache_delay_only(cached, idp):  # noqa: F811
    token = idp.token()
    await ok(await cached.get("/jobs", headers=bearer(token)))
    idp.keys["rsa-2"] = idp.keys["ec-1"]
    idp.published = ["rsa-2"]  # rsa-1 retired
    await asyncio.sleep(0.25)  # past jwt_jwks_refetch_seconds
    await ok(await cached.get("/jobs", headers=bearer(idp.token(kid="rsa-2", alg="ES256"))))  # the JWKS read again
    await asyncio.sleep(0.25)
    await error_of(await cached.get("/jobs", headers=bearer(idp.token(kid="rsa-1", sub="bob"))), 401, "unauthorized")
    await ok(await cached.get("/jobs", headers=bearer(token)))  # verified before: kept


async def test_a_cached_token_is_refused_once_it_expires(cached, idp):  # noqa: F811
    token = idp.token(exp=int(time.time()) + 2)
    await ok(await cached.get("/jobs", headers=bearer(token)))
    await asyncio.sleep(max(0.0, int(time.time()) + 2 - time.time()) + 0.1)
    await error_of(await cached.get("/jobs", headers=bearer(token)), 401, "unauthorized")


async def test_a_refused_token_is_not_kept(cached, idp):  # noqa: F811
    early = idp.token(nbf=int(time.time()) + 2)
    await error_of(await cached.get("/jobs", headers=bearer(early)), 401, "unauthorized")
    await asyncio.sleep(max(0.0, int(time.time()) + 2 - time.time()) + 0.1)
    await ok(await cached.get("/jobs", headers=bearer(early)))
