"""What only the S3 store does, against a real S3 server (SeaweedFS).

Keys live under the configured prefix and nowhere else; a large file goes up
in parts; a folder of more keys than a DeleteObjects call takes is deleted
page by page; a presigned URL downloads the file under its export's name;
and a store that cannot be used is refused at start-up with one clear line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from typer.testing import CliRunner

from nxdocs.cli import app
from nxdocs.settings import Settings
from nxdocs.storage.errors import BlobStoreError, BlobStoreUnavailableError
from nxdocs.storage.s3 import S3BlobStore, S3Location
from nxdocs.system import build_system
from tests.storage.conftest import MULTIPART_THRESHOLD
from tests.support.seaweedfs import SeaweedS3, object_keys
from tests.support.server import free_port

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

KEY = "exports/exp_1/1-abcd/deck.pdf"


def test_keys_live_under_the_prefix(
    s3_store: S3BlobStore, s3_client: S3Client, s3_location: S3Location
) -> None:
    s3_store.put(KEY, b"data")
    s3_store.put("assets/asset_1/logo.png", b"png")

    assert object_keys(s3_client, s3_location.bucket, s3_location.prefix) == [
        f"{s3_location.prefix}assets/asset_1/logo.png",
        f"{s3_location.prefix}{KEY}",
    ]


def test_stores_of_other_prefixes_do_not_see_each_other(
    s3_client: S3Client, s3_location: S3Location
) -> None:
    ours = S3BlobStore(s3_location, client=s3_client)
    theirs_location = S3Location(
        s3_location.bucket, s3_location.prefix + "other/", s3_location.endpoint_url
    )
    theirs = S3BlobStore(theirs_location, client=s3_client)
    ours.put(KEY, b"ours")
    theirs.put(KEY, b"theirs")
    ours.delete_prefix("exports/")

    assert ours.open(KEY) is None
    assert theirs.read(KEY) == b"theirs"  # under ours/other/, which ours' exports/ is not


def test_a_large_file_goes_up_in_parts_and_a_small_one_in_one_put(
    seaweed: SeaweedS3, s3_location: S3Location
) -> None:
    store = S3BlobStore(
        s3_location, client=seaweed.client(), multipart_threshold=MULTIPART_THRESHOLD
    )
    calls: list[str] = []

    def record(**kwargs: Any) -> None:
        calls.append(kwargs["model"].name)

    store.client.meta.events.register("before-call.s3", record)
    try:
        large = os.urandom(6 * MULTIPART_THRESHOLD)  # parts of 5 MiB: two
        store.put(KEY, large)
        store.put("exports/exp_1/1-abcd/small.pdf", b"small")

        # The parts go up at once, in either order.
        assert calls == [
            "CreateMultipartUpload",
            "UploadPart",
            "UploadPart",
            "CompleteMultipartUpload",
            "PutObject",
        ]
        assert store.read(KEY) == large
    finally:
        store.close()


def test_a_folder_larger_than_a_batch_is_deleted_page_by_page(
    seaweed: SeaweedS3, s3_location: S3Location
) -> None:
    store = S3BlobStore(s3_location, client=seaweed.client(), batch=3)
    deletes: list[int] = []

    def record(params: dict[str, Any], **_kwargs: Any) -> None:
        deletes.append(len(params["Delete"]["Objects"]))

    store.client.meta.events.register("provide-client-params.s3.DeleteObjects", record)
    try:
        for number in range(8):
            store.put(f"exports/exp_1/1-a/page-{number}.png", b"png")
        store.put("exports/exp_2/1-a/deck.pdf", b"kept")

        store.delete_prefix("exports/exp_1/")

        assert deletes == [3, 3, 2]
        assert object_keys(store.client, s3_location.bucket, s3_location.prefix) == [
            f"{s3_location.prefix}exports/exp_2/1-a/deck.pdf"
        ]
    finally:
        store.close()


def test_a_presigned_url_downloads_the_file_under_its_name(s3_store: S3BlobStore) -> None:
    data = os.urandom(100_000)
    s3_store.put(KEY, data)

    url = s3_store.presigned_url(
        KEY, expires_seconds=300, file_name="Quarterly-Review.pdf", content_type="application/pdf"
    )
    response = httpx.get(url)

    assert response.status_code == 200, response.text
    assert response.content == data
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"Quarterly-Review.pdf\"; filename*=UTF-8''Quarterly-Review.pdf"
    )
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["300"]
    # The signature covers the key and the headers asked for: changing one voids it.
    tampered = url.replace("Quarterly-Review.pdf", "Other.pdf")
    assert httpx.get(tampered).status_code == 403


def test_download_urls_are_presigned_only_when_asked(
    seaweed: SeaweedS3, s3_client: S3Client, s3_location: S3Location
) -> None:
    plain = S3BlobStore(s3_location, client=s3_client)
    presigning = S3BlobStore(s3_location, client=s3_client, presigned_downloads=True)
    args: dict[str, Any] = {
        "file_name": "a.pdf",
        "content_type": "application/pdf",
        "expires_seconds": 60,
    }
    assert plain.download_url(KEY, **args) is None
    url = presigning.download_url(KEY, **args)
    assert url is not None
    assert url.startswith(f"{seaweed.endpoint_url}/{s3_location.bucket}/{s3_location.prefix}")
    with pytest.raises(ValueError, match="presigned URL lives"):
        presigning.download_url(KEY, **(args | {"expires_seconds": 7 * 86_400 + 1}))


def test_a_failing_server_is_a_blob_store_error(
    seaweed: SeaweedS3, s3_location: S3Location
) -> None:
    store = S3BlobStore(s3_location, client=seaweed.client(secret_key="wrong"))
    try:
        for call in (
            lambda: store.put(KEY, b"x"),
            lambda: store.open(KEY),
            lambda: store.delete_prefix("exports/"),
        ):
            with pytest.raises(BlobStoreError) as raised:
                call()
            assert isinstance(raised.value, OSError)  # handled as a local file's failure is
            assert "wrong" not in str(raised.value)
    finally:
        store.close()


def _s3_settings(tmp_path: Path, seaweed: SeaweedS3, bucket: str, **more: Any) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        s3_bucket=bucket,
        s3_endpoint_url=seaweed.endpoint_url,
        s3_region=seaweed.region,
        **more,
    )


ACCESS_DENIED = (
    "access denied (HTTP 403): check the credentials (AWS_ACCESS_KEY_ID and "
    "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE), and that they may use the bucket"
)
NO_SUCH_BUCKET = "no such bucket: create it, or check NXDOCS_S3_BUCKET"


@pytest.mark.parametrize(
    "case",
    [("wrong", None, ACCESS_DENIED), (None, "nxdocs-no-such-bucket", NO_SUCH_BUCKET)],
    ids=["wrong secret", "missing bucket"],
)
def test_a_wrong_credential_or_bucket_stops_the_start(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    aws_credentials: SeaweedS3,
    bucket: str,
    case: tuple[str | None, str | None, str],
) -> None:
    secret, bucket_name, meaning = case
    if secret is not None:
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    settings = _s3_settings(tmp_path, aws_credentials, bucket_name or bucket)

    with pytest.raises(BlobStoreUnavailableError) as raised:
        build_system(settings)

    assert str(raised.value) == (
        f"S3 bucket {settings.s3_bucket!r} at {aws_credentials.endpoint_url}, "
        f"region {aws_credentials.region} is not usable: {meaning}"
    )
    assert not (tmp_path / "data" / "nxdocs.db").exists()  # nothing was opened before


def test_a_wrong_credential_is_one_line_and_exit_status_1_at_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aws_credentials: SeaweedS3, bucket: str
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    for name, value in _s3_settings(tmp_path, aws_credentials, bucket).as_environment().items():
        monkeypatch.setenv(name, value)

    result = CliRunner().invoke(app, ["worker"])

    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"S3 bucket {bucket!r} at {aws_credentials.endpoint_url}, "
        f"region {aws_credentials.region} is not usable: {ACCESS_DENIED}"
    ]


def test_an_unreachable_server_or_no_credentials_stops_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aws_credentials: SeaweedS3, bucket: str
) -> None:
    nowhere = S3Location(bucket, endpoint_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(BlobStoreUnavailableError, match="cannot connect: check NXDOCS_S3_END"):
        S3BlobStore(nowhere).check()

    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(BlobStoreUnavailableError, match="no credentials found: set the cred"):
        build_system(_s3_settings(tmp_path, aws_credentials, bucket))


def test_settings_check_the_s3_options() -> None:
    assert Settings(s3_prefix="/nxdocs/prod").s3_prefix == "nxdocs/prod/"
    assert Settings(s3_prefix="").s3_prefix == ""
    for bad in ({"s3_prefix": "a/../b"}, {"s3_endpoint_url": "minio:9000"}):
        with pytest.raises(ValueError, match="S3"):
            Settings(**bad)
    with pytest.raises(ValueError, match="presigned downloads need --s3-bucket"):
        Settings(s3_presigned_downloads=True)
    with pytest.raises(ValueError, match="lower --download-url-seconds"):
        Settings(s3_bucket="b", s3_presigned_downloads=True, download_url_seconds=8 * 86_400)
