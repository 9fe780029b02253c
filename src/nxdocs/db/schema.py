"""Tables as SQLAlchemy Core metadata; Alembic migrations create them.

Times are integer milliseconds since the epoch (see `nxdocs.clock`). JSON
columns are text written with orjson, so the poll path can hand stored bytes
straight to the response.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

_FINISHED = sa.text("state IN ('succeeded', 'failed', 'cancelled')")

# An owner is what work belongs to: a user (`user_...`) or an organization
# (`org_...`, which also has a row in `organizations`). Every resource row's
# `owner_id` is one, so scoping, quotas and fair sharing work the same for both.
owners = sa.Table(
    "owners",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("email", sa.String(320), nullable=True),
    sa.Column("first_name", sa.String(200), nullable=True),
    sa.Column("last_name", sa.String(200), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("owner_id", sa.String(40), sa.ForeignKey("owners.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("revoked_at", sa.BigInteger, nullable=True),
    # A key made for an organization works in it when a request names none.
    sa.Column("org_id", sa.String(40), sa.ForeignKey("organizations.id"), nullable=True),
)

organizations = sa.Table(
    "organizations",
    metadata,
    sa.Column("id", sa.String(40), sa.ForeignKey("owners.id"), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("slug", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
)

org_members = sa.Table(
    "org_members",
    metadata,
    sa.Column("org_id", sa.String(40), sa.ForeignKey("organizations.id"), primary_key=True),
    sa.Column("owner_id", sa.String(40), sa.ForeignKey("owners.id"), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    # Authentication reads a user's organizations.
    sa.Index("ix_org_members_owner", "owner_id"),
)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("owner_id", sa.String(40), sa.ForeignKey("owners.id"), nullable=False),
    sa.Column("type", sa.String(40), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("result", sa.Text, nullable=True),
    sa.Column("error_code", sa.String(64), nullable=True),
    sa.Column("error_message", sa.Text, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    # Worker shutdowns that handed the job back (see JobStore.release).
    sa.Column("releases", sa.Integer, nullable=False, server_default=sa.text("0")),
    sa.Column("run_at", sa.BigInteger, nullable=False),
    sa.Column("lease_expires_at", sa.BigInteger, nullable=True),
    sa.Column("worker_id", sa.String(80), nullable=True),
    # A new random token at every claim: what the claim's writes are fenced on.
    sa.Column("run_id", sa.String(16), nullable=True),
    sa.Column("progress_done", sa.Integer, nullable=True),
    sa.Column("progress_total", sa.Integer, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    # Claiming reads only queued rows, owner by owner in run_at order, and the
    # lease reaper only running rows by expiry: partial indexes keep both
    # O(log n) however many finished jobs the table holds.
    sa.Index(
        "ix_jobs_queued_by_owner",
        "owner_id",
        "run_at",
        sqlite_where=sa.text("state = 'queued'"),
        postgresql_where=sa.text("state = 'queued'"),
    ),
    sa.Index(
        "ix_jobs_leases",
        "lease_expires_at",
        sqlite_where=sa.text("state = 'running'"),
        postgresql_where=sa.text("state = 'running'"),
    ),
    # Listing: an owner's jobs newest first, (created_at, id) being the cursor;
    # with a status or type filter, one range per state, merged (see
    # `nxdocs.poll.listing`).
    sa.Index("ix_jobs_owner_created", "owner_id", "created_at", "id"),
    sa.Index("ix_jobs_owner_state_created", "owner_id", "state", "created_at", "id"),
    sa.Index("ix_jobs_owner_type_state_created", "owner_id", "type", "state", "created_at", "id"),
    # Retention finds finished jobs by the time they finished.
    sa.Index(
        "ix_jobs_finished",
        "updated_at",
        sqlite_where=_FINISHED,
        postgresql_where=_FINISHED,
    ),
)

brands = sa.Table(
    "brands",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("owner_id", sa.String(40), sa.ForeignKey("owners.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("ai_instruction", sa.Text, nullable=True),
    sa.Column("theme_id", sa.String(40), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Index("ix_brands_owner_created", "owner_id", "created_at"),
)

artifacts = sa.Table(
    "artifacts",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("owner_id", sa.String(40), sa.ForeignKey("owners.id"), nullable=False),
    sa.Column("job_id", sa.String(40), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("type", sa.String(20), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("page_count", sa.Integer, nullable=True),
    sa.Column("brand_id", sa.String(40), nullable=True),
    sa.Column("theme_id", sa.String(40), nullable=True),
    # What the client asked for (prompt, content, ...), read by the job.
    sa.Column("request", sa.Text, nullable=False),
    # The generated page model (nxdocs.pages.Document) and how it was made.
    sa.Column("document", sa.Text, nullable=True),
    sa.Column("generation", sa.Text, nullable=True),
    sa.Column("error_code", sa.String(64), nullable=True),
    sa.Column("error_message", sa.Text, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    # A variation (see `variations` on a create) points at the artifact the
    # client asked for, which lists its variations; NULL on that one.
    sa.Column("variation_of", sa.String(40), nullable=True),
    sa.Column("variation", sa.Integer, nullable=True),
    # Newest-first listing per owner with (created_at, id) as the cursor.
    sa.Index("ix_artifacts_owner_created", "owner_id", "created_at", "id"),
    sa.Index("ix_artifacts_variation_of", "variation_of"),
)

assets = sa.Table(
    "assets",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("owner_id", sa.String(40), sa.ForeignKey("owners.id"), nullable=False),
    sa.Column("type", sa.String(20), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("content_type", sa.String(120), nullable=False),
    sa.Column("width", sa.Integer, nullable=False),
    sa.Column("height", sa.Integer, nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("file_key", sa.String(300), nullable=False),
    sa.Column("brand_id", sa.String(40), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Index("ix_assets_owner_created", "owner_id", "created_at", "id"),
    sa.Index("ix_assets_brand", "brand_id"),
)

exports = sa.Table(
    "exports",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("owner_id", sa.String(40), sa.ForeignKey("owners.id"), nullable=False),
    sa.Column("artifact_id", sa.String(40), nullable=False),
    sa.Column("job_id", sa.String(40), nullable=False),
    sa.Column("format", sa.String(20), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("pages", sa.Text, nullable=True),
    sa.Column("pages_exported", sa.Integer, nullable=True),
    sa.Column("content_type", sa.String(120), nullable=True),
    sa.Column("file_name", sa.String(255), nullable=True),
    sa.Column("file_key", sa.String(300), nullable=True),
    sa.Column("file_size", sa.BigInteger, nullable=True),
    sa.Column("error_code", sa.String(64), nullable=True),
    sa.Column("error_message", sa.Text, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("completed_at", sa.BigInteger, nullable=True),
    sa.Index("ix_exports_owner_created", "owner_id", "created_at"),
    # The purge task finds kept files by completion time.
    sa.Index("ix_exports_completed", "completed_at"),
)

server_secrets = sa.Table(
    "server_secrets",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    # Keys are scoped per owner: the primary key is what makes concurrent
    # duplicates create one job (the loser's insert conflicts).
    sa.Column("owner_id", sa.String(40), sa.ForeignKey("owners.id"), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    # SHA-256 of the method, path and canonical body: "the same request".
    sa.Column("fingerprint", sa.String(64), nullable=False),
    # The first request holds the key until then (ms); a request that died
    # holding it is taken over after.
    sa.Column("locked_until", sa.BigInteger, nullable=True),
    # What the first request created, written in the transaction that created it.
    sa.Column("resource_id", sa.String(40), nullable=True),
    sa.Column("job_id", sa.String(40), nullable=True),
    # The first response, replayed as it was; NULL while in progress.
    sa.Column("response_status", sa.Integer, nullable=True),
    sa.Column("response_body", sa.LargeBinary, nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False),
    sa.Index("ix_idempotency_keys_expires", "expires_at"),
    sa.Index("ix_idempotency_keys_job", "job_id"),
)

# Dashboard sessions (`nxdocs.auth.sessions`): the browser's cookie holds a
# random secret, the row only its SHA-256, as `api_keys` keeps keys. The key a
# session acts for is named by its digest (api_keys.key_hash) and looked up
# again on every request, so revoking it ends its sessions at once; deleting
# the row (signing out) ends one session everywhere.
dashboard_sessions = sa.Table(
    "dashboard_sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("key_digest", sa.String(64), nullable=False),
    # What every form of the session must send back.
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False),
    # The purge finds expired sessions by their end.
    sa.Index("ix_dashboard_sessions_expires", "expires_at"),
)

leaders = sa.Table(
    "leaders",
    metadata,
    # One row per role (e.g. "maintenance"): who holds it, until when, on the
    # database's clock. A holder that stops renewing is replaced.
    sa.Column("role", sa.String(40), primary_key=True),
    sa.Column("holder", sa.String(120), nullable=True),
    sa.Column("expires_at", sa.BigInteger, nullable=False),
    sa.Column("since", sa.BigInteger, nullable=False),
)

# Webhook endpoints: where an owner's job events are sent (`nxdocs.webhooks`).
# The signing secret is kept as given out (a receiver verifies with it, so it
# cannot be hashed); after a rotation the previous one signs too until
# `previous_secret_expires_at`.
webhook_endpoints = sa.Table(
    "webhook_endpoints",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("owner_id", sa.String(40), sa.ForeignKey("owners.id"), nullable=False),
    sa.Column("url", sa.String(2048), nullable=False),
    sa.Column("description", sa.String(500), nullable=True),
    # A JSON array of event types; matched as text (`"job.completed"` quoted).
    sa.Column("events", sa.String(200), nullable=False),
    sa.Column("secret", sa.String(100), nullable=False),
    sa.Column("previous_secret", sa.String(100), nullable=True),
    sa.Column("previous_secret_expires_at", sa.BigInteger, nullable=True),
    sa.Column("disabled_at", sa.BigInteger, nullable=True),
    sa.Column("disabled_reason", sa.String(500), nullable=True),
    sa.Column("consecutive_failures", sa.Integer, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Index("ix_webhook_endpoints_owner_created", "owner_id", "created_at", "id"),
)

# One event for one endpoint: queued in the transaction that finished the job,
# sent and retried by the workers. The id (`msg_...`) is the event's, the
# same for every endpoint and every attempt: the `webhook-id` header.
# `next_attempt_at` and `retry_until` are on the database's clock; a claimed
# delivery's `next_attempt_at` is pushed past its attempt's timeout, so a
# sender that dies mid-attempt leaves it due again.
webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column(
        "endpoint_id",
        sa.String(40),
        sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("owner_id", sa.String(40), nullable=False),
    sa.Column("event_type", sa.String(40), nullable=False),
    sa.Column("job_id", sa.String(40), nullable=False),
    # The signed body, written at the first attempt, so every retry sends the same bytes.
    sa.Column("payload", sa.Text, nullable=True),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.BigInteger, nullable=False),
    sa.Column("retry_until", sa.BigInteger, nullable=False),
    sa.Column("last_status_code", sa.Integer, nullable=True),
    sa.Column("last_error", sa.String(500), nullable=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("delivered_at", sa.BigInteger, nullable=True),
    sa.Index(
        "ix_webhook_deliveries_due",
        "next_attempt_at",
        sqlite_where=sa.text("state = 'pending'"),
        postgresql_where=sa.text("state = 'pending'"),
    ),
    sa.Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at", "id"),
    # Retention finds finished deliveries by the time they last changed.
    sa.Index("ix_webhook_deliveries_updated", "updated_at"),
)

webhook_attempts = sa.Table(
    "webhook_attempts",
    metadata,
    sa.Column("endpoint_id", sa.String(40), primary_key=True),
    sa.Column("delivery_id", sa.String(40), primary_key=True),
    sa.Column("number", sa.Integer, primary_key=True),
    sa.Column("started_at", sa.BigInteger, nullable=False),
    sa.Column("duration_ms", sa.Integer, nullable=False),
    sa.Column("status_code", sa.Integer, nullable=True),
    sa.Column("error", sa.String(500), nullable=True),
    # The start of the receiver's answer, for the endpoint's owner to read.
    sa.Column("response", sa.String(1000), nullable=True),
    sa.ForeignKeyConstraint(
        ["endpoint_id", "delivery_id"],
        ["webhook_deliveries.endpoint_id", "webhook_deliveries.id"],
        ondelete="CASCADE",
    ),
)
