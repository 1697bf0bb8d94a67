"""Resuming a scan from its own report: read what is done, cut off what is not whole, append.

Every format is a header, whole units (one per photo, each written by one ``write()``) and a
footer (see :mod:`icaocheck.reports.base`). After an interruption (Ctrl-C, ``kill -9``, a power
cut of the scanning process) a report ends in one of these ways, each handled:

* with a footer (Ctrl-C finished it): the footer is cut off and written again at the end;
* with a unit cut short (killed mid-write): it is cut off and its photo audited again;
* in the middle of the header (killed at once): the file is started again.

A whole unit that this format cannot read is never cut off: the file is then not (or no longer)
a report of this format, and resuming stops with :class:`ResumeError` before changing anything.

Beside each report file lies its :class:`RunRecord` (``REPORT.icaocheck.json``): the effective
configuration, the models' sha256 and the working directory the scan started in. A resume whose
configuration or models differ is refused (a report judged by two sets of thresholds would say
nothing), and the report's relative paths are resolved from the recorded directory, so a photo
is recognised whatever directory the resume runs from.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from icaocheck.inputs import row_key, seen_from
from icaocheck.model_files import manifest_hashes, write_text_atomic
from icaocheck.reports.base import ENCODING, ENCODING_ERRORS, ReportWriter
from icaocheck.summary import ScanSummary

if TYPE_CHECKING:
    from icaocheck.profiles import Settings

# Every header fits in this many bytes (the HTML header, the largest, is a few kilobytes).
_HEADER_LIMIT = 1 << 20


class ResumeError(ValueError):
    """The existing report cannot be resumed (another format or configuration, another version's columns, damage)."""


RECORD_SUFFIX = ".icaocheck.json"
_RECORD_VERSION = 1


def record_path(report: Path) -> Path:
    """Where the :class:`RunRecord` of the report at ``report`` lies: ``REPORT.icaocheck.json`` beside it."""
    return report.with_name(report.name + RECORD_SUFFIX)


@dataclass(frozen=True)
class RunRecord:
    """What a report was written with: format, profile, every setting's value, models, working directory."""

    report_format: str
    profile: str
    settings: Mapping[str, Any] = field(default_factory=dict)  # dotted key → value, as JSON holds it
    models: Mapping[str, str] = field(default_factory=dict)  # model file → sha256
    working_directory: str = ""  # absolute: where the report's relative paths start

    def __post_init__(self) -> None:
        for name in ("report_format", "profile", "working_directory"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"expected {name} to be a string, got {getattr(self, name)!r}")
        if not os.path.isabs(self.working_directory):
            raise ValueError(f"expected an absolute working_directory, got {self.working_directory!r}")
        if not isinstance(self.settings, Mapping) or not all(isinstance(key, str) for key in self.settings):
            raise ValueError(f"expected settings to map keys to values, got {self.settings!r}")
        if not isinstance(self.models, Mapping) or not all(isinstance(h, str) for h in self.models.values()):
            raise ValueError(f"expected models to map file names to sha256 strings, got {self.models!r}")

    @classmethod
    def of(cls, settings: Settings, report_format: str, models: Path | None = None) -> RunRecord:
        """This run's record: ``settings`` from :func:`icaocheck.profiles.resolve`, the installed models, the cwd."""
        # Through JSON, so that values compare equal to those read back (tuples become lists).
        values = json.loads(json.dumps({entry.key: entry.value for entry in settings.entries}))
        return cls(report_format, settings.profile, values, manifest_hashes(models), os.getcwd())

    def differences(self, other: RunRecord) -> list[str]:
        """What ``other`` (a resume) changes: one phrase per format, setting or model that differs."""
        changed = []
        if other.report_format != self.report_format:
            changed.append(f"format {self.report_format} → {other.report_format}")
        for key in sorted(self.settings.keys() | other.settings.keys()):
            before, now = self.settings.get(key), other.settings.get(key)
            if before != now:
                changed.append(f"{key} {json.dumps(before)} → {json.dumps(now)}")
        for name in sorted(self.models.keys() | other.models.keys()):
            if self.models.get(name) != other.models.get(name):
                changed.append(f"model {name} ({_short(self.models.get(name))} → {_short(other.models.get(name))})")
        return changed

    def write(self, path: Path) -> None:
        """Write the record to ``path`` whole or not at all (a kill never leaves half a record)."""
        data = {
            "icaocheck_run_record": _RECORD_VERSION,
            "format": self.report_format,
            "profile": self.profile,
            "working_directory": self.working_directory,
            "settings": dict(self.settings),
            "models": dict(self.models),
        }
        write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")

    @classmethod
    def read(cls, path: Path) -> RunRecord:
        """The record at ``path``; :class:`ResumeError` saying what is wrong if it is missing or damaged."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ResumeError(
                f"{path} is missing: the report's profile and models are unknown, so it cannot be resumed "
                "consistently; start a new report"
            ) from None
        except (OSError, ValueError) as error:
            raise ResumeError(f"{path} cannot be read ({error}): not resuming the report") from None
        try:
            if data["icaocheck_run_record"] != _RECORD_VERSION:
                raise ValueError(f"version {_RECORD_VERSION}, got {data['icaocheck_run_record']!r}")
            return cls(data["format"], data["profile"], data["settings"], data["models"], data["working_directory"])
        except (KeyError, TypeError, ValueError) as error:
            raise ResumeError(f"{path} is not an icaocheck run record (expected {error}): not resuming") from None


def _short(sha256: str | None) -> str:
    return "absent" if sha256 is None else sha256[:12]


@dataclass(frozen=True)
class ExistingReport:
    """What a report written earlier holds."""

    keep: int  # bytes to keep: the header and every whole unit
    has_header: bool
    done: frozenset[str]  # row keys (see icaocheck.inputs.row_key) of the units kept


def read_existing(
    path: Path, writer: type[ReportWriter], summary: ScanSummary, working_directory: str | None = None
) -> ExistingReport:
    """Read the report at ``path`` as written by ``writer``; count its photos into ``summary``.

    Relative paths in the report are resolved from ``working_directory`` (default: the current
    one), the directory the report was started in. Nothing is changed on disk. Raises
    :class:`ResumeError` if the file is not such a report.
    """
    base = working_directory or os.getcwd()
    done: set[str] = set()
    with path.open("rb") as stream:
        start = stream.read(_HEADER_LIMIT)
        header = writer.header_pattern().match(start)
        if header is None:
            if writer.header().encode(ENCODING).startswith(start):
                return ExistingReport(0, False, frozenset())  # killed while writing the header
            raise ResumeError(f"{path} does not start like an icaocheck {writer.name} report: not resuming it")
        keep = header.end()
        stream.seek(keep)
        for number, data in enumerate(_units(stream, writer.unit_complete), start=1):
            if writer.footer_start is not None and data.startswith(writer.footer_start):
                break  # the footer of an earlier run; written again when this one ends
            if b"\0" in data:
                raise ResumeError(
                    f"{path}: unit {number} holds NUL bytes, the report is damaged (were two scans writing it?): "
                    "not resuming it; start a new report"
                )
            outcome = writer.read_unit(data.decode(ENCODING, ENCODING_ERRORS))
            if outcome is None:
                raise ResumeError(f"{path}: unit {number} is not a {writer.name} report row: not resuming it")
            key = row_key(seen_from(base, outcome.path), outcome.frame)
            if key in done:
                row = outcome.path if outcome.frame is None else f"{outcome.path} frame {outcome.frame}"
                raise ResumeError(f"{path} lists {row!r} twice: not resuming it")
            done.add(key)
            summary.add(outcome, resumed=True)
            keep += len(data)
    return ExistingReport(keep, True, frozenset(done))


def _units(stream: BinaryIO, complete: Callable[[bytes], bool]) -> Iterator[bytes]:
    """The whole units after the header, with their line ends; stops before a unit cut short."""
    pending = b""
    for line in stream:
        pending += line
        if not pending.endswith(b"\n"):
            return  # the last line was cut short
        if complete(pending):
            yield pending
            pending = b""
