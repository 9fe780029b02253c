"""The poll path's read port: one indexed read of a job, without blocking the event loop long."""

from __future__ import annotations

from typing import Protocol

from nxdocs.poll.public import JobRow


class JobReader(Protocol):
    async def read(self, job_id: str) -> tuple[str, JobRow] | None:
        """(owner id, row) of the job, or None. The caller checks the owner."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...
