"""Sign-in with the application's identity: JWTs beside API keys, over HTTP and WebSockets.

A real identity provider stand-in (an aiohttp server serving a JWKS of keys made here) and a
service started with JWT settings, on both backends. Every refused token is answered 401 and
writes nothing; a user-scoped token sees only its user's jobs, as another tenant's jobs are
not seen.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid

import jwt
import orjson
import pytest
from aiohttp import WSServerHandshakeError, web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from pydantic import SecretStr

from tests.security.conftest import bearer
from tests.service.helpers import bad_fields, error_of, ok, wait_until

ISSUER = "https://idp.example"
AUDIENCE = "jobledger"
SECRET = "a shared secret of more than thirty-two bytes"


def _jwk(kid: str, private_key) -> dict:
    return {**orjson.loads(_public_jwk_json(private_key.public_key())), "kid": kid}


def _public_jwk_json(public) -> str:
    if isinstance(public, rsa.RSAPublicKey):
        return jwt.algorithms.RSAAlgorithm.to_jwk(public)
    if isinstance(public, ec.EllipticCurvePublicKey):
        return jwt.algorithms.ECAlgorithm.to_jwk(public)
    return jwt.algorithms.OKPAlgorithm.to_jwk(public)


class IdentityProvider:
    """Keys made here, and a real HTTP server that serves the public half of `published` as a JWKS."""

    def __init__(self):
        self.keys = {
            "rsa-1": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "ec-1": ec.generate_private_key(ec.SECP256R1()),
            "ed-1": ed25519.Ed25519PrivateKey.generate(),
        }
        self.published = list(self.keys)
        self.hits = 0
        self.server: TestServer | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/jwks.json", self._jwks)
        self.server = TestServer(app)
        await self.server.start_server()

    async def _jwks(self, _request: web.Request) -> web.Response:
        self.hits += 1
        return web.json_response({"keys": [_jwk(kid, self.keys[kid]) for kid in self.published]})

    @property
    def url(self) -> str:
        return str(self.server.make_url("/jwks.json"))

    def token(self, kid: str = "rsa-1", alg: str = "RS256", key=None, **claims) -> str:
        """A token signed with the private key `kid` (or `key`), with these claims over the defaults."""
        body = {"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 300, "tenant": "acme", "sub": "alice"}
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, key if key is not None else self.keys[kid], algorithm=alg, headers={"kid": kid})


@pytest.fixture
async def idp():
    provider = IdentityProvider()
    await provider.start()
    yield provider
    await provider.server.close()


@pytest.fixture
def jwt_settings(settings, idp):
    return settings.model_copy(update={
        "auth": "required", "auth_cache_seconds": 0, "jwt_jwks_url": idp.url, "jwt_issuer": ISSUER,
        "jwt_audience": AUDIENCE, "jwt_secret": SecretStr(SECRET), "jwt_leeway_seconds": 0,
        "jwt_jwks_refetch_seconds": 0.2,
    })


@pytest.fixture
async def service(serve, jwt_settings):
    return await serve(jwt_settings)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict, claims: dict, key: bytes = b"") -> str:
    """A token made by hand: with `key`, HMAC-SHA256 signed (as an attacker would, with any bytes)."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest() if key else b""
    return f"{signing_input}.{_b64(signature)}"


def _claims(**changes) -> dict:
    return {"iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 300, "tenant": "acme", "sub": "alice", **changes}


def _refused_tokens(idp: IdentityProvider) -> dict[str, str]:
    rsa_public_pem = idp.keys["rsa-1"].public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {
        "alg none": _unsigned({"alg": "none", "typ": "JWT", "kid": "rsa-1"}, _claims()),
        "wrong key": idp.token(key=impostor),
        "unknown kid": idp.token(kid="nobody", key=idp.keys["rsa-1"]),
        "expired": idp.token(exp=int(time.time()) - 60),
        "wrong audience": idp.token(aud="another-service"),
        "wrong issuer": idp.token(iss="https://evil.example"),
        "HS256 keyed with the RSA public key": _unsigned(
            {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, _claims(), rsa_public_pem
        ),
        "HS256 with another secret": idp.token(kid="x", alg="HS256", key="another secret of thirty-two bytes or more"),
        "no exp": idp.token(exp=None),
        "no tenant": idp.token(tenant=None),
        "unknown role": idp.token(role="superuser"),
        "no user": idp.token(sub=None),
        "malformed": "not.a.jwt",
    }


async def test_refused_tokens_answer_401_and_write_nothing(service, store, idp):
    head = await store.log.head()
    for case, token in _refused_tokens(idp).items():
        created = await service.post("/jobs", json={"type": "report"}, headers=bearer(token))
        assert created.status == 401, (case, await created.text())
        await error_of(created, 401, "unauthorized")
        listed = await service.get("/jobs", headers=bearer(token))
        assert listed.status == 401, case
        socket = await service.ws_connect("/ws")
        await socket.send_json({"type": "auth", "token": token})
        assert (await socket.receive_json(timeout=5))["error"]["code"] == "unauthorized", case
        await socket.receive(timeout=5)
        assert socket.close_code == 4001, case
    assert await store.log.head() == head


@pytest.mark.parametrize("alg,kid", [("RS256", "rsa-1"), ("ES256", "ec-1"), ("EdDSA", "ed-1"), ("HS256", "hs")])
async def test_each_algorithm_is_accepted(service, idp, alg, kid):
    key = SECRET if alg == "HS256" else None
    token = idp.token(kid=kid, alg=alg, key=key)
    job = await ok(await service.post("/jobs", json={"type": "report"}, headers=bearer(token)), 201)
    assert (job["tenant"], job["user"]) == ("acme", "alice")
    assert (await ok(await service.get(f"/jobs/{job['id']}", headers=bearer(token))))["id"] == job["id"]


async def test_a_flood_of_unknown_kids_fetches_the_jwks_once(serve, jwt_settings, idp):
    service = await serve(jwt_settings.model_copy(update={"jwt_jwks_refetch_seconds": 60}))
    tokens = [idp.token(kid=f"made-up-{i}", key=idp.keys["rsa-1"]) for i in range(30)]
    answers = await asyncio.gather(*(service.get("/jobs", headers=bearer(t)) for t in tokens))
    assert [a.status for a in answers] == [401] * 30
    assert idp.hits == 1


async def test_a_rotated_key_is_picked_up_and_a_retired_one_refused(service, idp):
    await ok(await service.get("/jobs", headers=bearer(idp.token())))
    idp.keys["rsa-2"] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    idp.published = ["rsa-2"]
    await asyncio.sleep(0.25)  # past jwt_jwks_refetch_seconds
    await ok(await service.get("/jobs", headers=bearer(idp.token(kid="rsa-2"))))
    await asyncio.sleep(0.25)
    await error_of(await service.get("/jobs", headers=bearer(idp.token(kid="rsa-1"))), 401, "unauthorized")


async def test_claims_map_to_tenant_role_and_user(serve, jwt_settings, idp, make_key):
    service = await serve(jwt_settings.model_copy(update={
        "jwt_tenant_claim": "org", "jwt_role_claim": "https://app.example/role", "jwt_user_claim": "email",
        "jwt_default_role": "client",
    }))
    client = idp.token(org="globex", email="bob@globex.example", tenant=None)
    job = await ok(await service.post("/jobs", json={"type": "report"}, headers=bearer(client)), 201)
    assert (job["tenant"], job["user"]) == ("globex", "bob@globex.example")
    worker = idp.token(org="globex", email="w@globex.example", **{"https://app.example/role": "worker"})
    await error_of(await service.post("/jobs", json={"type": "report"}, headers=bearer(worker)), 403, "forbidden")
    socket = await service.ws_connect("/ws")
    await socket.send_json({"type": "auth", "token": worker})
    assert await socket.receive_json(timeout=5) == {"type": "authenticated", "role": "worker", "tenant": "globex"}
    await socket.close()
    globex = bearer(await make_key("admin", "globex"))
    assert [j["id"] for j in (await ok(await service.get("/jobs", headers=globex)))["jobs"]] == [job["id"]]
    acme = bearer(await make_key("admin", "acme"))
    assert (await ok(await service.get("/jobs", headers=acme)))["jobs"] == []


async def test_a_user_sees_only_their_own_jobs(service, store, idp, make_key):
    alice, bob = bearer(idp.token(sub="alice")), bearer(idp.token(sub="bob"))
    admin = bearer(await make_key("admin", "acme"))
    mine = await ok(await service.post("/jobs", json={"type": "report"}, headers=alice), 201)
    theirs = await ok(await service.post("/jobs", json={"type": "report"}, headers=bob), 201)
    tenant_wide = await ok(await service.post("/jobs", json={"type": "report"}, headers=admin), 201)
    assert [j["id"] for j in (await ok(await service.get("/jobs", headers=alice)))["jobs"]] == [mine["id"]]
    listed = {j["id"] for j in (await ok(await service.get("/jobs", headers=admin)))["jobs"]}
    assert listed == {mine["id"], theirs["id"], tenant_wide["id"]}
    head = await store.log.head()
    for path in ("/jobs/{id}", "/jobs/{id}/events", "/jobs/{id}?at_position=1", "/jobs/{id}/verify"):
        for other in (theirs, tenant_wide):
            foreign = await service.get(path.format(id=other["id"]), headers=alice)
            unknown = await service.get(path.format(id=uuid.uuid4()), headers=alice)
            assert foreign.status == unknown.status == 404, (path, await foreign.text())
    await error_of(await service.post(f"/jobs/{theirs['id']}/cancel", json={}, headers=alice), 404, "job_not_found")
    assert await store.log.head() == head
    events = (await ok(await service.get(f"/jobs/{mine['id']}/events", headers=alice)))["events"]
    assert [e["type"] for e in events] == ["JobCreated"]
    await error_of(await service.get("/events", headers=alice), 403, "forbidden")
    with pytest.raises(WSServerHandshakeError) as refused:
        await service.ws_connect(f"/jobs/{theirs['id']}/ws", headers=alice)
    assert refused.value.status == 404


async def test_a_users_socket_and_stats_hold_only_their_jobs(service, idp, make_key):
    alice, bob = bearer(idp.token(sub="alice")), bearer(idp.token(sub="bob"))
    admin = bearer(await make_key("admin", "acme"))
    mine = await ok(await service.post("/jobs", json={"type": "mine"}, headers=alice), 201)
    theirs = await ok(await service.post("/jobs", json={"type": "theirs"}, headers=bob), 201)
    socket = await service.ws_connect("/ws", headers=alice)
    await socket.send_json({"type": "subscribe", "all": True, "after": 0})
    seen = []
    while (message := await socket.receive_json(timeout=10))["type"] != "subscribed":
        seen.append(message["job_id"])
    for job in (theirs, mine):
        await ok(await service.post(f"/jobs/{job['id']}/start", json={}, headers=admin))
    message = await socket.receive_json(timeout=10)
    assert (message["job_id"], message["event"]) == (mine["id"], "JobStarted")
    assert seen == [mine["id"]]
    await socket.close()
    stats = await wait_until(lambda: _stats(service, alice))
    assert set(stats["types"]) == {"mine"}


async def _stats(service, headers):
    stats = await ok(await service.get("/stats", headers=headers))
    return stats if stats["types"] else None


async def test_the_creating_user_comes_from_the_token(service, store, idp):
    alice = bearer(idp.token(sub="alice"))
    head = await store.log.head()
    smuggled = await service.post("/jobs", json={"type": "report", "user": "mallory"}, headers=alice)
    assert await bad_fields(smuggled) == ["user"]
    assert await store.log.head() == head
    body = {"type": "report", "metadata": {"user": "mallory"}}
    job = await ok(await service.post("/jobs", json=body, headers=alice), 201)
    assert job["user"] == "alice"
    created = (await ok(await service.get(f"/jobs/{job['id']}/events", headers=alice)))["events"][0]
    assert (created["data"]["user"], created["metadata"]["actor"]) == ("alice", "jwt:alice")
    batch = await ok(await service.post("/jobs/batch", json={"jobs": [{"type": "report"}]}, headers=alice), 201)
    assert batch["jobs"][0]["user"] == "alice"


async def test_one_idempotency_key_makes_each_user_their_own_job(service, idp):
    key = {"Idempotency-Key": "order-42"}
    alice = await ok(await service.post("/jobs", json={"type": "r"}, headers={**bearer(idp.token(sub="alice")), **key}), 201)
    bob = await ok(await service.post("/jobs", json={"type": "r"}, headers={**bearer(idp.token(sub="bob")), **key}), 201)
    assert alice["id"] != bob["id"] and bob["user"] == "bob"


async def test_a_user_token_may_not_claim_from_the_tenants_queue(service, idp):
    worker = bearer(idp.token(role="worker"))
    await error_of(await service.post("/workers/claim", json={"worker_id": "w"}, headers=worker), 403, "forbidden")


async def test_a_socket_closes_when_its_token_expires(service, idp):
    token = idp.token(exp=int(time.time()) + 2)
    socket = await service.ws_connect("/ws")
    await socket.send_json({"type": "auth", "token": token})
    assert (await socket.receive_json(timeout=5))["type"] == "authenticated"
    error = await socket.receive_json(timeout=10)
    assert error["error"]["code"] == "unauthorized" and "expired" in error["error"]["message"]
    await socket.receive(timeout=5)
    assert socket.close_code == 4001
    assert time.time() >= orjson.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))["exp"]


async def test_a_service_without_jwt_settings_refuses_every_jwt(secure, idp):
    await error_of(await secure.get("/jobs", headers=bearer(idp.token())), 401, "unauthorized")


async def test_a_jwks_over_the_size_cap_is_refused_and_the_service_says_so(serve, jwt_settings, store, idp):
    for i in range(3):  # with them, about 2 KB
        idp.keys[f"rsa-{i + 2}"] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    idp.published = list(idp.keys)
    service = await serve(jwt_settings.model_copy(update={"jwt_jwks_max_bytes": 1024}))
    head = await store.log.head()
    await error_of(await service.post("/jobs", json={"type": "r"}, headers=bearer(idp.token())), 503, "keys_unavailable")
    assert await store.log.head() == head


async def test_a_jwks_file_is_read_again_for_a_new_kid(serve, jwt_settings, idp, tmp_path):
    path = tmp_path / "jwks.json"
    path.write_bytes(orjson.dumps({"keys": [_jwk("rsa-1", idp.keys["rsa-1"])]}))
    service = await serve(jwt_settings.model_copy(update={"jwt_jwks_url": None, "jwt_jwks_file": str(path)}))
    await ok(await service.get("/jobs", headers=bearer(idp.token())))
    await error_of(await service.get("/jobs", headers=bearer(idp.token(kid="ec-1", alg="ES256"))), 401, "unauthorized")
    path.write_bytes(orjson.dumps({"keys": [_jwk(kid, idp.keys[kid]) for kid in ("rsa-1", "ec-1")]}))
    await asyncio.sleep(0.25)  # past jwt_jwks_refetch_seconds
    await ok(await service.get("/jobs", headers=bearer(idp.token(kid="ec-1", alg="ES256"))))
    assert idp.hits == 0
