"""Settings read from the environment; nothing secret is ever logged or stored in state."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from vetoflow.errors import VetoflowError

LAMBDA_HOME = Path("/tmp/vetoflow")  # the only writable place on Lambda
SQLITE_ON_LAMBDA = (
    "Refusing to keep runs in SQLite on AWS Lambda: /tmp is wiped when the instance is recycled, and "
    "paused runs must outlive it. Set VETOFLOW_DATABASE_URL=postgresql://USER:PASSWORD@HOST:5432/DBNAME "
    "(Amazon RDS or Aurora PostgreSQL). For a throwaway demo only, set VETOFLOW_ALLOW_SQLITE_ON_LAMBDA=true."
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VETOFLOW_", extra="ignore")

    home: Path = Field(default=Path(".vetoflow"), description="Data directory (SQLite, Chroma).")
    database_url: str | None = Field(
        default=None, description="postgresql://... to keep checkpoints and the run index in PostgreSQL."
    )
    db_pool_size: int = Field(
        default=20, ge=1, le=200, description="PostgreSQL connections per pool (checkpoints, run index)."
    )
    llm: Literal["auto", "offline", "bedrock"] = "auto"
    max_file_bytes: int = Field(default=5_000_000, description="Largest scenario/CSV file accepted.")
    allow_sqlite_on_lambda: bool = Field(default=False, description="Demo only: SQLite under /tmp on Lambda.")
    ui_users: SecretStr | None = Field(
        default=None, description='Console logins "ana:pw,bo:pw2"; without any the console is open (localhost only).'
    )
    ui_users_file: Path | None = Field(default=None, description="File of console logins, one user:password a line.")

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

    @property
    def on_lambda(self) -> bool:
        """Lambda sets LAMBDA_TASK_ROOT in every function's environment."""
        return bool(os.environ.get("LAMBDA_TASK_ROOT"))

    @model_validator(mode="after")
    def _lambda_home(self) -> Settings:
        if self.on_lambda and "home" not in self.model_fields_set:
            self.home = LAMBDA_HOME
        return self

    def check_durable_store(self) -> None:
        """On Lambda, paused runs must live in PostgreSQL, not in an instance's /tmp."""
        if self.on_lambda and not self.database_url and not self.allow_sqlite_on_lambda:
            raise VetoflowError(SQLITE_ON_LAMBDA)

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
