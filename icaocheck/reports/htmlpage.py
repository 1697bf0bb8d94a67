"""A self-contained HTML report: one file, no network, readable in any browser.

Layout: a filter bar, then one ``<article>`` per photo (the unit, one line each), then the
summary (counts, failure rate per check), which the style sheet shows first. Failed photos show a
thumbnail with the face box and landmarks and the crops of the checks that failed; only the
first :data:`MAX_THUMBNAILS` get pictures, so the file stays a few megabytes however large the
archive. Compliant photos are listed too, hidden until the filter asks for them, so that a
resumed scan finds every photo in the file.

A video's frames are units like photos (without pictures); the summary adds, per video, a
timeline (inline SVG) of each attribute check's score against its threshold with the failing
frames marked, and the best frame. The timeline covers the frames written by this run.
"""

from __future__ import annotations

import html
import os
from datetime import datetime, timezone
from html.parser import HTMLParser

from icaocheck.checks import CHECK_NAMES
from icaocheck.io import is_url
from icaocheck.names import from_percent_encoded, percent_encoded, printable
from icaocheck.reports.base import ReportWriter
from icaocheck.reports.thumbnails import THUMBNAIL_SIDE, frame_picture, gallery_images
from icaocheck.summary import Outcome, ScanSummary
from icaocheck.types import ImageResult, ImageStatus, Verdict
from icaocheck.video import VideoSummary, read_frame

MAX_THUMBNAILS = 200  # failed photos that get pictures (about 25 kB each)

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;padding:0 1.5rem 2rem;display:flex;flex-direction:column;
color:#222;background:#f6f6f4}
h1{order:-3;margin:1rem 0 .25rem}
#summary{order:-2}
#filters{order:-1;position:sticky;top:0;background:#f6f6f4;padding:.6rem 0;border-bottom:1px solid #ccc;z-index:1}
#gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:1rem;margin-top:1rem}
article{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.6rem;overflow-wrap:anywhere}
article.pass{border-left:4px solid #2a8a3a}
article.fail{border-left:4px solid #c33}
article.error{border-left:4px solid #888}
article h2{font-size:.95rem;margin:.3rem 0}
article .path{color:#666;font-size:.8rem;margin:0}
article img.photo{display:block;max-width:100%;height:auto;margin:auto}
.crops{display:flex;gap:.5rem;flex-wrap:wrap;margin-top:.4rem}
.crops figure{margin:0;text-align:center;font-size:.75rem;color:#555}
.crops img{width:112px;height:112px;image-rendering:pixelated;border:1px solid #ccc}
ul.checks{margin:.4rem 0 0;padding-left:1.1rem}
ul.checks li b{font-family:monospace}
table{border-collapse:collapse;background:#fff;margin:.5rem 1rem .5rem 0;display:inline-table;vertical-align:top}
td,th{border:1px solid #ddd;padding:.25rem .6rem;text-align:right}
td:first-child,th:first-child{text-align:left}
tr.check{cursor:pointer}
tr.check:hover{background:#eef}
.note{color:#a60}
section.video{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.6rem;margin:.5rem 0}
section.video svg{display:block;max-width:100%;height:auto}
section.video img{max-width:320px;height:auto}
"""
_TIMELINE_WIDTH = 800  # SVG units across a video's timeline
_LANE_HEIGHT = 40  # SVG units per check
_FAIL_COLOUR = "#c33"

# Filters: "problems" (default: every photo that is not compliant), "all", "compliant",
# "no_face", "error", or "check:NAME". A card's data-failed lists its failed checks.
_SCRIPT = """
function show(filter){
  const select=document.getElementById('filter');select.value=filter;let shown=0;
  for(const card of document.querySelectorAll('#gallery>article')){
    const failed=card.dataset.failed?card.dataset.failed.split(' '):[];const status=card.dataset.status;
    let visible;
    if(filter==='all'){visible=true}
    else if(filter==='problems'){visible=status!=='ok'||failed.length>0}
    else if(filter==='compliant'){visible=status==='ok'&&failed.length===0}
    else if(filter==='no_face'||filter==='error'){visible=status===filter}
    else{visible=failed.includes(filter.slice(6))}
    card.hidden=!visible;shown+=visible;
  }
  document.getElementById('shown').textContent=shown+' photo(s) shown';
}
document.addEventListener('DOMContentLoaded',()=>{
  document.getElementById('filter').addEventListener('change',e=>show(e.target.value));
  for(const row of document.querySelectorAll('tr.check')){row.addEventListener('click',()=>show(row.dataset.filter))}
  show('problems');
});
"""


def _h(text: str) -> str:
    """Escaped for HTML text and attributes, newlines included, so that a unit stays on one line."""
    return html.escape(text, quote=True).replace("\n", "&#10;").replace("\r", "&#13;")


class _UnitTag(HTMLParser):
    """Reads the attributes of a unit's opening ``<article>`` tag."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.attributes: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "article" and self.attributes is None:
            self.attributes = dict(attrs)


class HtmlWriter(ReportWriter):
    name = "html"
    extensions = (".html", ".htm")
    footer_start = b"</main>"

    # Failed photos given pictures so far in this run; the first MAX_THUMBNAILS failed photos of the
    # whole report get them, those of earlier (resumed) runs included.
    _thumbnails_written = 0

    @classmethod
    def header(cls) -> str:
        options = [("problems", "all problems"), ("all", "all photos"), ("compliant", "compliant")]
        options += [("no_face", "no face found"), ("error", "unreadable files")]
        options += [(f"check:{name}", f"failed: {name}") for name in CHECK_NAMES]
        select = "".join(f'<option value="{value}">{_h(label)}</option>' for value, label in options)
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>icaocheck report</title><style>{_STYLE}</style><script>{_SCRIPT}</script></head>\n<body>\n"
            "<h1>icaocheck report</h1>\n"
            f'<nav id="filters">Show <select id="filter">{select}</select> <span id="shown"></span></nav>\n'
            '<main id="gallery">\n'
        )

    def unit(self, result: ImageResult) -> str:
        failed = [c for c in result.checks if c.verdict is Verdict.FAIL]
        assessed = [c.name for c in result.checks if c.verdict is not Verdict.NOT_ASSESSED]
        kind = "error" if result.status is ImageStatus.ERROR else "fail" if result.compliant is False else "pass"
        shown, exact = printable(result.path), percent_encoded(result.path)
        attributes = (
            f'class="{kind}" data-path="{_h(shown)}" data-status="{result.status.value}"'
            f' data-failed="{" ".join(c.name for c in failed)}" data-checks="{" ".join(assessed)}"'
        )
        if exact is not None:
            attributes += f' data-path-escaped="{exact}"'
        heading = os.path.basename(shown) or shown
        if result.frame is not None:
            attributes += f' data-frame="{result.frame.index}"'
            heading += f" frame {result.frame.index} ({result.frame.time_s:.3f} s)"
        title = f"<h2>{_h(heading)}</h2><p class=path>{_h(shown)}</p>"
        title += "".join(f'<p class="note">{_h(printable(note))}</p>' for note in result.notes)
        if kind == "pass":
            return f"<article {attributes} hidden>{title}</article>\n"
        # A video's failing frames get no picture each: its timeline and best frame show it.
        pictures = self._pictures(result) if kind == "fail" and result.frame is None else ""
        if result.status is ImageStatus.ERROR:
            lines = [f"<li><b>unreadable</b> {_h(printable(result.reason))}</li>"]
        else:
            lines = [f"<li><b>{c.name}</b> {_h(c.reason)}</li>" for c in failed]
        return f"<article {attributes}>{pictures}{title}<ul class=checks>{''.join(lines)}</ul></article>\n"

    def wants_gallery(self) -> bool:
        return self.previous_non_compliant + self._thumbnails_written < MAX_THUMBNAILS

    def _pictures(self, result: ImageResult) -> str:
        if not self.wants_gallery():
            return f'<p class="note">no picture: only the first {MAX_THUMBNAILS} failed photos get one</p>'
        self._thumbnails_written += 1
        if result.gallery is not None:
            images = result.gallery  # drawn by the worker that audited the photo
        elif is_url(result.path):
            return '<p class="note">no picture: the photo could not be read again where it was audited</p>'
        else:
            try:
                images = gallery_images(result, self._config)
            except Exception as error:  # a picture that cannot be drawn must not cost the report
                return f'<p class="note">no picture: {_h(f"{type(error).__name__}: {error}")}</p>'
        if images is None:
            return '<p class="note">no picture: the file changed or vanished after it was audited</p>'
        crops = "".join(
            f'<figure><img src="{uri}" alt="{check} crop"><figcaption>{_h(caption)}</figcaption></figure>'
            for check, caption, uri in images.crops
        )
        photo = f'<img class="photo" src="{images.photo}" alt="photo with face box and landmarks">'
        return photo + (f'<div class="crops">{crops}</div>' if crops else "")

    def footer(self, summary: ScanSummary) -> str:
        counts = [
            ("photos", summary.images),
            ("compliant", summary.compliant),
            ("non-compliant", summary.non_compliant),
            ("no face found", summary.statuses[ImageStatus.NO_FACE.value]),
            ("unreadable", summary.errors),
        ]
        totals = "".join(f"<tr><td>{label}</td><td>{value}</td></tr>" for label, value in counts)
        rows = []
        for name in CHECK_NAMES:
            rate = summary.failure_rate(name)
            if rate is None:
                continue
            rows.append(
                f'<tr class="check" data-filter="check:{name}" title="show the photos that failed {name}">'
                f"<td>{name}</td><td>{summary.failures[name]}</td><td>{summary.assessed[name]}</td>"
                f"<td>{100 * rate:.1f} %</td></tr>"
            )
        checks = "<tr><th>check</th><th>failed</th><th>assessed</th><th>failure rate</th></tr>" + "".join(rows)
        written = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        note = " <b class=note>The scan was interrupted: run it again with --resume to finish.</b>"
        videos = "".join(self._timeline(video) for video in self._videos.values())
        return (
            '</main>\n<section id="summary">'
            f"<table><caption>photos</caption>{totals}</table>"
            f"<table><caption>checks (click a row to see its photos)</caption>{checks}</table>{videos}"
            f"<p>Written {written}; pictures are at most {THUMBNAIL_SIDE} pixels, face box in red, landmarks in"
            f" yellow.{note if summary.interrupted else ''}</p></section>\n</body></html>\n"
        )

    def _timeline(self, video: VideoSummary) -> str:
        """A video's section: each attribute check's score over time, failing frames in red, and its best frame."""
        frames = video.frames
        if not frames:
            return ""
        first, last = frames[0].time_s, frames[-1].time_s
        span = max(last - first, 1e-6)
        step = _TIMELINE_WIDTH / max(len(frames), 1)  # a failing frame's mark is one frame wide

        def x(time_s: float) -> float:
            return round((time_s - first) / span * (_TIMELINE_WIDTH - step), 1)

        checks = [name for name in CHECK_NAMES if any(name in frame.values for frame in frames)]
        lanes = []
        for lane, name in enumerate(checks):
            top = lane * _LANE_HEIGHT
            marks = "".join(
                f'<rect x="{x(f.time_s)}" y="{top}" width="{step:.1f}" height="{_LANE_HEIGHT - 4}"'
                f' fill="{_FAIL_COLOUR}" opacity=".25"/>'
                for f in frames
                if name in f.failed
            )
            points = " ".join(
                f"{x(f.time_s)},{top + (1 - f.values[name]) * (_LANE_HEIGHT - 4):.1f}"
                for f in frames
                if name in f.values
            )
            threshold = self._threshold_y(video, name, top)
            lanes.append(
                f'<g><text x="4" y="{top + 12}" font-size="11">{name}</text>{marks}'
                f'<polyline points="{points}" fill="none" stroke="#225" stroke-width="1.2"/>{threshold}</g>'
            )
        height = max(len(checks), 1) * _LANE_HEIGHT
        svg = (
            f'<svg viewBox="0 0 {_TIMELINE_WIDTH} {height}" role="img" aria-label="scores over time">'
            f"{''.join(lanes)}</svg>"
        )
        spans = "; ".join(f"{s.check} {s.start_s:.2f}–{s.end_s:.2f} s" for s in video.spans(CHECK_NAMES))
        caption = (
            f"<h2>{_h(printable(video.path))}</h2><p>{len(frames)} frames analysed, {first:.2f}–{last:.2f} s;"
            f" {sum(f.compliant for f in frames)} compliant. Scores (0 at the bottom, 1 at the top) with their"
            f" threshold dashed, failing frames shaded red.</p><p>Failing: {_h(spans) or 'none'}</p>"
        )
        return f'<section class="video">{caption}{svg}{self._best_picture(video)}</section>'

    @staticmethod
    def _threshold_y(video: VideoSummary, name: str, top: int) -> str:
        check = None if video.best is None else video.best.check(name)
        if check is None or check.threshold is None:
            return ""
        y = top + (1 - check.threshold) * (_LANE_HEIGHT - 4)
        return f'<line x1="0" x2="{_TIMELINE_WIDTH}" y1="{y:.1f}" y2="{y:.1f}" stroke="#888" stroke-dasharray="4 3"/>'

    def _best_picture(self, video: VideoSummary) -> str:
        best = video.best
        if best is None or best.frame is None:
            return ""
        verdict = "compliant" if best.compliant else "not compliant: no frame is"
        said = f"best frame: {best.frame.index} at {best.frame.time_s:.3f} s ({verdict})"
        try:
            picture = frame_picture(best, read_frame(best.path, best.frame.index))
        except Exception as error:  # a picture that cannot be drawn must not cost the report
            return f'<p>{_h(said)}</p><p class="note">no picture: {_h(f"{type(error).__name__}: {error}")}</p>'
        return f'<figure><img src="{picture}" alt="best frame"><figcaption>{_h(said)}</figcaption></figure>'

    @classmethod
    def read_unit(cls, text: str) -> Outcome | None:
        if not text.startswith("<article ") or ">" not in text:
            return None
        parser = _UnitTag()
        parser.feed(text[: text.index(">") + 1])
        attributes = parser.attributes or {}
        path, status = attributes.get("data-path"), attributes.get("data-status")
        if path is None or status not in {s.value for s in ImageStatus}:
            return None
        frame = attributes.get("data-frame")
        if frame is not None and not (frame.isascii() and frame.isdigit()):
            return None
        verdicts = dict.fromkeys((attributes.get("data-checks") or "").split(), "pass")
        verdicts.update(dict.fromkeys((attributes.get("data-failed") or "").split(), "fail"))
        path = from_percent_encoded(path, attributes.get("data-path-escaped"))
        return Outcome.from_verdicts(path, status, verdicts, None if frame is None else int(frame))
