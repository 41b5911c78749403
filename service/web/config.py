"""Configuration: command-line flags override environment variables override defaults."""

import ipaddress
import re
from typing import Literal
from urllib.parse import urlsplit

import limits
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from jobledger.application import webhook_delivery, webhook_targets
from jobledger.application.tenant_limits import PerTenant

DEFAULT_DB = "sqlite:///jobledger.db"
_HOSTNAME = re.compile(r"[a-z0-9_.-]+")  # a name or IPv4 address; IPv6 comes in brackets


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def hostname(host: str) -> str | None:
    """The name in a `Host` header or a host setting: lower case, without port or brackets; None if malformed."""
    try:
        parts = urlsplit(f"//{host.strip()}")
        parts.port  # noqa: B018 -- raises on a port that is not a number
    except ValueError:
        return None
    name = parts.hostname or ""
    return name if _HOSTNAME.fullmatch(name) or _is_ipv6(name) else None


def _is_ipv6(name: str) -> bool:
    try:
        return ipaddress.ip_address(name).version == 6
    except ValueError:
        return False


def _checked_rate(value: str | None) -> str | None:
    if value is not None:
        try:
            limits.parse(value)
        except ValueError as exc:
            raise ValueError(f"not a rate like '100/second': {exc}") from None
    return value


class TenantLimits(BaseModel):
    """One tenant's own figures, each in place of the service-wide setting of the same name (None: that one)."""

    model_config = ConfigDict(extra="forbid")

    rate_limit: str | None = None
    max_webhooks: int | None = Field(None, ge=1, le=100_000)
    max_schedules: int | None = Field(None, ge=1, le=1_000_000)
    ws_max_sockets_per_key: int | None = Field(None, ge=1)

    _rate = field_validator("rate_limit")(_checked_rate)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JOBLEDGER_", extra="ignore", populate_by_name=True)

    db: str = Field(DEFAULT_DB, validation_alias=AliasChoices("DATABASE_URL", "JOBLEDGER_DB"))
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = 1024 * 1024
    sweep_interval: float = 1.0  #: seconds between expiry sweeps
    scheduler: bool = True  #: fire schedules in this instance (JOBLEDGER_SCHEDULER=false: another does)
    retention_seconds: float = 7 * 86400  #: finished jobs leave the status table after this; 0 keeps them
    migrate_on_start: bool = True
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["json", "console"] = "json"  #: json: one object per line; console: for people
    types_file: str | None = None  #: JSON file of job types to register at start
    strict_types: bool = False  #: refuse jobs of unregistered types
    # Webhooks (README, Webhooks): the kinds of non-global addresses deliveries may go to
    # (loopback, private, link-local; none by default), the retry schedule (seconds, comma-separated;
    # empty: about 41 h, exponential), each attempt's timeout, and how long a rotated secret still signs
    webhook_allow_private: str = ""
    webhook_retry_schedule: str = ""
    webhook_timeout: float = Field(10.0, gt=0, le=300)
    webhook_rotation_overlap: float = Field(86400.0, ge=0)
    # What one tenant may hold, so that no tenant's fires or deliveries crowd out the others'
    max_webhooks: int = Field(100, ge=1, le=100_000)  #: endpoints not deleted, per tenant
    max_schedules: int = Field(1000, ge=1, le=1_000_000)  #: schedules not deleted, per tenant
    #: tenants given their own figures (JSON: {"acme": {"max_webhooks": 500, "rate_limit": "5000/second"}})
    tenant_limits: dict[str, TenantLimits] = Field(default_factory=dict)

    # Limits on a body's free-form JSON (payload, metadata, results): see README "Security"
    max_json_depth: int = Field(64, ge=1, le=1000)
    max_string_length: int = Field(1_048_576, ge=1)  #: characters in one string
    max_array_length: int = Field(10_000, ge=1)  #: items in one array or object
    max_payload_bytes: int | None = Field(None, ge=1)  #: a job's payload as JSON (None: the body limit); per type too

    # Trust: see README "Security"
    auth: Literal["auto", "required"] = "auto"  #: auto: open on loopback only; required: keys everywhere
    auth_cache_seconds: float = Field(2.0, ge=0)  #: a revoked key stops working within this many seconds
    rate_limit: str = "1000/second"  #: requests per key (limits syntax: "100/second", "5000/minute")
    cors_origins: list[str] = Field(default_factory=list)  #: origins browsers may call from ("*" for any)
    hsts: bool = False  #: send Strict-Transport-Security (behind TLS only)
    # Host names answered besides localhost, 127.0.0.1 and [::1] (a port is ignored). The open mode answers
    # only those (a DNS-rebound name is refused); with keys, any host unless this list is given.
    allowed_hosts: list[str] = Field(default_factory=list)
    body_timeout_seconds: float = Field(30.0, gt=0)  #: a request body must arrive within this (408, then closed)
    #: a job type's recent durations, read for job estimates, are kept this long (README "Estimates")
    estimate_cache_seconds: float = Field(2.0, ge=0)
    #: where spans go (README, Traces): none, console, or otlp (the OTEL_EXPORTER_OTLP_* variables)
    otel_exporter: Literal["none", "console", "otlp"] = "none"

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts(cls, hosts: list[str]) -> list[str]:
        for host in hosts:
            if hostname(host) is None:
                raise ValueError(f"not a host name (with an optional port): {host!r}")
        return hosts

    # The log's signed checkpoints: see README "Auditing" and docs/auditing.md
    signing_key: SecretStr | None = None  #: the signer key text (`jobledger audit keygen`); never stored
    signing_key_file: str | None = None  #: a file holding the signer key
    log_origin: str | None = Field(None, pattern=r"^[^\n]+$")  #: a checkpoint's origin line (None: jobledger/<host>)
    checkpoint_interval: float = Field(1.0, gt=0)  #: seconds: a checkpoint at most this often while the log grows

    # Sign-in with JWTs: see README "Sign-in with JWTs" and jobledger.web.tokens
    jwt_jwks_url: str | None = Field(None, pattern=r"^https?://")  #: the identity provider's JWKS (RS256, ES256, EdDSA)
    jwt_jwks_file: str | None = None  #: a JWKS file, instead of a URL
    jwt_secret: SecretStr | None = None  #: an HS256 shared secret (32 bytes or more)
    jwt_issuer: str | None = None  #: the `iss` every token must carry (required once JWTs are on)
    jwt_audience: str | None = None  #: the `aud` every token must carry (required once JWTs are on)
    jwt_algorithms: list[Literal["RS256", "ES256", "EdDSA", "HS256"]] | None = None  #: None: every one the keys allow
    jwt_leeway_seconds: float = Field(30.0, ge=0, le=300)  #: clock skew allowed on exp, nbf, iat
    jwt_tenant_claim: str = Field("tenant", min_length=1)  #: the claim naming the tenant (required in a token)
    jwt_role_claim: str = Field("role", min_length=1)  #: the claim naming the role
    #: the role of a token without the role claim (None: such tokens are refused)
    jwt_default_role: Literal["client", "worker", "auditor", "admin", "operator"] | None = "client"
    #: the claim naming the user, who sees only the jobs it created ("": tokens see their whole tenant)
    jwt_user_claim: str = "sub"
    jwt_jwks_timeout_seconds: float = Field(5.0, gt=0, le=60)  #: a JWKS fetch must finish within this
    jwt_jwks_max_bytes: int = Field(256 * 1024, ge=1024, le=16 * 1024 * 1024)  #: a bigger JWKS is refused
    jwt_jwks_cache_seconds: float = Field(600.0, gt=0)  #: the JWKS is fetched again when this old
    jwt_jwks_refetch_seconds: float = Field(10.0, ge=0)  #: at most one fetch this often, however many unknown kids

    @model_validator(mode="after")
    def _jwt(self) -> "Settings":
        if not self.jwt_enabled:
            return self
        if self.jwt_jwks_url and self.jwt_jwks_file:
            raise ValueError("jwt_jwks_url and jwt_jwks_file: give one JWKS, not both")
        for name in ("jwt_issuer", "jwt_audience"):
            if not getattr(self, name):
                raise ValueError(f"{name}: required when JWTs are accepted (every token's {name[4:7]} is checked)")
        if self.jwt_secret is not None and len(self.jwt_secret.get_secret_value().encode()) < 32:
            raise ValueError("jwt_secret: an HS256 secret needs 32 bytes or more (RFC 7518, 3.2)")
        return self

    @property
    def jwt_enabled(self) -> bool:
        """Whether JWTs are accepted: a JWKS or a shared secret is configured."""
        return bool(self.jwt_jwks_url or self.jwt_jwks_file or self.jwt_secret is not None)

    @field_validator("webhook_allow_private")
    @classmethod
    def _webhook_kinds(cls, value: str) -> str:
        webhook_targets.allowed_kinds(value)  # ValueError names the unknown kind
        return value

    @field_validator("webhook_retry_schedule")
    @classmethod
    def _webhook_schedule(cls, value: str) -> str:
        webhook_delivery.parse_schedule(value)
        return value

    _rate = field_validator("rate_limit")(_checked_rate)

    def per_tenant(self, name: str, default=None) -> PerTenant:
        """Setting `name` (one of TenantLimits'): its service-wide figure (this one's, or `default` for a
        setting read elsewhere, as JOBLEDGER_WS_*), and the tenants given their own."""
        own = {tenant: figure for tenant, given in self.tenant_limits.items()
               if (figure := getattr(given, name)) is not None}  # fmt: skip
        return PerTenant(getattr(self, name) if default is None else default, f"JOBLEDGER_{name.upper()}", own)

    @property
    def auth_required(self) -> bool:
        """Keys are required unless `auth` is auto and the service listens on loopback only."""
        return self.auth == "required" or not is_loopback(self.host)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value
