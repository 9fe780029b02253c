"""Writing a download: into a hidden part file beside the target, renamed over it once
complete, so a failed or interrupted download never leaves a truncated file."""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def part_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")


def finish(part: Path, target: Path) -> None:
    os.replace(part, target)
