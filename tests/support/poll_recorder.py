"""A client that polls `GET /v1/jobs/{id}` on a thread and keeps every answer.

Acceptance tests run it across a fault (a database restart) and then check
each answer: what a client saw is the point, so nothing is filtered out, and a
transport error (the API refused the connection or did not answer) is kept as
an answer too.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import cycle
from pathlib import Path

import httpx
import jsonschema

from tests.support.contract import validate_error, validate_job

REQUEST_TIMEOUT = 15.0


@dataclass(frozen=True)
class Answer:
    at: float
    """time.monotonic() when the request was sent."""
    job_id: str
    status: int | None
    """The HTTP status, or None when the request failed in transport."""
    body: str

    def problem(self) -> str | None:
        """What is wrong with this answer for a poll across a fault, or None."""
        if self.status is None:
            return f"transport error: {self.body}"
        if self.status not in (200, 503):
            return f"HTTP {self.status}: {self.body[:300]}"
        try:
            validate = validate_job if self.status == 200 else validate_error
            validate(json.loads(self.body))
        except (ValueError, jsonschema.ValidationError) as exc:
            return f"HTTP {self.status} with a body off the contract ({exc!r}): {self.body[:300]}"
        return None


@dataclass
class PollRecorder:
    """Polls `job_ids` round robin, `interval` apart, until `stop()`."""

    base_url: str
    key: str
    job_ids: list[str]
    interval: float = 0.02
    answers: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="poll-recorder", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=REQUEST_TIMEOUT + 5)
            assert not self._thread.is_alive(), "the poll recorder did not stop"

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        with httpx.Client(base_url=self.base_url, headers=headers, timeout=REQUEST_TIMEOUT) as c:
            for job_id in cycle(self.job_ids):
                if self._stop.is_set():
                    return
                sent = time.monotonic()
                try:
                    response = c.get(f"/v1/jobs/{job_id}")
                    answer = Answer(sent, job_id, response.status_code, response.text)
                except httpx.TransportError as exc:
                    answer = Answer(sent, job_id, None, repr(exc))
                self.answers.append(answer)
                self._stop.wait(self.interval)

    def between(self, start: float, end: float) -> list[Answer]:
        return [answer for answer in self.answers if start <= answer.at <= end]

    def problems(self) -> list[str]:
        """What is wrong with each bad answer, in order. Answers repeat a lot (the same
        job polled again), and checking a body against a schema is slow, so each
        distinct answer is checked once."""
        checked: dict[tuple[int | None, str], str | None] = {}
        found = []
        for answer in self.answers:
            seen = (answer.status, answer.body)
            if seen not in checked:
                checked[seen] = answer.problem()
            problem = checked[seen]
            if problem is not None:
                found.append(problem)
        return found

    def write(self, path: Path, marks: dict[str, float | None]) -> None:
        """Every answer, one a line, with `marks` (time.monotonic() values) among them."""
        start = self.answers[0].at if self.answers else 0.0
        lines = [(a.at, f"{a.job_id} {a.status} {a.body[:200]}") for a in self.answers]
        lines += [(at, f"---- {name}") for name, at in marks.items() if at is not None]
        text = [f"{at - start:9.3f} {line}" for at, line in sorted(lines, key=lambda x: x[0])]
        path.write_text("\n".join([self.summary(), *text]) + "\n")

    def summary(self) -> str:
        counts = Counter(
            "transport error" if a.status is None else str(a.status) for a in self.answers
        )
        return f"{len(self.answers)} polls: " + ", ".join(
            f"{name} x{count}" for name, count in sorted(counts.items())
        )
