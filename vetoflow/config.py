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

    # HTTP API (`vetoflow serve`)
    api_tokens: SecretStr | None = Field(
        default=None, description="Bearer tokens as 'token:reviewer,token:reviewer'; the token names the reviewer."
    )
    api_tokens_file: Path | None = Field(default=None, description="File with one 'token:reviewer' per line.")
    api_open: bool = Field(default=False, description="Accept requests without a token, from localhost only.")
    api_max_body_bytes: int = Field(default=1_000_000, ge=1_000, description="Largest API request body.")
    api_max_cells: int = Field(
        default=5_000_000, ge=1_000, description="Largest paths x horizon x segments a run started by the API may use."
    )
    scenario_dir: Path | None = Field(
        default=None, description="Folder the API may read scenario_path from (default: the shipped examples)."
    )

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
