"""find_images and load_image on real files, good and bad, made at test time from the fixtures."""

from __future__ import annotations

import itertools
import os
import pickle
import shutil
import struct
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

import icaocheck.io
from icaocheck.config import Config
from icaocheck.io import ImageReadError, find_images, image_from_array, load_image

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PNG_PHOTO = FIXTURES / "compliant_astronaut.png"
JPEG_PHOTO = FIXTURES / "eyes_open_1.jpg"
LIMIT = Config().max_image_pixels
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
# Root reads and lists whatever the permission bits say, so chmod cannot make a file unreadable.
SKIP_AS_ROOT = pytest.mark.skipif(IS_ROOT, reason="running as root: chmod 000 does not block root")


def _photo_rgb() -> np.ndarray:
    # Not square (512 high, 400 wide), so that a missed or wrong rotation changes the shape.
    return np.asarray(Image.open(PNG_PHOTO).convert("RGB"))[:, 56:456].copy()


PHOTO_RGB = _photo_rgb()
PHOTO_BGR = np.ascontiguousarray(PHOTO_RGB[:, :, ::-1])


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_declaring(width: int, height: int) -> bytes:
    """A well-formed PNG header declaring width × height RGB pixels, with no pixel data to match."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b""))
        + _png_chunk(b"IEND", b"")
    )


def _with_orientation(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif


def _composite_on_white(rgba: np.ndarray) -> np.ndarray:
    """The expected BGR of an RGBA image laid on white, in floating point."""
    alpha = rgba[:, :, 3:].astype(np.float64) / 255.0
    rgb = rgba[:, :, :3].astype(np.float64) * alpha + 255.0 * (1.0 - alpha)
    return np.rint(rgb[:, :, ::-1]).astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# Bad inputs: each maker builds one in tmp_path; load_image must refuse it with a clear reason.


def _zero_byte(tmp: Path) -> Path:
    return _write(tmp / "empty.jpg", b"")


def _text_named_jpg(tmp: Path) -> Path:
    return _write(tmp / "notes.jpg", b"Passport photos to redo:\n- Ana\n- Bruno\n")


def _truncated_jpeg(tmp: Path) -> Path:
    data = JPEG_PHOTO.read_bytes()
    return _write(tmp / "cut.jpg", data[: len(data) // 2])


def _truncated_png(tmp: Path) -> Path:
    data = PNG_PHOTO.read_bytes()
    return _write(tmp / "cut.png", data[: len(data) // 2])


def _truncated_tiff(tmp: Path) -> Path:
    Image.fromarray(PHOTO_RGB).save(tmp / "whole.tif")
    data = (tmp / "whole.tif").read_bytes()
    return _write(tmp / "cut.tif", data[: len(data) // 2])


def _jpeg_header_only(tmp: Path) -> Path:
    return _write(tmp / "stub.jpg", JPEG_PHOTO.read_bytes()[:40])


def _bomb_png(tmp: Path) -> Path:
    # 2.5 gigapixels: beyond PIL's own hard limit, which raises inside Image.open.
    return _write(tmp / "bomb.png", _png_declaring(50_000, 50_000))


def _large_png(tmp: Path) -> Path:
    # 100 Mpx: over the default limit and over PIL's warning threshold, below its hard limit.
    return _write(tmp / "large.png", _png_declaring(10_000, 10_000))


def _ico(tmp: Path) -> Path:
    Image.fromarray(PHOTO_RGB).save(tmp / "photo.ico")
    return tmp / "photo.ico"


def _heic_like(tmp: Path) -> Path:
    return _write(tmp / "IMG_0001.jpg", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64))


def _binary_garbage(tmp: Path) -> Path:
    return _write(tmp / "garbage.png", bytes(range(256)) * 4)


def _float_tiff(tmp: Path) -> Path:
    Image.fromarray(PHOTO_RGB[:, :, 0].astype(np.float32)).save(tmp / "float.tif")
    return tmp / "float.tif"


def _missing(tmp: Path) -> Path:
    return tmp / "missing.jpg"


def _folder(tmp: Path) -> Path:
    (tmp / "folder.jpg").mkdir()
    return tmp / "folder.jpg"


def _symlink_loop(tmp: Path) -> Path:
    (tmp / "loop_a.jpg").symlink_to(tmp / "loop_b.jpg")
    (tmp / "loop_b.jpg").symlink_to(tmp / "loop_a.jpg")
    return tmp / "loop_a.jpg"


def _dangling_symlink(tmp: Path) -> Path:
    (tmp / "dangling.jpg").symlink_to(tmp / "deleted.jpg")
    return tmp / "dangling.jpg"


def _fifo(tmp: Path) -> Path:
    os.mkfifo(tmp / "pipe.jpg")
    return tmp / "pipe.jpg"


def _unreadable(tmp: Path) -> Path:
    path = Path(shutil.copy(JPEG_PHOTO, tmp / "locked.jpg"))
    path.chmod(0)
    return path


def _unlistable_folder(tmp: Path) -> Path:
    (tmp / "locked").mkdir()
    (tmp / "locked").chmod(0)
    return tmp / "locked"


BAD_INPUTS = [
    pytest.param(_zero_byte, "empty file", id="zero-byte"),
    pytest.param(_text_named_jpg, "not an image: the file holds text", id="text-named-jpg"),
    pytest.param(_truncated_jpeg, "truncated file", id="truncated-jpeg"),
    pytest.param(_truncated_png, "truncated file", id="truncated-png"),
    pytest.param(_truncated_tiff, "truncated TIFF", id="truncated-tiff"),
    pytest.param(_jpeg_header_only, "corrupt or truncated JPEG", id="jpeg-header-only"),
    pytest.param(_bomb_png, "image too large", id="bomb-png"),
    pytest.param(_large_png, "exceeds the limit", id="large-png"),
    pytest.param(_ico, "unsupported format: ICO", id="ico"),
    pytest.param(_heic_like, "unsupported format: ISO media", id="heic-named-jpg"),
    pytest.param(_binary_garbage, "not an image: unrecognised", id="binary-garbage"),
    pytest.param(_float_tiff, "unsupported pixel type", id="float-tiff"),
    pytest.param(_missing, "file not found", id="missing"),
    pytest.param(_folder, "is a folder", id="folder"),
    pytest.param(_symlink_loop, "symlink loop", id="symlink-loop"),
    pytest.param(_dangling_symlink, "dangling symlink", id="dangling-symlink"),
    pytest.param(_fifo, "not a regular file", id="fifo"),
    pytest.param(_unreadable, "permission denied", id="unreadable", marks=SKIP_AS_ROOT),
    pytest.param(_unlistable_folder, "cannot list folder", id="unlistable-folder", marks=SKIP_AS_ROOT),
]


@pytest.mark.parametrize(("make", "reason"), BAD_INPUTS)
def test_bad_input_is_refused_with_a_reason(tmp_path: Path, make: Callable[[Path], Path], reason: str) -> None:
    path = make(tmp_path)
    with warnings.catch_warnings():
        # PIL's bomb and corrupt-EXIF warnings are load_image's to silence, not ours.
        warnings.simplefilter("error")
        with pytest.raises(ImageReadError) as raised:
            load_image(path, LIMIT)
    assert reason in raised.value.reason


def test_pixel_limit_is_checked_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_decoding(*_: object) -> None:
        raise AssertionError("decoded an image that its header already ruled out")

    monkeypatch.setattr(cv2, "imdecode", no_decoding)
    with pytest.raises(ImageReadError, match="275×183 = 50,325 pixels exceeds the limit of 50,000"):
        load_image(JPEG_PHOTO, 50_000)


def test_file_too_large_for_any_allowed_image_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without the metadata allowance the byte limit is 8 bytes a pixel: 800 bytes for 100 pixels.
    monkeypatch.setattr(icaocheck.io, "_METADATA_ALLOWANCE_BYTES", 0)
    with pytest.raises(ImageReadError, match="file too large"):
        load_image(JPEG_PHOTO, 100)


def test_unlistable_folder_is_reported_even_as_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The same case as "unlistable-folder", simulated so that it also runs as root.
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "a.jpg").write_bytes(b"")
    real_scandir = os.scandir

    def scandir(path: str) -> object:
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert list(find_images([tmp_path], recursive=True)) == [str(locked)]
    with pytest.raises(ImageReadError, match="cannot list folder: Permission denied"):
        load_image(locked, LIMIT)


def test_read_error_survives_pickling() -> None:
    # Worker processes send errors back to the parent.
    error = pickle.loads(pickle.dumps(ImageReadError("empty file (0 bytes)")))
    assert error.reason == "empty file (0 bytes)"


# ---------------------------------------------------------------------------------------------
# Good inputs in every layout: each maker writes a file and returns the BGR image expected back
# and the largest per-pixel difference allowed; LOSSY (JPEG) compares the mean difference instead.

LOSSY = -1
Made = tuple[Path, np.ndarray, int]


def _cmyk_jpeg(tmp: Path) -> Made:
    Image.fromarray(PHOTO_RGB).convert("CMYK").save(tmp / "cmyk.jpg", quality=95)
    return tmp / "cmyk.jpg", PHOTO_BGR, LOSSY


def _gray_jpeg(tmp: Path) -> Made:
    gray = Image.fromarray(PHOTO_RGB).convert("L")
    gray.save(tmp / "gray.jpg", quality=95)
    return tmp / "gray.jpg", cv2.cvtColor(np.asarray(gray), cv2.COLOR_GRAY2BGR), LOSSY


def _sixteen_bit_gray() -> tuple[np.ndarray, np.ndarray]:
    """16-bit samples whose low byte differs from the proper 8-bit value (v × 257 + 100 ↦ v)."""
    gray = np.minimum(cv2.cvtColor(PHOTO_BGR, cv2.COLOR_BGR2GRAY), 254)
    return gray.astype(np.uint16) * 257 + 100, cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)


def _png16_gray(tmp: Path) -> Made:
    samples, expected = _sixteen_bit_gray()
    Image.fromarray(samples).save(tmp / "gray16.png")
    return tmp / "gray16.png", expected, 0


def _png16_colour(tmp: Path) -> Made:
    bgr = np.minimum(PHOTO_BGR, 254)
    cv2.imwrite(str(tmp / "colour16.png"), bgr.astype(np.uint16) * 257 + 100)
    return tmp / "colour16.png", bgr, 0


def _tiff16_gray(tmp: Path) -> Made:
    samples, expected = _sixteen_bit_gray()
    Image.fromarray(samples).save(tmp / "gray16.tif")
    return tmp / "gray16.tif", expected, 0


def _tiff16_colour(tmp: Path) -> Made:
    bgr = np.minimum(PHOTO_BGR, 254)
    cv2.imwrite(str(tmp / "colour16.tif"), bgr.astype(np.uint16) * 257 + 100)
    # PIL reads 48-bit TIFF as its high bytes (x // 256), one level off x / 257 at most.
    return tmp / "colour16.tif", bgr, 1


def _palette_png(tmp: Path) -> Made:
    palette = Image.fromarray(PHOTO_RGB).convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    palette.save(tmp / "palette.png")
    return tmp / "palette.png", np.asarray(palette.convert("RGB"))[:, :, ::-1], 0


def _palette_transparent_png(tmp: Path) -> Made:
    palette = Image.fromarray(PHOTO_RGB).convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    palette.save(tmp / "palette_alpha.png", transparency=0)
    rgba = np.asarray(Image.open(tmp / "palette_alpha.png").convert("RGBA"))
    assert (rgba[:, :, 3] == 0).any()  # palette entry 0 is in use, so some pixels are transparent
    return tmp / "palette_alpha.png", _composite_on_white(rgba), 0


def _rgba_alpha() -> np.ndarray:
    # Transparent left third, half-transparent middle, opaque right: every compositing case.
    alpha = np.full(PHOTO_RGB.shape[:2], 255, np.uint8)
    alpha[:, :133] = 0
    alpha[:, 133:266] = 128
    return alpha


def _rgba_png(tmp: Path) -> Made:
    rgba = np.dstack([PHOTO_RGB, _rgba_alpha()])
    Image.fromarray(rgba).save(tmp / "rgba.png")
    return tmp / "rgba.png", _composite_on_white(rgba), 1


def _gray_alpha_png(tmp: Path) -> Made:
    gray = np.asarray(Image.fromarray(PHOTO_RGB).convert("L"))
    Image.fromarray(np.dstack([gray, _rgba_alpha()]), "LA").save(tmp / "gray_alpha.png")
    rgba = np.dstack([gray, gray, gray, _rgba_alpha()])
    return tmp / "gray_alpha.png", _composite_on_white(rgba), 1


def _bmp(tmp: Path) -> Made:
    Image.fromarray(PHOTO_RGB).save(tmp / "photo.bmp")
    return tmp / "photo.bmp", PHOTO_BGR, 0


def _webp_lossless(tmp: Path) -> Made:
    Image.fromarray(PHOTO_RGB).save(tmp / "photo.webp", lossless=True)
    return tmp / "photo.webp", PHOTO_BGR, 0


def _mpo(tmp: Path) -> Made:
    # What many phones write: a JPEG with a second picture; the first one is the photo.
    first = Image.fromarray(PHOTO_RGB)
    first.save(tmp / "phone.jpg", "MPO", save_all=True, append_images=[first.rotate(90)], quality=95)
    return tmp / "phone.jpg", PHOTO_BGR, LOSSY


def _png_named_jpg(tmp: Path) -> Made:
    Image.fromarray(PHOTO_RGB).save(tmp / "really_a_png.jpg", "PNG")
    return tmp / "really_a_png.jpg", PHOTO_BGR, 0


def _png_with_trailing_bytes(tmp: Path) -> Made:
    Image.fromarray(PHOTO_RGB).save(tmp / "trailing.png")
    with (tmp / "trailing.png").open("ab") as file:
        file.write(b"appended by some upload tool")
    return tmp / "trailing.png", PHOTO_BGR, 0


def _jpeg_with_trailing_bytes(tmp: Path) -> Made:
    # Like a "motion photo": data after the end-of-image marker is not truncation.
    data = JPEG_PHOTO.read_bytes()
    expected = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return _write(tmp / "motion.jpg", data + bytes(range(256)) * 8), expected, 0


def _non_ascii_name(tmp: Path) -> Made:
    data = JPEG_PHOTO.read_bytes()
    expected = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return _write(tmp / "фото_été.jpg", data), expected, 0


GOOD_INPUTS = [
    pytest.param(_cmyk_jpeg, id="cmyk-jpeg"),
    pytest.param(_gray_jpeg, id="gray-jpeg"),
    pytest.param(_png16_gray, id="16bit-gray-png"),
    pytest.param(_png16_colour, id="16bit-colour-png"),
    pytest.param(_tiff16_gray, id="16bit-gray-tiff"),
    pytest.param(_tiff16_colour, id="16bit-colour-tiff"),
    pytest.param(_palette_png, id="palette-png"),
    pytest.param(_palette_transparent_png, id="palette-transparent-png"),
    pytest.param(_rgba_png, id="rgba-png"),
    pytest.param(_gray_alpha_png, id="gray-alpha-png"),
    pytest.param(_bmp, id="bmp"),
    pytest.param(_webp_lossless, id="webp"),
    pytest.param(_mpo, id="mpo-jpeg"),
    pytest.param(_png_named_jpg, id="png-named-jpg"),
    pytest.param(_png_with_trailing_bytes, id="png-trailing-bytes"),
    pytest.param(_jpeg_with_trailing_bytes, id="jpeg-trailing-bytes"),
    pytest.param(_non_ascii_name, id="non-ascii-name"),
]


@pytest.mark.parametrize("make", GOOD_INPUTS)
def test_every_layout_decodes_to_bgr8(tmp_path: Path, make: Callable[[Path], Made]) -> None:
    path, expected, tolerance = make(tmp_path)
    record = load_image(path, LIMIT)
    assert record.path == str(path)
    assert record.pixels.dtype == np.uint8
    assert record.pixels.flags.c_contiguous
    assert record.pixels.shape == expected.shape
    assert record.original_size == (expected.shape[1], expected.shape[0])
    difference = np.abs(record.pixels.astype(np.int16) - expected.astype(np.int16))
    if tolerance == LOSSY:
        assert difference.mean() < 3.0
    else:
        assert difference.max() <= tolerance


def test_gray_jpeg_stays_gray(tmp_path: Path) -> None:
    path, _, _ = _gray_jpeg(tmp_path)
    pixels = load_image(path, LIMIT).pixels
    assert np.array_equal(pixels[:, :, 0], pixels[:, :, 1])
    assert np.array_equal(pixels[:, :, 1], pixels[:, :, 2])


# ---------------------------------------------------------------------------------------------
# EXIF orientation


@pytest.mark.parametrize(("orientation", "quarter_turns"), [(6, -1), (8, 1)])
def test_exif_rotated_jpeg_is_turned_upright(tmp_path: Path, orientation: int, quarter_turns: int) -> None:
    path = tmp_path / f"rotated_{orientation}.jpg"
    Image.fromarray(PHOTO_RGB).save(path, quality=95, exif=_with_orientation(orientation))
    record = load_image(path, LIMIT)
    # 6: the camera was turned a quarter clockwise, so the stored pixels are turned back that way.
    expected = np.rot90(PHOTO_BGR, quarter_turns)
    assert record.pixels.shape == expected.shape
    assert record.original_size == (512, 400)
    assert np.abs(record.pixels.astype(np.int16) - expected.astype(np.int16)).mean() < 3.0


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_matches_pil_exif_transpose(tmp_path: Path, orientation: int) -> None:
    path = tmp_path / f"oriented_{orientation}.png"
    Image.fromarray(PHOTO_RGB).save(path, exif=_with_orientation(orientation))
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))[:, :, ::-1]
    assert np.array_equal(load_image(path, LIMIT).pixels, expected)


@pytest.mark.parametrize(
    ("suffix", "options"),
    [
        pytest.param(".tif", {}, id="tiff"),
        # Compressed TIFFs take PIL's libtiff path, which handles orientation on its own.
        pytest.param(".tif", {"compression": "tiff_lzw"}, id="tiff-lzw"),
        pytest.param(".webp", {"lossless": True}, id="webp"),
    ],
)
def test_orientation_applies_to_tiff_and_webp(tmp_path: Path, suffix: str, options: dict[str, str]) -> None:
    path = tmp_path / f"rotated{suffix}"
    Image.fromarray(PHOTO_RGB).save(path, exif=_with_orientation(6), **options)
    assert np.array_equal(load_image(path, LIMIT).pixels, np.rot90(PHOTO_BGR, -1))


def test_png_exif_after_the_pixel_data_is_found(tmp_path: Path) -> None:
    path = tmp_path / "exif_last.png"
    Image.fromarray(PHOTO_RGB).save(path, exif=_with_orientation(8))
    data = path.read_bytes()
    # Move the eXIf chunk from before IDAT (where PIL writes it) to just before IEND.
    start = data.index(b"eXIf") - 4
    length = struct.unpack(">I", data[start : start + 4])[0]
    chunk = data[start : start + 12 + length]
    data = data[:start] + data[start + len(chunk) :]
    end = data.rindex(b"IEND") - 4
    path.write_bytes(data[:end] + chunk + data[end:])
    assert np.array_equal(load_image(path, LIMIT).pixels, np.rot90(PHOTO_BGR, 1))


# ---------------------------------------------------------------------------------------------
# In-memory arrays


@pytest.mark.parametrize(
    "array",
    [
        pytest.param(cv2.cvtColor(PHOTO_BGR, cv2.COLOR_BGR2GRAY), id="gray"),
        pytest.param(cv2.cvtColor(PHOTO_BGR, cv2.COLOR_BGR2GRAY)[:, :, None], id="gray-one-channel"),
        pytest.param(PHOTO_BGR, id="bgr"),
        pytest.param(np.dstack([PHOTO_BGR, np.full(PHOTO_BGR.shape[:2], 255, np.uint8)]), id="bgra"),
        pytest.param(PHOTO_BGR.astype(np.uint16) * 257, id="bgr-uint16"),
        pytest.param(PHOTO_BGR[::2, ::2], id="strided-view"),
    ],
)
def test_image_from_array_accepts_image_layouts(array: np.ndarray) -> None:
    record = image_from_array(array, "camera")
    height, width = array.shape[:2]
    assert record.path == "camera"
    assert record.pixels.shape == (height, width, 3)
    assert record.pixels.dtype == np.uint8
    assert record.pixels.flags.c_contiguous
    assert record.original_size == (width, height)


def test_image_from_array_converts_faithfully() -> None:
    assert np.shares_memory(image_from_array(PHOTO_BGR).pixels, PHOTO_BGR)  # no needless copy
    assert np.array_equal(image_from_array(PHOTO_BGR.astype(np.uint16) * 257).pixels, PHOTO_BGR)
    transparent = np.zeros((4, 4, 4), np.uint8)
    assert (image_from_array(transparent).pixels == 255).all()


@pytest.mark.parametrize(
    ("array", "message"),
    [
        pytest.param(PHOTO_BGR.astype(np.float32), "expected uint8 or uint16, got float32", id="float"),
        pytest.param(PHOTO_BGR.astype(np.int32), "expected uint8 or uint16, got int32", id="int32"),
        pytest.param(np.zeros((4, 4, 2), np.uint8), "expected HxW, HxWx3 or HxWx4, got (4, 4, 2)", id="2-ch"),
        pytest.param(np.zeros(16, np.uint8), "got (16,)", id="1-d"),
        pytest.param(np.zeros((2, 4, 4, 3), np.uint8), "got (2, 4, 4, 3)", id="4-d"),
        pytest.param(np.zeros((0, 5, 3), np.uint8), "expected at least 1×1 pixels", id="empty"),
        pytest.param([[0, 1], [2, 3]], "expected a numpy array, got list", id="list"),
    ],
)
def test_image_from_array_refuses_other_arrays(array: np.ndarray, message: str) -> None:
    with pytest.raises(ImageReadError) as raised:
        image_from_array(array)
    assert message in raised.value.reason


# ---------------------------------------------------------------------------------------------
# find_images


@pytest.fixture
def photo_tree(tmp_path: Path) -> Path:
    """photos/ with images in mixed case, non-images and two levels of subfolders (empty files)."""
    root = tmp_path / "photos"
    names = ("b.jpg", "a.JPEG", "C.png", "z.bmp", "notes.txt", "README", "sub/d.tif", "sub/deeper/e.webp")
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).touch()
    return root


def test_find_images_lists_one_folder_sorted(photo_tree: Path) -> None:
    found = list(find_images([photo_tree]))
    assert found == [str(photo_tree / name) for name in ("C.png", "a.JPEG", "b.jpg", "z.bmp")]


def test_find_images_recurses_only_when_asked(photo_tree: Path) -> None:
    names = ("C.png", "a.JPEG", "b.jpg", "sub/d.tif", "sub/deeper/e.webp", "z.bmp")
    assert list(find_images([photo_tree], recursive=True)) == [str(photo_tree / name) for name in names]
    assert str(photo_tree / "sub" / "d.tif") not in find_images([photo_tree], recursive=False)


def test_find_images_streams() -> None:
    found = find_images([FIXTURES])
    assert iter(found) is found  # a generator, not a list built up front


def test_explicit_files_and_missing_paths_are_yielded_as_given(photo_tree: Path) -> None:
    given = [str(photo_tree / "notes.txt"), str(photo_tree / "missing.jpg"), str(photo_tree / "README")]
    assert list(find_images(given)) == given


def test_the_same_file_is_yielded_once_under_its_first_spelling(
    photo_tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(photo_tree.parent)
    (photo_tree / "link.jpg").symlink_to(photo_tree / "b.jpg")
    given: list[str | Path] = ["./photos/b.jpg", "photos/b.jpg", Path("photos/b.jpg"), "photos", "./photos/"]
    assert list(find_images(given)) == [
        "./photos/b.jpg",
        os.path.join("photos", "C.png"),
        os.path.join("photos", "a.JPEG"),
        os.path.join("photos", "z.bmp"),
    ]


def test_symlinked_folders_are_not_followed(photo_tree: Path, tmp_path: Path) -> None:
    (photo_tree / "sub" / "loop").symlink_to(photo_tree)  # a cycle back to the top
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "x.jpg").touch()
    (photo_tree / "outside").symlink_to(elsewhere)
    # islice bounds the walk, so a regression fails the test instead of hanging it.
    found = list(itertools.islice(find_images([photo_tree], recursive=True), 100))
    assert len(found) == 6
    assert not any("loop" in path or "outside" in path for path in found)


def test_a_symlinked_folder_given_explicitly_is_walked(photo_tree: Path, tmp_path: Path) -> None:
    (tmp_path / "shortcut").symlink_to(photo_tree)
    assert next(find_images([tmp_path / "shortcut"])) == str(tmp_path / "shortcut" / "C.png")


def test_broken_links_with_an_image_suffix_are_yielded_for_their_error_row(tmp_path: Path) -> None:
    _dangling_symlink(tmp_path)
    _symlink_loop(tmp_path)
    (tmp_path / "loop_no_suffix").symlink_to(tmp_path / "loop_no_suffix")
    names = [Path(path).name for path in find_images([tmp_path])]
    assert names == ["dangling.jpg", "loop_a.jpg", "loop_b.jpg"]


def test_non_ascii_names_are_found(tmp_path: Path) -> None:
    path, _, _ = _non_ascii_name(tmp_path)
    assert list(find_images([tmp_path])) == [str(path)]


@SKIP_AS_ROOT
def test_unlistable_subfolder_is_yielded_for_its_error_row(photo_tree: Path) -> None:
    locked = photo_tree / "sub" / "deeper"
    locked.chmod(0)
    try:
        found = list(find_images([photo_tree], recursive=True))
    finally:
        locked.chmod(0o755)  # so that pytest can clean tmp_path up
    assert str(locked) in found
    assert str(photo_tree / "sub" / "d.tif") in found
