"""The CLI's flags come from Settings: every setting is a flag with its variable in --help."""

from __future__ import annotations

import os
from pathlib import Path

from nxdocs.settings import Settings
from tests.support.process import child_env, nxdocs


def test_serve_help_lists_every_setting_with_its_variable() -> None:
    env = child_env() | {"COLUMNS": "250"}
    shown = nxdocs("serve", "--help", env=env)
    assert shown.returncode == 0
    for name in Settings.model_fields:
        assert f"--{name.replace('_', '-')}" in shown.stdout, name
        assert f"NXDOCS_{name.upper()}" in shown.stdout, name


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
