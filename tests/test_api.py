"""The Python API takes what a user would pass, and says what it expected otherwise."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest
from PIL import Image

import icaocheck
from icaocheck.io import find_images
from icaocheck.types import ImageStatus

from .conftest import EXAMPLES

COMPLIANT = EXAMPLES / "portrait_cc0_webcam_1.jpg"


@pytest.mark.parametrize("source", [None, 5, 2.5, object(), ["a.jpg"]], ids=["None", "int", "float", "object", "list"])
def test_audit_refuses_what_is_not_an_image_at_the_door(source: object) -> None:
    with pytest.raises(TypeError, match=r"^expected a path or an image array .*got " + type(source).__name__):
        icaocheck.audit(source)  # type: ignore[arg-type]


def test_audit_takes_a_path_a_file_object_a_pil_image_and_bytes() -> None:
    by_path = icaocheck.audit(COMPLIANT)
    assert by_path.compliant is True
    with COMPLIANT.open("rb") as stream:
        by_file = icaocheck.audit(stream)
    with Image.open(COMPLIANT) as image:
        by_pil = icaocheck.audit(image)
    by_bytes = icaocheck.audit(COMPLIANT.read_bytes())
    by_str = icaocheck.audit(str(COMPLIANT))
    assert [r.path for r in (by_file, by_pil, by_bytes, by_str)] == [str(COMPLIANT)] * 2 + ["<bytes>", str(COMPLIANT)]
    for result in (by_file, by_pil, by_bytes, by_str):
        assert result.status is ImageStatus.OK and result.compliant is True, result.reason
        assert result.face is not None and by_path.face is not None
        assert abs(result.face.box.x - by_path.face.box.x) < 3 and abs(result.face.box.w - by_path.face.box.w) < 3


def test_bad_content_is_an_error_result_not_an_exception(tmp_path: Path) -> None:
    assert icaocheck.audit(b"hello, not an image").status is ImageStatus.ERROR
    with COMPLIANT.open() as text_mode:
        result = icaocheck.audit(text_mode)  # type: ignore[arg-type]
    assert result.status is ImageStatus.ERROR and "'rb'" in result.reason
    with Image.open(COMPLIANT) as image:
        gray = icaocheck.audit(image.convert("L"))  # any PIL mode is taken
    assert gray.status is ImageStatus.OK and (gray.width, gray.height) == (600, 800)


def test_audit_many_expands_a_folder_as_scan_does() -> None:
    expected = list(find_images([EXAMPLES]))
    for folder in (EXAMPLES, str(EXAMPLES)):
        results = list(icaocheck.audit_many(folder))
        assert [r.path for r in results] == expected  # not one result per character of the string
    assert sum(r.compliant is True for r in results) >= 1


@pytest.mark.parametrize("workers", [1, 2])
def test_audit_many_names_images_in_memory_by_position(workers: int) -> None:
    pixels = cv2.imread(str(COMPLIANT))
    with Image.open(COMPLIANT) as image:
        sources = [pixels, COMPLIANT, COMPLIANT.read_bytes(), image.convert("RGB"), b"not an image"]
    results = list(icaocheck.audit_many(sources, workers=workers))
    assert [r.path for r in results] == ["<array 0>", str(COMPLIANT), "<bytes 2>", "<PIL image 3>", "<bytes 4>"]
    assert [r.status for r in results] == [ImageStatus.OK] * 4 + [ImageStatus.ERROR]


def test_audit_many_refuses_what_is_not_a_collection_of_images() -> None:
    with pytest.raises(TypeError, match="expected a folder path or an iterable"):
        icaocheck.audit_many(5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="expected a folder path or an iterable"):
        icaocheck.audit_many(COMPLIANT.read_bytes())  # type: ignore[arg-type]
    results = icaocheck.audit_many([COMPLIANT, None])  # type: ignore[list-item]
    assert next(results).compliant is True
    with pytest.raises(TypeError, match="expected a path or an image array"):
        next(results)
