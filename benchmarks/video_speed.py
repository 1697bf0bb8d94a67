"""Video vs stills: is a clip scanned as fast per frame as the same frames given as JPEG photos?

Builds issue 11's clip from the example photos: 640×480, three 80-frame segments (an open-mouth
smile, a compliant portrait, the smile again; ``mp4v`` at 25 fps), and writes the same 240
frames as JPEG stills (OpenCV's default quality, 95). Both are scanned through the library's
:class:`~icaocheck.scan.Scan` with one worker in this process (models loaded once, before timing),
alternately, ``--repeat`` times; the figure is the ratio of the median times per frame (stills /
video: above 1 means the video is faster). The verdicts are checked against the bar too.

    python benchmarks/video_speed.py [--repeat 5] [--out /tmp/video_speed]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import cv2

from icaocheck.batch import audit_many
from icaocheck.scan import ReportFile, Scan
from icaocheck.video import letterboxed, write_clip

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "photos"
SEGMENT = 80


def build(folder: Path) -> tuple[Path, Path]:
    smile = letterboxed(cv2.imread(str(EXAMPLES / "eyes_open_1.jpg")), (640, 480))
    portrait = letterboxed(cv2.imread(str(EXAMPLES / "portrait_cc0_webcam_1.jpg")), (640, 480))
    clip = folder / "clip.mp4"
    frames = write_clip(clip, [(smile, SEGMENT), (portrait, SEGMENT), (smile, SEGMENT)])
    stills = folder / "stills"
    stills.mkdir(exist_ok=True)
    # The stills are the frames as decoded from the clip, so both runs audit the same pixels.
    capture = cv2.VideoCapture(str(clip))
    for index in range(len(frames)):
        ok, pixels = capture.read()
        if not ok:
            raise RuntimeError(f"the clip has {index} frames, expected {len(frames)}")
        cv2.imwrite(str(stills / f"{index:04d}.jpg"), pixels)
    capture.release()
    return clip, stills


def scan_seconds(path: Path) -> tuple[float, list]:
    started = time.perf_counter()
    with Scan([str(path)], ReportFile("jsonl")) as job:
        results = list(job)
    return time.perf_counter() - started, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None, help="folder for the clip and stills (default: a temp one)")
    args = parser.parse_args()
    folder = args.out or Path(tempfile.mkdtemp(prefix="icaocheck_video_speed_"))
    folder.mkdir(parents=True, exist_ok=True)
    clip, stills = build(folder)
    list(audit_many([str(EXAMPLES / "portrait_cc0_webcam_1.jpg")]))  # load this process's pipeline first
    video_runs, still_runs = [], []
    for _ in range(args.repeat):
        seconds, video_results = scan_seconds(clip)
        video_runs.append(seconds / len(video_results))
        seconds, still_results = scan_seconds(stills)
        still_runs.append(seconds / len(still_results))

    def share(rows: list, check: str | None) -> float:
        if check is None:
            return sum(r.compliant is True for r in rows) / len(rows)
        return sum(any(c.name == check and c.verdict.value == "fail" for c in r.checks) for r in rows) / len(rows)

    segments = [video_results[k * SEGMENT : (k + 1) * SEGMENT] for k in range(3)]
    video_ms, still_ms = 1000 * statistics.median(video_runs), 1000 * statistics.median(still_runs)
    print(
        json.dumps(
            {
                "frames": len(video_results),
                "rows_with_frame": sum(r.frame is not None for r in video_results),
                "smile_1_mouth_open_fail": share(segments[0], "mouth_open"),
                "portrait_compliant": share(segments[1], None),
                "smile_2_mouth_open_fail": share(segments[2], "mouth_open"),
                "video_ms_per_frame": round(video_ms, 2),
                "stills_ms_per_frame": round(still_ms, 2),
                "video_speed_vs_stills": round(still_ms / video_ms, 3),
                "repeat": args.repeat,
                "clip": str(clip),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
