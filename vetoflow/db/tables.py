"""Every vetoflow table, in one MetaData: Alembic migrations are written against these declarations.

The checkpointer's own tables (LangGraph's) are not here: its `setup()` owns them.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Boolean, Column, DateTime, Float, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

runs_table = Table(
    "vetoflow_runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("investment", Float),
    Column("roi", Float),
    Column("downside_roi", Float),
    Column("npv", Float),
    Column("loss_probability", Float),  # P(NPV < 0); NULL for runs of older releases and band-only forecasts
    Column("veto", Boolean),
    Column("veto_reason", Text),
    Column("reviewer", String(120)),
    Column("last_action", String(16)),
    Column("revision", Integer, nullable=False, default=0),
    Column("error", Text),
    Column("scenario", JSON),  # the input, so a run that crashed before its first checkpoint can still start
    Column("lease_owner", String(80)),  # who executes the run now (host:pid:tag); NULL when nobody does
    Column("lease_expires_at", DateTime(timezone=True)),  # renewed while executing; past it, the run is stalled
    Column("plausibility", JSON),  # the run's plausibility flags [{code, message}]; NULL before 0007 or unjudged
    # the listing's sort key (created_at, run_id) under each status: keyset pages seek, never scan
    Index("ix_vetoflow_runs_status_page", "status", "created_at", "run_id"),
    Index("ix_vetoflow_runs_page", "created_at", "run_id"),
)

decisions_table = Table(
    "vetoflow_decisions",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("pause_id", String(64), primary_key=True),
    Column("action", String(16), nullable=False),
    Column("reviewer", String(120), nullable=False),
    Column("comment", Text, nullable=False, default=""),
    Column("payload", JSON, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
)

idempotency_table = Table(
    "vetoflow_idempotency",
    metadata,
    Column("reviewer", String(120), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("status_code", Integer),
    Column("response", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

replays_table = Table(
    "vetoflow_replays",
    metadata,
    Column("replay_run_id", String(64), primary_key=True),
    Column("source_run_id", String(64), nullable=False),
    Column("source_checkpoint_id", String(64), nullable=False),
    Column("from_node", String(64), nullable=False),
    Column("overrides", JSON, nullable=False),
    Column("llm_model", String(200)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_vetoflow_replays_source", "source_run_id"),
)

# -- approval governance (issue 11) ---------------------------------------------------------------
audit_table = Table(
    "vetoflow_audit",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", String(40), nullable=False),  # ISO 8601 UTC text: hashed exactly as stored
    Column("event", String(40), nullable=False),
    Column("run_id", String(64)),
    Column("actor", String(120), nullable=False),
    Column("via", String(16), nullable=False),
    Column("details", Text, nullable=False),  # canonical JSON
    Column("prev_hash", String(80), nullable=False),
    Column("hash", String(80), nullable=False),
    Index("ix_vetoflow_audit_at", "at"),
    Index("ix_vetoflow_audit_run", "run_id"),
)

audit_head_table = Table(
    "vetoflow_audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("hash", String(80), nullable=False),
)

outbox_table = Table(
    "vetoflow_outbox",
    metadata,
    Column("id", String(36), primary_key=True),  # the idempotency id sent with every try
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("event", String(40), nullable=False),
    Column("run_id", String(64)),
    Column("kind", String(16), nullable=False),
    Column("target", String(2000), nullable=False),
    Column("channel", JSON, nullable=False),
    Column("payload", Text, nullable=False),
    Column("status", String(16), nullable=False),  # pending, sent, dead
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("claimed_until", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("sent_at", DateTime(timezone=True)),
    Index("ix_vetoflow_outbox_due", "status", "next_attempt_at"),
)

attempts_table = Table(
    "vetoflow_delivery_attempts",
    metadata,
    Column("outbox_id", String(36), primary_key=True),
    Column("attempt", Integer, primary_key=True, autoincrement=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("outcome", String(16), nullable=False),  # sent, retry, dead
    Column("detail", Text, nullable=False),
)

events_table = Table(
    "vetoflow_run_events",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("node", String(64)),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("data", JSON, nullable=False),
    Index("ix_vetoflow_run_events_run", "run_id", "id"),
)

pauses_table = Table(
    "vetoflow_pauses",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("pause_id", String(64), primary_key=True),
    Column("status", String(16), nullable=False),  # open, decided, expired
    Column("tier", String(64), nullable=False),
    Column("policy", Text, nullable=False),  # the policy in force when the run paused (JSON)
    Column("needed", Integer, nullable=False),
    Column("approvals", Integer, nullable=False, default=0),
    Column("requester", String(120)),
    Column("authors", Text),  # who wrote the figures, and how (JSON {name: how}); NULL on older rows
    Column("digest", String(80), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("next_reminder_at", DateTime(timezone=True)),
    Column("reminders_sent", Integer, nullable=False, default=0),
    Column("escalations", Integer, nullable=False, default=0),
    Column("closed_at", DateTime(timezone=True)),
    Index("ix_vetoflow_pauses_due", "status", "due_at"),
    Index("ix_vetoflow_pauses_remind", "status", "next_reminder_at"),
)

approvals_table = Table(
    "vetoflow_approvals",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("pause_id", String(64), primary_key=True),
    Column("reviewer", String(120), primary_key=True),
    Column("roles", String(400), nullable=False),
    Column("digest", String(80), nullable=False),
    Column("comment", Text, nullable=False, default=""),
    Column("via", String(16), nullable=False),
    Column("approved_at", DateTime(timezone=True), nullable=False),
)

comments_table = Table(
    "vetoflow_run_comments",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False),
    Column("author", String(120), nullable=False),
    Column("text", Text, nullable=False),
    Column("via", String(16), nullable=False),
    Column("lost_race", Boolean, nullable=False, default=False),  # the comment of a decision refused as too late
    Column("action", String(16)),  # the refused decision's action, when lost_race
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_vetoflow_run_comments_run", "run_id", "id"),
)

ingest_jobs_table = Table(
    "vetoflow_ingest_jobs",
    metadata,
    Column("job_id", String(32), primary_key=True),
    Column("file_name", String(200), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("chunks_estimated", Integer, nullable=False),
    Column("chunks_total", Integer),  # exact, once the file is split; NULL before
    Column("chunks_done", Integer, nullable=False, default=0),
    Column("status", String(16), nullable=False),  # queued, running, done, failed, cancelled, refused
    Column("stage", String(200), nullable=False, default=""),  # what a running job is doing, in plain words
    Column("error", Text),
    Column("requested_by", String(120), nullable=False),
    Column("cancel_requested_by", String(120)),  # set by Cancel; the job stops at its next batch
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Index("ix_vetoflow_ingest_jobs_created", "created_at"),
)

# -- batch replays on the queue (issue 14) --------------------------------------------------------
replay_batches_table = Table(
    "vetoflow_replay_batches",
    metadata,
    Column("batch_id", String(64), primary_key=True),
    Column("selection", JSON, nullable=False),
    Column("options", JSON, nullable=False),
    Column("selected", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

replay_batch_items_table = Table(
    "vetoflow_replay_batch_items",
    metadata,
    Column("batch_id", String(64), primary_key=True),
    Column("source_run_id", String(64), primary_key=True),
    Column("replay_run_id", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("result", JSON),
    Column("attempts", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# -- worker heartbeats by host, for `vetoflow worker --healthcheck` (procrastinate's rows name no host) --
worker_beats_table = Table(
    "vetoflow_worker_beats",
    metadata,
    Column("worker_key", String(128), primary_key=True),  # host:pid:tag, one per worker process
    Column("host", String(64), nullable=False),
    Column("name", String(120), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("last_heartbeat", DateTime(timezone=True), nullable=False),
    Index("ix_vetoflow_worker_beats_host", "host", "last_heartbeat"),
)

# -- failed console sign-ins per user name and per client address: one throttle for every process/instance --
login_failures_table = Table(
    "vetoflow_login_failures",
    metadata,
    Column("key", String(200), primary_key=True),  # "user:NAME" or "addr:ADDRESS"
    Column("failures", Integer, nullable=False),
    Column("last_at", DateTime(timezone=True), nullable=False),
    Index("ix_vetoflow_login_failures_last", "last_at"),
)

# -- per queued job: worker deaths and transient failures, which procrastinate's attempts lump with drains --
job_tallies_table = Table(
    "vetoflow_job_tallies",
    metadata,
    Column("job_id", BigInteger, primary_key=True, autoincrement=False),  # procrastinate_jobs.id
    Column("crashes", Integer, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
