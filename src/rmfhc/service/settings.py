"""The service's limits and options, set by `rmfhc serve` (docs/service.md, "Limits")."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

MB = 1024 * 1024


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass(frozen=True, slots=True)
class Settings:
    """Limits on what one request may ask of the service, and whether packs may be sent in requests."""

    max_body: int = 5 * MB  # bytes in a request body; more is refused 413
    time_limit: float = 10.0  # seconds to receive a body, and to evaluate one history (a batch: each line)
    batch_time_limit: float = 120.0  # seconds for a whole batch; later lines are answered with an error
    workers: int = field(default_factory=_cores)  # evaluating processes
    allow_pack_upload: bool = False  # take a pack's YAML in a request ("pack")
