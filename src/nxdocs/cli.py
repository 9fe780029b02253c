"""The `nxdocs` command: serve, worker, db, keys, organizations, brands and owners."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Annotated, NoReturn

import sqlalchemy as sa
import typer
import uvicorn
from rich.console import Console
from rich.table import Table

from nxdocs.api.app import create_app
from nxdocs.api.observability import share_node_metrics
from nxdocs.auth.organizations import ROLES
from nxdocs.cli_client import register as register_client_commands
from nxdocs.cli_options import with_settings
from nxdocs.clock import format_timestamp
from nxdocs.db.engine import create_engine
from nxdocs.db.migrate import SchemaNotCurrentError, require_current, upgrade
from nxdocs.jobs.runner import SupervisedWorker, WorkerProcess, exit_with_parent
from nxdocs.logs import configure_logging
from nxdocs.preflight import StartupError, bind_listener, require_writable_directory
from nxdocs.preflight import wait_for_database as wait_for_database_to_answer
from nxdocs.render.themes import BUILTIN_THEMES, UnknownThemeError
from nxdocs.settings import Scope, Settings
from nxdocs.storage.errors import BlobStoreUnavailableError
from nxdocs.system import System, build_system

app = typer.Typer(help="nxdocs: the NextDocs public API v1, self-hosted.", no_args_is_help=True)
keys_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
brands_app = typer.Typer(help="Create and list brands.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(brands_app, name="brands")
owners_app = typer.Typer(help="Set an owner's profile (shown by GET /v1/me).", no_args_is_help=True)
app.add_typer(owners_app, name="owners")
app.add_typer(db_app, name="db")
orgs_app = typer.Typer(help="Create organizations and manage their members.", no_args_is_help=True)
app.add_typer(orgs_app, name="orgs")
console = Console()

NoMigrate = Annotated[
    bool,
    typer.Option(
        "--no-migrate",
        help="Do not migrate the database on start; refuse to start if its schema is "
        "older than this nxdocs (run `nxdocs db upgrade` first).",
    ),
]
WaitForDatabase = Annotated[
    float,
    typer.Option(
        "--wait-for-database",
        metavar="SECONDS",
        min=0,
        help="If the database cannot be reached at start, retry with backoff for up to "
        "this long before giving up (for starts where it comes up later).",
    ),
]


@app.command()
@with_settings(Scope.API | Scope.WORKER)
def serve(
    settings: Settings,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="API only; run jobs in `nxdocs worker` processes.")
    ] = False,
    no_migrate: NoMigrate = False,
    wait_for_database: WaitForDatabase = 0.0,
) -> None:
    """Run the API, and a worker process beside it unless --no-worker.

    SIGTERM or SIGINT stop it gracefully (requests in flight answered, jobs
    finished or handed back), and then it exits with status 0."""
    configure_logging(settings.log_level, settings.log_format)
    try:
        listener = bind_listener(settings.host, settings.port)
    except StartupError as unusable:
        _fail(str(unusable))
    with (
        listener,
        _open_system(
            settings, migrate=not no_migrate, wait_for_database=wait_for_database
        ) as system,
    ):
        # Before the worker process starts: it inherits the shared metrics directory.
        _share_metrics(settings, serving=True)
        if system.keys.count() == 0:
            _print_first_key(system)
        base = f"http://{settings.host}:{settings.port}"
        console.print(
            f"nxdocs listening on {base}  (database: {system.database.described()})",
            soft_wrap=True,
            highlight=False,
        )
        worker = None if no_worker else _worker_process(settings)
        try:
            _serve(system, settings, worker, listener)
        finally:
            if worker is not None:
                worker.stop()  # again: a forced exit skips the app's own shutdown


def _serve(
    system: System, settings: Settings, worker: WorkerProcess | None, listener: socket.socket
) -> None:
    config = uvicorn.Config(
        create_app(system, embedded_worker=False if worker is None else worker),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
        log_config=None,  # uvicorn's lines go through nxdocs's handler (JSON when asked)
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds) + 1,
    )
    # uvicorn shuts down gracefully on SIGTERM and SIGINT, then raises the signal
    # again with the handlers it found in place, so that the process dies of it:
    # status 143 for a stop that went well. Handlers that take that one second
    # delivery let the command end with 0; after it, the usual ones are back, so
    # a shutdown that hangs can still be interrupted.
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, _restore_default_handler)
    uvicorn.Server(config).run(sockets=[listener])


def _restore_default_handler(_signum: int, _frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)


@app.command()
@with_settings(Scope.WORKER)
def worker(
    settings: Settings, no_migrate: NoMigrate = False, wait_for_database: WaitForDatabase = 0.0
) -> None:
    """Run workers only: claim and run jobs until SIGTERM or SIGINT (then exit 0)."""
    configure_logging(settings.log_level, settings.log_format)
    with _open_system(
        settings, migrate=not no_migrate, wait_for_database=wait_for_database
    ) as system:
        _share_metrics(settings, serving=False)
        run_worker_until_signalled(system)


def _share_metrics(settings: Settings, *, serving: bool) -> None:
    """Metrics shared with this machine's other nxdocs processes, kept in the data
    directory unless PROMETHEUS_MULTIPROC_DIR says where: so that is checked first."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        try:
            require_writable_directory(settings.data_dir)
        except StartupError as unusable:
            _fail(str(unusable))
    share_node_metrics(settings, serving=serving)


def _worker_process(settings: Settings) -> WorkerProcess:
    """`nxdocs worker` with these settings, as the serving process's child.

    The parent has migrated the schema or checked it (--no-migrate) already.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("NXDOCS_")}
    env.update(settings.as_environment())
    command = [sys.executable, "-m", "nxdocs", "worker", "--no-migrate"]
    return WorkerProcess(command, env, settings.shutdown_grace_seconds)


def run_worker_until_signalled(system: System) -> None:
    """Run a supervised worker in this thread; SIGTERM/SIGINT start its graceful shutdown."""
    stop = threading.Event()
    job_worker = system.worker()
    exit_with_parent(stop, job_worker.stop_waiting)

    def on_signal(_signum: int, _frame: object) -> None:
        stop.set()
        job_worker.stop_waiting()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    system.start_listening()
    SupervisedWorker(job_worker).run(stop)


@db_app.command("upgrade")
@with_settings(Scope.ADMIN)
def db_upgrade(settings: Settings, wait_for_database: WaitForDatabase = 0.0) -> None:
    """Apply the schema migrations (serve and worker also do this on start, unless
    --no-migrate); safe to run from several places at once."""
    configure_logging(settings.log_level, settings.log_format)  # shows each migration it runs
    try:
        if _writes_data_dir(settings):
            require_writable_directory(settings.data_dir)
        wait_for_database_to_answer(settings.database(), wait_for_database)
    except StartupError as unusable:
        _fail(str(unusable))
    engine = create_engine(settings.database())
    try:
        found = upgrade(engine)
    finally:
        engine.dispose()
    if found.ahead:
        console.print("database schema is newer than this nxdocs: left as it is")
    else:
        console.print("database is up to date")


@keys_app.command("create")
@with_settings(Scope.ADMIN)
def keys_create(
    settings: Settings,
    name: Annotated[str, typer.Option("--name", help="A label for the key.")],
    owner: Annotated[
        str | None,
        typer.Option(
            "--owner", help="Owner id (user_...) the key belongs to (default: the first owner)."
        ),
    ] = None,
    new_owner: Annotated[
        bool, typer.Option("--new-owner", help="Create a new owner for this key.")
    ] = False,
    org: Annotated[
        str | None,
        typer.Option(
            "--org", help="Organization id (org_...): the key works in it only; owner must belong."
        ),
    ] = None,
) -> None:
    """Create a key and print it. It is shown this once: nxdocs keeps only a hash."""
    with _open_system(settings) as system:
        try:
            created = system.keys.create(name, owner, new_owner=new_owner, org_id=org)
        except LookupError as missing:
            _fail(f"{str(missing).capitalize()}.")
    where = f"  organization: {org}" if org else ""
    console.print(f"key id: {created.id}  owner: {created.owner_id}{where}", highlight=False)
    typer.echo(created.secret)


@keys_app.command("list")
@with_settings(Scope.ADMIN)
def keys_list(settings: Settings) -> None:
    """List keys (never their secrets)."""
    with _open_system(settings) as system:
        keys = system.keys.list()
    rows = [
        (
            key.name,
            key.prefix + "...",
            format_timestamp(key.created_at),
            format_timestamp(key.revoked_at) if key.revoked_at else "",
            key.id,
            key.owner_id,
            key.org_id or "",
        )
        for key in keys
    ]
    _print_table(
        ("name", "prefix", "created", "revoked"), {"id": 28, "owner": 29, "organization": 28}, rows
    )


@keys_app.command("revoke")
@with_settings(Scope.ADMIN)
def keys_revoke(
    settings: Settings,
    key_id: Annotated[str, typer.Argument(help="The key's id (key_...), from `nxdocs keys list`.")],
) -> None:
    """Revoke a key; servers stop accepting it within --auth-cache-seconds."""
    with _open_system(settings) as system:
        revoked = system.keys.revoke(key_id)
    if not revoked:
        _fail(f"No active key with id {key_id}.")
    console.print(f"revoked {key_id}")


@brands_app.command("create")
@with_settings(Scope.ADMIN)
def brands_create(
    settings: Settings,
    name: Annotated[str, typer.Option("--name", help="The brand's name.")],
    owner: Annotated[str, typer.Option("--owner", help="Owner id (user_...), see `keys list`.")],
    ai_instruction: Annotated[
        str | None, typer.Option("--ai-instruction", help="Guidance given to generation.")
    ] = None,
    theme: Annotated[
        str | None, typer.Option("--theme", help="Theme id, e.g. theme_midnight.")
    ] = None,
) -> None:
    """Create a brand for an owner; artifacts select it with `brand_id`."""
    with _open_system(settings) as system:
        if not system.owners.exists(owner):
            _fail(f"No owner with id {owner}.")
        try:
            brand = system.brands.create(owner, name, ai_instruction, theme)
        except UnknownThemeError:
            _fail(f"No theme with id {theme}; built in: {', '.join(BUILTIN_THEMES)}.")
    typer.echo(brand.id)


@brands_app.command("list")
@with_settings(Scope.ADMIN)
def brands_list(
    settings: Settings,
    owner: Annotated[str, typer.Option("--owner", help="Owner id (user_...).")],
) -> None:
    """List an owner's brands."""
    with _open_system(settings) as system:
        brands, _ = system.brands.list(owner, limit=20, after=None)
    rows = [
        (brand.name, brand.theme_id or "", brand.ai_instruction or "", brand.id) for brand in brands
    ]
    _print_table(("name", "theme", "ai instruction"), {"id": 30}, rows)


@owners_app.command("update")
@with_settings(Scope.ADMIN)
def owners_update(
    settings: Settings,
    owner: Annotated[str, typer.Argument(help="Owner id (user_...), see `keys list`.")],
    email: Annotated[str | None, typer.Option("--email")] = None,
    first_name: Annotated[str | None, typer.Option("--first-name")] = None,
    last_name: Annotated[str | None, typer.Option("--last-name")] = None,
) -> None:
    """Set the email and names GET /v1/me shows for an owner."""
    with _open_system(settings) as system:
        updated = system.owners.update(
            owner, email=email, first_name=first_name, last_name=last_name
        )
    if not updated:
        _fail(f"No owner with id {owner}.")
    console.print(f"updated {owner}")


@orgs_app.command("create")
@with_settings(Scope.ADMIN)
def orgs_create(
    settings: Settings,
    name: Annotated[str, typer.Option("--name", help="The organization's name.")],
    owner: Annotated[
        str, typer.Option("--owner", help="The user (user_...) who creates it: its OWNER.")
    ],
    slug: Annotated[
        str | None, typer.Option("--slug", help="Unique short name (default: from the name).")
    ] = None,
) -> None:
    """Create an organization and print its id."""
    with _open_system(settings) as system:
        try:
            org = system.organizations.create(name, owner, slug)
        except LookupError:
            _fail(f"No user with id {owner}.")
        except ValueError as refused:
            _fail(f"{str(refused).capitalize()}.")
    console.print(f"slug: {org.slug}", highlight=False)
    typer.echo(org.id)


@orgs_app.command("list")
@with_settings(Scope.ADMIN)
def orgs_list(settings: Settings) -> None:
    """List every organization and how many members it has."""
    with _open_system(settings) as system:
        found = system.organizations.all()
    rows = [
        (org.name, org.slug, str(members), format_timestamp(org.created_at), org.id)
        for org, members in found
    ]
    _print_table(("name", "slug", "members", "created"), {"id": 28}, rows)


@orgs_app.command("add-member")
@with_settings(Scope.ADMIN)
def orgs_add_member(
    settings: Settings,
    org: Annotated[str, typer.Argument(help="The organization's id (org_...).")],
    owner: Annotated[str, typer.Option("--owner", help="The user (user_...) to add.")],
    role: Annotated[str, typer.Option("--role", help="OWNER, ADMIN or MEMBER.")] = "MEMBER",
) -> None:
    """Add a user to an organization, or change their role in it."""
    if role not in ROLES:
        _fail(f"No role {role}; choose one of {', '.join(ROLES)}.")
    with _open_system(settings) as system:
        added = system.organizations.add_member(org, owner, role)
    if not added:
        _fail(f"No organization {org} or no user {owner}.")
    console.print(f"{owner} is {role} of {org}", highlight=False)


@orgs_app.command("remove-member")
@with_settings(Scope.ADMIN)
def orgs_remove_member(
    settings: Settings,
    org: Annotated[str, typer.Argument(help="The organization's id (org_...).")],
    owner: Annotated[str, typer.Option("--owner", help="The user (user_...) to remove.")],
) -> None:
    """Take a user out of an organization; their keys made for it stop working."""
    with _open_system(settings) as system:
        removed = system.organizations.remove_member(org, owner)
    if not removed:
        _fail(f"{owner} is not a member of {org}.")
    console.print(f"removed {owner} from {org}", highlight=False)


@contextlib.contextmanager
def _open_system(
    settings: Settings, *, migrate: bool = True, wait_for_database: float = 0.0
) -> Iterator[System]:
    """The command's system, built once and closed when the command ends, however it ends.

    What stops the start (a data directory it cannot write, a database it
    cannot reach, a bucket it cannot use) ends the command with exit status 1
    and one line saying what to check. Without `migrate`, the schema must
    already be this code's (or newer), else the line says what to run.
    """
    database = settings.database()
    try:
        if _writes_data_dir(settings):
            require_writable_directory(settings.data_dir)
        wait_for_database_to_answer(database, wait_for_database)
        system = build_system(settings, migrate=migrate)
    except (StartupError, BlobStoreUnavailableError) as unusable:
        _fail(str(unusable))  # one line: what, where, and what to check
    except sa.exc.OperationalError as lost:
        _fail(
            f"The database {database.described()} stopped answering during the start "
            f"({type(lost.orig).__name__}): start again once it is back."
        )
    try:
        if not migrate:
            try:
                require_current(system.engine)
            except SchemaNotCurrentError as behind:
                _fail(f"{str(behind).capitalize()}.")
        yield system
    finally:
        system.close()


def _writes_data_dir(settings: Settings) -> bool:
    """Whether the data directory holds anything of this node: its files when they
    are not in S3, its SQLite database. On PostgreSQL and S3 it need not exist
    (a read-only container can run `db upgrade` or `keys create`)."""
    return settings.s3_bucket is None or settings.database().is_sqlite


def _fail(message: str) -> NoReturn:
    """Print `message` in red and end the command with exit status 1."""
    console.print(f"[red]{message}[/red]", soft_wrap=True)
    raise typer.Exit(1) from None


def _print_table(
    columns: Sequence[str], id_widths: Mapping[str, int], rows: Iterable[Sequence[str]]
) -> None:
    """Print `rows` under `columns` and then the id columns, as wide as the ids need."""
    # Ids are what `keys revoke` and `--owner` take: never truncate them.
    table = Table(*columns)
    for name, width in id_widths.items():
        table.add_column(name, no_wrap=True, min_width=width)
    for row in rows:
        table.add_row(*row)
    Console(width=max(console.width, 160)).print(table)


def _print_first_key(system: System) -> None:
    created = system.keys.create("first key")
    s = system.settings
    base = f"http://{s.host}:{s.port}/v1"
    body = '{"name": "Hello", "content": "# Hello\\n\\nFrom nxdocs\\n\\n---\\n\\n# A second page"}'
    # Lines to paste into a shell: they make a real artifact and wait for its job.
    console.print(
        "\nNo API keys yet, so here is one. It is shown only now; nxdocs stores a hash.\n"
        f"  {created.secret}\n\n"
        "Try it: make a presentation from Markdown in the background, then wait for its job.\n"
        f"  export NXDOCS_API_KEY={created.secret}\n"
        f'  JOB=$(curl -s {base}/artifacts/async -H "Authorization: Bearer $NXDOCS_API_KEY" '
        f"-H 'Content-Type: application/json' -d '{body}' "
        "| python3 -c 'import json, sys; print(json.load(sys.stdin)[\"job_id\"])')\n"
        f'  curl -s "{base}/jobs/$JOB?wait=30" -H "Authorization: Bearer $NXDOCS_API_KEY"\n'
        '(the job answers "status": "completed" with the artifact\'s id in its "result"; '
        "with --no-worker it waits for an `nxdocs worker`)\n",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


register_client_commands(app)


def main() -> None:
    app()
