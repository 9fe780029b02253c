"""The local blob store refuses what is not a plain file of its own.

What every store does (streaming in chunks, empty and missing blobs, keys
that leave the store) is in `test_blob_store.py`, which runs on this store
too. Here: a closed blob stops iterating, and whatever
cannot be read as a regular file reached without a symlink is no blob (None),
so the download route answers 410 for it, never 500, and never serves another
file through a link.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nxdocs.storage.blobs import CHUNK_BYTES, LocalBlobStore

KEY = "exports/exp_1/1-abcd/deck.pdf"


@pytest.fixture
def blobs(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "files")


def test_an_opened_blob_can_be_closed_before_the_end(blobs: LocalBlobStore) -> None:
    blobs.put(KEY, b"x" * (CHUNK_BYTES * 2))
    opened = blobs.open(KEY)
    assert opened is not None
    chunks = iter(opened)
    assert next(chunks) == b"x" * CHUNK_BYTES
    opened.close()
    opened.close()  # twice is harmless
    with pytest.raises((StopIteration, ValueError)):
        next(chunks)


def test_a_symlinked_file_is_not_followed(blobs: LocalBlobStore, tmp_path: Path) -> None:
    blobs.put("exports/exp_2/1-a/deck.pdf", b"another export's file")
    outside = tmp_path / "secret"
    outside.write_bytes(b"not nxdocs's")
    path = blobs.root / KEY
    path.parent.mkdir(parents=True)

    for target in (blobs.root / "exports/exp_2/1-a/deck.pdf", outside, path.with_name("none")):
        path.symlink_to(target)
        assert blobs.open(KEY) is None, target
        assert blobs.read(KEY) is None, target
        path.unlink()


def test_a_symlinked_folder_is_not_followed(blobs: LocalBlobStore, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "1-abcd").mkdir(parents=True)
    (elsewhere / "1-abcd" / "deck.pdf").write_bytes(b"planted")
    (blobs.root / "exports").mkdir(parents=True)
    (blobs.root / "exports" / "exp_1").symlink_to(elsewhere)

    assert (blobs.root / KEY).read_bytes() == b"planted"  # a path that follows links finds it
    assert blobs.open(KEY) is None


def test_what_is_not_a_regular_file_is_none(blobs: LocalBlobStore) -> None:
    path = blobs.root / KEY
    path.parent.mkdir(parents=True)
    os.mkfifo(path)  # opening it for reading would block without O_NONBLOCK
    assert blobs.open(KEY) is None
    path.unlink()
    path.mkdir()
    assert blobs.open(KEY) is None


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_an_unreadable_file_is_none(blobs: LocalBlobStore) -> None:
    blobs.put(KEY, b"data")
    (blobs.root / KEY).chmod(0)
    assert blobs.open(KEY) is None


def test_a_missing_store_is_empty(tmp_path: Path) -> None:
    assert LocalBlobStore(tmp_path / "never made").open(KEY) is None
