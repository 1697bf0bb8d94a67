"""Profiles: which checks run and the thresholds they use, with where each value came from.

Values are layered, later layers winning:

1. defaults: :mod:`icaocheck.config` for the detection numbers; for each check's threshold, the
   default its module declares (:mod:`icaocheck.checks.registry`), shown with the standard or
   measurement it follows, or for a classifier its model's card (``models/<model>.json``);
2. a built-in profile (``--profile NAME``, or ``extends = "NAME"`` in a file), the TOML files
   beside this module;
3. a profile file (``--config FILE``);
4. single values from the command line (``--set KEY=VALUE``).

A profile file looks like::

    extends = "icao-strict"          # optional: a built-in profile to start from
    description = "our authority"    # optional, shown by `icaocheck config show`

    [checks.eyes_closed]
    threshold = 0.4                  # or threshold_factor = 0.8: a share of the model card's
    [checks.single_face]
    enabled = false

    [detection]
    min_face_ratio = 0.15
    [landmarks]
    source = "mesh"                  # dlib's 68 points read off the face mesh, without dlib
    [input]
    max_image_pixels = 50_000_000

Every value's key is its dotted TOML path (``checks.eyes_closed.threshold``); ``--set`` takes
the same keys with a TOML value (a choice's name may go unquoted: ``--set landmarks.source=mesh``).
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from icaocheck.checks import CHECK_NAMES
from icaocheck.checks.base import AttributeClassifierCheck
from icaocheck.checks.registry import check_class, registered
from icaocheck.classify import ModelCard, ModelCardError
from icaocheck.config import Config, DetectionConfig, LandmarkConfig, LandmarkSource
from icaocheck.model_files import models_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 reads TOML with the tomli backport
    import tomli as tomllib

BUILTIN_DIR = Path(__file__).resolve().parent
DEFAULT_PROFILE = "default"  # no file: the defaults of layer 1 alone

# Without a face nothing else is assessed, so this check always runs.
_ALWAYS_ENABLED = frozenset({"face_found"})

Value = bool | int | float | str | tuple[float, ...] | None

# Keys whose value names one member of an Enum: held as the member's value, checked against them all.
_CHOICES: dict[str, type[Enum]] = {"landmarks.source": LandmarkSource}


class ProfileError(ValueError):
    """A profile that cannot be used: unknown name or key, a value of the wrong kind, bad TOML."""


@dataclass(frozen=True)
class Setting:
    """One effective value: its dotted key, the value, and the layer it came from."""

    key: str
    value: Value
    source: str


@dataclass(frozen=True)
class Settings:
    """The effective configuration: the :class:`Config` to run with and every value's origin."""

    config: Config
    profile: str  # the built-in profile the layers started from
    description: str
    entries: tuple[Setting, ...]

    def get(self, key: str) -> Setting:
        return next(entry for entry in self.entries if entry.key == key)

    def as_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "description": self.description,
            "settings": {e.key: {"value": e.value, "source": e.source} for e in self.entries},
        }


def builtin_profiles() -> dict[str, str]:
    """Name → description of every built-in profile, ``default`` first."""
    profiles = {DEFAULT_PROFILE: "icaocheck's defaults: each check's own threshold and each model's card"}
    for path in sorted(BUILTIN_DIR.glob("*.toml")):
        profiles[path.stem] = str(_read_toml(path).get("description", ""))
    return profiles


def resolve(
    profile: str | None = None,
    config_file: Path | None = None,
    overrides: Sequence[str] = (),
    models: Path | None = None,
) -> Settings:
    """Layer the defaults, a built-in profile, a profile file and ``KEY=VALUE`` overrides.

    ``models`` is the folder whose model cards give the attribute thresholds (default: icaocheck's).
    Raises :class:`ProfileError` with a sentence naming the file and key at fault.
    """
    layers = _Layers(models or models_dir())
    file_table = _read_toml(config_file) if config_file is not None else {}
    extends = file_table.get("extends")
    if extends is not None and not isinstance(extends, str):
        raise ProfileError(f"{config_file}: 'extends' must name a built-in profile, got {extends!r}")
    if profile is not None and extends is not None and profile != extends:
        raise ProfileError(f"--profile {profile} conflicts with extends = {extends!r} in {config_file}")
    base = profile or extends or DEFAULT_PROFILE
    description = builtin_profiles().get(base)
    if description is None:
        raise ProfileError(f"no built-in profile {base!r}; expected one of {', '.join(builtin_profiles())}")
    if base != DEFAULT_PROFILE:
        layers.apply(_read_toml(BUILTIN_DIR / f"{base}.toml"), f"profile {base}", f"profile {base}")
    if config_file is not None:
        layers.apply(file_table, f"file {config_file}", str(config_file))
        description = str(file_table.get("description", description))
    for override in overrides:
        key, value = _parse_override(override)
        layers.apply(_nest(key, value), "command line", f"--set {override}")
    return Settings(layers.config(), base, description, tuple(layers.values.values()))


class _Layers:
    """The values being layered, keyed by dotted key, and the model cards' thresholds under them."""

    def __init__(self, models: Path) -> None:
        self.values: dict[str, Setting] = {}
        # Check name → (threshold, source) from its model card: what a threshold_factor scales.
        self.cards: dict[str, tuple[float | None, str]] = {}
        for cls in registered():
            name = cls.name
            self._put(f"checks.{name}.enabled", cls.enabled_by_default, "default")
            if issubclass(cls, AttributeClassifierCheck):
                self.cards[name] = _card_threshold(models, cls.model)
                self._put(f"checks.{name}.threshold", *self.cards[name])
            elif cls.limit is not None:
                self._put(f"checks.{name}.threshold", cls.limit.default, f"default ({cls.limit.origin})")
        for field in dataclasses.fields(DetectionConfig):
            self._put(f"detection.{field.name}", getattr(DetectionConfig(), field.name), "default")
        self._put("input.max_image_pixels", Config().max_image_pixels, "default")
        self._put("landmarks.source", LandmarkConfig().source.value, "default")
        self.defaults = {key: setting.value for key, setting in self.values.items()}

    def _put(self, key: str, value: Value, source: str) -> None:
        self.values[key] = Setting(key, value, source)

    def apply(self, table: Mapping[str, Any], source: str, where: str) -> None:
        """Write the values of one TOML table (a profile, a file, an override) over the current ones."""
        for section, content in table.items():
            if section in ("description", "extends"):
                continue
            if section == "checks":
                for name, options in _table(content, "checks", where).items():
                    self._apply_check(name, _table(options, f"checks.{name}", where), source, where)
            elif section in ("detection", "input", "landmarks"):
                for name, value in _table(content, section, where).items():
                    key = f"{section}.{name}"
                    if key not in self.values:
                        known = ", ".join(k for k in self.values if k.startswith(f"{section}."))
                        raise ProfileError(f"{where}: unknown key {key!r}; expected one of {known}")
                    self._put(key, _typed(value, self.values[key].value, key, where), source)
            else:
                expected = "checks, detection, input or landmarks"
                raise ProfileError(f"{where}: unknown section {section!r}; expected {expected}")

    def _apply_check(self, name: str, options: Mapping[str, Any], source: str, where: str) -> None:
        if name not in CHECK_NAMES:
            raise ProfileError(f"{where}: unknown check {name!r}; expected one of {', '.join(CHECK_NAMES)}")
        if "threshold" in options and "threshold_factor" in options:
            raise ProfileError(f"{where}: checks.{name} sets both threshold and threshold_factor; keep one")
        threshold_key = f"checks.{name}.threshold"
        allowed = ["enabled"] + (["threshold"] if threshold_key in self.values else [])
        allowed += ["threshold_factor"] if name in self.cards else []
        for option, value in options.items():
            key = f"checks.{name}.{option}"
            if option not in allowed:
                raise ProfileError(f"{where}: unknown key {key!r}; checks.{name} takes {', '.join(allowed)}")
            if option == "enabled":
                if not isinstance(value, bool):
                    raise ProfileError(f"{where}: {key} must be true or false, got {value!r}")
                if not value and name in _ALWAYS_ENABLED:
                    raise ProfileError(f"{where}: {name} cannot be disabled: without a face nothing is assessed")
                self._put(key, value, source)
            elif option == "threshold":
                self._put(key, _threshold(name, value, key, where), source)
            else:
                # A share of the card's threshold stays meaningful when a model is retrained.
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                    raise ProfileError(f"{where}: {key} must be a positive number, got {value!r}")
                card_threshold, card_source = self.cards[name]
                if card_threshold is None:
                    self._put(threshold_key, None, f"{source} (×{value:g} of a missing model card)")
                else:
                    scaled = _threshold(name, round(card_threshold * value, 6), threshold_key, where)
                    self._put(threshold_key, scaled, f"{source} ({value:g} × {card_source})")

    def config(self) -> Config:
        """The :class:`Config` these values describe."""
        values = {key: setting.value for key, setting in self.values.items()}
        detection = DetectionConfig(
            **{field.name: values[f"detection.{field.name}"] for field in dataclasses.fields(DetectionConfig)}
        )
        # Every check's threshold where a layer changed it from its default (the check's Limit, or its model
        # card's), and the checks turned off or on against their default: a default run keeps Config()'s
        # empty values (and its equality with it).
        thresholds = tuple(
            (name, float(value))
            for name in CHECK_NAMES
            if (value := values.get(f"checks.{name}.threshold")) is not None
            and value != self.defaults[f"checks.{name}.threshold"]
        )
        enabled = {name: bool(values[f"checks.{name}.enabled"]) for name in CHECK_NAMES}
        return Config(
            detection=detection,
            landmarks=LandmarkConfig(LandmarkSource(values["landmarks.source"])),
            max_image_pixels=int(values["input.max_image_pixels"]),
            disabled_checks=frozenset(n for n in CHECK_NAMES if check_class(n).enabled_by_default and not enabled[n]),
            thresholds=thresholds,
            enabled_checks=frozenset(n for n in CHECK_NAMES if enabled[n] and not check_class(n).enabled_by_default),
        )


def _card_threshold(models: Path, model: str) -> tuple[float | None, str]:
    card = models / f"{model}.json"
    if not card.is_file():
        return None, f"no model card ({card} missing): check not assessed"
    try:
        return ModelCard.read(card).threshold, f"model card {card}"
    except ModelCardError as error:
        raise ProfileError(str(error)) from error


def _threshold(name: str, value: Any, key: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProfileError(f"{where}: {key} must be a number, got {value!r}")
    if issubclass(check_class(name), AttributeClassifierCheck) and not 0.0 < value <= 1.0:
        raise ProfileError(f"{where}: {key} is a model score threshold in (0, 1], got {value:g}")
    if value < 0:
        raise ProfileError(f"{where}: {key} must not be negative, got {value:g}")
    return float(value)


def _typed(value: Any, default: Value, key: str, where: str) -> Value:
    """``value`` checked against the kind of the default it replaces (ints may stand for floats), or its choices."""
    if key in _CHOICES:
        names = [member.value for member in _CHOICES[key]]
        if value not in names:
            raise ProfileError(f"{where}: {key}: expected one of {', '.join(names)}, got {value!r}")
        return str(value)
    if isinstance(default, tuple):
        if not isinstance(value, list) or len(value) != len(default) or not all(_is_number(v) for v in value):
            raise ProfileError(f"{where}: {key} must be a list of {len(default)} numbers, got {value!r}")
        return tuple(float(v) for v in value)
    if isinstance(default, float) and _is_number(value):
        return float(value)
    if isinstance(default, int) and _is_number(value) and float(value).is_integer():
        return int(value)
    raise ProfileError(f"{where}: {key} must be a {type(default).__name__}, got {value!r}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _table(content: Any, key: str, where: str) -> Mapping[str, Any]:
    if not isinstance(content, Mapping):
        raise ProfileError(f"{where}: {key} must be a table ([{key}]), got {content!r}")
    return content


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as stream:
            return tomllib.load(stream)
    except OSError as error:
        raise ProfileError(f"cannot read profile {path}: {error.strerror}") from error
    except tomllib.TOMLDecodeError as error:
        raise ProfileError(f"{path} is not valid TOML: {error}") from error


def _parse_override(override: str) -> tuple[str, Any]:
    """``KEY=VALUE`` with VALUE read as TOML (``0.4``, ``false``, ``[0.6, 0.7, 0.7]``)."""
    key, equals, text = override.partition("=")
    if not equals or not key.strip():
        raise ProfileError(f"--set {override}: expected KEY=VALUE, e.g. checks.eyes_closed.threshold=0.4")
    if key.strip() in _CHOICES and text.strip().isidentifier():
        # A choice's name, which TOML would want quoted (and a shell would strip the quotes from).
        return key.strip(), text.strip()
    try:
        value = tomllib.loads(f"value = {text.strip()}")["value"]
    except tomllib.TOMLDecodeError as error:
        raise ProfileError(f"--set {override}: {text!r} is not a TOML value ({error})") from error
    return key.strip(), value


def _nest(key: str, value: Any) -> dict[str, Any]:
    """``a.b.c`` = v as the TOML table {a: {b: {c: v}}}."""
    table: dict[str, Any] = {}
    *parents, last = key.split(".")
    node = table
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    return table
