"""Configuration: command-line flags override environment variables override defaults."""

from pydantic import AliasChoices, Field
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
    log_level: str = "INFO"
    types_file: str | None = None  #: JSON file of job types to register at start
    strict_types: bool = False  #: refuse jobs of unregistered types
