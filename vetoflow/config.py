"""Settings read from the environment; nothing secret is ever logged or stored in state."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VETOFLOW_", extra="ignore")

    home: Path = Field(default=Path(".vetoflow"), description="Data directory (SQLite, Chroma).")
    database_url: str | None = Field(
        default=None, description="postgresql://... to keep checkpoints and the run index in PostgreSQL."
    )
    llm: Literal["auto", "offline", "bedrock"] = "auto"
    max_file_bytes: int = Field(default=5_000_000, description="Largest scenario/CSV file accepted.")
    ui_users: SecretStr | None = Field(
        default=None, description='Console logins "ana:pw,bo:pw2"; without any the console is open (localhost only).'
    )
    ui_users_file: Path | None = Field(default=None, description="File of console logins, one user:password a line.")

    @cached_property
    def sqlite_path(self) -> Path:
        return self.home / "vetoflow.db"

    @property
    def backend_name(self) -> str:
        return "postgres" if self.database_url else "sqlite"

    def redacted_database(self) -> str:
        """Where runs live, safe to print: passwords are masked."""
        if not self.database_url:
            return str(self.sqlite_path)
        from sqlalchemy.engine import make_url

        return make_url(self.database_url).render_as_string(hide_password=True)
