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
        default=Path("nxdocs-data"), description="Files and the SQLite database."
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default SQLite at <data_dir>/nxdocs.db. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/db",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    worker_concurrency: int = Field(default=4, ge=1, le=64)
    lease_seconds: float = Field(default=30.0, gt=0)
    max_attempts: int = Field(default=5, ge=1, le=100)
    backoff_base_seconds: float = Field(default=1.0, ge=0)
    backoff_max_seconds: float = Field(default=300.0, ge=0)
    poll_interval_seconds: float = Field(
        default=2.0, gt=0, description="Fallback poll when no wake-up arrives."
    )
    shutdown_grace_seconds: float = Field(default=30.0, ge=0)
    auth_cache_seconds: float = Field(default=5.0, ge=0)
    retry_after_seconds: int = Field(default=1, ge=1, description="Retry-After on processing jobs.")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    sync_wait_seconds: float = Field(
        default=60.0, ge=0, description="How long sync creates wait before answering 202."
    )
    max_request_bytes: int = Field(default=2_000_000, ge=1024, description="Request body limit.")
    max_content_bytes: int = Field(default=1_000_000, ge=1, description="Artifact content limit.")
    llm_base_url: str | None = Field(
        default=None, description="OpenAI-compatible endpoint, e.g. https://host/v1; unset: none."
    )
    llm_model: str = "gpt-4o-mini"
    llm_api_key: SecretStr = SecretStr("")
    llm_timeout_seconds: float = Field(default=60.0, gt=0)
    llm_max_attempts: int = Field(default=3, ge=1, le=10)
    public_url: str | None = Field(
        default=None, description="Base of download links; default http://<host>:<port>."
    )
    signing_secret: SecretStr | None = Field(
        default=None, description="Key for download links; default: one kept in the database."
    )
    download_url_seconds: int = Field(default=7 * 86_400, ge=1, description="Download link life.")
    export_retention_seconds: int = Field(
        default=30 * 86_400, ge=1, description="How long export files are kept."
    )
    purge_interval_seconds: float = Field(default=3600.0, gt=0)
    document_page_size: Literal["A4", "Letter"] = "A4"
    png_dpi: int = Field(default=150, ge=10, le=600)
    artifact_wait_seconds: float = Field(
        default=600.0, ge=0, description="How long an export waits for its artifact."
    )
    rate_limit_per_second: float = Field(
        default=100.0, gt=0, description="Requests per second per owner, per API process."
    )
    rate_limit_burst: int = Field(default=200, ge=1, description="Requests allowed in a burst.")
    monthly_export_limit: int = Field(
        default=1000, ge=0, description="Exports per owner per month."
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
