"""The one train/validation split, by the labels' ``group`` column.

A group (one person, one source photo and its duplicates or synthetic variants) is on one
side only. The side is a stable hash of the group string, so training, data collection and
evaluation agree on it without sharing any state.
"""

from __future__ import annotations

import hashlib

VALIDATION_FRACTION = 0.15


def is_validation_group(group: str, fraction: float = VALIDATION_FRACTION) -> bool:
    """True if ``group`` belongs to the validation side (about ``fraction`` of all groups)."""
    digest = hashlib.sha1(group.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction
