"""nxdocs on S3, end to end: a served system whose files live in a bucket (SeaweedFS).

A real export job writes its file under the per-attempt key in the bucket,
and nothing under the data directory; the signed download link streams it
from the bucket on any API node (one with an empty data directory of its own
too); retention purges the objects. With presigned downloads on,
`download_url` is the bucket's own URL, which saves the file under the
export's name. Both databases, as every served test.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest

from nxdocs.storage.s3 import S3BlobStore, S3Location
from tests.support.api import MakeApi, ServedApi
from tests.support.export_samples import PRESENTATION
from tests.support.exports import assert_hosted_export
from tests.support.seaweedfs import SeaweedS3, object_keys
from tests.support.server import free_port

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

DISPOSITION = "attachment; filename=\"Quarterly-Review.{0}\"; filename*=UTF-8''Quarterly-Review.{0}"


@pytest.fixture
def on_s3(make_api: MakeApi, aws_credentials: SeaweedS3, s3_location: S3Location) -> MakeApi:
    """`make_api` for systems whose files live in the test's folder of the bucket."""

    def make(**overrides: Any) -> ServedApi:
        return make_api(
            s3_bucket=s3_location.bucket,
            s3_endpoint_url=s3_location.endpoint_url,
            s3_prefix=s3_location.prefix,
            s3_region=s3_location.region,
            **overrides,
        )

    return make


def test_exports_live_in_the_bucket_download_from_any_node_and_are_purged(
    on_s3: MakeApi,
    s3_client: S3Client,
    s3_location: S3Location,
    tmp_path: Path,
) -> None:
    api = on_s3()
    alice = api.caller("alice")
    export = alice.export(alice.ready_artifact(PRESENTATION)["id"], "pdf")
    assert_hosted_export(export, "completed", base_url=api.base_url)

    # exports/<id>/<attempt>-<run>/<file>, in the bucket, under the prefix; no local file.
    (key,) = object_keys(s3_client, s3_location.bucket, s3_location.prefix)
    folder, attempt, name = key.removeprefix(f"{s3_location.prefix}exports/").split("/")
    assert (folder, name) == (export["id"], export["file_name"])
    assert attempt.startswith("1-")
    assert not (api.system.settings.data_dir / "files").exists()

    # Another API node, with a data directory of its own, serves the same link.
    other = on_s3(data_dir=tmp_path / "other-node", embedded_worker=False)
    link = urlsplit(export["download_url"])
    for node in (api, other):
        response = httpx.get(f"{node.base_url}{link.path}?{link.query}")
        assert response.status_code == 200, response.text
        assert response.content.startswith(b"%PDF")
        assert response.headers["content-disposition"] == DISPOSITION.format("pdf")
        assert response.headers["content-length"] == str(len(response.content))

    purged = api.system.exports.purge_files(api.system.blobs, api.system.clock.now_ms() + 1)

    assert purged == 1
    assert object_keys(s3_client, s3_location.bucket, s3_location.prefix) == []
    shown = alice.ok(f"/v1/exports/{export['id']}")
    assert shown["download_url"] is None
    gone = httpx.get(export["download_url"])
    assert gone.status_code == 410, gone.text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # links, not the queue
def test_presigned_downloads_come_from_the_bucket_under_the_export_name(
    on_s3: MakeApi, seaweed: SeaweedS3
) -> None:
    api = on_s3(s3_presigned_downloads=True)
    bob = api.caller("bob")
    artifact = bob.ready_artifact(PRESENTATION)

    for fmt, content_type in (("pdf", "application/pdf"), ("html", "text/html; charset=utf-8")):
        export = bob.export(artifact["id"], fmt)
        url = export["download_url"]
        assert url.startswith(f"{seaweed.endpoint_url}/"), url
        response = httpx.get(url)
        assert response.status_code == 200, response.text
        assert response.headers["content-disposition"] == DISPOSITION.format(fmt)
        assert response.headers["content-type"] == content_type
        if fmt == "html":
            # `content` is still read from the bucket by the API.
            assert export["content"] == response.text
        else:
            assert response.content.startswith(b"%PDF")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the bucket, not the queue
def test_a_bucket_that_cannot_be_reached_answers_503_not_500(
    on_s3: MakeApi, s3_location: S3Location
) -> None:
    api = on_s3()
    alice = api.caller("alice")
    export = alice.export(alice.ready_artifact(PRESENTATION)["id"], "pdf")
    # The bucket goes away after the start (its start-up check passed).
    api.system.blobs = S3BlobStore(
        S3Location(s3_location.bucket, endpoint_url=f"http://127.0.0.1:{free_port()}")
    )
    link = urlsplit(export["download_url"])

    response = httpx.get(f"{api.base_url}{link.path}?{link.query}")

    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert response.headers["retry-after"]
