"""Configuration: command-line flags override environment variables override defaults."""

from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DB = "sqlite:///jobledger.db"


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

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value
