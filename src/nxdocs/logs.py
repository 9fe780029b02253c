"""Logging set-up, and a one-line summary of an exception that is safe to log.

Log lines never carry a traceback, SQL or a secret: driver exceptions embed
the statement and its parameters in their text, so only the exception's type
and the place it was raised are logged. Reproduce with the job id at hand.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format=_FORMAT)


def exception_summary(exc: BaseException) -> str:
    """`ValueError at nxdocs/render/pptx.py:123 in add_table`."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return type(exc).__name__
    last = frames[-1]
    return f"{type(exc).__name__} at {_short(last.filename)}:{last.lineno} in {last.name}"


def _short(filename: str) -> str:
    parts = Path(filename).parts
    for anchor in ("nxdocs", "site-packages"):
        if anchor in parts:
            return "/".join(parts[parts.index(anchor) :])
    return Path(filename).name
