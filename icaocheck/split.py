"""The one train / validation / test split, by the labels' ``group`` column.

A group (one person, one source photo and its duplicates or synthetic variants) is on one
side only. The side is a stable hash of the group string, mapped to [0, 1), so training, data
collection and evaluation agree on it without sharing any state:

- hash < ``TEST_FRACTION``: **test**, measured and reported only, never used for a choice;
- ``TEST_FRACTION`` <= hash < ``HELD_OUT_FRACTION``: **validation**, where thresholds and fusions are chosen;
- the rest: **train**.

The shipped models were trained before the test side existed, on the groups with hash >=
``HELD_OUT_FRACTION`` (then "train"), and their epoch was chosen on every group below it (then
"validation", now validation and test together). Test was cut out of that old validation side, so
no group moved into or out of training.
"""

from __future__ import annotations

import enum
import hashlib

HELD_OUT_FRACTION = 0.15  # groups no model trains on: validation and test
TEST_FRACTION = 0.075  # of which these are test


class Split(enum.Enum):
    TRAIN = "train"
    VALIDATION = "validation"
    TEST = "test"


def group_position(group: str) -> float:
    """The group's stable place in [0, 1): the first 8 bytes of its sha1, as a fraction of 2**64."""
    digest = hashlib.sha1(group.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def is_held_out_group(group: str, fraction: float = HELD_OUT_FRACTION) -> bool:
    """True if ``group`` is kept out of training (about ``fraction`` of all groups)."""
    return group_position(group) < fraction


def split_of(group: str) -> Split:
    """Which side of the three-way split ``group`` is on."""
    position = group_position(group)
    if position < TEST_FRACTION:
        return Split.TEST
    return Split.VALIDATION if position < HELD_OUT_FRACTION else Split.TRAIN
