"""Alembic migrations for both backends; `upgrade` applies them programmatically."""

from pathlib import Path

from alembic import command
from alembic.config import Config

HERE = Path(__file__).parent


def config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    return cfg


def upgrade_connection(connection, revision: str = "head") -> None:
    """Apply migrations on an open (sync) SQLAlchemy connection."""
    cfg = config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)
