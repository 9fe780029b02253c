"""One typed settings object, built by the CLI or `create_app()`, never at import.

Every field reads an `NXDOCS_<FIELD>` environment variable; the CLI flags of
the same names override them and show the variable in `--help`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration of a server or worker process."""

    model_config = SettingsConfigDict(env_prefix="NXDOCS_", extra="ignore", frozen=True)

    data_dir: Path = Field(
        default=Path("nxdocs-data"), description="Directory for files and the SQLite database."
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL, e.g. postgresql+psycopg://user@host:5432/db "
        "(default: SQLite at <data-dir>/nxdocs.db).",
    )
    host: str = Field(default="127.0.0.1", description="Address the API listens on.")
    port: int = Field(default=8000, ge=0, le=65535, description="Port the API listens on.")
    public_url: str | None = Field(
        default=None, description="Base URL of download links (default: http://<host>:<port>)."
    )
    worker_concurrency: int = Field(
        default=4, ge=1, le=64, description="Jobs run at once per worker process."
    )
    lease_seconds: float = Field(
        default=30.0, gt=0, description="A claimed job's lease; heartbeats renew it every third."
    )
    max_attempts: int = Field(
        default=5, ge=1, le=100, description="Attempts before a job fails with ATTEMPTS_EXHAUSTED."
    )
    backoff_base_seconds: float = Field(
        default=1.0, ge=0, description="Bound on the first retry delay; doubles per attempt."
    )
    backoff_max_seconds: float = Field(default=300.0, ge=0, description="Largest retry delay.")
    poll_interval_seconds: float = Field(
        default=2.0, gt=0, description="Fallback poll when no wake-up arrives."
    )
    shutdown_grace_seconds: float = Field(
        default=30.0, ge=0, description="Time running jobs get to finish on SIGTERM or SIGINT."
    )
    max_releases: int = Field(
        default=3,
        ge=0,
        description="Shutdown releases a job gets for free; later ones count as attempts.",
    )
    artifact_timeout_seconds: float = Field(
        default=600.0, gt=0, description="Longest run of one artifact.create attempt (JOB_TIMEOUT)."
    )
    export_timeout_seconds: float = Field(
        default=900.0, gt=0, description="Longest run of one export.run attempt (JOB_TIMEOUT)."
    )
    auth_cache_seconds: float = Field(
        default=5.0, ge=0, description="Key lookups are cached this long (revocation delay)."
    )
    retry_after_seconds: int = Field(
        default=1, ge=1, description="Retry-After sent with processing jobs."
    )
    rate_limit_per_second: float = Field(
        default=100.0, gt=0, description="Requests per second per owner, per API process."
    )
    rate_limit_burst: int = Field(default=200, ge=1, description="Requests allowed in a burst.")
    sync_wait_seconds: float = Field(
        default=60.0, ge=0, description="How long sync creates wait before answering 202."
    )
    poll_cache_max_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=0,
        description="Memory the poll route's cache of job bodies may use, per API process.",
    )
    max_request_bytes: int = Field(
        default=2_000_000, ge=1024, description="Largest request body (413 beyond)."
    )
    max_content_bytes: int = Field(
        default=1_000_000, ge=1, description="Largest artifact `content` (400 beyond)."
    )
    llm_base_url: str | None = Field(
        default=None,
        description="OpenAI-compatible API base, e.g. https://host/v1 (default: no model; "
        "prompts get the built-in outline).",
    )
    llm_model: str = Field(default="gpt-4o-mini", description="Model name sent to the LLM.")
    llm_api_key: SecretStr = Field(default=SecretStr(""), description="Bearer key for the LLM.")
    llm_timeout_seconds: float = Field(
        default=60.0, gt=0, description="LLM request timeout (UPSTREAM_TIMEOUT beyond)."
    )
    llm_max_attempts: int = Field(
        default=3, ge=1, le=10, description="LLM answers tried before GENERATION_FAILED."
    )
    document_page_size: Literal["A4", "Letter"] = Field(
        default="A4", description="Page size of document exports: A4 or Letter."
    )
    png_dpi: int = Field(default=150, ge=10, le=600, description="Resolution of PNG exports.")
    artifact_wait_seconds: float = Field(
        default=600.0, ge=0, description="How long an export job waits for its artifact."
    )
    signing_secret: SecretStr | None = Field(
        default=None, description="Key for download links (default: one kept in the database)."
    )
    download_url_seconds: int = Field(
        default=7 * 86_400, ge=1, description="Lifetime of a download link."
    )
    export_retention_seconds: int = Field(
        default=30 * 86_400, ge=1, description="How long export files are kept."
    )
    purge_interval_seconds: float = Field(
        default=3600.0, gt=0, description="How often workers purge expired export files."
    )
    monthly_export_limit: int = Field(
        default=1000, ge=0, description="Exports per owner per calendar month (429 beyond)."
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="debug, info, warning or error."
    )

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'nxdocs.db').resolve()}"

    def resolved_public_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url().startswith("sqlite")
