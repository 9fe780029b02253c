"""One typed settings object, built by the CLI or `create_app()`, never at import.

Every field reads an `NXDOCS_<FIELD>` environment variable; the CLI flags of
the same names override them and show the variable in `--help`. Every field
is also marked with its `Scope`, the processes that read it, and each command
takes the flags of the fields in its scope.
"""

from __future__ import annotations

import enum
import ipaddress
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from nxdocs.db.backend import Database

# The longest a SigV4 presigned URL lives (`nxdocs.storage.s3` signs them).
_MAX_PRESIGNED_SECONDS = 7 * 86_400


class Scope(enum.Flag):
    """Which processes read a setting, marked on its field: `Annotated[int, Scope.API]`.

    A command takes a flag for every setting whose scope overlaps its own:
    `serve` runs API | WORKER, `worker` runs WORKER, and the one-shot
    commands (`db`, `keys`, `orgs`, `brands`, `owners`) run ADMIN.
    """

    API = enum.auto()
    WORKER = enum.auto()
    ADMIN = enum.auto()
    BOTH = API | WORKER
    ALL = API | WORKER | ADMIN

    @classmethod
    def of(cls, name: str) -> Scope:
        """The scope marked on the `Settings` field `name`; a field without one is an error."""
        marks = [mark for mark in Settings.model_fields[name].metadata if isinstance(mark, cls)]
        if len(marks) != 1:
            raise TypeError(f"Settings.{name} needs exactly one Scope in its Annotated type")
        return marks[0]


class Settings(BaseSettings):
    """Configuration of a server or worker process."""

    model_config = SettingsConfigDict(env_prefix="NXDOCS_", extra="ignore", frozen=True)

    data_dir: Annotated[Path, Scope.ALL] = Field(
        default=Path("nxdocs-data"), description="Directory for files and the SQLite database."
    )
    database_url: Annotated[str | None, Scope.ALL] = Field(
        default=None,
        description="postgres://, postgresql:// or postgresql+psycopg:// URL (all psycopg 3), "
        "or sqlite:////path/to/file.db (default: SQLite at <data-dir>/nxdocs.db).",
    )
    host: Annotated[str, Scope.API] = Field(
        default="127.0.0.1", description="Address the API listens on."
    )
    port: Annotated[int, Scope.API] = Field(
        default=8000, ge=0, le=65535, description="Port the API listens on."
    )
    public_url: Annotated[str | None, Scope.API] = Field(
        default=None, description="Base URL of download links (default: http://<host>:<port>)."
    )
    worker_concurrency: Annotated[int, Scope.WORKER] = Field(
        default=4, ge=1, le=64, description="Jobs run at once per worker process."
    )
    max_running_per_owner: Annotated[int | None, Scope.WORKER] = Field(
        default=None,
        ge=0,
        description="Jobs of one owner a worker process runs at once "
        "(default: all slots but one; 0: no limit).",
    )
    lease_seconds: Annotated[float, Scope.WORKER] = Field(
        default=30.0, gt=0, description="A claimed job's lease; heartbeats renew it every third."
    )
    max_attempts: Annotated[int, Scope.BOTH] = Field(
        default=5, ge=1, le=100, description="Attempts before a job fails with ATTEMPTS_EXHAUSTED."
    )
    backoff_base_seconds: Annotated[float, Scope.WORKER] = Field(
        default=1.0, ge=0, description="Bound on the first retry delay; doubles per attempt."
    )
    backoff_max_seconds: Annotated[float, Scope.WORKER] = Field(
        default=300.0, ge=0, description="Largest retry delay."
    )
    poll_interval_seconds: Annotated[float, Scope.BOTH] = Field(
        default=2.0, gt=0, description="Fallback poll when no wake-up arrives."
    )
    shutdown_grace_seconds: Annotated[float, Scope.BOTH] = Field(
        default=30.0, ge=0, description="Time running jobs get to finish on SIGTERM or SIGINT."
    )
    max_releases: Annotated[int, Scope.WORKER] = Field(
        default=3,
        ge=0,
        description="Shutdown releases a job gets for free; later ones count as attempts.",
    )
    artifact_timeout_seconds: Annotated[float, Scope.WORKER] = Field(
        default=600.0, gt=0, description="Longest run of one artifact.create attempt (JOB_TIMEOUT)."
    )
    export_timeout_seconds: Annotated[float, Scope.WORKER] = Field(
        default=900.0, gt=0, description="Longest run of one export.run attempt (JOB_TIMEOUT)."
    )
    auth_cache_seconds: Annotated[float, Scope.API] = Field(
        default=5.0,
        ge=0,
        description="Key lookups are cached this long (delay of revocations, membership changes).",
    )
    retry_after_seconds: Annotated[int, Scope.API] = Field(
        default=1, ge=1, description="Retry-After sent with processing jobs."
    )
    max_waits: Annotated[int, Scope.API] = Field(
        default=10_000,
        ge=1,
        description="Long-polls and event streams one API process holds open at once (429 beyond).",
    )
    max_waits_per_owner: Annotated[int, Scope.API] = Field(
        default=100,
        ge=1,
        description="Long-polls and event streams of one user, per API process (429 beyond).",
    )
    events_keepalive_seconds: Annotated[float, Scope.API] = Field(
        default=15.0,
        gt=0,
        description="An event stream sends a keep-alive comment after this long without an event.",
    )
    rate_limit_per_second: Annotated[float, Scope.API] = Field(
        default=100.0, gt=0, description="Requests per second per owner, per API process."
    )
    rate_limit_burst: Annotated[int, Scope.API] = Field(
        default=200, ge=1, description="Requests allowed in a burst."
    )
    max_active_jobs_per_owner: Annotated[int, Scope.API] = Field(
        default=1000,
        ge=0,
        description="Jobs one owner may have queued or running (429 beyond; 0: no limit).",
    )
    idempotency_key_seconds: Annotated[int, Scope.API] = Field(
        default=86_400,
        ge=1,
        description="How long an Idempotency-Key replays its first response.",
    )
    sync_wait_seconds: Annotated[float, Scope.API] = Field(
        default=60.0, ge=0, description="How long sync creates wait before answering 202."
    )
    poll_cache_max_bytes: Annotated[int, Scope.API] = Field(
        default=64 * 1024 * 1024,
        ge=0,
        description="Memory the poll route's cache of job bodies may use, per API process.",
    )
    max_request_bytes: Annotated[int, Scope.API] = Field(
        default=2_000_000, ge=1024, description="Largest request body (413 beyond)."
    )
    max_content_bytes: Annotated[int, Scope.API] = Field(
        default=1_000_000, ge=1, description="Largest artifact `content` (400 beyond)."
    )
    asset_max_bytes: Annotated[int, Scope.API] = Field(
        default=10_000_000,
        ge=1024,
        description="Largest uploaded asset file (413 beyond).",
    )
    asset_max_pixels: Annotated[int, Scope.API] = Field(
        default=40_000_000,
        ge=1,
        le=40_000_000,
        description="Largest uploaded asset image, width times height (400 beyond; "
        "at most 40000000, the most an export draws).",
    )
    llm_base_url: Annotated[str | None, Scope.WORKER] = Field(
        default=None,
        description="OpenAI-compatible API base, e.g. https://host/v1 (default: no model; "
        "prompts get the built-in outline).",
    )
    llm_model: Annotated[str, Scope.WORKER] = Field(
        default="gpt-4o-mini", description="Model name sent to the LLM."
    )
    llm_api_key: Annotated[SecretStr, Scope.WORKER] = Field(
        default=SecretStr(""), description="Bearer key for the LLM."
    )
    llm_timeout_seconds: Annotated[float, Scope.WORKER] = Field(
        default=60.0, gt=0, description="LLM request timeout (UPSTREAM_TIMEOUT beyond)."
    )
    llm_max_attempts: Annotated[int, Scope.WORKER] = Field(
        default=3, ge=1, le=10, description="LLM answers tried before GENERATION_FAILED."
    )
    document_page_size: Annotated[Literal["A4", "Letter"], Scope.API | Scope.WORKER] = Field(
        default="A4", description="Page size of document exports and embed viewers: A4 or Letter."
    )
    png_dpi: Annotated[int, Scope.WORKER] = Field(
        default=150, ge=10, le=600, description="Resolution of PNG exports."
    )
    image_max_count: Annotated[int, Scope.WORKER] = Field(
        default=100,
        ge=0,
        description="Images one export may fetch; later ones show their alt text.",
    )
    image_max_total_bytes: Annotated[int, Scope.WORKER] = Field(
        default=50_000_000, ge=0, description="Bytes of images one export may download."
    )
    image_max_total_seconds: Annotated[float, Scope.WORKER] = Field(
        default=60.0, ge=0, description="Seconds one export may spend fetching images."
    )
    image_max_concurrent: Annotated[int, Scope.WORKER] = Field(
        default=4, ge=1, le=32, description="Image fetches one export runs at once."
    )
    artifact_wait_seconds: Annotated[float, Scope.WORKER] = Field(
        default=600.0, ge=0, description="How long an export job waits for its artifact."
    )
    signing_secret: Annotated[SecretStr | None, Scope.API] = Field(
        default=None,
        description="Key for download, asset and embed links (default: one kept in the database).",
    )
    download_url_seconds: Annotated[int, Scope.API] = Field(
        default=7 * 86_400, ge=1, description="Lifetime of a download link."
    )
    embed_link_seconds: Annotated[int, Scope.API] = Field(
        default=7 * 86_400,
        ge=1,
        le=10 * 365 * 86_400,
        description="Lifetime of an embed viewer link (GET /v1/embed/{id}).",
    )
    export_retention_seconds: Annotated[int, Scope.BOTH] = Field(
        default=30 * 86_400, ge=1, description="How long export files are kept."
    )
    s3_bucket: Annotated[str | None, Scope.BOTH] = Field(
        default=None,
        description="S3 bucket that holds export and asset files (default: none; files live "
        "under <data-dir>/files). Credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
        "or AWS_PROFILE.",
    )
    s3_endpoint_url: Annotated[str | None, Scope.BOTH] = Field(
        default=None,
        description="URL of an S3-compatible server, e.g. http://minio.internal:9000 "
        "(default: AWS S3).",
    )
    s3_prefix: Annotated[str, Scope.BOTH] = Field(
        default="",
        description="Folder of the bucket that holds nxdocs's objects, e.g. nxdocs/ "
        "(default: the bucket's root).",
    )
    s3_region: Annotated[str | None, Scope.BOTH] = Field(
        default=None,
        description="Region of the bucket (default: AWS_DEFAULT_REGION or the AWS profile's).",
    )
    s3_presigned_downloads: Annotated[bool, Scope.API] = Field(
        default=False,
        description="download_url is the bucket's own presigned URL, not a link to nxdocs "
        "(needs --s3-bucket and a --download-url-seconds of at most 604800).",
    )
    job_retention_seconds: Annotated[int, Scope.WORKER] = Field(
        default=30 * 86_400,
        ge=1,
        description="How long finished jobs (and their idempotency keys) are kept.",
    )
    purge_interval_seconds: Annotated[float, Scope.WORKER] = Field(
        default=3600.0,
        gt=0,
        description="How often maintenance purges expired export files, jobs and keys.",
    )
    monthly_export_limit: Annotated[int, Scope.API] = Field(
        default=1000, ge=0, description="Exports per owner per calendar month (429 beyond)."
    )
    webhook_allowed_networks: Annotated[str, Scope.BOTH] = Field(
        default="",
        description="Comma-separated networks (CIDR) webhook URLs may reach although they are "
        "not public, e.g. 10.0.0.0/8 (default: none; loopback, private, link-local and "
        "metadata addresses are refused).",
    )
    webhook_max_endpoints: Annotated[int, Scope.API] = Field(
        default=16, ge=1, le=1000, description="Webhook endpoints one owner may have."
    )
    webhook_secret_overlap_seconds: Annotated[int, Scope.API] = Field(
        default=86_400,
        ge=0,
        description="After a secret rotation, how long the old secret still signs beside the new.",
    )
    webhook_retry_seconds: Annotated[int, Scope.BOTH] = Field(
        default=86_400,
        ge=1,
        description="How long a failing webhook delivery is retried before it fails.",
    )
    webhook_backoff_base_seconds: Annotated[float, Scope.WORKER] = Field(
        default=5.0,
        ge=0,
        description="Bound on the first webhook retry delay; doubles per attempt (full jitter).",
    )
    webhook_backoff_max_seconds: Annotated[float, Scope.WORKER] = Field(
        default=3600.0, ge=0, description="Largest webhook retry delay."
    )
    webhook_timeout_seconds: Annotated[float, Scope.WORKER] = Field(
        default=10.0, gt=0, le=60, description="Timeout of each step of a webhook attempt."
    )
    webhook_max_response_bytes: Annotated[int, Scope.WORKER] = Field(
        default=65_536,
        ge=0,
        description="Largest receiver answer read; a longer one fails the attempt.",
    )
    webhook_disable_after_failures: Annotated[int, Scope.WORKER] = Field(
        default=50,
        ge=1,
        description="Failed attempts in a row after which an endpoint is disabled.",
    )
    webhook_concurrency: Annotated[int, Scope.WORKER] = Field(
        default=8, ge=1, le=256, description="Webhook attempts one worker process makes at once."
    )
    webhook_retention_seconds: Annotated[int, Scope.WORKER] = Field(
        default=30 * 86_400,
        ge=1,
        description="How long delivered and failed webhook deliveries are kept.",
    )
    log_level: Annotated[Literal["debug", "info", "warning", "error"], Scope.BOTH] = Field(
        default="info", description="debug, info, warning or error."
    )
    log_format: Annotated[Literal["text", "json"], Scope.BOTH] = Field(
        default="text",
        description="text (one line per record) or json (one JSON object per line, "
        "with the request id and the job id).",
    )

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'nxdocs.db').resolve()}"

    def resolved_public_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    def as_environment(self) -> dict[str, str]:
        """These settings as the `NXDOCS_*` variables that give them back (for a
        child process; secrets included, so never for logs or a command line)."""
        variables = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            variables[f"NXDOCS_{name.upper()}"] = str(value)
        return variables

    def database(self) -> Database:
        """The database, decided once from `resolved_database_url()`."""
        return Database.from_url(self.resolved_database_url())

    def webhook_networks(self) -> list[str]:
        return [part.strip() for part in self.webhook_allowed_networks.split(",") if part.strip()]

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                ipaddress.ip_network(part.strip())  # ValueError names the bad one
        return value

    @field_validator("s3_endpoint_url")
    @classmethod
    def _endpoint(cls, url: str | None) -> str | None:
        if url and not url.startswith(("http://", "https://")):
            raise ValueError("an S3 endpoint is an http:// or https:// URL")
        return url or None

    @field_validator("s3_prefix")
    @classmethod
    def _prefix(cls, prefix: str) -> str:
        """A folder, written with or without its slashes: "nxdocs" is "nxdocs/"."""
        folder = prefix.strip("/")
        if not folder:
            return ""
        parts = folder.split("/")
        if any(part in ("", ".", "..") for part in parts) or "\x00" in folder:
            raise ValueError("an S3 prefix is folder names joined by '/', none empty, . or ..")
        return folder + "/"

    @field_validator("s3_presigned_downloads")
    @classmethod
    def _presigning(cls, presigned: bool, info: ValidationInfo) -> bool:
        # The fields declared above this one are validated first, and are in `info.data`.
        if presigned and not info.data.get("s3_bucket"):
            raise ValueError("presigned downloads need --s3-bucket")
        if presigned and info.data.get("download_url_seconds", 0) > _MAX_PRESIGNED_SECONDS:
            raise ValueError(
                f"a presigned URL lives at most {_MAX_PRESIGNED_SECONDS} s: "
                "lower --download-url-seconds"
            )
        return presigned

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, url: str | None) -> str | None:
        if url is not None:
            Database.from_url(url)  # UnsupportedDatabaseError is a ValueError
        return url
