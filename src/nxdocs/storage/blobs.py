"""The blob store port, and its local-directory implementation (S3's is `nxdocs.storage.s3`).

Keys are relative paths chosen by nxdocs (`exports/<id>/<attempt>/<file>`),
never by a client. Writes go to a temporary file of their own and are renamed
into place, so a reader never sees half a file, and one writer never touches
another's temporary file: two attempts of a job may write at the same time.
A writer killed mid-put leaves its temporary file; it goes with its prefix.

Reads stream: `open` hands back the blob's size and its bytes as chunks, so a
download never holds a whole file in memory, and an S3-style store can answer
it with the body of a GET. A blob that cannot be read, for whatever reason
(missing, a symlink, not a regular file, no permission), is no blob: `open`
answers None, and the caller answers as it would for a purged file.

Keys are checked alike by every store (`check_key`): folders and a file name,
none of them empty, "." or "..", and no NUL.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

_PARTIAL = ".partial-"
CHUNK_BYTES = 64 * 1024
# Never follow a symlink, at any step of the key; never block opening a FIFO
# (it is then refused as not a regular file). O_NONBLOCK does not change reads
# of regular files.
_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


class OpenBlob(Protocol):
    """A blob opened for reading. Iterating yields its bytes in chunks and closes it
    at the end; `close` releases it early (a client that went away)."""

    size: int

    def __iter__(self) -> Iterator[bytes]: ...

    def close(self) -> None: ...


class BlobStore(Protocol):
    def put(self, key: str, data: bytes) -> None: ...

    def open(self, key: str) -> OpenBlob | None:
        """The blob, opened; None if there is none under `key` that can be read."""

    def read(self, key: str) -> bytes | None:
        """The whole blob, or None as for `open`. For small blobs and tests only."""

    def delete_prefix(self, prefix: str) -> None:
        """Remove every blob whose key starts with `prefix` (a folder, ending in "/")."""


@runtime_checkable
class DirectDownloads(Protocol):
    """An optional capability beside `BlobStore`: a store that can hand out a download
    URL of its own (S3's presigned GET), so the bytes need not pass through nxdocs."""

    def download_url(
        self, key: str, *, file_name: str, content_type: str, expires_seconds: int
    ) -> str | None:
        """A URL that downloads `key` as the attachment `file_name` for `expires_seconds`;
        None when the store is not set to hand out its own (nxdocs's signed link serves it)."""


class LocalFile:
    """An `OpenBlob` over a file descriptor: read in `CHUNK_BYTES` chunks."""

    def __init__(self, descriptor: int, size: int) -> None:
        self._file = os.fdopen(descriptor, "rb", buffering=0)
        self.size = size

    def __iter__(self) -> Iterator[bytes]:
        try:
            while chunk := self._file.read(CHUNK_BYTES):
                yield chunk
        finally:
            self.close()

    def close(self) -> None:
        self._file.close()


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def put(self, key: str, data: bytes) -> None:
        check_key(key)
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=_PARTIAL)
        try:
            with os.fdopen(descriptor, "wb") as sink:
                sink.write(data)
                sink.flush()
                os.fsync(sink.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def open(self, key: str) -> LocalFile | None:
        """The file under `key`, reached without following any symlink.

        `_path` resolves symlinks, so it cannot be the check here: each folder
        of the key is opened relative to the previous one with O_NOFOLLOW, and
        the file last, then checked to be a regular file. Anything in the way
        (a symlink, a missing or unreadable file, a FIFO) is an OSError: None.
        """
        *folders, name = _parts(key)
        try:
            directory = os.open(self.root, _DIRECTORY_FLAGS)
        except OSError:
            return None
        try:
            for folder in folders:
                inner = os.open(folder, _DIRECTORY_FLAGS, dir_fd=directory)
                os.close(directory)
                directory = inner
            descriptor = os.open(name, _FILE_FLAGS, dir_fd=directory)
        except OSError:
            return None
        finally:
            os.close(directory)
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            os.close(descriptor)
            return None
        return LocalFile(descriptor, info.st_size)

    def read(self, key: str) -> bytes | None:
        opened = self.open(key)
        if opened is None:
            return None
        try:
            return b"".join(opened)
        except OSError:
            return None

    def delete_prefix(self, prefix: str) -> None:
        if not prefix.endswith("/"):
            raise ValueError("a blob prefix names a folder and ends with '/'")
        check_key(prefix[:-1])
        folder = self._path(prefix)
        shutil.rmtree(folder, ignore_errors=True)
        self._remove_empty_parents(folder)

    def _remove_empty_parents(self, path: Path) -> None:
        for parent in path.parents:
            if parent == self.root or not parent.is_relative_to(self.root):
                break
            try:
                parent.rmdir()
            except OSError:
                break

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise ValueError("blob key escapes the store")
        return path


def check_key(key: str) -> None:
    """ValueError unless `key` is one nxdocs could have made (see the module's docstring)."""
    _parts(key)


def _parts(key: str) -> list[str]:
    """The folders and file name of `key`, which must stay inside the store as written."""
    parts = key.split("/")
    if any(part in ("", ".", "..") for part in parts) or "\x00" in key:
        raise ValueError("blob key escapes the store")
    return parts
