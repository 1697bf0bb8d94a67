"""Quantised copies of the attention face mesh: their speed on one CPU thread and how far their points move.

    python benchmarks/mesh_quantisation.py ../shared/data/labels.csv work/mesh_q

Crops are made as the pipeline makes them (MTCNN's largest face, ``FaceMeshPredictor.roi_mapping.roi``,
``crop_for_mesh``): ``--calibration`` photos of TRAIN groups calibrate the static variants, ``--evaluation`` photos
of validation and test groups (disjoint groups) are timed and compared; photos are drawn round-robin across sources.
The crops are cached in OUT/crops.npz (uint8, as ``crop_for_mesh`` samples them), the variants written to OUT.

Variants (only the convolutions are quantised: MediaPipe's custom ops, rewritten as GridSample and friends,
and the attention's matrix products stay fp32):

- ``qdq``: static, QDQ, int8 weights per output channel, uint8 activations, MinMax calibration;
- ``qoperator``: the same quantisation written as QLinearConv (QOperator format);
- ``qdq_full``: as ``qdq``, and also the backbone's PReLUs (MediaPipe's ``a*x + (1-a)*relu(x)``: Mul, Relu, Mul,
  Add), residual adds, max pools and concatenations on feature maps, so fewer tensors go back and forth between
  uint8 and fp32; the landmark geometry (Mul and Add on coordinates, not feature maps) stays fp32;
- ``dynamic``: weights int8 per channel, activations quantised at run time (ConvInteger).

Every variant and fp32 run one after the other on the same crop (order rotated per crop), one intra-op and one
inter-op thread, over ``--rounds`` passes; the table gives each variant's median ms per call and the median of its
per-crop time ratio to fp32. Points are compared with fp32's in crop pixels, as a fraction of the crop side; the
mesh-geometry features (``icaocheck.checks.mesh_geometry``) as absolute changes, next to the feature's own
spread over the evaluation crops and the change of the fused logit that the shipped cards give it (feature
weight times the change).

No fp16 variant: onnxruntime's CPU provider has no fp16 convolution on x86 (its CastFloat16Transformer wraps an
fp16 Conv in casts to and from an fp32 one), so fp16 can only add time there.

Decision rule, fixed before the first measurement: a variant is worth proposing when its median time is at most
0.75 of fp32's (per-crop ratio), the 95th percentile of every feature's absolute change is at most a tenth of that
feature's standard deviation over the evaluation crops, and no crop's presence crosses 0.5.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
from onnx import shape_inference
from onnxruntime.quantization import (
    CalibrationDataReader,
    QuantFormat,
    QuantType,
    quant_pre_process,
    quantize_dynamic,
    quantize_static,
)

from icaocheck.checks.mesh_geometry import inner_lip_gap, left_eye_opening, right_eye_opening
from icaocheck.detect import FaceDetector
from icaocheck.mesh import MESH_FILE, FaceMesh, FaceMeshPredictor, MeshRoi, crop_for_mesh
from icaocheck.model_files import models_dir
from icaocheck.split import Split, split_of

PHOTO_KINDS = ("face", "frame")  # whole photos of a face; eye patches and ROI crops are no mesh input
FEATURES: dict[str, Callable[[FaceMesh], float]] = {
    "right_eye_opening": right_eye_opening,
    "left_eye_opening": left_eye_opening,
    "inner_lip_gap": inner_lip_gap,
}
# The feature's weight in the shipped card's fusion (eyes.json fuses each eye with -7.07, mouth.json the lip
# gap with 24.5): a change of the feature moves the fused logit by weight × change.
CARD_FEATURES = {
    "right_eye_opening": ("eyes.json", 0),
    "left_eye_opening": ("eyes.json", 1),
    "inner_lip_gap": ("mouth.json", 0),
}
# Any ROI of the crop's own size: the features are ratios, unchanged by the crop-to-photo similarity.
_CROP_ROI = MeshRoi(96.0, 96.0, 192.0, 0.0)


def sample_photos(labels: Path, splits: set[Split], seed: int) -> list[Path]:
    """Photos of ``splits``' groups, shuffled within each source and interleaved source by source."""
    by_source: dict[str, list[Path]] = defaultdict(list)
    seen: set[str] = set()
    with labels.open(newline="") as stream:
        for row in csv.DictReader(stream):
            if row["kind"] in PHOTO_KINDS and row["path"] not in seen and split_of(row["group"]) in splits:
                seen.add(row["path"])
                by_source[row["source"]].append(labels.parent / row["path"])
    rng = random.Random(seed)
    queues = []
    for source in sorted(by_source):
        rng.shuffle(by_source[source])
        queues.append(by_source[source])
    return [queue[i] for i in range(max(map(len, queues))) for queue in queues if i < len(queue)]


def make_crops(photos: list[Path], count: int, detector: FaceDetector, predictor: FaceMeshPredictor) -> np.ndarray:
    """The first ``count`` photos' mesh crops where MTCNN finds a face, as uint8 RGB (n, 192, 192, 3)."""
    crops = []
    for path in photos:
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        faces = detector.detect(bgr) if bgr is not None else []
        if faces:
            crop = crop_for_mesh(bgr, predictor.roi_mapping.roi(faces[0]))[0]
            crops.append(np.rint(crop * 255).astype(np.uint8))
        if len(crops) == count:
            break
    return np.stack(crops)


def cached_crops(labels: Path, out: Path, calibration: int, evaluation: int, seed: int) -> dict[str, np.ndarray]:
    cache = out / "crops.npz"
    if cache.is_file():
        with np.load(cache) as stored:
            crops = {name: stored[name] for name in stored.files}
        if len(crops["calibration"]) == calibration and len(crops["evaluation"]) == evaluation:
            return crops
    detector, predictor = FaceDetector(), FaceMeshPredictor()
    crops = {
        "calibration": make_crops(sample_photos(labels, {Split.TRAIN}, seed), calibration, detector, predictor),
        "evaluation": make_crops(
            sample_photos(labels, {Split.VALIDATION, Split.TEST}, seed), evaluation, detector, predictor
        ),
    }
    np.savez(cache, **crops)
    return crops


def as_input(crop: np.ndarray) -> np.ndarray:
    """A cached uint8 crop as the mesh's input, exactly as ``crop_for_mesh`` scales it."""
    return (crop.astype(np.float32) * np.float32(1 / 255))[None]


class CropReader(CalibrationDataReader):
    def __init__(self, crops: np.ndarray) -> None:
        self._crops = iter(crops)

    def get_next(self) -> dict[str, np.ndarray] | None:
        crop = next(self._crops, None)
        return None if crop is None else {"input_1": as_input(crop)}


def feature_map_nodes(model: Path) -> list[str]:
    """Convolutions, Relus and max pools, and the Mul, Add and Concat nodes whose output is a feature map."""
    graph = shape_inference.infer_shapes(onnx.load(str(model))).graph
    shapes = {value.name: [d.dim_value for d in value.type.tensor_type.shape.dim] for value in graph.value_info}
    names = []
    for node in graph.node:
        shape = shapes.get(node.output[0], [])
        feature_map = len(shape) == 4 and shape[2] > 1 and shape[3] > 1
        if node.op_type in ("Conv", "Relu", "MaxPool") or (node.op_type in ("Mul", "Add", "Concat") and feature_map):
            names.append(node.name)
    return names


def build_variants(fp32: Path, out: Path, calibration: np.ndarray) -> tuple[dict[str, Path], dict[str, str]]:
    """The quantised variants written to ``out`` (reused when present), and why any could not be made."""
    prepared = out / "prepared.onnx"
    if not prepared.is_file():
        # Shapes inferred and constants folded first, as onnxruntime advises before static quantisation.
        quant_pre_process(fp32, prepared)

    def static(quant_format: QuantFormat, **which: object) -> Callable[[Path], None]:
        """Static int8 (u8 activations, s8 per-channel weights) of the nodes ``which`` names."""
        return lambda path: quantize_static(
            prepared,
            path,
            CropReader(calibration),
            quant_format=quant_format,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            **which,
        )

    builders: dict[str, Callable[[Path], None]] = {
        "qdq": static(QuantFormat.QDQ, op_types_to_quantize=["Conv"]),
        "qoperator": static(QuantFormat.QOperator, op_types_to_quantize=["Conv"]),
        "qdq_full": static(QuantFormat.QDQ, nodes_to_quantize=feature_map_nodes(prepared)),
        "dynamic": lambda path: quantize_dynamic(
            prepared, path, op_types_to_quantize=["Conv"], per_channel=True, weight_type=QuantType.QInt8
        ),
    }
    variants, failures = {}, {}
    for name, build in builders.items():
        path = out / f"face_mesh_attention_{name}.onnx"
        try:
            if not path.is_file():
                build(path)
            session(path)  # a variant onnxruntime cannot load counts as failed, not as slow
            variants[name] = path
        except Exception as error:
            failures[name] = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
            path.unlink(missing_ok=True)
    return variants, failures


def session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


def run_interleaved(
    models: dict[str, Path], crops: np.ndarray, rounds: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per model: ms of every call (rounds × crops), and the first round's points (n, 478, 2) and presence logits."""
    sessions = {name: session(path) for name, path in models.items()}
    names = list(sessions)
    times = {name: np.zeros((rounds, len(crops))) for name in names}
    points = {name: np.zeros((len(crops), 478, 2), np.float32) for name in names}
    logits = {name: np.zeros(len(crops)) for name in names}
    for name in names:  # one warm-up call each, so no model pays for its first allocation in the timings
        sessions[name].run(None, {"input_1": as_input(crops[0])})
    for r in range(rounds):
        for i, crop in enumerate(crops):
            batch = as_input(crop)
            shift = (r * len(crops) + i) % len(names)
            for name in names[shift:] + names[:shift]:
                clock = time.perf_counter()
                landmarks, flag = sessions[name].run(None, {"input_1": batch})
                times[name][r, i] = (time.perf_counter() - clock) * 1e3
                if r == 0:
                    points[name][i] = landmarks.reshape(478, 2)
                    logits[name][i] = float(flag.item())
    return times, points, logits


def feature_values(points: np.ndarray) -> dict[str, np.ndarray]:
    meshes = [FaceMesh(p, 0.5, _CROP_ROI) for p in points]
    return {name: np.array([feature(m) for m in meshes]) for name, feature in FEATURES.items()}


def card_weights(models: Path) -> dict[str, float]:
    weights = {}
    for feature, (card, _) in CARD_FEATURES.items():
        fusion = json.loads((models / card).read_text()).get("fusion")
        weights[feature] = abs(fusion["feature_weight"]) if fusion else float("nan")
    return weights


def report(times: dict[str, np.ndarray], points: dict[str, np.ndarray], logits: dict[str, np.ndarray]) -> None:
    side = 192.0
    reference = feature_values(points["fp32"])
    presence = {name: 1 / (1 + np.exp(-np.clip(v, -60, 60))) for name, v in logits.items()}
    weights = card_weights(models_dir())
    print(f"\n{times['fp32'].size} calls per model, one thread (ms per call)")
    print(f"{'model':>10} {'median ms':>9} {'ratio':>6}  point error / crop side: median   p95      max")
    for name in times:
        ratio = np.median(times[name] / times["fp32"])
        error = np.linalg.norm(points[name] - points["fp32"], axis=2) / side
        print(
            f"{name:>10} {np.median(times[name]):9.3f} {ratio:6.3f}  "
            f"{' ' * 24}{np.median(error):.2e} {np.percentile(error, 95):.2e} {error.max():.2e}"
        )
    print("\nfeatures: fp32 spread over the evaluation crops, then |variant - fp32| (median, p95, max)")
    for feature, values in reference.items():
        q25, q75 = np.percentile(values, [25, 75])
        print(
            f"  {feature}: fp32 median {np.median(values):.4f}, std {np.std(values):.4f}, IQR {q75 - q25:.4f};"
            f" card weight |w| {weights[feature]:.2f}"
        )
    print(f"{'model':>10} {'feature':>18} {'median':>9} {'p95':>9} {'max':>9} {'p95/std':>8} {'p95 |w|d':>9}")
    verdicts = {}
    for name in times:
        if name == "fp32":
            continue
        values = feature_values(points[name])
        within = True
        for feature, reference_values in reference.items():
            change = np.abs(values[feature] - reference_values)
            p95 = np.percentile(change, 95)
            share = p95 / np.std(reference_values)
            within &= bool(share <= 0.1)
            print(
                f"{name:>10} {feature:>18} {np.median(change):9.2e} {p95:9.2e} {change.max():9.2e} {share:8.3f}"
                f" {p95 * weights[feature]:9.4f}"
            )
        flips = int(np.sum((presence[name] >= 0.5) != (presence["fp32"] >= 0.5)))
        shift = np.abs(presence[name] - presence["fp32"])
        print(
            f"{name:>10} {'presence':>18} {np.median(shift):9.2e} {np.percentile(shift, 95):9.2e} {shift.max():9.2e}"
            f"   crossings of 0.5: {flips}"
        )
        fast = np.median(times[name] / times["fp32"]) <= 0.75
        verdicts[name] = f"{'faster' if fast else 'not 25 % faster'}, {'accurate' if within else 'features move'}"
        verdicts[name] += "" if flips == 0 else f", presence crosses 0.5 on {flips}"
    print("\nrule (time <= 0.75 of fp32, every feature's p95 change <= 0.1 std, no presence crossing):")
    for name, verdict in verdicts.items():
        print(f"  {name}: {verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("labels", type=Path, help="labels.csv of ../shared/data (paths, sources, groups)")
    parser.add_argument("out", type=Path, help="work folder for the crop cache and the variants (git-ignored)")
    parser.add_argument("--calibration", type=int, default=200, help="train-group crops that calibrate")
    parser.add_argument("--evaluation", type=int, default=300, help="validation/test-group crops timed and compared")
    parser.add_argument("--rounds", type=int, default=2, help="timed passes over the evaluation crops")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()

    args.out.mkdir(parents=True, exist_ok=True)
    crops = cached_crops(args.labels, args.out, args.calibration, args.evaluation, args.seed)
    print(f"crops: {len(crops['calibration'])} calibration (train), {len(crops['evaluation'])} evaluation")
    variants, failures = build_variants(models_dir() / MESH_FILE, args.out, crops["calibration"])
    for name, why in failures.items():
        print(f"variant {name} failed: {why}")
    times, points, logits = run_interleaved(
        {"fp32": models_dir() / MESH_FILE, **variants}, crops["evaluation"], args.rounds
    )
    report(times, points, logits)
    return 0


if __name__ == "__main__":
    sys.exit(main())
