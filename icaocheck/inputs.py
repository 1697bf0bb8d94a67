"""The photos a scan audits: :func:`icaocheck.io.find_images` plus the scan's rule on symlinks.

A symlink met while walking a folder and pointing outside every folder being scanned is not
opened unless asked (``follow_symlinks``): an archive may hold links to places its owner never
meant to audit (home folders, mounted shares). It still gets its report row, as a
:class:`Refusal` that becomes an error row saying why. Symlinked folders are never walked
(``find_images`` does not follow them, which also rules out loops).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from icaocheck.io import SkipHandler, find_images, is_url


@dataclass(frozen=True)
class Refusal:
    """A path that was found but is not to be opened; its report row is an error with ``reason``."""

    path: str
    reason: str


ScanItem = str | Refusal


def item_path(item: ScanItem) -> str:
    return item.path if isinstance(item, Refusal) else item


def seen_from(working_directory: str, path: str) -> str:
    """``path`` as named from ``working_directory``: a relative path joined to it, a URL or absolute path as it is."""
    return path if is_url(path) else os.path.join(working_directory, path)


def photo_key(path: str) -> str:
    """What makes two report rows the same photo: the resolved path, so spellings do not matter; a URL as it is."""
    return path if is_url(path) else os.path.realpath(path)


def scan_inputs(
    paths: Sequence[str | Path],
    recursive: bool = False,
    follow_symlinks: bool = False,
    on_skip: SkipHandler | None = None,
) -> Iterator[ScanItem]:
    """Stream the paths to audit, once each, in ``find_images`` order; out-of-tree symlinks as :class:`Refusal`.

    Paths named on the command line are always audited, symlinks or not: the user chose them.
    ``on_skip`` is told of the folder entries that are not audited, as ``find_images`` says.
    """
    given = [os.fspath(path) for path in paths]
    explicit = set(given)
    roots = [os.path.realpath(path) for path in given if os.path.isdir(path)]
    for path in find_images(given, recursive, on_skip):
        if follow_symlinks or path in explicit or not os.path.islink(path):
            yield path
            continue
        target = os.path.realpath(path)
        if any(_inside(target, root) for root in roots):
            yield path
        else:
            reason = f"symlink to {target}, outside the scanned folders: not followed (see --follow-symlinks)"
            yield Refusal(path, reason)


# A video frame's row key: the video's photo_key, this separator (never part of a path), the frame index.
_FRAME_KEY_SEPARATOR = "\0"


def row_key(path: str, frame: int | None = None) -> str:
    """What makes two report rows the same: :func:`photo_key`, and for a video's row its frame index."""
    key = photo_key(path)
    return key if frame is None else f"{key}{_FRAME_KEY_SEPARATOR}{frame}"


def frames_done(done: Collection[str]) -> dict[str, frozenset[int]]:
    """The frames already reported of each video, by the video's photo_key, from :func:`row_key` keys."""
    frames: dict[str, set[int]] = {}
    for key in done:
        video, separator, index = key.rpartition(_FRAME_KEY_SEPARATOR)
        if separator:
            frames.setdefault(video, set()).add(int(index))
    return {video: frozenset(indices) for video, indices in frames.items()}


def pending(items: Iterable[ScanItem], done: Collection[str]) -> Iterator[ScanItem]:
    """``items`` whose photo (by :func:`photo_key`) is not in ``done``: what a resumed scan has left."""
    if not done:
        yield from items
        return
    for item in items:
        if photo_key(item_path(item)) not in done:
            yield item


def _inside(path: str, folder: str) -> bool:
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # different drives on Windows
        return False
