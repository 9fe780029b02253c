"""A job's public body as the poll path serves it: from the cache, else one read.

Shared by the poll route, its long-poll and the event stream, so all three
see the same bytes and keep the same cache warm.
"""

from __future__ import annotations

from nxdocs.ids import is_id
from nxdocs.poll.cache import CachedJob, JobCache
from nxdocs.poll.public import job_json
from nxdocs.poll.reader import JobReader


class JobLookup:
    def __init__(self, reader: JobReader, cache: JobCache) -> None:
        self.reader = reader
        self.cache = cache

    async def job(self, job_id: str) -> CachedJob | None:
        """The job's owner and body, or None; the caller checks the owner."""
        if not is_id(job_id, "job"):
            return None  # nothing of another shape is looked up, let alone cached
        cached = self.cache.get(job_id)
        if cached is not None:
            return cached
        token = self.cache.token()
        job = await self._read(job_id)
        if job is not None:
            self.cache.put(job_id, job, token)
        return job

    async def _read(self, job_id: str) -> CachedJob | None:
        found = await self.reader.read(job_id)
        if found is None:
            return None
        owner_id, row = found
        body, processing = job_json(row)
        return CachedJob(owner_id, body, processing)
