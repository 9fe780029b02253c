"""The workers' webhook sender: claims due deliveries, sends them, records each outcome.

Runs beside the job loop in every worker process (`Worker` companions), so
deliveries are sent wherever jobs run, by as many processes as run jobs. It
wakes when deliveries are queued (the notifier's `deliveries_due`, across
processes on PostgreSQL), when an attempt ends, and at the time the next
retry is due, polling at most every `poll_seconds` in between.
Claims fill the free slots in batches, after a read that says something is
due; successful attempts are recorded in batches too, so a busy sender
spends a few statements per batch, not several per delivery.
Like the job loop it never dies of a fault: a failed claim or record is
logged and tried again with backoff; a record that never succeeds leaves the
delivery to be claimed and sent again once its hold expires.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from nxdocs.jobs.backoff import Backoff
from nxdocs.jobs.metrics import worker_metrics
from nxdocs.jobs.notify import Notifier
from nxdocs.logs import exception_summary
from nxdocs.webhooks.client import WebhookClient
from nxdocs.webhooks.deliveries import ClaimedDelivery, DeliveryStore, Outcome

log = logging.getLogger(__name__)

_RECORD_TRIES = 6
_RECORD_BATCH = 100
# Margin on an attempt's longest run before its delivery may be claimed again.
_HOLD_MARGIN_SECONDS = 30.0


class DeliverySender:
    def __init__(
        self,
        store: DeliveryStore,
        client: WebhookClient,
        notifier: Notifier,
        *,
        concurrency: int,
        poll_seconds: float,
    ) -> None:
        self.store = store
        self.client = client
        self.notifier = notifier
        self.concurrency = concurrency
        self.poll_seconds = poll_seconds
        self.hold_seconds = client.longest_attempt_seconds + _HOLD_MARGIN_SECONDS
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._in_flight = 0
        self._delivered: list[tuple[ClaimedDelivery, Outcome]] = []
        self._recording = False
        self._deliveries = worker_metrics().webhook_deliveries

    def run(self, stop: threading.Event) -> None:
        """Send until `stop` is set, then let the attempts under way finish."""
        unsubscribe = self.notifier.subscribe_deliveries(self._wake.set)
        pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="webhook")
        claims = Backoff(0.1, 5.0)
        try:
            while not stop.is_set():
                # Cleared before looking, so a wake-up that comes meanwhile is kept.
                self._wake.clear()
                try:
                    wait = self._claim(pool)
                except Exception as exc:
                    delay = claims.failed()
                    log.warning(
                        "webhook claim failed (%s); retrying in %.1fs",
                        exception_summary(exc),
                        delay,
                    )
                    stop.wait(delay)
                    continue
                claims.succeeded()
                if wait:
                    self._wake.wait(wait)
        finally:
            unsubscribe()
            pool.shutdown(wait=True)

    def stop_waiting(self) -> None:
        self._wake.set()

    def _claim(self, pool: ThreadPoolExecutor) -> float:
        """Start sends for the free slots; how long to wait before looking again.

        A read first: the claim's write (and on SQLite its lock of the whole
        database) is taken only when a delivery is due. And slots are filled
        in batches, once half of them are free (or all, when none is busy),
        not one claim per finished attempt.
        """
        with self._lock:
            free = self.concurrency - self._in_flight
        if free < max(1, self.concurrency // 2) and free < self.concurrency:
            return self.poll_seconds  # the end of an attempt wakes the loop
        due = self.store.next_due_in()
        if due is None:
            return self.poll_seconds
        if due > 0:
            return min(self.poll_seconds, max(due, 0.01))
        claimed = self.store.claim(free, self.hold_seconds)
        for delivery in claimed:
            with self._lock:
                self._in_flight += 1
            pool.submit(self._send, delivery)
        if len(claimed) == free:
            return 0.0  # more may be due
        # Nothing more is due now (others took it, or it was not ours to take):
        # the next look is at the next due time or the next wake-up.
        return 0.0 if claimed else self.poll_seconds

    def _send(self, delivery: ClaimedDelivery) -> None:
        try:
            outcome = self.client.send(delivery)
            self._deliveries.labels(_outcome_label(outcome)).inc()
            self._record(delivery, outcome)
        except Exception as exc:  # the thread's last guard; the hold expiry resends it
            log.error("webhook %s: send failed (%s)", delivery.id, exception_summary(exc))
        finally:
            with self._lock:
                self._in_flight -= 1
            self._wake.set()

    def _record(self, delivery: ClaimedDelivery, outcome: Outcome) -> None:
        if not outcome.delivered:
            # Failures are few and each may retry, disable or give up: one at a time.
            self._write(delivery.id, partial(self.store.record, delivery, outcome))
            return
        # Successes are batched: the thread that finds no batch being written
        # writes every success that arrives meanwhile, the others hand theirs over.
        with self._lock:
            self._delivered.append((delivery, outcome))
            if self._recording:
                return
            self._recording = True
        while True:
            with self._lock:
                batch = self._delivered[:_RECORD_BATCH]
                del self._delivered[:_RECORD_BATCH]
                if not batch:
                    self._recording = False
                    return
            self._write(f"{len(batch)} deliveries", partial(self.store.record_delivered, batch))

    def _write(self, what: str, write: Callable[[], object]) -> None:
        """Run `write`, retried with backoff through a database outage; given up
        after a few tries (the hold then runs out and the delivery is sent again)."""
        backoff = Backoff(0.1, 5.0)
        for attempt in range(_RECORD_TRIES):
            try:
                write()
                return
            except Exception as exc:
                if attempt == _RECORD_TRIES - 1:
                    log.error(
                        "webhook %s: outcome not recorded (%s); sent again later",
                        what,
                        exception_summary(exc),
                    )
                    return
                time.sleep(backoff.failed())


def _outcome_label(outcome: Outcome) -> str:
    if outcome.delivered:
        return "delivered"
    return "error" if outcome.status_code is None else "rejected"
