"""Find the photos to audit and decode them into :class:`ImageRecord` without ever crashing.

Every input file ends up as exactly one report row, so both halves refuse to raise anything
but :class:`ImageReadError` on bad input:

* :func:`find_images` turns the command-line paths into a sorted, de-duplicated stream of file
  paths. Paths that are missing or folders that cannot be listed are yielded as they are, so
  that :func:`load_image` turns them into an error row instead of silently dropping them.
* :func:`load_image` reads the file once, checks its header with PIL (format, pixel count,
  EXIF orientation) and decodes it once, with OpenCV (fastest for JPEG, PNG, WebP, BMP) or
  with PIL for TIFF.

Decisions every caller can rely on:

* Truncated files are refused ("truncated file: ..."), never half-decoded: a photo whose lower
  part is grey padding would be audited as a different photo.
* Transparent pixels are composited on white, the background ID photos are taken on; simply
  dropping alpha would expose whatever colour the editor left under them (often black).
* 16-bit samples are scaled to 8 bits (x / 257, rounded), not truncated.
* EXIF orientation (including PIL's XMP fallback) is applied to every format, so pixel
  coordinates and ``original_size`` refer to the upright photo.
* On request (``min_side``), a JPEG far larger than needed is decoded at 1/2, 1/4 or 1/8 size by
  libjpeg's scaled IDCT, which skips most of the decoding work; ``ImageRecord.scale`` then maps
  its pixel coordinates back to the file's.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import io
import os
import platform
import re
import stat
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from operator import attrgetter
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
from PIL import Image, features

from icaocheck.config import IMAGE_SUFFIXES, VIDEO_SUFFIXES
from icaocheck.types import ImageRecord


class ImageReadError(Exception):
    """A file (or array) that cannot be turned into an image; ``reason`` is the report's sentence."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ---------------------------------------------------------------------------------------------
# Finding files


# Called with (path, reason) for each entry of a scanned folder that is not audited.
SkipHandler = Callable[[str, str], None]


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_url(path: object) -> bool:
    """Whether ``path`` is an fsspec URL (``s3://bucket/key``, ``file:///…``) rather than a local path."""
    return isinstance(path, str) and _URL.match(path) is not None


def _ignore_skipped(path: str, reason: str) -> None:
    """The default :data:`SkipHandler`: entries left out are not counted."""


def find_images(
    paths: Sequence[str | Path], recursive: bool = False, on_skip: SkipHandler | None = None
) -> Iterator[str]:
    """Yield the files to audit, once each, in a deterministic order.

    Paths are taken in the order given; a folder yields its files with a suffix of
    :func:`readable_suffixes` sorted by name (subfolders, when ``recursive``, in place of their
    name). Every other entry of a folder (another file, a photo format this installation cannot
    decode, a subfolder without ``recursive``) is passed to ``on_skip`` with the reason, so that
    a scan can account for it. A path that is not a folder is yielded whatever its suffix or
    existence: the user named it, so it deserves a report row.
    A folder that cannot be listed is yielded itself for the same reason. Symlinked folders met
    while walking are not followed, which rules out loops. A file reached twice (two spellings,
    a symlink, a folder and one of its files) is yielded once, under the first spelling.
    """
    seen: set[str] = set()
    walked: set[tuple[int, int]] = set()
    readable = readable_suffixes()
    for given in paths:
        path = os.fspath(given)
        if os.path.isdir(path):
            yield from _walk(path, recursive, seen, walked, readable, on_skip or _ignore_skipped)
        elif _first_time(os.path.realpath(path), seen):
            yield path


@functools.cache
def readable_suffixes() -> frozenset[str]:
    """The file suffixes a folder yields: :data:`IMAGE_SUFFIXES`, the optional formats installed, and videos."""
    optional = {suffix for suffix in _OPTIONAL_SUFFIXES if _optional_reader(suffix)}
    return frozenset(IMAGE_SUFFIXES) | frozenset(VIDEO_SUFFIXES) | optional


def skip_reason(suffix: str) -> str:
    """Why a folder's file with this (lower-case) suffix is not audited."""
    if suffix in _OPTIONAL_SUFFIXES:
        return _OPTIONAL_SUFFIXES[suffix][1]
    return f"not a photo format icaocheck reads ({suffix or 'no extension'})"


def _first_time(key: str, seen: set[str]) -> bool:
    if key in seen:
        return False
    seen.add(key)
    return True


def _walk(
    top: str,
    recursive: bool,
    seen: set[str],
    walked: set[tuple[int, int]],
    readable: frozenset[str],
    on_skip: SkipHandler,
) -> Iterator[str]:
    # A stack of sorted listings rather than recursion: folder depth is unbounded, Python's stack
    # is not. Only one listing per level is held, so huge trees stream.
    stack: list[tuple[str, Iterator[os.DirEntry[str]]]] = []
    directory: str | None = top
    while True:
        if directory is not None:
            entries = _list_folder(directory, walked)
            real = os.path.realpath(directory)
            if entries is None:
                if _first_time(real, seen):
                    yield directory
            else:
                stack.append((real, iter(entries)))
            directory = None
        if not stack:
            return
        real_parent, entries_left = stack[-1]
        entry = next(entries_left, None)
        if entry is None:
            stack.pop()
        elif _is_folder(entry):
            if recursive and not entry.is_symlink():
                directory = entry.path
            elif not recursive:
                on_skip(entry.path, "subfolder (scanned with --recursive)")
        elif (suffix := os.path.splitext(entry.name)[1].lower()) not in readable:
            on_skip(entry.path, skip_reason(suffix))
        else:
            # Joining onto the folder's resolved path gives the same key as os.path.realpath
            # without its per-component system calls; only symlinks need resolving.
            linked = entry.is_symlink()
            key = os.path.realpath(entry.path) if linked else os.path.join(real_parent, entry.name)
            if _first_time(key, seen):
                yield entry.path


def _list_folder(directory: str, walked: set[tuple[int, int]]) -> list[os.DirEntry[str]] | None:
    """The folder's entries sorted by name, [] if already walked, None if it cannot be listed."""
    try:
        info = os.stat(directory)
        # Keyed on the inode, so that a folder reached twice (given twice, or a bind mount
        # inside itself) is walked once and a mount loop cannot recurse forever.
        if (info.st_dev, info.st_ino) in walked:
            return []
        with os.scandir(directory) as listing:
            entries = sorted(listing, key=attrgetter("name"))
    except OSError:
        return None
    walked.add((info.st_dev, info.st_ino))
    return entries


def _is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        # A symlink loop cannot be stat-ed; treat it as a file so load_image reports it.
        return False


# ---------------------------------------------------------------------------------------------
# Reading files

# Formats decoded, as PIL names them; in line with IMAGE_SUFFIXES. MPO is how PIL names the
# JPEGs that many phones write (a JPEG with a multi-picture index); it decodes as a JPEG. AVIF and
# HEIF are decoded when their reader is installed (see _OPTIONAL_SUFFIXES).
_SUPPORTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "BMP", "TIFF", "WEBP", "GIF", "AVIF", "HEIF"})
_SUPPORTED_NAMES = "JPEG, PNG, BMP, TIFF, WebP, GIF, AVIF, HEIC/HEIF"
# Formats with several frames or pages, of which the first is audited: what the note calls them.
_PAGES = {"TIFF": "page"}

# Suffixes decoded only when a reader is installed: the reader's name for _optional_reader, and
# why a folder's file is skipped without it.
_OPTIONAL_SUFFIXES = {
    ".avif": ("avif", "AVIF: this Pillow cannot read it (Pillow 11.3 or later can)"),
    ".heic": ("heif", "HEIC/HEIF: needs pip install 'icaocheck[heic]'"),
    ".heif": ("heif", "HEIC/HEIF: needs pip install 'icaocheck[heic]'"),
}


def _optional_reader(suffix: str) -> bool:
    reader = _OPTIONAL_SUFFIXES[suffix][0]
    return features.check("avif") is True if reader == "avif" else _heif_registered()


@functools.cache
def _heif_registered() -> bool:
    """Whether HEIC/HEIF photos can be read: pi-heif (the ``heic`` extra) registers its PIL reader."""
    try:
        import pi_heif
    except ImportError:
        return False
    pi_heif.register_heif_opener()
    return True


# No supported image of the allowed pixel count needs more than 8 bytes a pixel (uncompressed
# 16-bit RGBA) plus room for metadata (ICC profiles, EXIF thumbnails); anything larger is refused
# before it is read into memory.
_MAX_BYTES_PER_PIXEL = 8
# The start of a file an ImageRecord keeps: JPEG's quantisation tables come before the image data.
HEADER_BYTES = 1 << 17
_METADATA_ALLOWANCE_BYTES = 64 << 20

# Leading bytes of the supported formats: a file that starts like one but that PIL cannot open
# is a damaged image, not some other kind of file.
_SIGNATURES = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"BM", "BMP"),
)
# ISO media brands of HEIC/HEIF still images and sequences.
_HEIF_BRANDS = frozenset({"heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1"})
_PNG_END = b"IEND\xaeB`\x82"  # the IEND chunk's type and CRC, the last 8 bytes of a whole PNG
_JPEG_END = b"\xff\xd9"
_EXIF_ORIENTATION = 0x0112
_UINT16_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})  # PIL's unsigned 16-bit gray
# Bytes that occur in text files; a header made only of them is text, not a binary image.
_TEXT_BYTES = bytes(range(0x20, 0x100)) + b"\t\n\r\f"

# Reduction factor → OpenCV's flag for a JPEG decoded at that fraction of its size, largest first.
_REDUCED_COLOR = {8: cv2.IMREAD_REDUCED_COLOR_8, 4: cv2.IMREAD_REDUCED_COLOR_4, 2: cv2.IMREAD_REDUCED_COLOR_2}

# EXIF orientation → the transform that makes the stored pixels upright (as PIL's exif_transpose).
_UPRIGHT: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    2: lambda p: cv2.flip(p, 1),
    3: lambda p: cv2.rotate(p, cv2.ROTATE_180),
    4: lambda p: cv2.flip(p, 0),
    5: cv2.transpose,
    6: lambda p: cv2.rotate(p, cv2.ROTATE_90_CLOCKWISE),
    7: lambda p: cv2.flip(cv2.transpose(p), -1),
    8: lambda p: cv2.rotate(p, cv2.ROTATE_90_COUNTERCLOCKWISE),
}


def load_image(path: str | Path, max_pixels: int, min_side: int | None = None) -> ImageRecord:
    """Decode one photo file into an upright BGR uint8 image.

    Images with more than ``max_pixels`` pixels are refused from their header, before decoding;
    PIL's own guard (2 × ``PIL.Image.MAX_IMAGE_PIXELS``) applies on top of it.
    With ``min_side``, a JPEG whose shorter side is at least twice ``min_side`` is decoded at the
    smallest of 1/2, 1/4, 1/8 size that keeps its shorter side at or above ``min_side``; the
    record's ``scale`` is then that factor and ``original_size`` stays the file's (upright) size.
    Raises :class:`ImageReadError` with a readable reason for anything that is not a whole,
    supported image.
    """
    name = os.fspath(path)
    data = _read_file(name, max_file_bytes(max_pixels))
    with warnings.catch_warnings():
        # Untrusted headers make PIL warn (pixel count above its own guard, broken EXIF, ...);
        # the refusal reasons say what matters, and on a report the warnings would only be noise.
        warnings.simplefilter("ignore")
        pixels, original_size, factor, notes = _decode(data, max_pixels, min_side)
    return ImageRecord(name, pixels, original_size, float(factor), notes, data[:HEADER_BYTES])


def max_file_bytes(max_pixels: int) -> int:
    """The largest file read for an image of at most ``max_pixels`` pixels; larger ones are refused unread."""
    return max_pixels * _MAX_BYTES_PER_PIXEL + _METADATA_ALLOWANCE_BYTES


def reduction_factor(width: int, height: int, min_side: int | None) -> int:
    """The largest of 8, 4, 2 (else 1) that keeps the shorter side at or above ``min_side`` pixels."""
    if min_side is None or min_side <= 0:
        return 1
    return next((f for f in _REDUCED_COLOR if min(width, height) >= min_side * f), 1)


def _decode(
    data: bytes, max_pixels: int, min_side: int | None = None
) -> tuple[np.ndarray, tuple[int, int], int, tuple[str, ...]]:
    """Upright BGR uint8 pixels, the upright file's (width, height), the factor between them, and notes."""
    header = _open_header(data)
    image_format = header.format or "unknown"
    if image_format not in _SUPPORTED_FORMATS:
        raise ImageReadError(f"unsupported format: {image_format} (supported: {_SUPPORTED_NAMES})")
    width, height = header.size
    if width * height > max_pixels:
        raise ImageReadError(
            f"image too large: {width}×{height} = {width * height:,} pixels exceeds the limit of "
            f"{max_pixels:,} (refused before decoding)"
        )
    # Only JPEG decodes at reduced size for less work (the scaled IDCT); other formats would be
    # decoded whole and then resized, which saves nothing.
    factor = reduction_factor(width, height, min_side) if image_format in ("JPEG", "MPO") else 1
    # TIFF goes through PIL because OpenCV's TIFF reader applies the orientation tag whatever the
    # flags, with no way to tell. Recent Pillow turns TIFFs upright while loading them too, but
    # then drops the tag: reading the orientation after decoding gives what is left to apply.
    # GIF, AVIF and HEIF go through PIL because OpenCV reads none of them everywhere.
    with_opencv = image_format in ("JPEG", "MPO", "PNG", "BMP", "WEBP")
    pixels = _decode_with_opencv(data, image_format, factor) if with_opencv else _decode_with_pil(header)
    notes = _first_frame_note(header)
    orientation = _orientation(header, data)
    upright = _UPRIGHT.get(orientation)
    if upright is not None:
        pixels = upright(pixels)
    if factor == 1:
        return pixels, (pixels.shape[1], pixels.shape[0]), 1, notes
    # Orientations 5-8 turn the photo a quarter; the header's size is the stored one. (Reduced
    # sizes are rounded up by libjpeg, so only the header gives the file's size exactly.)
    return pixels, ((height, width) if orientation >= 5 else (width, height)), factor, notes


def _first_frame_note(image: Image.Image) -> tuple[str, ...]:
    """A note when the file holds more frames or pages than the first, the one audited."""
    try:
        count = int(getattr(image, "n_frames", 1))
    except Exception:  # a damaged frame index: the first frame was read, which is what counts
        return ()
    if count <= 1:
        return ()
    unit = _PAGES.get(image.format or "", "frame")
    return (f"only the first {unit} of {count} was audited",)


def _read_file(path: str, max_bytes: int) -> bytes:
    # O_NONBLOCK: opening a FIFO named like a photo must not hang the batch; it is refused
    # below as not a regular file. It changes nothing for regular files.
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        descriptor = os.open(path, flags)
    except FileNotFoundError as error:
        if os.path.islink(path):
            target = os.readlink(path)
            raise ImageReadError(f"dangling symlink: its target {target!r} does not exist") from error
        raise ImageReadError("file not found") from error
    except PermissionError as error:
        if os.path.isdir(path):  # Windows refuses to open folders with EACCES
            raise _folder_error(path) from error
        raise ImageReadError("permission denied: the file cannot be read") from error
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise ImageReadError("symlink loop: the path never resolves to a file") from error
        raise ImageReadError(f"cannot open file: {error.strerror}") from error
    try:
        info = os.fstat(descriptor)
        if stat.S_ISDIR(info.st_mode):
            raise _folder_error(path)
        if not stat.S_ISREG(info.st_mode):
            raise ImageReadError("not a regular file (device, FIFO or socket)")
        if info.st_size == 0:
            raise ImageReadError("empty file (0 bytes)")
        if info.st_size > max_bytes:
            raise ImageReadError(f"file too large: {info.st_size:,} bytes (refused before reading)")
        with os.fdopen(descriptor, "rb", closefd=False) as file:
            return file.read()
    except OSError as error:
        raise ImageReadError(f"cannot read file: {error.strerror}") from error
    finally:
        os.close(descriptor)


def _folder_error(path: str) -> ImageReadError:
    # find_images yields a folder only when it cannot be listed; say why.
    try:
        with os.scandir(path):
            pass
    except OSError as error:
        return ImageReadError(f"cannot list folder: {error.strerror}")
    return ImageReadError("is a folder, not an image file")


def _open_header(data: bytes) -> Image.Image:
    """PIL's lazy open: parses the header only, no pixel data."""
    if data[4:8] == b"ftyp":
        _heif_registered()  # HEIC/HEIF's reader, when installed, joins PIL's on first use
    try:
        return Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as error:
        raise ImageReadError(f"image too large: {error} (refused before decoding)") from error
    except Exception as error:
        # Unidentified, or a malformed header that made a PIL plugin raise (OSError, ValueError,
        # EOFError, ...): either way the header cannot be read; the bytes tell the user why.
        raise _unreadable_header(data) from error


def _unreadable_header(data: bytes) -> ImageReadError:
    head = data[:512]
    if head[4:8] == b"ftyp":
        # ISO base media: HEIC/HEIF (iPhone photos), AVIF, or a video; worth naming.
        brand = head[8:12].decode("ascii", "replace")
        if brand in _HEIF_BRANDS and not _heif_registered():
            return ImageReadError(_OPTIONAL_SUFFIXES[".heic"][1])
        if brand in ("avif", "avis") and not features.check("avif"):
            return ImageReadError(_OPTIONAL_SUFFIXES[".avif"][1])
        return ImageReadError(f"unsupported format: ISO media file ({brand!r}, e.g. HEIC or AVIF)")
    if not head.translate(None, _TEXT_BYTES):
        return ImageReadError("not an image: the file holds text")
    for signature, image_format in _SIGNATURES:
        if head.startswith(signature):
            return ImageReadError(f"corrupt or truncated {image_format} file: its header cannot be read")
    return ImageReadError("not an image: unrecognised file content")


def _orientation(header: Image.Image, data: bytes) -> int:
    """The EXIF orientation (1-8) left to apply; 1 when absent or unreadable."""
    try:
        if header.format == "PNG" and "exif" not in header.info and b"eXIf" not in data:
            # PngImageFile.getexif decodes the whole image to look for an eXIf chunk after the
            # pixel data; the file holds none, so the base method (XMP orientation) is enough.
            exif = Image.Image.getexif(header)
        else:
            exif = header.getexif()
        value = exif.get(_EXIF_ORIENTATION, 1)
    except Exception:
        # Broken EXIF must not make an otherwise good photo unreadable; it is taken as upright.
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


class _CStderrSwap:
    """The C library's ``stderr`` stream pointed at the null device while at least one decode runs.

    libjpeg and libpng inside OpenCV print their warnings on damaged data ("Corrupt JPEG data:
    premature end of data segment", "libpng warning: ...") through that stream, with no switch to
    turn them off: through ``--quiet`` and across the progress bar. The photo's row says what
    matters. Only the stream variable is swapped, never file descriptor 2, which Python's
    ``sys.stderr`` (the progress bar, messages, other threads) writes to: nothing of theirs is lost.
    Where the variable cannot be reached (not glibc or macOS), nothing is silenced.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._decoding = 0  # decodes running now, in any thread: the last one out puts the stream back
        self._saved: int | None = None
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._after_fork)

    def _after_fork(self) -> None:
        # The decodes of other threads did not come along into the child: they will never put the stream back.
        self._lock = threading.Lock()
        if self._decoding:
            self._decoding = 0
            self._streams[0].value = self._saved  # type: ignore[index]  # counted: the streams were reachable

    @functools.cached_property
    def _streams(self) -> tuple[ctypes.c_void_p, int] | None:
        """The ``stderr`` variable and a stream on the null device (opened once, never closed), if reachable."""
        if sys.platform == "darwin":
            name = "__stderrp"
        elif platform.libc_ver()[0] == "glibc":  # musl's stderr is a constant
            name = "stderr"
        else:
            return None
        try:
            libc = ctypes.CDLL(None)
            libc.fopen.restype = ctypes.c_void_p
            libc.fopen.argtypes = (ctypes.c_char_p, ctypes.c_char_p)
            variable = ctypes.c_void_p.in_dll(libc, name)
            sink = libc.fopen(os.fsencode(os.devnull), b"w")
        except (OSError, ValueError, AttributeError):
            return None
        return (variable, sink) if sink else None

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            streams = self._streams
            if streams is not None:
                if self._decoding == 0:
                    self._saved, streams[0].value = streams[0].value, streams[1]
                self._decoding += 1
        if streams is None:
            yield
            return
        try:
            yield
        finally:
            with self._lock:
                self._decoding -= 1
                if self._decoding == 0:
                    streams[0].value = self._saved


_c_stderr_silenced = _CStderrSwap()


def _decode_with_opencv(data: bytes, image_format: str, factor: int = 1) -> np.ndarray:
    if image_format == "PNG" and not data.endswith(_PNG_END) and data.rfind(_PNG_END) == -1:
        # Checked before decoding: libpng would print its own error on stderr.
        raise ImageReadError("truncated file: the PNG data stops before its IEND chunk")
    # IMREAD_UNCHANGED keeps 16-bit samples and alpha for _to_bgr8, and ignores the EXIF
    # orientation (_decode applies it, as PIL reads it, for every format alike). The reduced modes
    # give 8-bit BGR (all but rare 12-bit JPEGs hold) and need the orientation ignored explicitly.
    flags = cv2.IMREAD_UNCHANGED if factor == 1 else _REDUCED_COLOR[factor] | cv2.IMREAD_IGNORE_ORIENTATION
    try:
        with _c_stderr_silenced():
            decoded = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    except cv2.error as error:
        raise ImageReadError(f"corrupt {image_format} data: {error.err}") from error
    if decoded is None:
        # OpenCV 5's JPEG decoder refuses data that stops early rather than padding it with grey.
        if image_format in ("JPEG", "MPO") and not data.rstrip(b"\0").endswith(_JPEG_END):
            raise ImageReadError("truncated file: the JPEG data stops before its end marker")
        raise ImageReadError(f"corrupt or truncated {image_format} data: the decoder failed")
    return _to_bgr8(decoded)


def _decode_with_pil(image: Image.Image) -> np.ndarray:
    if image.mode in ("I", "F") or (image.mode.startswith("I;") and image.mode not in _UINT16_MODES):
        raise ImageReadError(f"unsupported pixel type: expected 8- or 16-bit samples, got mode {image.mode}")
    try:
        image.load()
        if image.mode in _UINT16_MODES:
            array = np.asarray(image).astype(np.uint16)  # native byte order for OpenCV
        elif image.has_transparency_data:
            array = cv2.cvtColor(np.asarray(image.convert("RGBA")), cv2.COLOR_RGBA2BGRA)
        else:
            array = cv2.cvtColor(np.asarray(image.convert("RGB")), cv2.COLOR_RGB2BGR)
    except Exception as error:
        # PIL reports truncated or corrupt data as OSError, ValueError, ... depending on the codec.
        raise ImageReadError(f"corrupt or truncated {image.format} data: {error}") from error
    return _to_bgr8(array)


# ---------------------------------------------------------------------------------------------
# Images given in memory (the Python API)

# What icaocheck.audit takes: a file path, an array of pixels, a PIL image, the bytes of an image file,
# or a binary file object holding one.
ImageSource = str | os.PathLike | np.ndarray | Image.Image | bytes | bytearray | memoryview | BinaryIO
_BYTES_TYPES = (bytes, bytearray, memoryview)


def source_name(source: object, index: int | None = None) -> str:
    """The name a result gives ``source``: its path, else ``<array>``, ``<array 3>`` (with ``index``), ...

    Raises TypeError for anything that is not an :data:`ImageSource`, before any work is done.
    """
    label = "" if index is None else f" {index}"
    if isinstance(source, (str, os.PathLike)):
        return os.fsdecode(os.fspath(source))
    if isinstance(source, np.ndarray):
        return f"<array{label}>"
    if isinstance(source, Image.Image):
        filename = getattr(source, "filename", "")
        return filename if isinstance(filename, str) and filename else f"<PIL image{label}>"
    if isinstance(source, _BYTES_TYPES):
        return f"<bytes{label}>"
    if callable(getattr(source, "read", None)):
        filename = getattr(source, "name", None)
        return filename if isinstance(filename, str) else f"<file{label}>"
    raise TypeError(
        "expected a path or an image array (or a PIL image, an image file's bytes, a binary file object),"
        f" got {type(source).__name__}"
    )


def load_source(source: ImageSource, name: str, max_pixels: int, min_side: int | None = None) -> ImageRecord:
    """Decode any :data:`ImageSource` as :func:`load_image` decodes files; ImageReadError for bad content."""
    if isinstance(source, (str, os.PathLike)):
        return load_image(source, max_pixels, min_side)
    if isinstance(source, np.ndarray):
        return image_from_array(source, name)
    if isinstance(source, Image.Image):
        return _image_from_pil(source, name, max_pixels)
    data = source if isinstance(source, _BYTES_TYPES) else read_file_object(source)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # as in load_image
        pixels, original_size, factor, notes = _decode(bytes(data), max_pixels, min_side)
    return ImageRecord(name, pixels, original_size, float(factor), notes, bytes(data[:HEADER_BYTES]))


def read_file_object(source: BinaryIO) -> bytes:
    """The rest of a binary file object's content; ImageReadError for a text-mode file or a read error."""
    if isinstance(source, io.TextIOBase):
        raise ImageReadError("the file object is open in text mode: open the photo with mode 'rb'")
    try:
        data = source.read()
    except (OSError, ValueError) as error:  # ValueError: a closed file
        raise ImageReadError(f"cannot read the file object: {error}") from error
    if not isinstance(data, _BYTES_TYPES):
        raise ImageReadError(f"the file object gave {type(data).__name__}, not bytes: open the photo with mode 'rb'")
    return bytes(data)


def _image_from_pil(image: Image.Image, name: str, max_pixels: int) -> ImageRecord:
    width, height = image.size
    if width * height > max_pixels:
        raise ImageReadError(f"image too large: {width}×{height} = {width * height:,} pixels exceeds {max_pixels:,}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pixels = _decode_with_pil(image)
        # Upright as a file would be: the EXIF orientation an opened photo still carries is applied.
        upright = _UPRIGHT.get(_orientation(image, b""))
        notes = _first_frame_note(image)
    if upright is not None:
        pixels = upright(pixels)
    return ImageRecord(name, pixels, (pixels.shape[1], pixels.shape[0]), notes=notes)


# ---------------------------------------------------------------------------------------------
# Arrays


def image_from_array(array: np.ndarray, name: str = "<array>") -> ImageRecord:
    """Wrap an in-memory image (HxW gray, HxWx3 BGR or HxWx4 BGRA; uint8 or uint16).

    The result may share memory with ``array`` when it already is contiguous BGR uint8.
    """
    if not isinstance(array, np.ndarray):
        raise ImageReadError(f"expected a numpy array, got {type(array).__name__}")
    pixels = _to_bgr8(array)
    return ImageRecord(name, pixels, (pixels.shape[1], pixels.shape[0]))


def _to_bgr8(array: np.ndarray) -> np.ndarray:
    """Contiguous BGR uint8 from gray, BGR or BGRA, 8- or 16-bit."""
    if array.dtype not in (np.uint8, np.uint16):
        raise ImageReadError(f"unsupported pixel type: expected uint8 or uint16, got {array.dtype}")
    channels = 1 if array.ndim == 2 else array.shape[-1] if array.ndim == 3 else 0
    if channels not in (1, 3, 4):
        raise ImageReadError(f"unsupported image shape: expected HxW, HxWx3 or HxWx4, got {array.shape}")
    if array.size == 0:
        raise ImageReadError(f"empty image: expected at least 1×1 pixels, got shape {array.shape}")
    if array.dtype == np.uint16:
        # Rounded x / 257 maps 0..65535 onto 0..255 exactly; astype(uint8) would keep the low byte.
        array = cv2.convertScaleAbs(array, alpha=1.0 / 257.0)
    if channels == 1:
        return cv2.cvtColor(array, cv2.COLOR_GRAY2BGR)
    if channels == 4:
        return _composite_on_white(array)
    return np.ascontiguousarray(array)


def _composite_on_white(bgra: np.ndarray) -> np.ndarray:
    alpha = bgra[:, :, 3:].astype(np.uint16)
    colour = bgra[:, :, :3].astype(np.uint16)
    # Integer blend, rounded: colour × a + white × (1 - a), with a = alpha / 255.
    blended = (colour * alpha + 255 * (255 - alpha) + 127) // 255
    return blended.astype(np.uint8)
