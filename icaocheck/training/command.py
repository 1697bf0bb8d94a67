"""``python -m icaocheck.training``: train or pack crops without the main CLI (e.g. on a GPU machine)."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from icaocheck.training.augment import Augmentation
from icaocheck.training.data import MODEL_ATTRIBUTE, load_crops, resolve_attribute


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m icaocheck.training")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train one attribute model and export it with its card")
    train.add_argument("model", choices=sorted(MODEL_ATTRIBUTE))
    train.add_argument("--data", type=Path, required=True, help="crops folder (manifest.csv) or packed .npz")
    train.add_argument("--out", type=Path, default=Path("models"))
    train.add_argument("--epochs", type=int, default=30)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--batch-size", type=int, default=64)
    train.add_argument("--threads", type=int, default=2)
    train.add_argument("--workers", type=int, default=0)
    train.add_argument("--device", default="auto")
    train.add_argument("--lr", type=float, default=3e-3)
    train.add_argument("--source-balance", type=float, default=0.5)
    train.add_argument(
        "--tone-balance", action="store_true", help="share the negative class's draws evenly by skin-tone group"
    )
    train.add_argument(
        "--input-norm", action="store_true", help="standardise each crop (its mean and spread) inside the network"
    )
    train.add_argument(
        "--exclude-source", action="append", default=[], help="leave this source's crops out (repeatable)"
    )
    train.add_argument(
        "--augmentation",
        choices=[preset.value for preset in Augmentation],
        default=Augmentation.DEFAULT.value,
        help=Augmentation.described(),
    )
    train.add_argument("--run-dir", type=Path, default=None, help="also keep the checkpoint and history here")

    pack = commands.add_parser("pack", help="pack one attribute's crops into a compressed .npz")
    pack.add_argument("model", choices=sorted(MODEL_ATTRIBUTE))
    pack.add_argument("--data", type=Path, required=True, help="crops folder with manifest.csv")
    pack.add_argument("--out", type=Path, required=True, help="the .npz file to write")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "pack":
        crops = load_crops(args.data, resolve_attribute(args.model)[1])
        crops.save_npz(args.out)
        print(f"packed {len(crops)} crops into {args.out}")
        return 0
    # Imported here so that packing works without torch.
    from icaocheck.training.train import train_attribute

    command_line = shlex.join(["python", "-m", "icaocheck.training", *(sys.argv[1:] if argv is None else argv)])
    train_attribute(
        args.model,
        args.data,
        args.out,
        args.epochs,
        args.seed,
        batch_size=args.batch_size,
        threads=args.threads,
        workers=args.workers,
        device=args.device,
        learning_rate=args.lr,
        source_balance=args.source_balance,
        tone_balance=args.tone_balance,
        input_norm=args.input_norm,
        exclude_sources=args.exclude_source,
        augmentation=Augmentation(args.augmentation).config(),
        run_dir=args.run_dir,
        command_line=command_line,
    )
    return 0
