"""The `nxdocs` command: serve, worker, db and keys."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer
import uvicorn
from rich.console import Console
from rich.table import Table

from nxdocs.api.app import create_app
from nxdocs.cli_options import DATABASE_FIELDS, SERVE_FIELDS, WORKER_FIELDS, with_settings
from nxdocs.clock import format_timestamp
from nxdocs.db.engine import create_engine
from nxdocs.db.migrate import upgrade
from nxdocs.jobs.runner import SupervisedWorker
from nxdocs.logs import configure_logging
from nxdocs.render.themes import BUILTIN_THEMES, UnknownThemeError
from nxdocs.settings import Settings
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
console = Console()


@app.command()
@with_settings(*SERVE_FIELDS)
def serve(
    settings: Settings,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="API only; run jobs in `nxdocs worker` processes.")
    ] = False,
) -> None:
    """Run the API, with embedded workers unless --no-worker."""
    configure_logging(settings.log_level)
    system = build_system(settings)
    if system.keys.count() == 0:
        _print_first_key(system)
    base = f"http://{settings.host}:{settings.port}"
    console.print(
        f"nxdocs listening on {base}  (database: {_describe_db(settings)})",
        soft_wrap=True,
        highlight=False,
    )
    asgi = create_app(system, embedded_worker=not no_worker)
    try:
        uvicorn.run(
            asgi,
            host=settings.host,
            port=settings.port,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=int(settings.shutdown_grace_seconds) + 1,
        )
    finally:
        system.close()


@app.command()
@with_settings(*WORKER_FIELDS)
def worker(settings: Settings) -> None:
    """Run workers only: claim and run jobs until SIGTERM or SIGINT."""
    configure_logging(settings.log_level)
    system = build_system(settings)
    try:
        run_worker_until_signalled(system)
    finally:
        system.close()


def run_worker_until_signalled(system: System) -> None:
    """Run a supervised worker in this thread; SIGTERM/SIGINT start its graceful shutdown."""
    stop = threading.Event()
    job_worker = system.worker()

    def on_signal(_signum: int, _frame: object) -> None:
        stop.set()
        job_worker.stop_waiting()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    system.start_listening()
    SupervisedWorker(job_worker).run(stop)


@db_app.command("upgrade")
@with_settings(*DATABASE_FIELDS)
def db_upgrade(settings: Settings) -> None:
    """Apply the schema migrations (serve and worker also do this on start)."""
    engine = create_engine(settings.resolved_database_url())
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    console.print("database is up to date")


@keys_app.command("create")
@with_settings(*DATABASE_FIELDS)
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
) -> None:
    """Create a key and print it. It is shown this once: nxdocs keeps only a hash."""
    system = build_system(settings)
    try:
        created = system.keys.create(name, owner, new_owner=new_owner)
    except LookupError:
        console.print(f"[red]No owner with id {owner}.[/red]")
        raise typer.Exit(1) from None
    finally:
        system.close()
    console.print(f"key id: {created.id}  owner: {created.owner_id}", highlight=False)
    typer.echo(created.secret)


@keys_app.command("list")
@with_settings(*DATABASE_FIELDS)
def keys_list(settings: Settings) -> None:
    """List keys (never their secrets)."""
    system = build_system(settings)
    try:
        keys = system.keys.list()
    finally:
        system.close()
    table = Table("name", "prefix", "created", "revoked")
    # Ids are what `keys revoke` and `--owner` take: never truncate them.
    table.add_column("id", no_wrap=True, min_width=28)
    table.add_column("owner", no_wrap=True, min_width=29)
    for key in keys:
        revoked = format_timestamp(key.revoked_at) if key.revoked_at else ""
        created = format_timestamp(key.created_at)
        table.add_row(key.name, key.prefix + "...", created, revoked, key.id, key.owner_id)
    Console(width=max(console.width, 160)).print(table)


@keys_app.command("revoke")
@with_settings(*DATABASE_FIELDS)
def keys_revoke(
    settings: Settings,
    key_id: Annotated[str, typer.Argument(help="The key's id (key_...), from `nxdocs keys list`.")],
) -> None:
    """Revoke a key; servers stop accepting it within --auth-cache-seconds."""
    system = build_system(settings)
    try:
        revoked = system.keys.revoke(key_id)
    finally:
        system.close()
    if not revoked:
        console.print(f"[red]No active key with id {key_id}.[/red]")
        raise typer.Exit(1)
    console.print(f"revoked {key_id}")


@brands_app.command("create")
@with_settings(*DATABASE_FIELDS)
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
    system = build_system(settings)
    try:
        if not system.owners.exists(owner):
            console.print(f"[red]No owner with id {owner}.[/red]")
            raise typer.Exit(1)
        brand = system.brands.create(owner, name, ai_instruction, theme)
    except UnknownThemeError:
        console.print(
            f"[red]No theme with id {theme}; built in: {', '.join(BUILTIN_THEMES)}.[/red]"
        )
        raise typer.Exit(1) from None
    finally:
        system.close()
    typer.echo(brand.id)


@brands_app.command("list")
@with_settings(*DATABASE_FIELDS)
def brands_list(
    settings: Settings,
    owner: Annotated[str, typer.Option("--owner", help="Owner id (user_...).")],
) -> None:
    """List an owner's brands."""
    system = build_system(settings)
    try:
        brands, _ = system.brands.list(owner, limit=20, after=None)
    finally:
        system.close()
    table = Table("name", "theme", "ai instruction")
    table.add_column("id", no_wrap=True, min_width=30)
    for brand in brands:
        table.add_row(brand.name, brand.theme_id or "", brand.ai_instruction or "", brand.id)
    Console(width=max(console.width, 160)).print(table)


@owners_app.command("update")
@with_settings(*DATABASE_FIELDS)
def owners_update(
    settings: Settings,
    owner: Annotated[str, typer.Argument(help="Owner id (user_...), see `keys list`.")],
    email: Annotated[str | None, typer.Option("--email")] = None,
    first_name: Annotated[str | None, typer.Option("--first-name")] = None,
    last_name: Annotated[str | None, typer.Option("--last-name")] = None,
) -> None:
    """Set the email and names GET /v1/me shows for an owner."""
    system = build_system(settings)
    try:
        updated = system.owners.update(
            owner, email=email, first_name=first_name, last_name=last_name
        )
    finally:
        system.close()
    if not updated:
        console.print(f"[red]No owner with id {owner}.[/red]")
        raise typer.Exit(1)
    console.print(f"updated {owner}")


def _print_first_key(system: System) -> None:
    created = system.keys.create("first key")
    s = system.settings
    console.print(
        "\nNo API keys yet, so here is one. It is shown only now; nxdocs stores a hash.\n"
        f"  {created.secret}\n\nTry it:\n"
        f'  curl -H "Authorization: Bearer {created.secret}" http://{s.host}:{s.port}/v1/jobs/job_abc123def456\n'
        "(a 404 in the contract's error shape means the key works: no such job yet)\n",
        highlight=False,
        soft_wrap=True,
    )


def _describe_db(settings: Settings) -> str:
    url = settings.resolved_database_url()
    return url if settings.is_sqlite else url.split("@")[-1]


def main() -> None:
    app()
