"""Fixtures of the signed log's tests: a signing key per test, a service that signs with it,
keys of each role (tests/security/conftest.py), and the tree as computed from the log itself."""

import pytest
from pydantic import SecretStr

from jobledger.application import signing
from jobledger.eventlog import merkle
from tests.security.conftest import bearer, make_key  # noqa: F401 -- fixtures, and the header they go in


@pytest.fixture
def signer() -> signing.Signer:
    return signing.Signer.generate("test.jobledger/log")


@pytest.fixture
def audit_settings(settings, signer):
    """The service signing with `signer`, a checkpoint at most every 50 ms."""
    return settings.model_copy(update={
        "signing_key": SecretStr(signer.signer_key()), "log_origin": "test.jobledger/log", "checkpoint_interval": 0.05,
    })


async def log_leaves(stores) -> list[bytes]:
    """The leaf hash of every settled event, straight from the log (not from the stored tree)."""
    leaves, after = [], 0
    while page := await stores.log.raw_all(after=after, limit=5000):
        leaves += [merkle.leaf_hash(merkle.canonical(e)) for e in page]
        after = page[-1].position
    return leaves
