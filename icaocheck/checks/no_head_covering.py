"""No head covering: how much of the forehead shows skin, the forehead read from the person mask's head outline.

The selfie segmentation (:attr:`PhotoEvidence.person_mask`) outlines the head with whatever is worn on it.
Above each column between the brows' outer ends, the head reaches from the brow line up to the mask's top
(the crown, or the top of a hat). The lower :data:`FOREHEAD_SHARE` of that height, from a tenth of an eye
distance above the brows, is the forehead of an uncovered head: skin up to the hairline. A hat, cap,
headscarf, hood or niqab puts fabric there, and a tall hat raises the top so that the band reaches into it.
The raw value is the share of the band's pixels whose colour is the skin's around the eyes (YCrCb chroma
within a tolerance, luma within a range for shading): skin that a niqab's eye slit, a mask or a scarf leave
bare. A heuristic, not a model: a fringe of hair over the forehead reads as covered, a cap worn high as
uncovered, and a scarf of skin colour or a translucent veil is missed (measured in docs/checks.md).
"""

from __future__ import annotations

import cv2
import numpy as np

from icaocheck.checks.registry import Check, Limit, clamp_scalar, register
from icaocheck.evidence import PhotoEvidence

# The forehead: this share of the head's height above the brows, starting BROW_CLEARANCE_IED above them.
FOREHEAD_SHARE = 0.4
BROW_CLEARANCE_IED = 0.1
# Photos cut closer above the eyes than this (margin_above's default, the hairline) hide the head's top, and the
# crop around the head is mostly repeated border pixels, which the segmentation does not read as a person.
MIN_ROOM_ABOVE_EYES_IED = 1.0
PERSON = 0.5  # the mask's probability from which a pixel is the person's
# A column whose brow point is off the person mask counts this many eye distances of forehead, none of it
# skin (the lower 40 % of the 1.2-1.7 eye distances from brows to crown on the bare portraits).
UNSEEN_FOREHEAD_IED = 0.6
# Skin chroma: within this many median absolute deviations of the reference skin's Cr and Cb, and at least this
# many levels (a flat patch of skin has almost no spread).
CHROMA_MADS = 3.0
MIN_CHROMA_TOLERANCE = 6.0
# Skin luma: from this share of the reference skin's median (a shaded brow ridge) to this multiple plus 40
# (highlights).
LUMA_RANGE = (0.6, 1.5)


@register
class NoHeadCovering(Check):
    name = "no_head_covering"
    unit = "share"
    needs = frozenset({"pixels", "landmarks", "segmentation"})
    what = "the forehead's share of skin"
    limit = Limit(
        0.085,
        "at_least",
        "measured (benchmarks/head_covering.py): the balanced error's minimum on train groups, bare web faces"
        " against synthetic niqabs",
    )
    ofiq = "NoHeadCoverings"
    order = 450  # after the columns of the checks before it, which keep their places in the CSV
    details = ("head_height",)
    # The segmentation alone costs more than issue 10's 2 ms for all new measures, and fringes fail like hats:
    # on by profile only (docs/checks.md).
    enabled_by_default = False

    def measure(self, evidence: PhotoEvidence) -> tuple[float, dict[str, float]]:
        right, left = evidence.eye_centres
        if (right[1] + left[1]) / 2 + 0.5 < MIN_ROOM_ABOVE_EYES_IED * evidence.ied:
            raise ValueError("the photo is cut too close above the eyes to show the head")
        mask = evidence.person_mask
        if float(np.ptp(mask.image.astype(np.int16)[:, :, 2] - mask.image[:, :, 0])) < 2:
            raise ValueError("a gray photo has no colour to tell skin from a covering")
        points = mask.to_mask(evidence.points)
        ied = evidence.ied * mask.scale
        person = mask.probability >= PERSON
        size = person.shape[0]
        brows = points[17:27]
        columns = np.arange(max(int(np.ceil(brows[:, 0].min())), 0), min(int(brows[:, 0].max()) + 1, size))
        if columns.size < 4:
            raise ValueError("the brows lie outside the head's crop")
        bottom = np.interp(columns, brows[:, 0], brows[:, 1]) - BROW_CLEARANCE_IED * ied
        row = np.round(bottom).astype(int)
        # A column whose brow point is off the person mask (a dark niqab on a dark backdrop, a bad mask) has no
        # head above it to read: it counts as a forehead of the usual height without skin.
        on_person = (row > 0) & (row < size)
        on_person[on_person] = person[row[on_person], columns[on_person]]
        # Each column's head top: where the run of person pixels up from the brow line ends.
        rows = np.arange(size)[:, None]
        beside = person[:, columns]
        top = np.where(~beside & (rows < row), rows, -1).max(axis=0) + 1
        upper = np.round(bottom - FOREHEAD_SHARE * (bottom - top)).astype(int)
        band = (rows >= upper) & (rows < row) & on_person
        unseen = int((~on_person).sum()) * round(UNSEEN_FOREHEAD_IED * ied)
        if not band.any() and not unseen:
            raise ValueError("the person mask shows no head above the brows")
        # Skin is looked for only where the band lies.
        first, last = int(upper[on_person].min(initial=size)), int(row[on_person].max(initial=0))
        ycrcb = cv2.cvtColor(mask.image, cv2.COLOR_BGR2YCrCb).astype(np.float32)
        reference = _reference_skin(ycrcb, points, ied)
        skin = 0
        if first < last:
            skin = int((_skin_like(ycrcb[first:last, columns], reference) & band[first:last]).sum())
        heights = np.where(on_person, bottom - top, 0.0)
        return skin / (int(band.sum()) + unseen), {"head_height": float(np.median(heights)) / ied}

    def scalar(self, raw: float) -> float:
        return clamp_scalar(100.0 * raw)


def _reference_skin(ycrcb: np.ndarray, points: np.ndarray, ied: float) -> np.ndarray:
    """The pixels (n, 3) of the reddest (highest median Cr) of the patches around the eyes that one cover or
    another leaves bare: between the brows (a niqab whose slit is low covers it), the nose bridge between the
    inner eye corners (sunglasses cover it) and under each eye (a mask may reach it). Skin is redder than the
    fabrics, glasses and shadows that may cover the others."""
    size = ycrcb.shape[0]
    inner = points[[39, 42]]
    x0, x1 = inner[:, 0].min(), inner[:, 0].max()
    x0, x1 = x0 + 0.2 * (x1 - x0), x1 - 0.2 * (x1 - x0)
    corners_y = inner[:, 1].mean()
    boxes = [
        (x0, points[[21, 22], 1].mean() + 0.05 * ied, x1, corners_y - 0.05 * ied),  # between the brows
        (x0, corners_y - 0.1 * ied, x1, corners_y + 0.15 * ied),  # the nose bridge
    ]
    for eye in (points[36:42], points[42:48]):
        y = eye[:, 1].mean()
        boxes.append((eye[:, 0].min(), y + 0.2 * ied, eye[:, 0].max(), y + 0.35 * ied))  # under the eye
    patches = []
    for left, top, right, bottom in boxes:
        patch = ycrcb[
            max(int(top), 0) : min(int(np.ceil(bottom)), size), max(int(left), 0) : min(int(np.ceil(right)), size)
        ]
        if patch.shape[0] * patch.shape[1] >= 8:
            patches.append(patch.reshape(-1, 3))
    if not patches:
        raise ValueError("no skin around the eyes within the head's crop to compare the forehead with")
    return max(patches, key=lambda patch: float(np.median(patch[:, 1])))


def _skin_like(ycrcb: np.ndarray, skin: np.ndarray) -> np.ndarray:
    """Where ``ycrcb``'s pixels have the reference skin's chroma and a skin-like luma (bool, same height and width)."""
    median = np.median(skin, axis=0)
    spread = np.median(np.abs(skin - median), axis=0)
    tolerance = np.maximum(CHROMA_MADS * spread[1:], MIN_CHROMA_TOLERANCE)
    chroma = np.all(np.abs(ycrcb[:, :, 1:] - median[1:]) <= tolerance, axis=2)
    luma = ycrcb[:, :, 0]
    return chroma & (luma >= LUMA_RANGE[0] * median[0]) & (luma <= LUMA_RANGE[1] * median[0] + 40.0)
