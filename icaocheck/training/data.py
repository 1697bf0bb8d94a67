"""Training crops: read from the manifest of ``icaocheck crops``, split by group, packed to .npz.

``OUT_DIR/manifest.csv`` (written by ``icaocheck crops``) has one row per crop with columns
``crop_path`` (relative to OUT_DIR, grayscale PNG), ``crop_kind`` (right_eye | left_eye |
eye_patch | mouth | face), ``attribute`` (eyes | mouth | cover), ``label``, ``source``,
``group``, ``kind``, ``source_path``, ``detection_confidence``, ``skin_tone`` (the face's ITA group,
:mod:`icaocheck.skin_tone`; empty where unmeasured or in manifests written before it), ``status`` (ok,
or why there is no crop: no_face, rejected, error) and ``reason``. Only ``ok`` rows are used.

The split is by ``group`` (duplicates and crops of one photo share a group) with
:func:`icaocheck.split.split_of`, the rule data collection and evaluation use too; test groups
are left out of both sides, so no training choice sees them. This module needs no torch.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from icaocheck.config import CropConfig
from icaocheck.skin_tone import UNMEASURED
from icaocheck.split import HELD_OUT_FRACTION, TEST_FRACTION, Split, split_of

MANIFEST_NAME = "manifest.csv"
SPLIT_RULE = (
    "icaocheck.split.split_of: p = int.from_bytes(sha1(group utf-8)[:8], 'big') / 2**64; "
    f"test iff p < {TEST_FRACTION} (left out of training), validation iff p < {HELD_OUT_FRACTION}, train otherwise"
)

# Data attribute → its labels: label 1 is the non-compliant class, the model's positive.
POSITIVE_LABEL = {"eyes": "closed", "mouth": "open", "cover": "covered"}
NEGATIVE_LABEL = {"eyes": "open", "mouth": "closed", "cover": "uncovered"}
# Eye patches and close-ups are single eyes already, resized rather than detected: crop kind "eye_patch".
CROP_KINDS = {"eyes": ("right_eye", "left_eye", "eye_patch"), "mouth": ("mouth",), "cover": ("face",)}
# Model file stem → data attribute: the face-covered model is called "veil" but learns from cover data.
MODEL_ATTRIBUTE = {"eyes": "eyes", "mouth": "mouth", "veil": "cover"}


def resolve_attribute(name: str) -> tuple[str, str]:
    """``(model name, data attribute)`` for a model name (eyes, mouth, veil) or data attribute (cover)."""
    if name in MODEL_ATTRIBUTE:
        return name, MODEL_ATTRIBUTE[name]
    for model, attribute in MODEL_ATTRIBUTE.items():
        if attribute == name:
            return model, attribute
    raise ValueError(f"unknown attribute {name!r}; expected one of {', '.join(MODEL_ATTRIBUTE)}")


def crop_size(attribute: str, crops: CropConfig | None = None) -> int:
    crops = crops or CropConfig()
    return {"eyes": crops.eye_size, "mouth": crops.mouth_size, "cover": crops.face_size}[attribute]


@dataclass
class CropSet:
    """Crops of one attribute with what they are: pixels (N, S, S) uint8 and one entry per crop."""

    attribute: str
    images: np.ndarray
    labels: np.ndarray  # uint8, 1 = non-compliant (POSITIVE_LABEL)
    groups: np.ndarray  # str
    sources: np.ndarray  # str
    crop_kinds: np.ndarray  # str
    skin_tones: np.ndarray  # str, ITA group of the face the crop was cut from; UNMEASURED if none
    skipped: dict[str, int] = field(default_factory=dict)  # why manifest rows were not used → count

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: np.ndarray) -> CropSet:
        """The crops selected by a boolean mask or an index array."""
        return CropSet(
            self.attribute,
            self.images[index],
            self.labels[index],
            self.groups[index],
            self.sources[index],
            self.crop_kinds[index],
            self.skin_tones[index],
            dict(self.skipped),
        )

    def without_sources(self, sources: Collection[str]) -> CropSet:
        """The crops of every source but ``sources``, less any crop that shares a group with theirs.

        Groups cross sources where two sources hold the same photos (CEW's eye patches are cut from
        CEW's closed faces; Helen's mouth labels and 300-W's landmarks label the same Helen photos):
        keeping those crops would show the model the left-out source's faces. Each source must be one
        of the crops' sources: a misspelt one would otherwise leave the data unchanged.
        """
        present = set(self.sources.tolist())
        unknown = sorted(set(sources) - present)
        if unknown:
            raise ValueError(f"expected sources among {', '.join(sorted(present))}, got {', '.join(unknown)}")
        left_out = np.isin(self.sources, sorted(sources))
        return self.subset(~(left_out | np.isin(self.groups, np.unique(self.groups[left_out]))))

    def split(self) -> tuple[CropSet, CropSet]:
        """``(train, validation)`` by :func:`split_of`; crops of test groups are in neither."""
        sides = np.array([split_of(str(g)) for g in self.groups], dtype=object)
        return self.subset(sides == Split.TRAIN), self.subset(sides == Split.VALIDATION)

    def label_names(self) -> np.ndarray:
        return np.where(self.labels == 1, POSITIVE_LABEL[self.attribute], NEGATIVE_LABEL[self.attribute])

    def counts(self) -> dict[str, dict[str, int]]:
        """Crops per source and label: ``{source: {label: count}}``, sorted."""
        table: dict[str, dict[str, int]] = {}
        for (source, label), count in sorted(Counter(zip(self.sources, self.label_names(), strict=True)).items()):
            table.setdefault(str(source), {})[str(label)] = count
        return table

    def save_npz(self, path: Path) -> None:
        """Pack into one compressed ``.npz`` file (no pickles), e.g. to move the data to a GPU machine."""
        if path.suffix != ".npz":
            # numpy would append ".npz" itself, and the file would not be where the caller looks.
            raise ValueError(f"{path}: a packed crop file must end in .npz")
        np.savez_compressed(
            path,
            attribute=np.array(self.attribute),
            images=self.images,
            labels=self.labels,
            groups=self.groups.astype(str),
            sources=self.sources.astype(str),
            crop_kinds=self.crop_kinds.astype(str),
            skin_tones=self.skin_tones.astype(str),
            skipped=np.array(json.dumps(self.skipped)),
        )

    @classmethod
    def load_npz(cls, path: Path) -> CropSet:
        with np.load(path, allow_pickle=False) as packed:
            return cls(
                str(packed["attribute"]),
                packed["images"],
                packed["labels"],
                packed["groups"],
                packed["sources"],
                packed["crop_kinds"],
                # Files packed before the column existed: every tone unmeasured.
                packed["skin_tones"] if "skin_tones" in packed else np.full(len(packed["labels"]), UNMEASURED),
                json.loads(str(packed["skipped"])),
            )


def format_counts(table: dict[str, dict[str, int]]) -> str:
    """A plain-text table of :meth:`CropSet.counts`, for logs."""
    labels = sorted({label for row in table.values() for label in row})
    width = max([len(s) for s in table] + [6])
    lines = [f"{'source':<{width}}  " + "  ".join(f"{label:>9}" for label in labels)]
    for source, row in table.items():
        lines.append(f"{source:<{width}}  " + "  ".join(f"{row.get(label, 0):>9}" for label in labels))
    return "\n".join(lines)


def load_crops(data_dir: Path, attribute: str, crops: CropConfig | None = None) -> CropSet:
    """The usable crops of ``attribute`` (eyes | mouth | cover) listed in ``data_dir/manifest.csv``.

    Rows of other attributes are ignored; rows that are not ``ok``, have a label other than the
    attribute's two classes (``ambiguous``) or the wrong crop kind are counted in ``skipped``.
    A listed crop that is missing or not of the expected size raises ``ValueError``.
    """
    size = crop_size(attribute, crops)
    classes = {NEGATIVE_LABEL[attribute]: 0, POSITIVE_LABEL[attribute]: 1}
    images: list[np.ndarray] = []
    rows: list[tuple[int, str, str, str]] = []
    skipped: Counter[str] = Counter()
    for row in _usable_rows(data_dir, attribute, skipped):
        path = data_dir / row["crop_path"]
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise ValueError(f"crop {path} listed in the manifest cannot be read")
        if image.shape != (size, size):
            raise ValueError(f"crop {path} is {image.shape[1]}x{image.shape[0]}, expected {size}x{size}")
        images.append(image)
        rows.append(
            (classes[row["label"]], row["group"], row["source"], row["crop_kind"], row.get("skin_tone", UNMEASURED))
        )
    if not rows:
        raise ValueError(f"{data_dir / MANIFEST_NAME} lists no usable {attribute} crops")
    labels, groups, sources, kinds, tones = zip(*rows, strict=True)
    return CropSet(
        attribute,
        np.stack(images),
        np.array(labels, dtype=np.uint8),
        np.array(groups, dtype=str),
        np.array(sources, dtype=str),
        np.array(kinds, dtype=str),
        np.array(tones, dtype=str),
        dict(sorted(skipped.items())),
    )


def _usable_rows(data_dir: Path, attribute: str, skipped: Counter[str]) -> Iterator[dict[str, str]]:
    """The manifest rows :func:`load_crops` uses, in order; each other row of ``attribute`` counted in ``skipped``."""
    classes = (NEGATIVE_LABEL[attribute], POSITIVE_LABEL[attribute])
    with (data_dir / MANIFEST_NAME).open(newline="") as stream:
        for row in csv.DictReader(stream):
            if row["attribute"] != attribute:
                continue
            if row["status"] != "ok":
                skipped[f"status {row['status']}"] += 1
            elif row["label"] not in classes:
                skipped[f"label {row['label']}"] += 1
            elif row["crop_kind"] not in CROP_KINDS[attribute]:
                skipped[f"crop kind {row['crop_kind']}"] += 1
            else:
                yield row


def load_data(
    paths: Path | Sequence[Path],
    attribute: str,
    crops: CropConfig | None = None,
    exclude_sources: Collection[str] = (),
) -> CropSet:
    """Crops of ``attribute`` from crops folders (``manifest.csv``) or :meth:`CropSet.save_npz` files, merged,
    less those of ``exclude_sources`` (:meth:`CropSet.without_sources`)."""
    merged = _merged_data(paths, attribute, crops)
    return merged.without_sources(exclude_sources) if exclude_sources else merged


def _merged_data(paths: Path | Sequence[Path], attribute: str, crops: CropConfig | None) -> CropSet:
    parts = []
    for path in [paths] if isinstance(paths, Path) else paths:
        if path.is_dir():
            parts.append(load_crops(path, attribute, crops))
            continue
        packed = CropSet.load_npz(path)
        if packed.attribute != attribute:
            raise ValueError(f"{path} holds {packed.attribute} crops, not {attribute}")
        parts.append(packed)
    if len(parts) == 1:
        return parts[0]
    skipped: Counter[str] = Counter()
    for part in parts:
        skipped.update(part.skipped)
    return CropSet(
        attribute,
        np.concatenate([p.images for p in parts]),
        np.concatenate([p.labels for p in parts]),
        np.concatenate([p.groups for p in parts]),
        np.concatenate([p.sources for p in parts]),
        np.concatenate([p.crop_kinds for p in parts]),
        np.concatenate([p.skin_tones for p in parts]),
        dict(sorted(skipped.items())),
    )


def sample_weights(labels: np.ndarray, sources: np.ndarray, source_balance: float = 0.5) -> np.ndarray:
    """Sampling probabilities (sum 1) that give each class half the draws and even out sources within a class.

    Within a class, source s gets a share proportional to ``n_s ** (1 - source_balance)``:
    0 keeps the sources' natural proportions, 1 gives every source the same share. Full
    balance would repeat a source of a dozen crops as often as one of thousands (and overfit
    to it), so the default takes the square root, a compromise.
    """
    if not 0.0 <= source_balance <= 1.0:
        raise ValueError("source_balance must lie in [0, 1]")
    weights = np.zeros(len(labels), dtype=np.float64)
    present = np.unique(labels)
    for label in present:
        in_class = labels == label
        _, inverse, counts = np.unique(sources[in_class], return_inverse=True, return_counts=True)
        shares = counts.astype(np.float64) ** (1.0 - source_balance)
        shares /= shares.sum()
        weights[in_class] = shares[inverse] / counts[inverse] / len(present)
    return weights


def tone_balanced_weights(
    weights: np.ndarray, labels: np.ndarray, tone_groups: np.ndarray, label: int = 0
) -> np.ndarray:
    """``weights`` (e.g. :func:`sample_weights`) with the draws of class ``label`` shared evenly by skin-tone group.

    Off unless called. For the cover model's uncovered faces (label 0): false alarms concentrate on
    dark skin in dim light (issue 8), a group the sources hold few of. Each known group gets the same
    share of the class's draws, split within the group as ``weights`` split it (so source balance
    holds inside a group); crops of :data:`UNMEASURED` keep their share; other classes are unchanged.
    """
    lengths = (len(weights), len(labels), len(tone_groups))
    if len(set(lengths)) != 1:
        raise ValueError(f"expected weights, labels and tone groups of one length, got lengths {lengths}")
    balanced = weights.astype(np.float64)
    known = (labels == label) & (tone_groups != UNMEASURED)
    names = np.unique(tone_groups[known])
    share = weights[known].sum() / max(len(names), 1)
    for name in names:
        members = known & (tone_groups == name)
        balanced[members] = weights[members] / weights[members].sum() * share
    return balanced
