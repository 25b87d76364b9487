"""Settings read from the environment; nothing secret is ever logged or stored in state."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from vetoflow.db_url import redact_database_url
from vetoflow.errors import ConfigurationError, VetoflowError
from vetoflow.lambda_env import on_lambda
from vetoflow.setting_rules import (
    OIDC_CLAIM_PATTERN,
    QUEUE_NEEDS_POSTGRES,
    SQLITE_ON_LAMBDA,
    check_database_url,
    check_home,
    check_oidc_settings,
    check_role_map,
    queue_needs_postgres,
)

LAMBDA_HOME = Path("/tmp/vetoflow")  # the only writable place on Lambda

# USD per million tokens (input, output), on-demand list prices; keys match the id without its geo prefix.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "anthropic.claude-sonnet-4-5": (3.0, 15.0),
    "anthropic.claude-sonnet-4": (3.0, 15.0),
    "anthropic.claude-haiku-4-5": (1.0, 5.0),
    "anthropic.claude-opus-4-5": (5.0, 25.0),
    "anthropic.claude-opus-4-1": (15.0, 75.0),
    "anthropic.claude-3-7-sonnet": (3.0, 15.0),
    "anthropic.claude-3-5-haiku": (0.8, 4.0),
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VETOFLOW_", extra="ignore")

    home: Path = Field(default=Path(".vetoflow"), description="Data directory (SQLite, Chroma).")
    database_url: str | None = Field(
        default=None,
        json_schema_extra={"allowed": "a `postgresql://` or `postgresql+psycopg://` URL (`postgres://` too)"},
        description="postgresql://... to keep checkpoints and the run index in PostgreSQL.",
    )
    db_pool_size: int = Field(
        default=20,
        ge=1,
        le=200,
        description="Connections in each process's one database pool (run index, checkpoints, job queue).",
    )
    llm: Literal["auto", "offline", "bedrock"] = Field(
        default="auto", description="Summary writer: bedrock, offline, or auto (Bedrock when AWS credentials exist)."
    )
    max_file_bytes: int = Field(
        default=5_000_000, ge=1_000, le=100_000_000, description="Largest scenario/CSV file accepted."
    )
    allow_sqlite_on_lambda: bool = Field(default=False, description="Demo only: SQLite under /tmp on Lambda.")
    ui_users: SecretStr | None = Field(
        default=None,
        description='Deprecated, demos only: plain-text console logins "ana:pw,bo:pw2" (use the users file).',
    )
    ui_users_file: Path | None = Field(
        default=None, description="Deprecated, demos only: plain-text console logins, one user:password a line."
    )
    ui_poll_seconds: float = Field(
        default=3.0, ge=0.5, le=300, description="How often each open console page asks whether any run changed."
    )

    # HTTP API (`vetoflow serve`)
    api_tokens: SecretStr | None = Field(
        default=None,
        description="Deprecated, demos only: plain-text bearer tokens 'token:reviewer,...' (use users tokens).",
    )
    api_tokens_file: Path | None = Field(
        default=None, description="Deprecated, demos only: plain-text tokens, one 'token:reviewer' a line."
    )
    api_open: bool = Field(default=False, description="Accept requests without a token, from localhost only.")
    api_max_body_bytes: int = Field(default=1_000_000, ge=1_000, description="Largest API request body.")
    max_cells: int = Field(
        default=5_000_000, ge=1_000, le=50_000_000, description="Largest paths x horizon x segments of one run."
    )
    max_cells_in_flight: int = Field(
        default=20_000_000, ge=1_000, le=200_000_000, description="Cells all runs of this process may simulate at once."
    )
    budget_wait_seconds: float = Field(
        default=60.0, ge=0, le=900, description="How long a run waits for room in flight before it fails."
    )
    allowed_hosts: str | None = Field(
        default=None,
        description="Host names `serve` answers to, comma-separated ('*' for any); default: loopback names when "
        "bound to localhost, any otherwise. Other Host headers get 400 (DNS rebinding).",
    )
    request_read_timeout: float = Field(
        default=30.0, gt=0, le=600, description="Seconds a client has to send a whole request before a 408."
    )
    scenario_dir: Path | None = Field(
        default=None, description="Folder the API may read scenario_path from (default: the shipped examples)."
    )

    retention_days: int = Field(
        default=90,
        ge=0,
        le=36_500,
        description="`vetoflow prune` shrinks runs finished longer ago than this many days (see runs/retention.py).",
    )

    # -- knowledge base (RAG) ------------------------------------------------------------------
    embedding_model: str | None = Field(
        default=None,
        description="Local model directory or hub id; default BAAI/bge-small-en-v1.5 (see rag.embedding_model).",
    )
    embedding_threads: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="ONNX Runtime threads per embedding call; default 1 on Lambda and on <= 2 CPUs, else up to 4.",
    )
    embedding_backend: Literal["onnx", "torch"] = Field(
        default="onnx",
        description="onnx (ONNX Runtime, no torch); torch: the sentence-transformers reference, for comparison.",
    )
    chroma_url: str | None = Field(default=None, description="http(s)://host:port of a Chroma server instead of files.")
    chroma_collection: str | None = Field(default=None, description="Collection name (default: one per model).")
    rag_top_k: int = Field(default=4, ge=1, le=20, description="Chunks retrieved for a summary.")
    rag_mmr: bool = Field(default=False, description="Maximal marginal relevance instead of plain top-k.")
    max_ingest_bytes: int = Field(
        default=20_000_000, ge=1_000, le=1_000_000_000, description="Largest knowledge file accepted by ingest."
    )
    ingest_max_chunks: int = Field(
        default=2_000,
        ge=10,
        le=1_000_000,
        description="Most chunks one knowledge file may make (about 0.15 s of embedding each on 2 CPUs); a file "
        "estimated over it is refused before embedding.",
    )
    ingest_workers: int = Field(
        default=2, ge=1, le=8, description="Console knowledge uploads embedded at once; more wait in a queue."
    )
    baked_chroma: Path | None = Field(
        default=None,
        description="Read-only Chroma store baked into the image; copied under home at the first use (Lambda).",
    )

    # -- Bedrock (Claude) -----------------------------------------------------------------------
    bedrock_model: str | None = Field(
        default=None, description="Model or inference-profile id; default: Claude Sonnet 4.5 via the region's profile."
    )
    bedrock_max_tokens: int = Field(default=800, ge=64, le=8192, description="Longest summary, in tokens.")
    bedrock_timeout: float = Field(default=60.0, gt=0, le=900, description="Read timeout per Bedrock call, seconds.")
    bedrock_max_attempts: int = Field(default=4, ge=1, le=10, description="botocore attempts (retries + 1).")
    bedrock_retry_mode: Literal["standard", "adaptive"] = Field(default="adaptive", description="botocore retry mode.")
    bedrock_prices: dict[str, tuple[float, float]] = Field(
        default_factory=lambda: dict(DEFAULT_PRICES),
        description="USD per million (input, output) tokens by base model id prefix; JSON in the environment.",
    )

    # -- background execution (procrastinate workers on the same PostgreSQL) ---------------------
    executor: Literal["inline", "queue"] = Field(
        default="inline", description="inline: runs execute in the caller; queue: a worker executes them."
    )
    worker_heartbeat: float = Field(default=10.0, ge=0.2, le=300, description="Seconds between worker heartbeats.")
    worker_stalled_after: float = Field(
        default=30.0, ge=1, le=3600, description="A worker silent this long is dead; its jobs are requeued."
    )
    worker_host: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="This machine's name in worker heartbeats and `worker --healthcheck`; unset: the hostname.",
    )
    worker_sweep_every: int = Field(
        default=60, ge=0, le=3600, description="Seconds between governance sweeps run by the workers; 0: off."
    )
    worker_deliver_every: int = Field(
        default=5, ge=0, le=3600, description="Seconds between notification deliveries run by the workers; 0: off."
    )
    worker_prune_every: int = Field(
        default=0, ge=0, le=86_400, description="Seconds between `vetoflow prune` passes run by the workers; 0: off."
    )
    llm_max_in_flight: int = Field(
        default=0, ge=0, le=10_000, description="Cap on LLM calls at once across all processes (PostgreSQL); 0: none."
    )
    api_wait_seconds: float = Field(
        default=300.0,
        gt=0,
        le=3600,
        description="Queue mode: longest an API call with ?wait=true, or the console's New run, waits for a worker.",
    )

    # -- remote forecast (SageMaker) ------------------------------------------------------------
    forecast_endpoint: str | None = Field(default=None, description="SageMaker endpoint name for the Forecaster.")
    forecast_timeout: float = Field(default=30.0, gt=0, le=600, description="Seconds per endpoint call.")

    lease_seconds: float = Field(
        default=30.0,
        ge=2,
        le=3600,
        description="A run's execution lease; renewed every third of it. A run whose lease lapsed lists as stalled.",
    )
    reconcile_every: int = Field(
        default=30,
        ge=0,
        le=3600,
        description="Seconds between reconciler passes (index rows against checkpoints, queued runs without a job) "
        "in serve, ui and the workers; 0: only at start.",
    )

    # -- composition ----------------------------------------------------------------------------
    context_factory: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$",
        json_schema_extra={"allowed": "`module:function`"},
        description="module:function(settings) -> Context: custom LLM/forecast/retriever clients for every front end.",
    )

    # -- governance (issue 11): identity, policy, notifications ----------------------------------
    users_file: Path | None = Field(default=None, description="Users and roles (YAML); default HOME/users.yaml.")
    policy: Path | None = Field(default=None, description="Approval policy (YAML); the built-in default when unset.")
    console_url: str = Field(
        default="http://127.0.0.1:7860/console", max_length=500, description="Base of deep links in notifications."
    )
    smtp_host: str | None = Field(default=None, max_length=255, description="SMTP server for e-mail notifications.")
    smtp_port: int = Field(default=587, ge=1, le=65535, description="SMTP port (587: submission with STARTTLS).")
    smtp_user: str | None = Field(default=None, max_length=255, description="SMTP login, if the server needs one.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password; never logged.")
    smtp_from: str = Field(default="vetoflow@localhost", max_length=255, description="Sender of notification e-mail.")
    smtp_starttls: bool = Field(default=True, description="Refuse to send unless the server offers STARTTLS.")
    smtp_ca_file: Path | None = Field(default=None, description="CA bundle to trust for the SMTP server's certificate.")
    smtp_timeout: float = Field(default=10.0, gt=0, le=120, description="Seconds per SMTP attempt.")
    notify_timeout: float = Field(default=5.0, gt=0, le=60, description="Seconds per webhook delivery attempt.")
    notify_every: float = Field(
        default=2.0, ge=0, le=3600, description="Seconds between delivery passes in serve/ui; 0: only `vetoflow sweep`."
    )
    notify_max_attempts: int = Field(default=6, ge=1, le=20, description="Tries before a dead-letter record.")

    # -- OpenID Connect (console login and API bearer JWTs; see identity/oidc.py) ----------------
    oidc_issuer: str | None = Field(
        default=None,
        max_length=500,
        description="OpenID provider's issuer URL (https; http only on loopback); discovery at "
        "ISSUER/.well-known/openid-configuration. Setting it turns OIDC on.",
    )
    oidc_client_id: str | None = Field(
        default=None, max_length=255, description="The console's client id at the provider (authorization code flow)."
    )
    oidc_client_secret: SecretStr | None = Field(
        default=None, description="The console's client secret (unset: a public client); never logged or stored."
    )
    oidc_scopes: str = Field(
        default="openid profile email",
        max_length=500,
        pattern=r"^[\x21-\x7e]{1,100}( [\x21-\x7e]{1,100}){0,19}$",
        json_schema_extra={"allowed": "1-20 printable ASCII words"},
        description="Scopes the console asks for, space-separated; must include openid.",
    )
    oidc_groups_claim: str = Field(
        default="groups",
        max_length=200,
        pattern=OIDC_CLAIM_PATTERN,
        json_schema_extra={"allowed": "a claim name, up to 6 dotted parts"},
        description="Claim with the user's groups, e.g. cognito:groups; dots walk into objects (realm_access.roles).",
    )
    oidc_name_claim: str = Field(
        default="preferred_username",
        max_length=400,
        pattern=OIDC_CLAIM_PATTERN.removesuffix("$") + r"(,[A-Za-z0-9_:/#@$.-]{1,200}){0,2}$",
        json_schema_extra={"allowed": "1-3 claim names, comma-separated"},
        description="Claim(s) naming the user (the reviewer of record), comma-separated, first present wins; "
        "then `sub`.",
    )
    oidc_role_map: dict[str, list[str]] = Field(
        default_factory=dict,
        description='Groups to vetoflow roles, JSON: {"fin-approvers": ["approver"]}; empty: a group named like a '
        "role is that role. When set, unmapped groups give no role.",
    )
    oidc_audience: str | None = Field(
        default=None,
        max_length=500,
        description="The API's audience: bearer JWTs must carry it in `aud`; unset: the API accepts no JWTs.",
    )
    oidc_redirect_uri: str | None = Field(
        default=None,
        max_length=500,
        pattern=r"^https?://[^\s]+/console-auth/callback$",
        json_schema_extra={"allowed": "`https://HOST/console-auth/callback`"},
        description="Callback registered at the provider (https://HOST/console-auth/callback); default: from the "
        "request's host.",
    )
    oidc_session_secret: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="Signs console session cookies (32+ chars; the same in every process); default: random per "
        "process, so a restart signs everyone out.",
    )
    oidc_session_hours: float = Field(default=8.0, gt=0, le=168, description="How long a console sign-in lasts.")
    oidc_leeway: int = Field(default=60, ge=0, le=600, description="Seconds of clock skew allowed on exp/nbf/iat.")
    oidc_jwks_max_age: int = Field(
        default=3600, ge=60, le=86_400, description="Seconds the provider's keys are cached (an unknown kid refreshes)."
    )
    oidc_timeout: float = Field(default=10.0, gt=0, le=60, description="Seconds per call to the provider.")

    @property
    def on_lambda(self) -> bool:
        """Lambda sets LAMBDA_TASK_ROOT in every function's environment."""
        return on_lambda()

    @field_validator("home", mode="before")
    @classmethod
    def _home_given(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():  # Path("") is the working directory, silently
            raise ValueError("cannot be empty; unset it for ./.vetoflow")
        return value

    @field_validator("home")
    @classmethod
    def _home(cls, value: Path) -> Path:
        return check_home(value)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        return check_database_url(value)

    @field_validator("oidc_role_map")
    @classmethod
    def _role_map(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        return check_role_map(value)

    @model_validator(mode="after")
    def _oidc_complete(self) -> Settings:
        """OIDC settings that cannot work together are refused at start, naming the setting to fix."""
        check_oidc_settings(self)
        return self

    @model_validator(mode="after")
    def _lambda_home(self) -> Settings:
        if self.on_lambda and "home" not in self.model_fields_set:
            self.home = LAMBDA_HOME
        return self

    def check_durable_store(self) -> None:
        """On Lambda, paused runs must live in PostgreSQL, not in an instance's /tmp."""
        if self.on_lambda and not self.database_url and not self.allow_sqlite_on_lambda:
            raise VetoflowError(SQLITE_ON_LAMBDA)

    def check_executor(self) -> None:
        """Refuse VETOFLOW_EXECUTOR=queue without PostgreSQL before anything starts."""
        if self.executor == "queue":
            self.check_queue()

    def check_queue(self, needs: str | None = None) -> None:
        """The job queue lives in PostgreSQL; SQLite has no workers to hand runs to. `needs`: what the caller
        asked for (e.g. "`replay --queue`"), named instead of VETOFLOW_EXECUTOR, which they may never have set."""
        if not self.database_url:
            raise VetoflowError(queue_needs_postgres(needs) if needs else QUEUE_NEEDS_POSTGRES)

    @property
    def sqlite_path(self) -> Path:
        """Derived from `home` at every read, so a copy with another home never keeps the old path."""
        return self.home / "vetoflow.db"

    @property
    def backend_name(self) -> str:
        return "postgres" if self.database_url else "sqlite"

    def credential_texts(self, inline: SecretStr | None, file: Path | None, variable: str) -> list[tuple[str, str]]:
        """(text, where it came from) for a secret setting and its `_FILE` twin, e.g. tokens or logins."""
        texts = [] if inline is None else [(inline.get_secret_value(), variable)]
        if file is not None:
            try:
                texts.append((file.read_text(encoding="utf-8"), str(file)))
            except OSError as exc:
                raise VetoflowError(f"{variable}_FILE: cannot read {file}: {exc.strerror}") from None
        return texts

    def redacted_database(self) -> str:
        """Where runs live, safe to print: passwords are masked (userinfo and query string, `db_url`)."""
        if not self.database_url:
            return str(self.sqlite_path)
        return redact_database_url(self.database_url)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment; a malformed VETOFLOW_* variable is one line naming it and what is allowed."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for item in exc.errors():
            message = item["msg"].removeprefix("Value error, ")
            if not item["loc"]:  # a check across settings names the settings in its message
                lines.append(message)
                continue
            lines.append(f"VETOFLOW_{str(item['loc'][0]).upper()}: {message}")
        raise ConfigurationError("invalid setting: " + "; ".join(lines)) from None


def default_reviewer() -> str:
    """Who acts when nobody logged in (CLI, an open console): $VETOFLOW_REVIEWER, else the login name."""
    import getpass
    import os

    return os.environ.get("VETOFLOW_REVIEWER") or getpass.getuser()
