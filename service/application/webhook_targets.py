"""Where a webhook may be sent (SSRF), and how a delivery is signed (Standard Webhooks 1.0).

A target is refused when its host is, or resolves to, an address that is not global: loopback,
private, link-local (169.254.169.254 is the cloud metadata service), and the like, unless the
configuration allows that kind (`JOBLEDGER_WEBHOOK_ALLOW_PRIVATE=loopback,private,link-local`).
The check runs when the endpoint is created or changed, and again before every attempt, since
what a name resolves to can change; the sender connects only to the addresses it checked
(web/webhook_sender.py).
"""

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import socket
from urllib.parse import urlsplit

from jobledger.domain import errors

KINDS = ("loopback", "private", "link-local")  #: the kinds of non-global addresses the configuration may allow
SECRET_PREFIX = "whsec_"
_NEVER = "unspecified, multicast or reserved"


class TargetRefused(Exception):
    """The webhook's URL may not be sent to: why."""


def allowed_kinds(setting: str) -> frozenset[str]:
    """The kinds named in the comma-separated setting; ValueError for an unknown one."""
    kinds = frozenset(k.strip() for k in setting.split(",") if k.strip())
    if unknown := kinds - set(KINDS):
        raise ValueError(f"unknown address kinds {sorted(unknown)}: use {', '.join(KINDS)}")
    return kinds


def address_kind(address: str) -> str | None:
    """None for a global address; else its kind (one of KINDS, or _NEVER)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_unspecified or ip.is_multicast or ip.is_reserved:
        return _NEVER
    if ip.is_private or not ip.is_global:
        return "private"
    return None


def check_address(address: str, allowed: frozenset[str]) -> None:
    """TargetRefused unless `address` is global or of an allowed kind."""
    kind = address_kind(address)
    if kind is not None and kind not in allowed:
        article = "an" if kind[0] in "aeiou" else "a"
        raise TargetRefused(f"{address} is {article} {kind} address, which this service does not send webhooks to")


def split_url(url: str) -> tuple[str, int]:
    """(host, port) of an http(s) URL without credentials; TargetRefused otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"not a URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("must be an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("must not hold credentials")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def check_target(url: str, allowed: frozenset[str]) -> list[str]:
    """The addresses `url`'s host resolves to, every one of them allowed; TargetRefused otherwise.
    Resolution runs off the event loop (getaddrinfo in the loop's executor)."""
    host, port = split_url(url)
    try:
        return [_checked(host, allowed)]
    except ValueError:
        pass  # a name, not an address
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise TargetRefused(f"{host} does not resolve ({exc.strerror or exc})") from None
    except (UnicodeError, ValueError) as exc:  # a name no resolver takes: a label over 63 characters, ...
        raise TargetRefused(f"{host} is not a host name ({exc})") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    for address in addresses:
        check_address(address, allowed)
    return addresses


def _checked(host: str, allowed: frozenset[str]) -> str:
    check_address(host, allowed)  # ValueError first if `host` is no address
    return host


async def checked_url(url: str, allowed: frozenset[str]) -> str:
    """`url` if it may be a webhook's target; errors.TargetRefused (422, naming `url`) otherwise."""
    try:
        await check_target(url, allowed)
    except TargetRefused as exc:
        raise errors.TargetRefused(f"url: {exc}", fields=[{"field": "url", "reason": str(exc)}]) from None
    return url


def new_secret(random_bytes: bytes) -> str:
    """A secret as clients see it: whsec_ and the base64 of its bytes."""
    return SECRET_PREFIX + base64.b64encode(random_bytes).decode()


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,` signature: HMAC-SHA256 of `id.timestamp.body` with the secret's bytes, in base64."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secrets: list[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt, signed with each secret (space-separated)."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, msg_id, timestamp, body) for s in secrets),
        "content-type": "application/json",
    }
