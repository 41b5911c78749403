"""The request ids the service makes for requests that bring none: random UUIDs, as text."""

import uuid

from jobledger.web import logs


def test_made_request_ids_are_distinct_version_4_uuids():
    made = [logs.new_request_id() for _ in range(600)]  # past two draws of random bytes
    assert len(set(made)) == len(made)
    for text in made:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, text)
