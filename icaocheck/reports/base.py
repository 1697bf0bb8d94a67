"""What every report format is made of: a header, one unit per photo, a footer.

The layout is what lets a report stream and survive a kill:

* every unit is the whole text of one photo, written with a single ``write()`` and flushed, so
  a scan killed at any moment leaves whole units and at most one cut-off unit at the very end;
* a unit is one line (CSV: one record, which may span lines inside quotes), so a resumed scan
  can read the units back, cut off a partial last one or the footer, and append after them;
* nothing of earlier photos is kept in memory: the footer is drawn from a :class:`ScanSummary`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, BinaryIO, ClassVar

from icaocheck.config import Config
from icaocheck.summary import Outcome, ScanSummary
from icaocheck.types import ImageResult

if TYPE_CHECKING:
    from icaocheck.video import VideoSummary

ENCODING = "utf-8"
# File names that are not valid UTF-8 reach Python as lone surrogates; written back as the
# original bytes they stand for, they round-trip when a resumed scan reads the report.
ENCODING_ERRORS = "surrogateescape"


class ReportWriter:
    """Base of the report formats.

    ``previous`` counts the photos already in the report (a resumed scan), ``rewritable`` says the
    stream is a file this writer may seek in (to fill in counts at the top when it closes).
    ``videos``: per video, the summary of the frames written in this run, which the caller keeps up
    to date as it writes them (a scan's :class:`~icaocheck.scan.ReportFile` does); a format that
    shows them (HTML) reads them when it closes.
    """

    name: ClassVar[str]
    extensions: ClassVar[tuple[str, ...]] = ()
    # How the footer's first line starts; None when the format has no footer.
    footer_start: ClassVar[bytes | None] = None

    def __init__(
        self,
        stream: BinaryIO,
        previous: ScanSummary | None = None,
        rewritable: bool = False,
        config: Config | None = None,
        videos: Mapping[str, VideoSummary] | None = None,
    ) -> None:
        self._stream = stream
        self._videos: Mapping[str, VideoSummary] = videos if videos is not None else {}
        self._rewritable = rewritable
        self._config = config or Config()
        self.units = previous.images if previous is not None else 0
        self.previous_non_compliant = previous.non_compliant if previous is not None else 0

    # -- the format ------------------------------------------------------------------------------

    @classmethod
    def header(cls) -> str:
        return ""

    def unit(self, result: ImageResult) -> str:
        """The text of one photo, ending with a newline."""
        raise NotImplementedError

    def wants_gallery(self) -> bool:
        """Whether the next failed photo's result should bring its gallery pictures (``ImageResult.gallery``)."""
        return False

    def footer(self, summary: ScanSummary) -> str:
        return ""

    @classmethod
    def header_pattern(cls) -> re.Pattern[bytes]:
        """What the start of a report in this format matches; its match is the whole header."""
        return re.compile(re.escape(cls.header().encode(ENCODING)))

    @classmethod
    def unit_complete(cls, data: bytes) -> bool:
        """Whether ``data``, lines ending in a newline, holds a whole unit (not the start of a longer one)."""
        return True

    @classmethod
    def read_unit(cls, text: str) -> Outcome | None:
        """The photo a unit written by :meth:`unit` describes; None if ``text`` is not such a unit."""
        raise NotImplementedError

    # -- writing ---------------------------------------------------------------------------------

    def start(self) -> None:
        self._put(self.header())

    def write(self, result: ImageResult) -> None:
        self._put(self.unit(result))
        self.units += 1

    def finish(self, summary: ScanSummary) -> None:
        self._put(self.footer(summary))

    def _put(self, text: str) -> None:
        if text:
            self._stream.write(text.encode(ENCODING, ENCODING_ERRORS))
            self._stream.flush()
