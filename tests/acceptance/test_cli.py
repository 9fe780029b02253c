"""The CLI's flags come from Settings: every setting is a flag with its variable in --help."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from nxdocs.api.app import create_app
from nxdocs.settings import Settings
from nxdocs.system import build_system
from tests.support.process import child_env, nxdocs
from tests.support.server import serving


def test_serve_help_lists_every_setting_with_its_variable() -> None:
    env = child_env() | {"COLUMNS": "250"}
    shown = nxdocs("serve", "--help", env=env)
    assert shown.returncode == 0
    for name in Settings.model_fields:
        assert f"--{name.replace('_', '-')}" in shown.stdout, name
        assert f"NXDOCS_{name.upper()}" in shown.stdout, name


def test_worker_help_lists_worker_settings_and_no_api_ones() -> None:
    shown = nxdocs("worker", "--help", env=child_env() | {"COLUMNS": "250"})
    assert shown.returncode == 0
    for flag in ("--lease-seconds", "--log-level", "--data-dir"):
        assert flag in shown.stdout, flag
    for flag in ("--port ", "--sync-wait-seconds", "--rate-limit-burst"):
        assert flag not in shown.stdout, flag


def test_invalid_setting_is_a_clear_error(tmp_path: Path) -> None:
    refused = nxdocs("serve", "--port", "99999", "--data-dir", str(tmp_path), env=child_env())
    assert refused.returncode == 2
    assert "invalid --port" in refused.stderr
    assert "Traceback" not in refused.stderr + refused.stdout


def test_environment_variables_configure_commands(tmp_path: Path) -> None:
    env = child_env(data_dir=str(tmp_path / "from-env"))
    created = nxdocs("keys", "create", "--name", "k", env=env)
    assert created.returncode == 0, created.stderr
    assert (tmp_path / "from-env" / "nxdocs.db").exists()
    assert not any(name.startswith("NXDOCS_") for name in os.environ)


def test_db_upgrade_is_idempotent(tmp_path: Path) -> None:
    env = child_env(data_dir=str(tmp_path))
    assert nxdocs("db", "upgrade", env=env).returncode == 0
    again = nxdocs("db", "upgrade", env=env)
    assert again.returncode == 0
    assert "up to date" in again.stdout


def test_readme_documents_every_setting() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for name in Settings.model_fields:
        assert f"`NXDOCS_{name.upper()}`" in readme, name


def test_owner_profile_is_set_by_the_cli_and_shown_by_me(tmp_path: Path) -> None:
    env = child_env(data_dir=str(tmp_path))
    created = nxdocs("keys", "create", "--name", "me", env=env)
    key = created.stdout.strip().splitlines()[-1]
    owner = created.stdout.split("owner: ")[1].split()[0]
    updated = nxdocs(
        "owners", "update", owner, "--email", "ada@example.org", "--first-name", "Ada", env=env
    )
    assert updated.returncode == 0, updated.stderr
    assert nxdocs("owners", "update", "user_nobody", "--email", "x@y.z", env=env).returncode == 1
    system = build_system(Settings(data_dir=tmp_path))
    try:
        with serving(create_app(system, embedded_worker=False)) as base_url:
            me = httpx.get(f"{base_url}/v1/me", headers={"Authorization": f"Bearer {key}"})
    finally:
        system.close()
    body = me.json()
    assert (body["object"], body["id"]) == ("user", owner)
    assert (body["email"], body["first_name"], body["last_name"]) == (
        "ada@example.org",
        "Ada",
        None,
    )
    assert body["quota"]["document_export_used"] == 0
    assert body["quota"]["reset_date"].endswith("T00:00:00.000Z")


def test_organizations_are_made_and_joined_with_the_cli(tmp_path: Path) -> None:
    """The commands end to end; their refusals are the store's (tests/orgs)."""
    env = child_env(data_dir=str(tmp_path))
    system = build_system(Settings(data_dir=tmp_path))
    try:
        alice = system.keys.create("a", new_owner=True).owner_id
        bob = system.keys.create("b", new_owner=True).owner_id
    finally:
        system.close()
    made = nxdocs("orgs", "create", "--name", "Acme Docs", "--owner", alice, env=env)
    assert made.returncode == 0, made.stderr
    org = made.stdout.strip().splitlines()[-1]
    assert org.startswith("org_")
    assert "slug: acme-docs" in made.stdout
    added = nxdocs("orgs", "add-member", org, "--owner", bob, "--role", "ADMIN", env=env)
    assert added.returncode == 0, added.stdout
    org_key = nxdocs("keys", "create", "--name", "k", "--owner", bob, "--org", org, env=env)
    assert org_key.returncode == 0, org_key.stdout
    listed = nxdocs("orgs", "list", env=env)
    assert org in listed.stdout
    assert "Acme Docs" in listed.stdout
    system = build_system(Settings(data_dir=tmp_path))
    try:
        with serving(create_app(system, embedded_worker=False)) as base_url:
            key = org_key.stdout.strip().splitlines()[-1]
            shown = httpx.get(
                f"{base_url}/v1/organizations", headers={"Authorization": f"Bearer {key}"}
            ).json()
    finally:
        system.close()
    assert [(o["id"], o["role"]) for o in shown["data"]] == [(org, "ADMIN")]
    removed = nxdocs("orgs", "remove-member", org, "--owner", bob, env=env)
    assert removed.returncode == 0
    assert (
        nxdocs("orgs", "add-member", org, "--owner", bob, "--role", "KING", env=env).returncode == 1
    )
