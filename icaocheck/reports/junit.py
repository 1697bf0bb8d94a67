"""JUnit XML for CI systems: one test case per photo or video frame, one ``<failure>`` per failed check.

A video's frames are test cases of their own, grouped by ``classname`` (the video's path) and
named ``VIDEO frame N (T s)``; the frame index is in the ``icaocheck-frame`` attribute too.

An unreadable file is an ``<error>``; checks that could not be assessed are listed in the test
case's ``<system-out>``. The counts on ``<testsuites>`` and ``<testsuite>`` are written as zeros
padded to a fixed width and filled in when the report closes, in place, when it is a file (CI
readers that get the report on a pipe count the test cases themselves).
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ElementTree
from xml.sax.saxutils import escape, quoteattr

from icaocheck.names import from_percent_encoded, percent_encoded, printable
from icaocheck.reports.base import ENCODING, ReportWriter
from icaocheck.summary import Outcome, ScanSummary
from icaocheck.types import CheckResult, ImageResult, ImageStatus, Verdict

_SUITE = "icaocheck"
_COUNT_WIDTH = 12  # digits kept for each count in the header
_PROLOGUE = '<?xml version="1.0" encoding="UTF-8"?>\n'
# Characters XML 1.0 does not allow, even escaped (control characters, lone surrogates).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# A file name not shown as it is (see icaocheck.names) goes, percent-encoded, in this attribute too,
# so that a resumed scan recognises the photo.
_EXACT_PATH = "icaocheck-path"
_NO_FACE_CHECK = "face_found"
_FRAME = "icaocheck-frame"


def _counts_tags(tests: int, failures: int, errors: int) -> str:
    counts = f'tests="{tests}" failures="{failures}" errors="{errors}"'
    return f'<testsuites name="{_SUITE}" {counts}><testsuite name="{_SUITE}" {counts} skipped="0">'


# The counts line is padded to the length it has with every count _COUNT_WIDTH digits long, so
# that the counts can be written over it in place whatever they are.
_COUNTS_LINE_LENGTH = len(_counts_tags(0, 0, 0)) + 6 * (_COUNT_WIDTH - 1)


def _counts_line(tests: int, failures: int, errors: int) -> str:
    return _counts_tags(tests, failures, errors).ljust(_COUNTS_LINE_LENGTH) + "\n"


def _attribute(text: str) -> str:
    return quoteattr(_NOT_XML.sub("\ufffd", text), {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"})


def _text(text: str) -> str:
    return escape(_NOT_XML.sub("\ufffd", text), {"\n": "&#10;", "\r": "&#13;"})


def _measured(check: CheckResult) -> str:
    if check.value is None or check.threshold is None:
        return ""
    return f"value {check.value:g} {check.unit}, threshold {check.threshold:g}"


class JunitWriter(ReportWriter):
    name = "junit"
    extensions = (".xml",)
    footer_start = b"</testsuite>"

    @classmethod
    def header(cls) -> str:
        return _PROLOGUE + _counts_line(0, 0, 0)

    @classmethod
    def header_pattern(cls) -> re.Pattern[bytes]:
        # The counts differ from one report to the next, and so does the padding after them.
        tags = re.escape(_counts_tags(0, 0, 0).encode(ENCODING)).replace(b'"0"', b'"[0-9]+"')
        return re.compile(re.escape(_PROLOGUE.encode(ENCODING)) + tags + b" *\n")

    def unit(self, result: ImageResult) -> str:
        path, exact = printable(result.path), percent_encoded(result.path)
        folder, name = os.path.dirname(path) or ".", path
        if result.frame is not None:
            folder, name = path, f"{path} frame {result.frame.index} ({result.frame.time_s:.3f} s)"
        seconds = result.timings_ms.get("total", 0.0) / 1000.0
        opening = (
            f"<testcase classname={_attribute(folder)} name={_attribute(name)} file={_attribute(path)}"
            f' time="{seconds:.3f}"'
        )
        if result.frame is not None:
            opening += f' {_FRAME}="{result.frame.index}"'
        if exact is not None:
            opening += f" {_EXACT_PATH}={_attribute(exact)}"
        children = []
        if result.status is ImageStatus.ERROR:
            children.append(f'<error type="unreadable" message={_attribute(printable(result.reason))}/>')
        for check in result.checks:
            if check.verdict is Verdict.FAIL:
                message, kind = _attribute(check.reason), _attribute(check.name)
                children.append(f"<failure type={kind} message={message}>{_text(_measured(check))}</failure>")
        skipped = [f"{c.name}: {c.reason}" for c in result.checks if c.verdict is Verdict.NOT_ASSESSED]
        said = [*skipped, *result.notes]
        if said:
            children.append(f"<system-out>{_text(printable('; '.join(said)))}</system-out>")
        if not children:
            return opening + "/>\n"
        return opening + ">" + "".join(children) + "</testcase>\n"

    def footer(self, summary: ScanSummary) -> str:
        return "</testsuite></testsuites>\n"

    def finish(self, summary: ScanSummary) -> None:
        super().finish(summary)
        if self._rewritable:
            end = self._stream.tell()
            self._stream.seek(len(_PROLOGUE.encode(ENCODING)))
            self._put(_counts_line(summary.images, summary.non_compliant, summary.errors))
            self._stream.seek(end)

    @classmethod
    def read_unit(cls, text: str) -> Outcome | None:
        try:
            case = ElementTree.fromstring(text)
        except ElementTree.ParseError:
            return None
        if case.tag != "testcase" or "name" not in case.attrib:
            return None
        frame = case.get(_FRAME)
        if frame is not None and not (frame.isascii() and frame.isdigit() and "file" in case.attrib):
            return None
        # A frame's name says which frame; its file attribute is the video's path.
        shown = case.attrib["name"] if frame is None else case.attrib["file"]
        path = from_percent_encoded(shown, case.get(_EXACT_PATH))
        failed = {failure.get("type", "") for failure in case.iter("failure")}
        if case.find("error") is not None:
            status = ImageStatus.ERROR.value
        elif _NO_FACE_CHECK in failed:
            status = ImageStatus.NO_FACE.value
        else:
            status = ImageStatus.OK.value
        return Outcome.from_verdicts(path, status, dict.fromkeys(failed, "fail"), None if frame is None else int(frame))
