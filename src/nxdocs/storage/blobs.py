"""The blob store port, and its local-directory implementation.

Keys are relative paths chosen by nxdocs (`exports/<id>/<attempt>/<file>`),
never by a client. Writes go to a temporary file of their own and are renamed
into place, so a reader never sees half a file, and one writer never touches
another's temporary file: two attempts of a job may write at the same time.
A writer killed mid-put leaves its temporary file; it goes with its prefix.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Protocol

_PARTIAL = ".partial-"


class BlobStore(Protocol):
    def put(self, key: str, data: bytes) -> None: ...

    def read(self, key: str) -> bytes | None:
        """The blob, or None if there is none under `key`."""

    def delete_prefix(self, prefix: str) -> None:
        """Remove every blob whose key starts with `prefix` (a folder, ending in "/")."""


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def put(self, key: str, data: bytes) -> None:
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

    def read(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def delete_prefix(self, prefix: str) -> None:
        if not prefix.endswith("/"):
            raise ValueError("a blob prefix names a folder and ends with '/'")
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
