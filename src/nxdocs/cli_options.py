"""Command-line flags generated from `Settings`, so every setting has a flag.

Each field becomes `--field-name`, reads `NXDOCS_FIELD_NAME`, and shows its
description and default in `--help`; the command receives one `Settings`.
A command takes the fields whose `Scope` overlaps its own, so a setting
marked `Scope.API` is a flag of `serve` but not of `worker`. Typer builds
commands from function signatures, so the signature is built here from the
model's fields instead of being written out per command.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import SecretStr, ValidationError

from nxdocs.settings import Scope, Settings

_CLI_TYPES: dict[Any, type] = {int: int, float: float, Path: Path}


def fields_for(scope: Scope) -> tuple[str, ...]:
    """The `Settings` fields a command running `scope` takes as flags, in the model's order."""
    return tuple(name for name in Settings.model_fields if Scope.of(name) & scope)


def with_settings(scope: Scope) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Give the command a flag per field of its scope; it is called with `settings=`."""
    fields = fields_for(scope)

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        # Annotations are strings under `from __future__ import annotations`;
        # Typer needs the evaluated `Annotated[..., typer.Option(...)]` objects.
        hints = typing.get_type_hints(command, include_extras=True)
        own = [
            p.replace(annotation=hints[p.name])
            for p in inspect.signature(command).parameters.values()
            if p.name != "settings"
        ]

        @functools.wraps(command)
        def run(**arguments: Any) -> None:
            given = {name: arguments.pop(name) for name in fields}
            command(settings=build_settings(given), **arguments)

        parameters = own + [_parameter(name) for name in fields]
        run.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in parameters}
        return run

    return decorate


def build_settings(given: dict[str, Any]) -> Settings:
    """Settings from the flags given, the environment and the defaults; exit 2 if invalid."""
    try:
        return Settings(**{name: value for name, value in given.items() if value is not None})
    except ValidationError as exc:
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "settings"
            typer.echo(f"invalid --{field.replace('_', '-')}: {error['msg']}", err=True)
        raise typer.Exit(2) from None


def _parameter(name: str) -> inspect.Parameter:
    field = Settings.model_fields[name]
    default = field.default
    hidden = default is None or isinstance(default, SecretStr)
    shown: str | bool = False if hidden else str(default)
    option = typer.Option(
        f"--{name.replace('_', '-')}",
        envvar=f"NXDOCS_{name.upper()}",
        help=field.description,
        show_default=shown,
    )
    cli_type = _CLI_TYPES.get(field.annotation, str)
    annotation = Annotated[cli_type | None, option]  # type: ignore[valid-type]
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation
    )
