"""Wiring: builds the engine, store, notifier and key store from one `Settings`.

The only place that chooses between the SQLite and PostgreSQL adapters, and
between the local directory and an S3 bucket for files.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from nxdocs.artifacts.handler import ArtifactCreateHandler
from nxdocs.artifacts.store import ArtifactStore
from nxdocs.assets import AssetStore, ImageChecks
from nxdocs.auth.keys import KeyStore
from nxdocs.auth.organizations import OrganizationStore
from nxdocs.auth.owners import OwnerStore
from nxdocs.auth.sessions import SessionStore
from nxdocs.brands import BrandStore
from nxdocs.clock import Clock, SystemClock
from nxdocs.db.backend import Backend, Database
from nxdocs.db.engine import create_engine
from nxdocs.db.migrate import upgrade
from nxdocs.db.secrets import signing_secret
from nxdocs.exports.handler import ExportRunHandler, RenderOptions
from nxdocs.exports.store import ExportStore
from nxdocs.generate import LlmGenerator
from nxdocs.idempotency.store import IdempotencyStore
from nxdocs.jobs.control import JobControl
from nxdocs.jobs.handlers import HandlerRegistry
from nxdocs.jobs.leader import MAINTENANCE, Leadership
from nxdocs.jobs.model import ARTIFACT_CREATE, EXPORT_RUN
from nxdocs.jobs.notify import InProcessNotifier, Notifier
from nxdocs.jobs.notify_postgres import PostgresNotifier
from nxdocs.jobs.retry import RetryPolicy
from nxdocs.jobs.store import JobStore
from nxdocs.jobs.store_postgres import PostgresJobStore
from nxdocs.jobs.store_sqlite import SqliteJobStore
from nxdocs.jobs.worker import PeriodicTask, Worker, WorkerConfig
from nxdocs.poll.cache import JobCache
from nxdocs.poll.changes import Versions
from nxdocs.poll.reader import JobReader
from nxdocs.poll.reader_postgres import PostgresJobReader
from nxdocs.poll.reader_sqlite import SqliteJobReader, SqliteJobVersions
from nxdocs.render import ImageBudget
from nxdocs.settings import Settings
from nxdocs.storage.blobs import BlobStore, LocalBlobStore
from nxdocs.storage.s3 import S3BlobStore, S3Location
from nxdocs.storage.signing import LinkSigner
from nxdocs.webhooks.client import WebhookClient
from nxdocs.webhooks.deliveries import DeliveryStore, RetryRules
from nxdocs.webhooks.endpoints import EndpointStore
from nxdocs.webhooks.outbox import WebhookOutbox
from nxdocs.webhooks.sender import DeliverySender


@dataclass
class System:
    settings: Settings
    engine: sa.Engine
    clock: Clock
    notifier: Notifier
    store: JobStore
    database: Database
    keys: KeyStore
    owners: OwnerStore
    organizations: OrganizationStore
    registry: HandlerRegistry
    artifacts: ArtifactStore
    brands: BrandStore
    exports: ExportStore
    blobs: BlobStore
    assets: AssetStore
    idempotency: IdempotencyStore
    dashboard_sessions: SessionStore
    webhook_endpoints: EndpointStore
    deliveries: DeliveryStore
    # What one render may read of images (exports, the embed viewer).
    images: ImageBudget
    llm: LlmGenerator | None = None

    def poll_path(self) -> tuple[JobReader, JobCache]:
        """The poll route's reader, and its cache kept coherent for this database."""
        max_bytes = self.settings.poll_cache_max_bytes
        path = self.database.sqlite_path
        if path is not None:
            # Other processes write the same file without telling this one: the
            # cache is checked against the file's data version instead.
            sqlite_reader = SqliteJobReader(path)
            return sqlite_reader, JobCache(
                is_live=lambda: True, version=sqlite_reader.data_version, max_bytes=max_bytes
            )
        notifier = self.notifier
        cache = JobCache(is_live=lambda: notifier.listening, max_bytes=max_bytes)
        notifier.subscribe(cache.on_notification)
        return PostgresJobReader(self.database.url), cache

    def job_versions(self) -> Versions | None:
        """On SQLite, what tells waiters which jobs a commit of another process
        changed (see `JobChanges`); PostgreSQL's notifications name them."""
        path = self.database.sqlite_path
        return None if path is None else SqliteJobVersions(path).read

    def link_signer(self) -> LinkSigner:
        secret = self.settings.signing_secret
        key = signing_secret(self.engine, secret.get_secret_value() if secret else None)
        return LinkSigner(key, self.settings.resolved_public_url())

    def worker(self) -> Worker:
        """A worker for this system, with its periodic maintenance (retention, the
        file purge, expired idempotency keys and dashboard sessions), which one
        worker at a time runs across all processes."""
        settings = self.settings

        def purge_files() -> int:
            cutoff = self.clock.now_ms() - settings.export_retention_seconds * 1000
            return self.exports.purge_files(self.blobs, cutoff)

        def purge_jobs() -> int:
            cutoff = self.clock.now_ms() - settings.job_retention_seconds * 1000
            return JobControl(self.store).delete_finished(cutoff)

        def purge_deliveries() -> int:
            cutoff = self.clock.now_ms() - settings.webhook_retention_seconds * 1000
            return self.deliveries.purge(cutoff)

        def leadership(worker_id: str) -> Leadership:
            return Leadership(
                self.engine,
                self.store.now_sql,
                worker_id,
                lease_seconds=settings.lease_seconds,
                role=MAINTENANCE,
            )

        # Retention is measured on the injected clock, and so is its interval.
        def now() -> float:
            return self.clock.now_ms() / 1000

        interval = settings.purge_interval_seconds
        tasks = [
            PeriodicTask(
                "export file purge",
                interval,
                purge_files,
                "purged the files of {count} export(s) past retention",
                now=now,
            ),
            PeriodicTask(
                "job retention", interval, purge_jobs, "deleted {count} finished job(s)", now=now
            ),
            PeriodicTask(
                "webhook delivery purge",
                interval,
                purge_deliveries,
                "deleted {count} finished webhook deliveries",
                now=now,
            ),
            PeriodicTask(
                "idempotency key purge",
                interval,
                self.idempotency.purge_expired,
                "deleted {count} expired idempotency key(s)",
                now=now,
            ),
            PeriodicTask(
                "dashboard session purge",
                interval,
                self.dashboard_sessions.purge_expired,
                "deleted {count} expired dashboard session(s)",
                now=now,
            ),
        ]
        return Worker(
            self.store,
            self.registry,
            self.worker_config(),
            periodic=tasks,
            leadership=leadership,
            companions=[self.webhook_sender()],
        )

    def webhook_sender(self) -> DeliverySender:
        s = self.settings
        client = WebhookClient(
            self.clock,
            timeout_seconds=s.webhook_timeout_seconds,
            max_response_bytes=s.webhook_max_response_bytes,
            max_connections=s.webhook_concurrency,
            allowed_networks=s.webhook_networks(),
        )
        return DeliverySender(
            self.deliveries,
            client,
            self.notifier,
            concurrency=s.webhook_concurrency,
            poll_seconds=s.poll_interval_seconds,
        )

    def worker_config(self) -> WorkerConfig:
        s = self.settings
        return WorkerConfig(
            concurrency=s.worker_concurrency,
            lease_seconds=s.lease_seconds,
            poll_interval_seconds=s.poll_interval_seconds,
            shutdown_grace_seconds=s.shutdown_grace_seconds,
            policy=RetryPolicy(s.backoff_base_seconds, s.backoff_max_seconds),
            max_releases=s.max_releases,
            max_running_per_owner=s.max_running_per_owner,
            timeouts={
                ARTIFACT_CREATE: s.artifact_timeout_seconds,
                EXPORT_RUN: s.export_timeout_seconds,
            },
        )

    def start_listening(self) -> None:
        """Receive wake-ups from other processes."""
        self.notifier.start()

    def close(self) -> None:
        if self.llm is not None:
            self.llm.close()
        if isinstance(self.blobs, S3BlobStore):
            self.blobs.close()
        self.notifier.stop()
        self.engine.dispose()


def build_system(settings: Settings, *, clock: Clock | None = None, migrate: bool = True) -> System:
    """Everything, from `settings`. An S3 bucket that cannot be used raises
    `BlobStoreUnavailableError` here, before anything else is opened."""
    blobs = _blob_store(settings)
    database = settings.database()
    # A transaction idle for longer than a lease belongs to a stalled process,
    # whose leases are lost anyway (see `create_engine`).
    engine = create_engine(database, idle_transaction_timeout_seconds=settings.lease_seconds)
    if migrate:
        upgrade(engine)
    clock = clock or SystemClock()
    registry = HandlerRegistry()
    notifier: Notifier
    store: JobStore
    active = settings.max_active_jobs_per_owner
    if database.backend is Backend.SQLITE:
        notifier = InProcessNotifier(engine, watch=database.sqlite_path)
        store = SqliteJobStore(engine, clock, notifier, registry, max_active_per_owner=active)
    else:
        notifier = PostgresNotifier(database.url, engine)
        store = PostgresJobStore(engine, clock, notifier, registry, max_active_per_owner=active)
    artifacts = ArtifactStore(store, clock, settings.max_attempts)
    exports = ExportStore(store, clock, settings.max_attempts)
    assets = AssetStore(engine, clock, blobs, ImageChecks(settings.asset_max_pixels))
    llm = _llm_generator(settings)
    registry.register(ArtifactCreateHandler(artifacts, llm))
    registry.observe(
        WebhookOutbox(clock, notifier, store.now_sql, retry_seconds=settings.webhook_retry_seconds)
    )
    deliveries = DeliveryStore(
        engine,
        clock,
        store.now_sql,
        RetryRules(
            RetryPolicy(
                settings.webhook_backoff_base_seconds, settings.webhook_backoff_max_seconds
            ),
            settings.webhook_disable_after_failures,
        ),
    )
    images = ImageBudget(
        max_images=settings.image_max_count,
        max_total_bytes=settings.image_max_total_bytes,
        max_total_seconds=settings.image_max_total_seconds,
        max_concurrent=settings.image_max_concurrent,
    )
    options = RenderOptions(
        settings.document_page_size, settings.png_dpi, settings.artifact_wait_seconds, images
    )
    registry.register(
        ExportRunHandler(exports, artifacts, blobs, notifier, options, assets=assets.image)
    )
    return System(
        settings=settings,
        engine=engine,
        database=database,
        clock=clock,
        notifier=notifier,
        store=store,
        keys=KeyStore(engine, clock),
        owners=OwnerStore(engine, clock),
        organizations=OrganizationStore(engine, clock),
        registry=registry,
        artifacts=artifacts,
        brands=BrandStore(engine, clock),
        exports=exports,
        blobs=blobs,
        assets=assets,
        idempotency=IdempotencyStore(
            engine,
            clock,
            database.backend,
            lifetime_seconds=settings.idempotency_key_seconds,
            wait_seconds=settings.sync_wait_seconds,
        ),
        dashboard_sessions=SessionStore(engine, clock),
        webhook_endpoints=EndpointStore(
            engine, clock, max_per_owner=settings.webhook_max_endpoints
        ),
        deliveries=deliveries,
        images=images,
        llm=llm,
    )


def _blob_store(settings: Settings) -> BlobStore:
    """The bucket when `s3_bucket` is set, checked now (a wrong credential or bucket
    stops the start, not the first export); else the local directory."""
    if not settings.s3_bucket:
        return LocalBlobStore(settings.data_dir / "files")
    location = S3Location(
        bucket=settings.s3_bucket,
        prefix=settings.s3_prefix,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
    )
    store = S3BlobStore(location, presigned_downloads=settings.s3_presigned_downloads)
    try:
        store.check()
    except BaseException:
        store.close()
        raise
    return store


def _llm_generator(settings: Settings) -> LlmGenerator | None:
    if not settings.llm_base_url:
        return None
    return LlmGenerator(
        settings.llm_base_url,
        settings.llm_model,
        settings.llm_api_key.get_secret_value(),
        settings.llm_timeout_seconds,
        settings.llm_max_attempts,
    )
