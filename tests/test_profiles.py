"""Profiles: layered values with their sources, built-in profiles, and their effect on results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from icaocheck.cli import EXIT_USAGE, app
from icaocheck.config import Config
from icaocheck.pipeline import Pipeline
from icaocheck.profiles import ProfileError, builtin_profiles, resolve
from icaocheck.types import Verdict

from .conftest import EXAMPLES

runner = CliRunner()


@pytest.fixture
def models(tmp_path: Path) -> Path:
    """A models folder whose only card is the eyes model's, threshold 0.5."""
    folder = tmp_path / "models"
    folder.mkdir()
    card = {
        "name": "eyes",
        "input": {"crop_kind": "eye", "size": 56},
        "preprocessing": {"scale": 1 / 255, "offset": 0.0},
        "threshold": 0.5,
    }
    (folder / "eyes.json").write_text(json.dumps(card))
    return folder


def _profile(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profile.toml"
    path.write_text(text)
    return path


def test_defaults_come_from_config_and_model_cards(models: Path) -> None:
    settings = resolve(models=models)
    assert settings.profile == "default"
    assert settings.config == Config()
    face_size = settings.get("checks.face_size.threshold")
    assert face_size.value == 100.0
    assert face_size.source == "default (the DoCEIS 2021 paper's minimum face box side)"
    eyes = settings.get("checks.eyes_closed.threshold")
    assert eyes.value == 0.5 and eyes.source == f"model card {models / 'eyes.json'}"
    mouth = settings.get("checks.mouth_open.threshold")
    assert mouth.value is None and "missing" in mouth.source
    assert settings.get("detection.min_face_ratio").value == 0.2


def test_strict_profile_tightens_geometry_and_scales_the_card_threshold(models: Path) -> None:
    settings = resolve("icao-strict", models=models)
    config = settings.config
    # One store keyed by check name, in report order, holding only what the profile changed (the
    # mouth and cover cards are missing from this models folder: 0.8 × nothing stays nothing).
    assert config.thresholds == (
        ("face_size", 180.0),
        ("inter_eye_distance", 90.0),
        ("head_roll", 5.0),
        ("eyes_closed", 0.4),
    )
    eyes = settings.get("checks.eyes_closed.threshold")
    assert eyes.source.startswith("profile icao-strict (0.8 × model card")


def test_lenient_profile_leaves_single_face_out(models: Path) -> None:
    config = resolve("lenient", models=models).config
    assert config.disabled_checks == {"single_face"}
    assert dict(config.thresholds)["face_size"] < resolve(models=models).get("checks.face_size.threshold").value


def test_every_builtin_profile_resolves(models: Path) -> None:
    profiles = builtin_profiles()
    assert {"default", "icao-strict", "lenient"} <= set(profiles)
    for name, description in profiles.items():
        assert description
        assert resolve(name, models=models).profile == name


def test_layers_file_over_profile_and_command_line_over_file(tmp_path: Path, models: Path) -> None:
    path = _profile(
        tmp_path,
        'extends = "icao-strict"\ndescription = "our office"\n'
        "[checks.head_roll]\nthreshold = 6\n[checks.eyes_closed]\nthreshold = 0.3\n"
        "[detection]\nthresholds = [0.5, 0.6, 0.7]\n[input]\nmax_image_pixels = 1000\n",
    )
    settings = resolve(None, path, ["checks.eyes_closed.threshold=0.45", "checks.single_face.enabled=false"], models)
    assert settings.profile == "icao-strict" and settings.description == "our office"
    assert settings.get("checks.face_size.threshold").source == "profile icao-strict"
    assert settings.get("checks.head_roll.threshold").source == f"file {path}"
    assert settings.get("checks.eyes_closed.threshold").value == 0.45
    assert settings.get("checks.eyes_closed.threshold").source == "command line"
    config = settings.config
    assert config.detection.thresholds == (0.5, 0.6, 0.7)
    assert config.max_image_pixels == 1000 and config.disabled_checks == {"single_face"}
    assert dict(config.thresholds) == {
        "face_size": 180.0,
        "inter_eye_distance": 90.0,
        "head_roll": 6.0,
        "eyes_closed": 0.45,
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[checks.eyes_shut]\nthreshold = 0.4\n", "unknown check"),
        ("[checks.face_size]\nminimum = 90\n", "unknown key"),
        ("[checks.face_size]\nthreshold = 'big'\n", "must be a number"),
        ("[checks.face_found]\nenabled = false\n", "cannot be disabled"),
        ("[checks.eyes_closed]\nthreshold = 1.5\n", r"\(0, 1\]"),
        ("[checks.eyes_closed]\nthreshold = 0.4\nthreshold_factor = 0.8\n", "keep one"),
        ("[checks.face_size]\nthreshold_factor = 0.8\n", "unknown key"),
        ("[checks.single_face]\nthreshold = 2\n", "unknown key"),
        ("[checks.single_face]\nenabled = 'no'\n", "true or false"),
        ("[detection]\nthresholds = [0.5]\n", "list of 3 numbers"),
        ("[detection]\nmin_face_px = 2.5\n", "must be a int"),
        ("[colours]\nred = 1\n", "unknown section"),
        ('extends = "paranoid"\n', "no built-in profile"),
        ("checks = [\n", "not valid TOML"),
    ],
)
def test_bad_profiles_are_refused_with_the_key_at_fault(tmp_path: Path, models: Path, text: str, message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        resolve(None, _profile(tmp_path, text), (), models)


def test_bad_overrides_and_conflicts(tmp_path: Path, models: Path) -> None:
    with pytest.raises(ProfileError, match="KEY=VALUE"):
        resolve(overrides=["checks.eyes_closed.threshold"], models=models)
    with pytest.raises(ProfileError, match="not a TOML value"):
        resolve(overrides=["checks.eyes_closed.threshold=high"], models=models)
    with pytest.raises(ProfileError, match="conflicts"):
        resolve("lenient", _profile(tmp_path, 'extends = "icao-strict"\n'), (), models)


def test_pipeline_leaves_out_disabled_checks_and_judges_with_the_profiles_threshold() -> None:
    portrait = EXAMPLES / "portrait_600x800.jpg"
    default = Pipeline().audit(portrait)
    covered = default.check("face_covered")
    assert covered is not None and covered.verdict is Verdict.PASS and covered.value is not None
    config = Config(
        disabled_checks=frozenset({"eyes_closed", "head_roll"}),
        thresholds=(("face_covered", covered.value / 2),),
    )
    pipeline = Pipeline(config)
    assert "eyes" not in pipeline.models  # a check left out does not even load its model
    result = pipeline.audit(portrait)
    assert result.check("eyes_closed") is None and result.check("head_roll") is None
    strict = result.check("face_covered")
    assert strict is not None and strict.verdict is Verdict.FAIL
    assert strict.value == covered.value and strict.threshold == covered.value / 2
    # The other checks are judged as before; the mouth, now behind a "cover", is not judged (its score kept).
    assert result.check("single_face") == default.check("single_face")
    mouth, default_mouth = result.check("mouth_open"), default.check("mouth_open")
    assert mouth.verdict is Verdict.NOT_ASSESSED and default_mouth.verdict is Verdict.FAIL
    assert (mouth.value, mouth.threshold) == (default_mouth.value, default_mouth.threshold)


def test_config_show_names_every_source() -> None:
    outcome = runner.invoke(
        app, ["config", "show", "--profile", "icao-strict", "--set", "checks.head_roll.threshold=7"]
    )
    assert outcome.exit_code == 0, outcome.output
    assert "checks.face_size.threshold" in outcome.stdout and "profile icao-strict" in outcome.stdout
    assert "command line" in outcome.stdout and "default" in outcome.stdout
    shown = json.loads(runner.invoke(app, ["config", "show", "--json", "-p", "lenient"]).stdout)
    assert shown["settings"]["checks.single_face.enabled"] == {"value": False, "source": "profile lenient"}


def test_config_profiles_lists_the_builtin_ones() -> None:
    outcome = runner.invoke(app, ["config", "profiles"])
    assert outcome.exit_code == 0
    assert "icao-strict" in outcome.stdout and "lenient" in outcome.stdout


def test_bad_profile_on_the_command_line_is_a_usage_error(tmp_path: Path) -> None:
    for arguments in (
        ["config", "show", "--profile", "paranoid"],
        ["config", "show", "--set", "checks.nothing.enabled=false"],
        ["config", "show", "--config", str(tmp_path / "absent.toml")],
    ):
        assert runner.invoke(app, arguments).exit_code == EXIT_USAGE, arguments


def test_geometry_thresholds_reach_the_pipeline_from_the_one_store(models: Path) -> None:
    """A profile's geometry threshold is judged by the check, the upright gate's also by the fallback detector."""
    from icaocheck.checks.face_upright import max_eye_drift

    overrides = ["checks.face_size.threshold=5000", "checks.face_upright.threshold=0.2"]
    config = resolve(overrides=overrides, models=models).config
    assert max_eye_drift(config) == 0.2 and max_eye_drift(Config()) == 0.35
    result = Pipeline(config).audit(EXAMPLES / "portrait_600x800.jpg")
    size, roll = result.check("face_size"), result.check("head_roll")
    assert size is not None and size.verdict is Verdict.FAIL and size.threshold == 5000.0
    assert "below the minimum of 5000 px" in size.reason
    assert roll is not None and roll.threshold == 8.0  # the check's own default
