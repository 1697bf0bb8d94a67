"""Stage timings, as every report and the bench give them: milliseconds of the performance counter."""

from __future__ import annotations

import time


def ms_since(start: float) -> float:
    """Milliseconds from ``start`` (a :func:`time.perf_counter` value) to now."""
    return (time.perf_counter() - start) * 1000.0
