"""The check interface and the registry every report, profile and timing is derived from.

A check is one class in one module of :mod:`icaocheck.checks`, registered with :func:`register`.
It declares its name, unit, what it needs from the photo, its threshold (default, direction and
the standard it follows), its extra report columns, its OFIQ measure and the mapping of its raw
value to OFIQ's 0-100 quality scalar. :func:`registered` imports every module of the package, so a
new check is seen everywhere by adding its module alone.

A check that raises is "not assessed: <reason>" for that check only (OFIQ's "failure to assess"):
see :func:`run_check`.
"""

from __future__ import annotations

import importlib
import math
import pkgutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal, TypeVar

from icaocheck.types import CheckResult, Verdict

if TYPE_CHECKING:
    from icaocheck.config import Config
    from icaocheck.evidence import PhotoEvidence

T = TypeVar("T")

# What a check may declare it reads of the evidence (documentation, checked against this list; the evidence
# computes whatever a check's measure asks for, on first request).
NEEDS = frozenset({"pixels", "face", "landmarks", "pose", "crops", "mesh", "file", "model", "segmentation"})

# OFIQ's 28 measures in the order of its QualityMeasure enum (ISO/IEC 29794-5's component order),
# which orders the columns of its CSV.
OFIQ_ORDER = (
    "UnifiedQualityScore",
    "BackgroundUniformity",
    "IlluminationUniformity",
    "LuminanceMean",
    "LuminanceVariance",
    "UnderExposurePrevention",
    "OverExposurePrevention",
    "DynamicRange",
    "Sharpness",
    "CompressionArtifacts",
    "NaturalColour",
    "SingleFacePresent",
    "EyesOpen",
    "MouthClosed",
    "EyesVisible",
    "MouthOcclusionPrevention",
    "FaceOcclusionPrevention",
    "InterEyeDistance",
    "HeadSize",
    "LeftwardCropOfTheFaceImage",
    "RightwardCropOfTheFaceImage",
    "MarginAboveOfTheFaceImage",
    "MarginBelowOfTheFaceImage",
    "HeadPoseYaw",
    "HeadPosePitch",
    "HeadPoseRoll",
    "ExpressionNeutrality",
    "NoHeadCoverings",
)


@dataclass(frozen=True)
class Limit:
    """A check's threshold: its default, which side passes, and the standard or measurement it follows."""

    default: float
    passes: Literal["at_most", "at_least"]
    origin: str

    def __post_init__(self) -> None:
        if self.passes not in ("at_most", "at_least"):
            raise ValueError(f"expected passes 'at_most' or 'at_least', got {self.passes!r}")
        if not math.isfinite(self.default):
            raise ValueError(f"expected a finite default threshold, got {self.default!r}")
        if not self.origin:
            raise ValueError("expected the origin of the default threshold, got an empty string")

    def met(self, value: float, threshold: float) -> bool:
        return value <= threshold if self.passes == "at_most" else value >= threshold


def sigmoid(x: float, x0: float, w: float) -> float:
    """The logistic 1 / (1 + exp(-(x - x0) / w)) OFIQ maps most raw values with."""
    z = (x - x0) / w
    return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0


def clamp_scalar(value: float) -> float:
    """An OFIQ quality scalar: rounded, within 0-100."""
    return float(min(100, max(0, round(value))))


class Check:
    """One check. Subclasses set the class attributes and :meth:`measure`; :meth:`scalar` maps to OFIQ's 0-100."""

    name: ClassVar[str]
    unit: ClassVar[str]
    needs: ClassVar[frozenset[str]]
    limit: ClassVar[Limit | None]  # None: the threshold comes from elsewhere (a model card)
    what: ClassVar[str]  # names the value in a failure reason: "<what> is 3.2 <unit>, above ..."
    ofiq: ClassVar[str | None] = None  # OFIQ's measure name, if it has one
    details: ClassVar[tuple[str, ...]] = ()  # extra per-check report columns, from CheckResult.details
    # (caption, field of Crops) of the crops the HTML gallery shows when this check fails.
    gallery_crops: ClassVar[tuple[tuple[str, str], ...]] = ()
    # True: a photo this check fails has landmarks too unreliable for the checks after it ("upright" gate).
    gates: ClassVar[bool] = False
    # True: not assessed when a gating check failed (the check trusts the landmarks or the crops).
    gated: ClassVar[bool] = True
    # Another check whose failure hides what this one looks at (the mouth under a mask): this one is then
    # "not assessed", its value kept, rather than a verdict read off the cover.
    hidden_by: ClassVar[str | None] = None
    enabled_by_default: ClassVar[bool] = True
    order: ClassVar[int]  # report order; gaps leave room for new checks

    def threshold_in(self, config: Config) -> float | None:
        """This check's threshold under ``config`` (a profile's value, else the default; None: the model card's)."""
        default = None if self.limit is None else self.limit.default
        return dict(config.thresholds).get(self.name, default)

    def ofiq_measures(self, result: CheckResult) -> list[tuple[str, float, float]]:
        """(OFIQ measure, raw value, 0-100 scalar) for each OFIQ measure this check's result gives."""
        if self.ofiq is None or result.value is None:
            return []
        return [(self.ofiq, result.value, self.scalar(result.value))]

    def measure(self, evidence: PhotoEvidence) -> tuple[float, dict[str, float]]:
        """The raw value and its details."""
        raise NotImplementedError

    def scalar(self, raw: float) -> float:
        """OFIQ's 0-100 quality scalar of the raw value (higher is better)."""
        raise NotImplementedError

    def judge(self, evidence: PhotoEvidence, threshold: float | None) -> CheckResult:
        assert self.limit is not None and threshold is not None, "checks without a Limit judge themselves"
        raw, details = self.measure(evidence)
        if self.limit.met(raw, threshold):
            return CheckResult(self.name, Verdict.PASS, raw, threshold, self.unit, "", details)
        side = "above the maximum" if self.limit.passes == "at_most" else "below the minimum"
        # Shares and ratios read as bare numbers ("0.27, above the maximum of 0.25"), other units after them.
        unit = "" if self.unit in _UNITLESS else f" {self.unit}"
        reason = f"{self.what} is {_shown(raw)}{unit}, {side} of {_shown(threshold)}{unit}"
        return CheckResult(self.name, Verdict.FAIL, raw, threshold, self.unit, reason, details)


_UNITLESS = frozenset({"", "share", "share²", "ratio"})


def _shown(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


_REGISTRY: dict[str, type[Check]] = {}
_ORDERED: list[tuple[type[Check], ...]] = []  # the registry in report order, while it is unchanged


def register(cls: type[Check]) -> type[Check]:
    """Class decorator: add a check to the registry (its name must be new, its needs and OFIQ measure known)."""
    unknown = set(cls.needs) - NEEDS
    if unknown:
        raise ValueError(f"expected needs among {sorted(NEEDS)}, got {sorted(unknown)} in {cls.__name__}")
    if cls.ofiq is not None and cls.ofiq not in OFIQ_ORDER:
        raise ValueError(f"expected an OFIQ measure among {', '.join(OFIQ_ORDER)}, got {cls.ofiq!r} in {cls.__name__}")
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"expected a new check name, got {cls.name!r} twice")
    _REGISTRY[cls.name] = cls
    _ORDERED.clear()
    return cls


def unregister(name: str) -> None:
    """Drop a check (tests register throwaway checks and take them out again)."""
    _REGISTRY.pop(name, None)
    _ORDERED.clear()


_LOADED = False


def registered() -> tuple[type[Check], ...]:
    """Every registered check, in report order, after importing every module of :mod:`icaocheck.checks`."""
    global _LOADED
    if not _LOADED:
        import icaocheck.checks as package

        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{module.name}")
        _LOADED = True
    if not _ORDERED:
        _ORDERED.append(tuple(sorted(_REGISTRY.values(), key=lambda cls: (cls.order, cls.name))))
    return _ORDERED[0]


class RegistryView(Sequence[T]):
    """What ``select`` takes of the registered checks (in report order), read from the registry on each use.

    ``icaocheck.checks.CHECK_NAMES`` is one: reports, profiles and the summary iterate it, so a check
    registered later (a plug-in, a test's) is in all of them.
    """

    def __init__(self, select: Callable[[tuple[type[Check], ...]], tuple[T, ...]]) -> None:
        self._select = select

    def _items(self) -> tuple[T, ...]:
        return self._select(registered())

    def __getitem__(self, index):  # type: ignore[no-untyped-def]
        return self._items()[index]

    def __len__(self) -> int:
        return len(self._items())

    def __iter__(self) -> Iterator[T]:
        return iter(self._items())

    def __contains__(self, item: object) -> bool:
        return item in self._items()

    def __repr__(self) -> str:
        return repr(self._items())


def check_class(name: str) -> type[Check]:
    registered()
    return _REGISTRY[name]


def unified_quality(scalars: list[float]) -> float | None:
    """icaocheck's unified quality score: the geometric mean of the measures' 0-100 scalars.

    OFIQ's is MagFace's embedding norm (a face-recognition model's confidence); icaocheck has no
    such model, so it summarises the component scalars it has: one poor measure pulls the score
    down more than an average would, and a measure at 0 gives 0. None without any scalar.
    """
    if not scalars:
        return None
    return float(math.exp(sum(math.log(max(s, 0.0) + 1.0) for s in scalars) / len(scalars)) - 1.0)


def run_check(check: Check, evidence: PhotoEvidence, threshold: float | None) -> CheckResult:
    """``check`` judged on ``evidence``; an exception is "not assessed: <reason>" for this check only."""
    try:
        return check.judge(evidence, threshold)
    except Exception as error:  # one broken check must not lose the photo's other verdicts
        reason = f"not assessed: {type(error).__name__}" + (f": {error}" if str(error) else "")
        return CheckResult(check.name, Verdict.NOT_ASSESSED, unit=check.unit, reason=reason)
