"""Photos in object storage: fsspec URLs (``s3://bucket/prefix/``, ``gs://…``, ``file://…``) as scan inputs.

Folders are listed and photos read where the tasks run (on a Dask cluster: the workers), so the
machine starting the scan needs neither the storage's credentials nor a route to it: workers take
them from their own environment as fsspec does (for S3: ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``FSSPEC_S3_ENDPOINT_URL`` for an S3-compatible server). Report rows name photos by their URL.

fsspec (and s3fs, gcsfs, … for each protocol) come with the ``dask`` extra; nothing here is
imported unless a URL is given.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from icaocheck.inputs import Refusal, ScanItem
from icaocheck.io import (
    ImageReadError,
    SkipHandler,
    _first_time,
    _ignore_skipped,
    is_url,
    readable_suffixes,
    skip_reason,
)

FSSPEC_HINT = "photos given as URLs need fsspec and the storage's driver: pip install 'icaocheck[dask]'"


def check_fsspec(url: str) -> None:
    """Raise ValueError, saying what to install, when ``url``'s protocol cannot be opened here."""
    try:
        import fsspec
    except ImportError as error:
        raise ValueError(FSSPEC_HINT) from error
    protocol = url.split("://", 1)[0]
    try:
        fsspec.get_filesystem_class(protocol)
    except (ImportError, ValueError) as error:
        raise ValueError(f"cannot open {protocol}:// URLs here: {error}") from error


def read_url(url: str, max_bytes: int) -> bytes:
    """The bytes of the file at ``url``; :class:`ImageReadError` saying why when it cannot be read."""
    try:
        import fsspec

        filesystem, path = fsspec.core.url_to_fs(url)
        size = filesystem.size(path)
        if size is None or size > max_bytes:
            shown = "of unknown size" if size is None else f"too large: {size:,} bytes"
            raise ImageReadError(f"file {shown} (refused before reading)")
        if size == 0:
            raise ImageReadError("empty file (0 bytes)")
        with filesystem.open(path, "rb") as stream:
            return stream.read()
    except ImportError as error:
        raise ImageReadError(FSSPEC_HINT) from error
    except FileNotFoundError as error:
        raise ImageReadError("file not found") from error
    except IsADirectoryError as error:
        raise ImageReadError("is a folder, not an image file") from error
    except PermissionError as error:
        raise ImageReadError(f"permission denied: {error}") from error
    except OSError as error:
        raise ImageReadError(f"cannot read: {error}") from error


@dataclass(frozen=True)
class FolderEntry:
    """One entry of a listed folder: a photo to audit, a subfolder, or a file left out (``skipped`` says why)."""

    url: str
    folder: bool = False
    skipped: str = ""

    def __post_init__(self) -> None:
        if not is_url(self.url):
            raise ValueError(f"expected a URL (protocol://…), got {self.url!r}")
        if self.folder and self.skipped:
            raise ValueError(f"expected a folder or a skipped file, got both for {self.url!r}")


@dataclass(frozen=True)
class Listing:
    """What :func:`list_url` found: a folder's entries sorted by name, the URL of one file, or why it failed."""

    entries: tuple[FolderEntry, ...] = ()
    is_folder: bool = True
    error: str = ""


def list_url(url: str) -> Listing:
    """One level of the folder at ``url``, run where the tasks run; a URL that is no folder is a file."""
    try:
        import fsspec

        filesystem, root = fsspec.core.url_to_fs(url)
        if not filesystem.isdir(root):
            return Listing(is_folder=False)
        readable = readable_suffixes()
        entries = []
        for info in sorted(filesystem.ls(root, detail=True), key=lambda entry: entry["name"]):
            name = info["name"].rstrip("/")
            if name == root.rstrip("/"):
                continue  # some stores list the folder's own marker object
            child = filesystem.unstrip_protocol(name)
            if info["type"] == "directory":
                entries.append(FolderEntry(child, folder=True))
                continue
            suffix = os.path.splitext(name)[1].lower()
            entries.append(FolderEntry(child, skipped="" if suffix in readable else skip_reason(suffix)))
        return Listing(tuple(entries))
    except ImportError:
        return Listing(error=FSSPEC_HINT)
    except OSError as error:
        return Listing(error=f"cannot list folder: {error}")


def walk_urls(
    urls: Sequence[str],
    recursive: bool,
    on_skip: SkipHandler | None = None,
    lister: Callable[[str], Listing] = list_url,
) -> Iterator[ScanItem]:
    """The photos under ``urls`` as :func:`~icaocheck.io.find_images` finds them in folders, once each.

    ``lister`` lists one folder (default: here; a scan passes one that runs :func:`list_url` on a
    worker). Only one listing per folder level is held, so large stores stream. A folder that
    cannot be listed becomes a :class:`~icaocheck.inputs.Refusal` saying why.
    """
    # Only roots that overlap can list a photo twice: with one root, no set of every URL is kept,
    # so memory stays flat however large the store.
    seen: set[str] | None = set() if len(urls) > 1 else None
    on_skip = on_skip or _ignore_skipped
    for url in urls:
        listing = lister(url)
        if listing.error:
            yield Refusal(url, listing.error)
            continue
        if not listing.is_folder:
            if seen is None or _first_time(url, seen):
                yield url
            continue
        stack = [iter(listing.entries)]
        while stack:
            entry = next(stack[-1], None)
            if entry is None:
                stack.pop()
            elif entry.folder:
                if not recursive:
                    on_skip(entry.url, "subfolder (scanned with --recursive)")
                    continue
                sub = lister(entry.url)
                if sub.error:
                    yield Refusal(entry.url, sub.error)
                else:
                    stack.append(iter(sub.entries))
            elif entry.skipped:
                on_skip(entry.url, entry.skipped)
            elif seen is None or _first_time(entry.url, seen):
                yield entry.url
