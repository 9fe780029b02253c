"""The S3 blob store: files in a bucket of AWS S3 or of any S3-compatible server.

`nxdocs.system` chooses it when `NXDOCS_S3_BUCKET` is set; the local directory
stays the default. Credentials come the standard AWS way (AWS_ACCESS_KEY_ID
and AWS_SECRET_ACCESS_KEY, AWS_PROFILE and the ~/.aws files, SSO, web
identity, container and instance roles), never from nxdocs's own settings.

boto3, not obstore: boto3 is the AWS SDK, whose credential chain is the one
the AWS documentation describes, profiles included, and whose presigned GET
takes `response-content-disposition` and `response-content-type`, which a
presigned download needs to keep the export's file name. obstore (Rust's
object_store) is faster and typed, but its signer takes no response headers,
and what a download waits on is the network, not a few megabytes of Python.

Publishing is atomic without a temporary key: S3 makes an object visible
whole or not at all, a PutObject when it ends and a multipart upload at its
CompleteMultipartUpload, so a reader sees the old object or the new one,
never part of one. A file of `multipart_threshold` bytes or more goes up in
parts of that size (5 MiB at least), several at once (s3transfer), which
retries a failed part and aborts the upload if it fails; a process killed
mid-upload leaves parts that are no object, and which a bucket lifecycle
rule (AbortIncompleteMultipartUpload) takes away. Under the job runtime's
fencing each attempt writes under a key of its own
(`exports/<id>/<attempt>-<run>/<file>`), published by the export row's fenced
write, exactly as on the local store.

Downloads stream: `open` answers with the GET's body, read in `CHUNK_BYTES`
chunks as they arrive; closing it releases the connection. Every failure of
the server is a `BlobStoreError` (an OSError); a missing object is None.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import boto3
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    PartialCredentialsError,
)
from botocore.exceptions import ConnectionError as ConnectionFailedError

from nxdocs.storage.blobs import CHUNK_BYTES, check_key
from nxdocs.storage.disposition import attachment_disposition
from nxdocs.storage.errors import BlobStoreError, BlobStoreUnavailableError

if TYPE_CHECKING:
    from botocore.response import StreamingBody
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

MULTIPART_THRESHOLD_BYTES = 8 * 1024 * 1024
MIN_PART_BYTES = 5 * 1024 * 1024  # S3's smallest part, but for the last
MAX_PRESIGNED_SECONDS = 7 * 86_400  # the longest a SigV4 presigned URL lives
MAX_BATCH = 1000  # the most keys of a ListObjectsV2 page and of a DeleteObjects call
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})
_CREDENTIALS = "the credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)"
_STORE_ERRORS = (BotoCoreError, ClientError, Boto3Error)


@dataclass(frozen=True)
class S3Location:
    """Where the objects live: a bucket, on AWS or on the S3-compatible server at
    `endpoint_url`, and a prefix ("" or a folder ending in "/") before every key."""

    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None
    region: str | None = None

    def described(self) -> str:
        """Which bucket, where: for messages (it holds no credential)."""
        where = self.endpoint_url or "AWS S3"
        region = f", region {self.region}" if self.region else ""
        return f"bucket {self.bucket!r} at {where}{region}"


class S3Object:
    """An `OpenBlob` over a GET's body, read in `CHUNK_BYTES` chunks as they arrive."""

    def __init__(self, body: StreamingBody, size: int) -> None:
        self._body = body
        self.size = size

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._body.iter_chunks(CHUNK_BYTES)
        except BotoCoreError as exc:
            raise BlobStoreError(f"reading an object was cut short: {_summary(exc)}") from exc
        finally:
            self.close()

    def close(self) -> None:
        self._body.close()


class S3BlobStore:
    """The `BlobStore` port over one bucket and prefix; also `DirectDownloads`."""

    def __init__(
        self,
        location: S3Location,
        *,
        client: S3Client | None = None,
        presigned_downloads: bool = False,
        multipart_threshold: int = MULTIPART_THRESHOLD_BYTES,
        batch: int = MAX_BATCH,
    ) -> None:
        if location.prefix:
            check_key(location.prefix.removesuffix("/"))
            if not location.prefix.endswith("/"):
                raise ValueError("an S3 prefix names a folder and ends with '/'")
        if not 1 <= batch <= MAX_BATCH:
            raise ValueError(f"a batch holds 1 to {MAX_BATCH} keys")
        self.location = location
        self.client = client or s3_client(location)
        self.presigned_downloads = presigned_downloads
        self.multipart_threshold = multipart_threshold
        self.batch = batch
        self._transfer = TransferConfig(
            multipart_threshold=multipart_threshold,
            multipart_chunksize=max(multipart_threshold, MIN_PART_BYTES),
            max_concurrency=4,
        )

    def check(self) -> None:
        """One HeadBucket: `BlobStoreUnavailableError` unless these credentials reach
        the bucket, so a wrong setting stops the start, not the first export."""
        try:
            self.client.head_bucket(Bucket=self.location.bucket)
        except _STORE_ERRORS as exc:
            message = f"S3 {self.location.described()} is not usable: {_unavailable(exc)}"
            raise BlobStoreUnavailableError(message) from None

    def put(self, key: str, data: bytes) -> None:
        target = self._key(key)
        bucket = self.location.bucket
        with _failures(f"storing {key}"):
            if len(data) < self.multipart_threshold:
                self.client.put_object(Bucket=bucket, Key=target, Body=data)
            else:
                self.client.upload_fileobj(io.BytesIO(data), bucket, target, Config=self._transfer)

    def open(self, key: str) -> S3Object | None:
        target = self._key(key)
        try:
            answer = self.client.get_object(Bucket=self.location.bucket, Key=target)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return None
            raise BlobStoreError(f"reading {key}: {_summary(exc)}") from exc
        except (BotoCoreError, Boto3Error) as exc:
            raise BlobStoreError(f"reading {key}: {_summary(exc)}") from exc
        return S3Object(answer["Body"], answer["ContentLength"])

    def read(self, key: str) -> bytes | None:
        """The whole object, or None if there is none; a failure raises, as it may pass."""
        opened = self.open(key)
        return None if opened is None else b"".join(opened)

    def delete_prefix(self, prefix: str) -> None:
        """Every object under `prefix` goes, a page of `batch` keys per DeleteObjects."""
        if not prefix.endswith("/"):
            raise ValueError("a blob prefix names a folder and ends with '/'")
        check_key(prefix[:-1])
        paginator = self.client.get_paginator("list_objects_v2")
        pages = paginator.paginate(
            Bucket=self.location.bucket,
            Prefix=self.location.prefix + prefix,
            PaginationConfig={"PageSize": self.batch},
        )
        with _failures(f"deleting {prefix}"):
            for page in pages:
                objects: list[ObjectIdentifierTypeDef] = [
                    {"Key": item["Key"]} for item in page.get("Contents", []) if "Key" in item
                ]
                if objects:
                    self._delete(prefix, objects)

    def presigned_url(
        self, key: str, *, expires_seconds: int, file_name: str, content_type: str
    ) -> str:
        """A GET of `key` signed for `expires_seconds`, whose answer says to save it
        as `file_name` (the disposition nxdocs's own download route sends)."""
        if not 1 <= expires_seconds <= MAX_PRESIGNED_SECONDS:
            raise ValueError(f"a presigned URL lives 1 to {MAX_PRESIGNED_SECONDS} seconds")
        with _failures(f"signing {key}"):
            return self.client.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.location.bucket,
                    "Key": self._key(key),
                    "ResponseContentDisposition": attachment_disposition(file_name),
                    "ResponseContentType": content_type,
                },
                ExpiresIn=expires_seconds,
            )

    def download_url(
        self, key: str, *, file_name: str, content_type: str, expires_seconds: int
    ) -> str | None:
        """The presigned URL, if the store is set to hand those out."""
        if not self.presigned_downloads:
            return None
        return self.presigned_url(
            key, expires_seconds=expires_seconds, file_name=file_name, content_type=content_type
        )

    def close(self) -> None:
        """Release the client's connections."""
        self.client.close()

    def _delete(self, prefix: str, objects: list[ObjectIdentifierTypeDef]) -> None:
        answer = self.client.delete_objects(
            Bucket=self.location.bucket, Delete={"Objects": objects, "Quiet": True}
        )
        refused = answer.get("Errors", [])
        if refused:
            first = refused[0]
            raise BlobStoreError(
                f"deleting {prefix}: {len(refused)} object(s) refused, "
                f"the first {first.get('Key', '?')!r}: {first.get('Code', '?')}"
            )

    def _key(self, key: str) -> str:
        check_key(key)
        return self.location.prefix + key


def s3_client(location: S3Location) -> S3Client:
    """A client for `location`, with the standard AWS credential chain.

    A server of one's own (`endpoint_url`) is addressed by path
    (`http://host/bucket/key`), which they all serve without DNS of their own.
    Checksums are sent only where S3 requires them, as S3-compatible servers
    do not all know the newer ones. Timeouts bound a lost server; the standard
    retry mode retries throttling and connection errors a few times.
    """
    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": "path" if location.endpoint_url else "auto"},
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=5,
        read_timeout=60,
        max_pool_connections=50,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    session = boto3.session.Session(region_name=location.region)
    try:
        return session.client("s3", endpoint_url=location.endpoint_url, config=config)
    except (ValueError, BotoCoreError) as exc:
        message = f"S3 {location.described()} is not usable: {_summary(exc)}"
        raise BlobStoreUnavailableError(message) from None


@contextmanager
def _failures(action: str) -> Iterator[None]:
    """Any failure of the object store, as a `BlobStoreError` naming `action`."""
    try:
        yield
    except _STORE_ERRORS as exc:
        raise BlobStoreError(f"{action}: {_summary(exc)}") from exc


def _unavailable(exc: Exception) -> str:
    """What a failed HeadBucket means, and what to check."""
    if isinstance(exc, NoCredentialsError):
        return f"no credentials found: set {_CREDENTIALS}"
    if isinstance(exc, PartialCredentialsError):
        return f"{exc}: check {_CREDENTIALS}"
    if isinstance(exc, ConnectionFailedError):
        return "cannot connect: check NXDOCS_S3_ENDPOINT_URL and that the server is up"
    if isinstance(exc, ClientError):
        code = _code(exc)
        for codes, meaning in _REFUSALS:
            if code in codes:
                return meaning
        return f"the server answered {_summary(exc)}: check NXDOCS_S3_ENDPOINT_URL"
    return _summary(exc)


# HeadBucket answers with a bare status: its error codes are HTTP statuses.
_REFUSALS = (
    (
        {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"},
        f"access denied (HTTP 403): check {_CREDENTIALS}, and that they may use the bucket",
    ),
    ({"404", "NoSuchBucket", "NotFound"}, "no such bucket: create it, or check NXDOCS_S3_BUCKET"),
    (
        {"301", "PermanentRedirect", "AuthorizationHeaderMalformed"},
        "the bucket is in another region: check NXDOCS_S3_REGION",
    ),
)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _summary(exc: Exception) -> str:
    """One line: the error's class and message (botocore's name no credential)."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
