"""Configuration: command-line flags override environment variables override defaults."""

import ipaddress
from typing import Literal

import limits
from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DB = "sqlite:///jobledger.db"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JOBLEDGER_", extra="ignore", populate_by_name=True)

    db: str = Field(DEFAULT_DB, validation_alias=AliasChoices("DATABASE_URL", "JOBLEDGER_DB"))
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = 1024 * 1024
    sweep_interval: float = 1.0  #: seconds between expiry sweeps
    retention_seconds: float = 7 * 86400  #: finished jobs leave the status table after this; 0 keeps them
    migrate_on_start: bool = True
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["json", "console"] = "json"  #: json: one object per line; console: for people
    types_file: str | None = None  #: JSON file of job types to register at start
    strict_types: bool = False  #: refuse jobs of unregistered types

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

    @field_validator("rate_limit")
    @classmethod
    def _rate(cls, value: str) -> str:
        try:
            limits.parse(value)
        except ValueError as exc:
            raise ValueError(f"not a rate like '100/second': {exc}") from None
        return value

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
