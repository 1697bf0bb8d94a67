"""Shared fixtures: the real example photos bundled with the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "photos"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def example_photos() -> list[Path]:
    return sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".jpg", ".png"))


@pytest.fixture(scope="session")
def pipeline():
    from icaocheck.pipeline import Pipeline

    return Pipeline()
