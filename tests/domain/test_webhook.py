"""A webhook endpoint's stream (pure decide and fold), the delivery schedule, the signature and the
address kinds the SSRF check refuses."""

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from jobledger.application import webhook_targets
from jobledger.application.webhook_delivery import DEFAULT_SCHEDULE, DeliverySettings, parse_schedule
from jobledger.application.webhook_sender import next_state
from jobledger.domain import errors, webhook, webhook_events
from jobledger.eventlog.records import Delivery

NOW = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
FILTERS = {"url": "https://example.com/h", "event_types": ["JobCompleted"], "job_types": None, "description": None}


def _created() -> webhook.WebhookState:
    state = webhook.WebhookState("acme", "wh_1")
    return webhook.fold(state, webhook.create(state, secret_id="sec_1", **FILTERS))


@pytest.mark.parametrize(
    ("history", "trigger", "args", "expected"),
    [
        ([], "disable", {}, [webhook_events.WebhookDisabled]),
        (["disable"], "disable", {}, []),
        ([], "enable", {}, []),
        (["disable"], "enable", {}, [webhook_events.WebhookEnabled]),
        ([], "update", FILTERS, []),
        ([], "update", {**FILTERS, "job_types": ["render"]}, [webhook_events.WebhookUpdated]),
        (["disable"], "rotate", {"secret_id": "sec_2", "previous_expires_at": NOW}, [webhook_events.WebhookSecretRotated]),
        (["disable"], "delete", {}, [webhook_events.WebhookDeleted]),
    ],
)
def test_decide(history, trigger, args, expected):
    state = _created()
    for past in history:
        state = webhook.fold(state, webhook.decide(state, past))

    assert [type(e) for e in webhook.decide(state, trigger, **args)] == expected


def test_a_deleted_or_missing_endpoint_is_not_found_and_made_only_once():
    state = _created()
    gone = webhook.fold(state, webhook.decide(state, "delete"))

    with pytest.raises(errors.WebhookNotFound):
        webhook.decide(gone, "enable")
    with pytest.raises(errors.WebhookNotFound):
        webhook.decide(webhook.WebhookState("acme", "wh_2"), "disable")
    with pytest.raises(errors.IllegalTransition):
        webhook.create(state, secret_id="sec_9", **FILTERS)


def test_the_previous_secret_signs_until_its_overlap_ends():
    state = _created()
    rotated = webhook.fold(state, webhook.decide(state, "rotate", secret_id="sec_2", previous_expires_at=NOW))

    assert webhook.signing_secrets(rotated, NOW - timedelta(seconds=1)) == ["sec_2", "sec_1"]
    assert webhook.signing_secrets(rotated, NOW) == ["sec_2"]
    assert webhook.signing_secrets(state, NOW) == ["sec_1"]


def test_the_default_schedule_is_exponential_and_retries_for_more_than_a_day():
    assert sum(DEFAULT_SCHEDULE) >= 24 * 3600
    assert all(b == 3 * a for a, b in zip(DEFAULT_SCHEDULE, DEFAULT_SCHEDULE[1:]))
    assert parse_schedule("") == DEFAULT_SCHEDULE and parse_schedule("1,2.5") == (1.0, 2.5)
    with pytest.raises(ValueError):
        parse_schedule("1,0")


@pytest.mark.parametrize("jitter", [0.0, 0.999])
def test_jitter_only_lengthens_a_wait_and_a_resend_restarts_the_schedule(jitter):
    settings = DeliverySettings(schedule=(10.0, 20.0), jitter=lambda: jitter)
    fresh, resent = Delivery("m", "w", None, 1, "JobCreated", "{}"), Delivery("m", "w", None, 1, "JobCreated", "{}", schedule_from=3)

    state, due = next_state(fresh, 2, False, NOW, settings)
    assert state == "pending" and timedelta(seconds=20) <= due - NOW <= timedelta(seconds=25)
    assert next_state(fresh, 3, False, NOW, settings)[0] == "failed"
    assert next_state(resent, 4, False, NOW, settings)[0] == "pending"
    assert next_state(fresh, 3, True, NOW, settings)[0] == "delivered"


def test_a_signature_is_hmac_sha256_of_id_timestamp_body_with_the_secrets_bytes():
    key = bytes(range(32))
    secret = webhook_targets.new_secret(key)

    signed = webhook_targets.signature(secret, "msg_1", 1700000000, b'{"a":1}')

    expected = base64.b64encode(hmac.new(key, b'msg_1.1700000000.{"a":1}', hashlib.sha256).digest()).decode()
    assert secret.startswith("whsec_") and signed == f"v1,{expected}"


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"), ("::1", "loopback"), ("::ffff:127.0.0.1", "loopback"), ("10.0.0.1", "private"),
        ("172.16.5.4", "private"), ("192.168.1.1", "private"), ("100.64.0.1", "private"), ("fc00::1", "private"),
        ("169.254.169.254", "link-local"), ("fe80::1", "link-local"), ("0.0.0.0", "unspecified, multicast or reserved"),
        ("224.0.0.1", "unspecified, multicast or reserved"), ("93.184.216.34", None), ("2606:4700::1111", None),
    ],
)
def test_address_kinds(address, kind):
    assert webhook_targets.address_kind(address) == kind
