"""The API tests make keys the way the trust tests do."""

from tests.security.conftest import make_key  # noqa: F401 (a fixture)
