"""What a scan adds up to: counts per status and check, and which photos fail the ``--fail-on`` rule.

A summary is fed :class:`Outcome` objects, the few facts of one photo that counting needs. They
come from fresh results and, when a scan resumes, from the rows of the report already written,
so the counts (and the exit code) cover the whole report, not only the photos of the last run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from icaocheck.checks import CHECK_NAMES
from icaocheck.types import ImageResult, ImageStatus, Verdict

FAIL_ON_ANY = "any"  # a photo fails if it is not compliant (a check failed, or no face)
FAIL_ON_NONE = "none"  # no photo fails: report only


@dataclass(frozen=True)
class Outcome:
    """One photo as counted: path, status, overall verdict, failed checks and checks with a verdict."""

    path: str
    status: str  # an ImageStatus value
    compliant: bool | None
    failed: tuple[str, ...] = ()
    assessed: tuple[str, ...] = ()  # checks that passed or failed (not "not assessed", not disabled)
    frame: int | None = None  # the frame's index, for a row of a video

    @classmethod
    def of(cls, result: ImageResult) -> Outcome:
        return cls(
            result.path,
            result.status.value,
            result.compliant,
            tuple(c.name for c in result.checks if c.verdict is Verdict.FAIL),
            tuple(c.name for c in result.checks if c.verdict is not Verdict.NOT_ASSESSED),
            None if result.frame is None else result.frame.index,
        )

    @classmethod
    def from_verdicts(cls, path: str, status: str, verdicts: dict[str, str], frame: int | None = None) -> Outcome:
        """From a report row's status and ``check → verdict`` (``pass``, ``fail``, ``not_assessed`` or empty)."""
        failed = tuple(name for name in CHECK_NAMES if verdicts.get(name) == Verdict.FAIL.value)
        assessed = tuple(name for name in CHECK_NAMES if verdicts.get(name) in (Verdict.PASS.value, Verdict.FAIL.value))
        # As ImageResult.compliant: unread files have no verdict, photos without a face fail.
        compliant = None if status == ImageStatus.ERROR.value else status == ImageStatus.OK.value and not failed
        return cls(path, status, compliant, failed, assessed, frame)


def parse_fail_on(text: str) -> frozenset[str] | None:
    """``any`` → None (every non-compliant photo fails), ``none`` → no check, else comma-separated check names."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if names == [FAIL_ON_ANY]:
        return None
    if names == [FAIL_ON_NONE]:
        return frozenset()
    unknown = [name for name in names if name not in CHECK_NAMES]
    if unknown or not names:
        raise ValueError(
            f"--fail-on takes {FAIL_ON_ANY}, {FAIL_ON_NONE} or check names among {', '.join(CHECK_NAMES)}; got {text!r}"
        )
    return frozenset(names)


@dataclass
class ScanSummary:
    """Running counts of a scan. ``fail_on``: None for ``any``, else the checks whose failure fails a photo."""

    fail_on: frozenset[str] | None = None
    images: int = 0
    resumed: int = 0  # photos counted from a report written by an earlier, interrupted run
    statuses: Counter[str] = field(default_factory=Counter)
    compliant: int = 0
    non_compliant: int = 0
    failures: Counter[str] = field(default_factory=Counter)  # photos failing each check
    assessed: Counter[str] = field(default_factory=Counter)  # photos each check gave a verdict on
    failing: int = 0  # photos failing the --fail-on rule
    interrupted: bool = False
    # Folder entries not audited (other files, formats without a reader, subfolders without -r),
    # by reason; not photos of the report, so they count in none of the numbers above.
    skipped: Counter[str] = field(default_factory=Counter)

    def skip(self, path: str, reason: str) -> None:
        """Count a folder entry that is not audited (a :data:`~icaocheck.io.SkipHandler`)."""
        self.skipped[reason] += 1

    def add(self, outcome: Outcome, resumed: bool = False) -> None:
        self.images += 1
        self.resumed += resumed
        self.statuses[outcome.status] += 1
        self.compliant += outcome.compliant is True
        self.non_compliant += outcome.compliant is False
        self.failures.update(outcome.failed)
        self.assessed.update(outcome.assessed)
        if self.fail_on is None:
            self.failing += outcome.compliant is False
        else:
            self.failing += bool(self.fail_on.intersection(outcome.failed))

    @property
    def errors(self) -> int:
        return self.statuses[ImageStatus.ERROR.value]

    def failure_rate(self, check: str) -> float | None:
        """Share of the photos ``check`` gave a verdict on that failed it; None if it judged none."""
        judged = self.assessed[check]
        return self.failures[check] / judged if judged else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "images": self.images,
            "resumed": self.resumed,
            "ok": self.statuses[ImageStatus.OK.value],
            "no_face": self.statuses[ImageStatus.NO_FACE.value],
            "error": self.errors,
            "compliant": self.compliant,
            "non_compliant": self.non_compliant,
            "fail_on": FAIL_ON_ANY if self.fail_on is None else sorted(self.fail_on) or FAIL_ON_NONE,
            "failing": self.failing,
            "checks": {
                name: {"failed": self.failures[name], "assessed": self.assessed[name]}
                for name in CHECK_NAMES
                if self.assessed[name]
            },
            "skipped": sum(self.skipped.values()),
            "skipped_reasons": dict(sorted(self.skipped.items())),
            "interrupted": self.interrupted,
        }
