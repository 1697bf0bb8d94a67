"""Verification metrics of a binary classifier: DET curve, equal error rate, rates at a threshold, AUC.

numpy only, so the run-time evaluation command can use it without torch.

Convention (as at run time): a score is the probability of the *non-compliant* class, label 1
means non-compliant, and a sample is called non-compliant when ``score >= threshold``.
FPR is the share of compliant samples called non-compliant (false rejections of a good photo),
FNR the share of non-compliant samples called compliant (missed defects).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _as_arrays(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(labels).ravel().astype(bool)
    if scores.shape != labels.shape:
        raise ValueError(f"{scores.size} scores but {labels.size} labels")
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores must be finite")
    if labels.all() or not labels.any():
        raise ValueError("need at least one sample of each class")
    return scores, labels


def det_curve(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every distinct operating point: ``(thresholds, fpr, fnr)``, thresholds ascending.

    The thresholds are the distinct scores followed by ``inf`` (everything called compliant),
    so the curve runs from (FPR 1, FNR 0) to (FPR 0, FNR 1).
    """
    scores, labels = _as_arrays(scores, labels)
    thresholds, inverse = np.unique(scores, return_inverse=True)
    positives = np.bincount(inverse, weights=labels, minlength=thresholds.size)
    negatives = np.bincount(inverse, weights=~labels, minlength=thresholds.size)
    # Samples with score >= thresholds[i] are those in bins i.. : suffix sums, plus 0 for inf.
    pos_at_or_above = np.concatenate([np.cumsum(positives[::-1])[::-1], [0.0]])
    neg_at_or_above = np.concatenate([np.cumsum(negatives[::-1])[::-1], [0.0]])
    fpr = neg_at_or_above / negatives.sum()
    fnr = 1.0 - pos_at_or_above / positives.sum()
    return np.concatenate([thresholds, [np.inf]]), fpr, fnr


def eer(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Equal error rate and a threshold that achieves it: ``(eer, threshold)``.

    The EER is where the DET curve, linearly interpolated between its operating points,
    crosses FPR = FNR. The threshold is the midpoint between the two scores around the
    crossing (same decisions on these samples as the upper one, but a margin either side for
    unseen ones); :func:`rates_at` gives the rates it actually yields.
    """
    thresholds, fpr, fnr = det_curve(scores, labels)
    # fpr falls and fnr rises with the threshold; the first index where fpr <= fnr ends the
    # crossing segment. Index 0 (the lowest score) has fpr 1 and fnr 0, the last (inf) fpr 0
    # and fnr 1, so 1 <= i <= last.
    i = int(np.argmax(fpr <= fnr))
    above, below = fpr[i - 1] - fnr[i - 1], fpr[i] - fnr[i]
    alpha = above / (above - below)
    rate = float(fpr[i - 1] + alpha * (fpr[i] - fpr[i - 1]))
    if np.isfinite(thresholds[i]):
        threshold = float((thresholds[i - 1] + thresholds[i]) / 2.0)
    else:
        # Only when the crossing lies beyond the highest score: call everything compliant.
        threshold = float(np.nextafter(thresholds[i - 1], np.inf))
    return rate, threshold


def rates_at(scores: np.ndarray, labels: np.ndarray, threshold: float) -> tuple[float, float]:
    """``(fpr, fnr)`` when samples with ``score >= threshold`` are called non-compliant."""
    scores, labels = _as_arrays(scores, labels)
    called = scores >= threshold
    return float(called[~labels].mean()), float((~called[labels]).mean())


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve: the chance a random positive outscores a random negative (ties count ½).

    Computed as the Mann-Whitney U statistic from mid-ranks.
    """
    scores, labels = _as_arrays(scores, labels)
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    # Mid-rank of each distinct score (1-based), so tied scores share their average rank.
    mid_ranks = np.cumsum(counts) - (counts - 1) / 2.0
    ranks = mid_ranks[inverse]
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


@dataclass(frozen=True)
class Summary:
    """The numbers a model card reports for one evaluation set."""

    eer: float
    threshold: float
    fpr: float  # at ``threshold``
    fnr: float  # at ``threshold``
    auc: float
    positives: int
    negatives: int

    def as_dict(self) -> dict[str, float | int]:
        return {
            "eer": round(self.eer, 6),
            "threshold": round(self.threshold, 6),
            "fpr_at_threshold": round(self.fpr, 6),
            "fnr_at_threshold": round(self.fnr, 6),
            "auc": round(self.auc, 6),
            "positives": self.positives,
            "negatives": self.negatives,
        }


def summarise(scores: np.ndarray, labels: np.ndarray, threshold: float | None = None) -> Summary:
    """EER, AUC and the rates at ``threshold`` (default: the EER threshold of these scores)."""
    rate, eer_threshold = eer(scores, labels)
    threshold = eer_threshold if threshold is None else threshold
    fpr, fnr = rates_at(scores, labels, threshold)
    positives = int(np.asarray(labels).astype(bool).sum())
    return Summary(rate, threshold, fpr, fnr, auc(scores, labels), positives, np.asarray(labels).size - positives)
