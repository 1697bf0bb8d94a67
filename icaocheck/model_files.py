"""Where model files live, and one way to open them with onnxruntime."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import tempfile
from functools import cache
from pathlib import Path

import onnxruntime as ort

_PACKAGE_DIR = Path(__file__).resolve().parent


class ModelFileError(RuntimeError):
    """A model file is missing or does not match its manifest entry."""


def models_dir() -> Path:
    """The folder holding icaocheck's models.

    A wheel carries them inside the package (``icaocheck/_models``); a source checkout or
    editable install keeps them in the repository's ``models/``.
    """
    return installed_models_dir() or _PACKAGE_DIR.parent / "models"


def installed_models_dir() -> Path | None:
    """The models inside an installed wheel (``icaocheck/_models``); None when running from a checkout."""
    packaged = _PACKAGE_DIR / "_models"
    return packaged if packaged.is_dir() else None


def checkout_models_dir() -> Path | None:
    """The repository's ``models/`` when icaocheck runs from a source checkout (or editable install), else None."""
    repository = _PACKAGE_DIR.parent
    if installed_models_dir() is None and (repository / "pyproject.toml").is_file():
        return repository / "models"
    return None


def examples_dir() -> Path:
    """The bundled example photos (inside the wheel, or the repository's ``examples/photos``)."""
    packaged = _PACKAGE_DIR / "_examples"
    return packaged if packaged.is_dir() else _PACKAGE_DIR.parent / "examples" / "photos"


def dlib_landmarks_path() -> Path:
    """dlib's 68-point shape predictor, shipped by the ``face-recognition-models`` package.

    The package is located on disk rather than imported because its ``__init__`` needs
    ``pkg_resources``, which recent setuptools no longer provides.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError("package face-recognition-models is not installed; pip install face-recognition-models")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / "shape_predictor_68_face_landmarks.dat"
    if not path.is_file():
        raise ModelFileError(f"expected dlib's 68-point model at {path}, found nothing")
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_text_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` whole or not at all: a crash or a full disk leaves the old file, never half.

    The text goes to a temporary file in ``path``'s folder (``os.replace`` is atomic within one file
    system only), which then takes ``path``'s name and, when ``path`` existed, its permissions.
    """
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())  # the new name must not point at data still only in memory
        # mkstemp makes the file private (0600): keep the permissions the file had, or the usual 0644.
        os.chmod(temporary, path.stat().st_mode & 0o7777 if path.exists() else 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _manifest(directory: Path) -> dict[str, dict]:
    manifest = directory / "manifest.json"
    if not manifest.is_file():
        return {}
    # Keyed on the file's modification time: a worker that reloads retrained models must see their new hashes.
    return _read_manifest(manifest, manifest.stat().st_mtime_ns)


@cache
def _read_manifest(manifest: Path, modified_ns: int) -> dict[str, dict]:
    return json.loads(manifest.read_text())["files"]


def manifest_hashes(directory: Path | None = None) -> dict[str, str]:
    """Model file → sha256 as listed in ``directory/manifest.json`` (default :func:`models_dir`)."""
    return {name: entry["sha256"] for name, entry in _manifest(directory or models_dir()).items() if "sha256" in entry}


def update_manifest(directory: Path, entries: dict[str, dict[str, str]]) -> None:
    """Merge ``entries`` (file name → sha256, licence, source) into ``directory/manifest.json``, keeping the rest."""
    manifest_path = directory / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else {}
    files = manifest.setdefault("files", {})
    for name, entry in entries.items():
        files[name] = {**files.get(name, {}), **entry}
    manifest["files"] = dict(sorted(files.items()))
    write_text_atomic(manifest_path, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


def model_path(name: str, directory: Path | None = None) -> Path:
    """Path of model file ``name`` in ``directory`` (default :func:`models_dir`), checked against the manifest.

    Raises :class:`ModelFileError` if the file is missing or its sha256 differs from ``manifest.json``.
    """
    directory = directory or models_dir()
    path = directory / name
    if not path.is_file():
        raise ModelFileError(f"model file {path} is missing")
    expected = _manifest(directory).get(name, {}).get("sha256")
    if expected is not None and sha256_of(path) != expected:
        raise ModelFileError(f"model file {path} does not match its sha256 in {directory / 'manifest.json'}")
    return path


def onnx_session(path: Path, threads: int = 1) -> ort.InferenceSession:
    """An onnxruntime CPU session with deliberate thread settings.

    One intra-op thread by default: icaocheck parallelises across photos with worker
    processes, and sessions that each spawn a thread pool would fight over the cores.
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
