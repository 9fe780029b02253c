"""One contract for every blob store: the local directory and S3 (SeaweedFS) alike.

Put, open, read, stream in chunks, delete a folder, refuse bad keys, and
publish atomically: a reader sees a whole old file or a whole new one. The
S3 store's own tests (presigning, the start-up check, multipart) are in
`test_s3_store.py`.
"""

from __future__ import annotations

import os
import threading

import pytest

from nxdocs.storage.blobs import CHUNK_BYTES, BlobStore
from tests.storage.conftest import MULTIPART_THRESHOLD

KEY = "exports/exp_1/1-abcd/deck.pdf"
BAD_KEYS = ["../x", "exports/../../x", "/etc/passwd", "a//b", "a/./b", "a/", "", "a\x00b"]


def test_put_then_open_and_read(blobs: BlobStore) -> None:
    blobs.put(KEY, b"%PDF-1.7 hello")

    opened = blobs.open(KEY)

    assert opened is not None
    assert opened.size == 14
    assert b"".join(opened) == b"%PDF-1.7 hello"
    assert blobs.read(KEY) == b"%PDF-1.7 hello"


def test_a_large_blob_streams_in_bounded_chunks(blobs: BlobStore) -> None:
    data = os.urandom(CHUNK_BYTES * 3 + 17)
    blobs.put(KEY, data)

    opened = blobs.open(KEY)

    assert opened is not None
    assert opened.size == len(data)
    chunks = list(opened)
    assert len(chunks) == 4
    assert all(len(chunk) <= CHUNK_BYTES for chunk in chunks)
    assert b"".join(chunks) == data
    assert blobs.read(KEY) == data


def test_a_blob_closed_before_its_end_is_released(blobs: BlobStore) -> None:
    blobs.put(KEY, b"x" * (CHUNK_BYTES * 4))
    opened = blobs.open(KEY)
    assert opened is not None
    chunks = iter(opened)
    assert next(chunks) == b"x" * CHUNK_BYTES

    opened.close()
    opened.close()  # twice is harmless

    assert blobs.read(KEY) == b"x" * (CHUNK_BYTES * 4)  # the store reads on


def test_a_file_above_the_multipart_threshold_round_trips(blobs: BlobStore) -> None:
    data = os.urandom(6 * MULTIPART_THRESHOLD + 1)  # two parts on S3: 5 MiB and the rest

    blobs.put(KEY, data)

    assert blobs.read(KEY) == data


def test_an_empty_blob_is_a_blob(blobs: BlobStore) -> None:
    blobs.put(KEY, b"")
    opened = blobs.open(KEY)
    assert opened is not None
    assert (opened.size, list(opened)) == (0, [])


def test_a_missing_blob_is_none(blobs: BlobStore) -> None:
    assert blobs.open(KEY) is None
    assert blobs.read(KEY) is None
    blobs.put("exports/exp_2/1-a/deck.pdf", b"other")
    assert blobs.open(KEY) is None
    assert blobs.open("exports/exp_1/1-abcd") is None  # a folder is no blob


def test_a_put_replaces_the_blob(blobs: BlobStore) -> None:
    blobs.put(KEY, b"first, and longer")
    blobs.put(KEY, b"second")
    assert blobs.read(KEY) == b"second"


def test_delete_prefix_removes_the_folder_and_nothing_beside_it(blobs: BlobStore) -> None:
    inside = [f"exports/exp_1/{attempt}/deck.pdf" for attempt in ("1-a", "2-b", "2-b/deeper")]
    beside = ["exports/exp_10/1-a/deck.pdf", "exports/exp_1.pdf", "assets/exp_1/x.png"]
    for key in inside + beside:
        blobs.put(key, key.encode())

    blobs.delete_prefix("exports/exp_1/")

    assert [blobs.open(key) for key in inside] == [None, None, None]
    assert [blobs.read(key) for key in beside] == [key.encode() for key in beside]
    blobs.delete_prefix("exports/exp_1/")  # again: nothing left, no error
    blobs.delete_prefix("exports/never/")


def test_delete_prefix_takes_only_folders(blobs: BlobStore) -> None:
    with pytest.raises(ValueError, match="ends with '/'"):
        blobs.delete_prefix("exports/exp_1")
    for prefix in ("../", "exports/../../", "/", "a//"):
        with pytest.raises(ValueError, match="escapes"):
            blobs.delete_prefix(prefix)


@pytest.mark.parametrize("key", BAD_KEYS)
def test_a_key_that_leaves_the_store_is_refused(blobs: BlobStore, key: str) -> None:
    with pytest.raises(ValueError, match="escapes"):
        blobs.open(key)
    with pytest.raises(ValueError, match="escapes"):
        blobs.put(key, b"x")


def test_a_reader_sees_the_old_file_or_the_new_never_a_part(blobs: BlobStore) -> None:
    # Above the multipart threshold: on S3 each write is a multipart upload.
    old, new = b"o" * (2 * MULTIPART_THRESHOLD), b"n" * (2 * MULTIPART_THRESHOLD + 5)
    blobs.put(KEY, old)
    done = threading.Event()
    failures: list[BaseException] = []

    def write() -> None:
        try:
            for _ in range(4):
                blobs.put(KEY, new)
                blobs.put(KEY, old)
        except BaseException as exc:
            failures.append(exc)
        finally:
            done.set()

    writer = threading.Thread(target=write)
    writer.start()
    seen = set()
    while not done.is_set() or not seen:
        data = blobs.read(KEY)
        assert data in (old, new), None if data is None else len(data)
        seen.add(data)
    writer.join()
    assert failures == []
