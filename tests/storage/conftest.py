"""Blob store fixtures: a SeaweedFS server per session, a bucket folder per test.

`blobs` is parametrised over every store, the local directory and S3 (on the
SeaweedFS of `tests/support/seaweedfs.py`), as the job store suite is over
both databases, so the stores keep one contract. The server starts once per
session, which under xdist is once per worker; tests share its one bucket and
each works under a prefix of its own, so they never see each other's objects.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from nxdocs.storage.blobs import BlobStore, LocalBlobStore
from nxdocs.storage.s3 import S3BlobStore, S3Location
from tests.support.seaweedfs import SeaweedS3, seaweedfs, use_aws_environment

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

STORES = ["local", "s3"]
# Low, so that a test's file of a few MiB goes up in parts (each at least 5 MiB but the last).
MULTIPART_THRESHOLD = 1024 * 1024


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedS3]:
    with seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


@pytest.fixture(scope="session")
def bucket(seaweed: SeaweedS3) -> str:
    """The session's bucket; tests keep to folders of their own in it."""
    return seaweed.create_bucket()


@pytest.fixture
def s3_location(seaweed: SeaweedS3, bucket: str) -> S3Location:
    """The test's own folder of the bucket."""
    return S3Location(
        bucket=bucket,
        prefix=f"t-{uuid.uuid4().hex[:12]}/",
        endpoint_url=seaweed.endpoint_url,
        region=seaweed.region,
    )


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch, seaweed: SeaweedS3) -> SeaweedS3:
    """The standard AWS credential chain finds the server's keys, and nothing of the
    developer's AWS configuration."""
    use_aws_environment(monkeypatch, seaweed.aws_environment())
    return seaweed


@pytest.fixture(scope="session")
def s3_client(seaweed: SeaweedS3) -> Iterator[S3Client]:
    """One client for the session's stores (a client takes a while to make, and is
    thread-safe). A test that hooks a client's events makes its own."""
    client = seaweed.client()
    yield client
    client.close()


@pytest.fixture
def s3_store(s3_client: S3Client, s3_location: S3Location) -> S3BlobStore:
    """A store in the test's folder; not closed, as its client is the session's."""
    return S3BlobStore(s3_location, client=s3_client, multipart_threshold=MULTIPART_THRESHOLD)


@pytest.fixture(params=STORES)
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return LocalBlobStore(tmp_path / "files")
    store: S3BlobStore = request.getfixturevalue("s3_store")
    return store
