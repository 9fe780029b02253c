"""Exponential delays between retries of a failing call, reset by a success."""

from __future__ import annotations


class Backoff:
    """`first`, then twice that after each further failure, never more than `most`."""

    def __init__(self, first: float, most: float) -> None:
        self.first = first
        self.most = most
        self.failures = 0

    def failed(self) -> float:
        """Count a failure; the delay before the next try."""
        self.failures += 1
        return float(min(self.most, self.first * 2 ** (self.failures - 1)))

    def succeeded(self) -> None:
        self.failures = 0
