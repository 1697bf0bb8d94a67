"""The ``icaocheck`` command: parse arguments, call the library, print, choose the exit code.

Heavy modules (onnxruntime, OpenCV, dlib, torch) are imported inside the commands so that
``icaocheck --help`` answers at once.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

app = typer.Typer(
    help="Audit ID-document face photos for eyes closed, mouth open and covered faces (ICAO / ISO/IEC 19794-5).",
    no_args_is_help=True,
    add_completion=False,
)
# Progress, tables and messages go to stderr so that a report written to stdout stays clean.
console = Console(stderr=True)

EXIT_COMPLIANT = 0
EXIT_NON_COMPLIANT = 1
EXIT_INPUT_ERROR = 2


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


def _rate(done: int, started: float) -> str:
    elapsed = time.perf_counter() - started
    return f"{done / elapsed:.1f} photos/s" if elapsed > 0 and done else ""


@app.command()
def scan(
    paths: Annotated[list[Path], typer.Argument(help="Photos and folders to audit.")],
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Descend into subfolders.")] = False,
    workers: Annotated[int, typer.Option("--workers", "-w", help="Worker processes; 0 = one per core.")] = 1,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report to this file ('-' for stdout).")
    ] = None,
    report_format: Annotated[
        str | None,
        typer.Option("--format", "-f", help="csv, json or jsonl; default: from --output's extension, else csv."),
    ] = None,
) -> None:
    """Audit photos; one report row per input file.

    Exit code 0: every photo compliant; 1: at least one photo non-compliant (or without a face);
    2: at least one file could not be read, or bad usage.
    """
    from icaocheck.batch import audit_many
    from icaocheck.io import find_images
    from icaocheck.reports import format_for, open_writer

    try:
        chosen_format = format_for(None if output is None or str(output) == "-" else output, report_format)
    except ValueError as error:
        console.print(f"[red]error:[/] {error}")
        raise typer.Exit(EXIT_INPUT_ERROR) from error
    files = list(find_images(paths, recursive=recursive))
    if not files:
        console.print("[red]error:[/] no image files found in the given paths")
        raise typer.Exit(EXIT_INPUT_ERROR)

    if output is None:
        stream = None
    elif str(output) == "-":
        stream = sys.stdout
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        stream = output.open("w", newline="", encoding="utf-8")
    statuses: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    non_compliant = 0
    faces_found = 0
    started = time.perf_counter()
    writer = open_writer(stream, chosen_format) if stream is not None else None
    try:
        with _progress() as progress:
            task = progress.add_task("scanning", total=len(files), rate="")
            for done, result in enumerate(audit_many(files, workers=workers), start=1):
                statuses[result.status.value] += 1
                faces_found += result.face_count > 0
                non_compliant += result.compliant is False
                failures.update(c.name for c in result.checks if c.verdict.value == "fail")
                if writer is not None:
                    writer.write(result)
                else:
                    _print_line(result)
                progress.update(task, advance=1, rate=_rate(done, started))
    finally:
        if writer is not None:
            writer.close()
        if stream is not None and stream is not sys.stdout:
            stream.close()
    elapsed = time.perf_counter() - started
    _print_summary(len(files), faces_found, statuses, failures, elapsed, output)
    if statuses["error"]:
        raise typer.Exit(EXIT_INPUT_ERROR)
    raise typer.Exit(EXIT_NON_COMPLIANT if non_compliant else EXIT_COMPLIANT)


def _print_line(result: object) -> None:
    from icaocheck.types import ImageResult

    assert isinstance(result, ImageResult)
    if result.compliant is None:
        verdict = "[red]ERROR[/]"
    elif result.compliant:
        verdict = "[green]PASS[/]"
    else:
        verdict = "[yellow]FAIL[/]"
    failed = [c.reason for c in result.checks if c.verdict.value == "fail"]
    reason = result.reason if result.status.value == "error" else "; ".join(failed)
    skipped = sorted({c.reason for c in result.checks if c.verdict.value == "not_assessed"})
    line = f"{verdict} {result.path}"
    if reason:
        line += f" — {reason}"
    if skipped and result.compliant:
        line += f" [dim]({'; '.join(skipped)})[/]"
    Console().print(line, highlight=False, soft_wrap=True)


def _print_summary(
    total: int,
    faces: int,
    statuses: Counter[str],
    failures: Counter[str],
    elapsed: float,
    output: Path | None,
) -> None:
    from icaocheck.checks import CHECK_NAMES

    table = Table(title="icaocheck summary", show_header=False)
    table.add_row("images", str(total))
    table.add_row("faces found", str(faces))
    table.add_row("no face", str(statuses["no_face"]))
    table.add_row("errors (unreadable)", str(statuses["error"]))
    for name in CHECK_NAMES:
        if failures[name]:
            table.add_row(f"failed: {name}", str(failures[name]))
    table.add_row("time", f"{elapsed:.1f} s ({total / elapsed if elapsed else 0:.1f} photos/s)")
    if output is not None and str(output) != "-":
        table.add_row("report", str(output))
    console.print(table)


@app.command()
def crops(
    labels: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Labels CSV (shared/data format).")],
    out_dir: Annotated[Path, typer.Argument(file_okay=False, help="Folder for the crops and manifest.csv.")],
    workers: Annotated[int, typer.Option("--workers", "-w", help="Worker processes; 0 = one per core.")] = 1,
    attribute: Annotated[
        list[str] | None,
        typer.Option("--attribute", "-a", help="eyes, mouth or cover; repeatable; default all."),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N photos (for a quick look).")] = None,
) -> None:
    """Data-collection mode: run the pipeline over labelled photos and write the crops it would classify."""
    from icaocheck.collect import CROPS_FOR_ATTRIBUTE, collect_crops, read_labels

    chosen = tuple(attribute or CROPS_FOR_ATTRIBUTE)
    unknown = set(chosen) - set(CROPS_FOR_ATTRIBUTE)
    if unknown:
        console.print(
            f"[red]error:[/] expected attributes among {', '.join(CROPS_FOR_ATTRIBUTE)}, got {sorted(unknown)}"
        )
        raise typer.Exit(EXIT_INPUT_ERROR)
    photos = read_labels(labels, chosen)[:limit]
    statuses: Counter[str] = Counter()
    started = time.perf_counter()
    with _progress() as progress:
        task = progress.add_task("collecting crops", total=len(photos), rate="")
        for done, rows in enumerate(collect_crops(photos, out_dir, workers=workers), start=1):
            statuses.update(f"{row['attribute']}:{row['status']}" for row in rows)
            progress.update(task, advance=1, rate=_rate(done, started))
    table = Table(title=f"crops written to {out_dir}")
    table.add_column("attribute:status")
    table.add_column("rows", justify="right")
    for key, count in sorted(statuses.items()):
        table.add_row(key, str(count))
    console.print(table)


@app.command("augment-cover")
def augment_cover(
    source: Annotated[Path, typer.Argument(exists=True, help="Labels CSV (uncovered faces) or photo folder.")],
    out_dir: Annotated[Path, typer.Argument(file_okay=False, help="Folder for covered images and labels.csv.")],
    kinds: Annotated[
        list[str] | None, typer.Option("--kind", "-k", help="Cover kinds to draw (repeatable); default all.")
    ] = None,
    copies: Annotated[int, typer.Option(help="Covered versions per photo.")] = 1,
    every: Annotated[int, typer.Option(help="Use every N-th photo only.")] = 1,
    seed: Annotated[int, typer.Option(help="Seed of the random covers.")] = 0,
    workers: Annotated[int, typer.Option("--workers", "-w", help="Worker processes for the landmarks.")] = 1,
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Descend into subfolders.")] = False,
) -> None:
    """Draw synthetic masks, scarves, niqabs, veils and hands over real uncovered faces (training data)."""
    from icaocheck.collect import synthesise_covers, uncovered_photos
    from icaocheck.covers import COVER_KINDS

    unknown = sorted(set(kinds or ()) - set(COVER_KINDS))
    if unknown:
        console.print(f"[red]error:[/] expected kinds among {', '.join(COVER_KINDS)}, got {unknown}")
        raise typer.Exit(EXIT_INPUT_ERROR)
    photos = uncovered_photos(source, recursive)[:: max(every, 1)]
    with console.status(f"drawing covers over {len(photos)} photos"):
        rows = synthesise_covers(photos, out_dir, workers, tuple(kinds) if kinds else None, copies, seed)
    console.print(f"wrote {len(rows)} covered images and {out_dir / 'labels.csv'} (from {len(photos)} photos)")


@app.command()
def bench(
    images: Annotated[list[Path] | None, typer.Argument(help="Photos to time (default: the bundled examples).")] = None,
    threads: Annotated[int, typer.Option(min=1, help="onnxruntime and OpenCV threads (1 emulates one core).")] = 1,
    repeat: Annotated[int, typer.Option(min=1, help="Timed runs per photo.")] = 10,
    warmup: Annotated[int, typer.Option(min=0, help="Untimed runs per photo first.")] = 2,
    full_decode: Annotated[
        bool, typer.Option("--full-decode", help="Decode large JPEGs at full size too (no reduced decoding).")
    ] = False,
    models: Annotated[
        Path | None, typer.Option(file_okay=False, help="Folder of the classifiers to time (default: shipped ones).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON on stdout.")] = False,
) -> None:
    """Time every pipeline stage on this machine: medians, p95, photos per second, JPEG decode floor."""
    import json

    from icaocheck.bench import run_bench
    from icaocheck.io import find_images
    from icaocheck.model_files import examples_dir
    from icaocheck.pipeline import DECODE_MIN_SIDE

    files = [Path(p) for p in find_images(images or [examples_dir()])]
    if not files:
        console.print("[red]error:[/] no image files to time")
        raise typer.Exit(EXIT_INPUT_ERROR)
    try:
        report = run_bench(
            files, repeat, warmup, threads, decode_min_side=None if full_decode else DECODE_MIN_SIDE, models=models
        )
    except ValueError as error:
        console.print(f"[red]error:[/] {error}")
        raise typer.Exit(EXIT_INPUT_ERROR) from error
    for path, reason in report.skipped.items():
        console.print(f"[yellow]skipped[/] {path}: {reason}")
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
        return
    out = Console()
    table = Table(title=f"icaocheck bench: {report.images} photos × {report.repeat} runs, {threads} thread(s)")
    table.add_column("stage")
    table.add_column("median ms", justify="right")
    table.add_column("p95 ms", justify="right")
    for stage, timing in report.stages.items():
        table.add_row(stage, f"{timing.median_ms:.2f}", f"{timing.p95_ms:.2f}")
    floor = report.bare_decode
    table.add_row("JPEG decode alone (floor)", f"{floor.median_ms:.2f}", f"{floor.p95_ms:.2f}")
    out.print(table)
    if report.images > 1:
        photos = Table(title="per photo (medians)")
        for column in ("photo", "size", "decoded at", "total ms", "JPEG decode ms", "ratio"):
            photos.add_column(column, justify="left" if column == "photo" else "right")
        for photo in report.photos:
            photos.add_row(
                Path(photo.path).name,
                f"{photo.width}×{photo.height}",
                f"1/{photo.decode_scale:g}",
                f"{photo.total_median_ms:.2f}",
                f"{photo.jpeg_decode_median_ms:.2f}",
                f"{photo.pipeline_to_decode_ratio:.1f}×",
            )
        out.print(photos)
    facts = Table(show_header=False)
    facts.add_row("photos per second (1 process)", f"{report.photos_per_second:.1f}")
    facts.add_row("pipeline / JPEG decode (medians)", f"{report.pipeline_to_decode_ratio:.1f}×")
    facts.add_row("model loading", f"{report.model_loading_ms:.0f} ms")
    facts.add_row("time to first result", f"{report.first_result_ms:.0f} ms")
    facts.add_row("peak memory", f"{report.peak_memory_mb:.0f} MB")
    missing = [name for name, loaded in report.classifiers.items() if not loaded]
    facts.add_row("classifiers missing", ", ".join(missing) or "none")
    for key, value in report.machine.items():
        facts.add_row(key, value)
    out.print(facts)


@app.command()
def train(
    model: Annotated[str, typer.Argument(help="eyes, mouth or veil.")],
    data: Annotated[
        list[Path], typer.Option("--data", "-d", help="Crops folder from `icaocheck crops` (repeatable), or a .npz.")
    ],
    out: Annotated[Path, typer.Option(help="Where the .onnx model and its card go.")] = Path("models"),
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 30,
    seed: Annotated[int, typer.Option(help="Seed of weights, sampling and augmentation.")] = 0,
    batch_size: Annotated[int, typer.Option(help="Crops per step.")] = 64,
    threads: Annotated[int, typer.Option(help="torch CPU threads.")] = 2,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    run_dir: Annotated[Path | None, typer.Option(help="Also keep the checkpoint and history here.")] = None,
) -> None:
    """Train one attribute model on crops (needs the `train` extra: torch), export ONNX and its model card."""
    import shlex

    try:
        from icaocheck.training.train import train_attribute
    except ImportError as error:
        console.print(f"[red]error:[/] training needs PyTorch: pip install 'icaocheck[train]' ({error})")
        raise typer.Exit(EXIT_INPUT_ERROR) from error
    train_attribute(
        model,
        data,
        out,
        epochs,
        seed,
        batch_size=batch_size,
        threads=threads,
        device=device,
        run_dir=run_dir,
        command_line=shlex.join(["icaocheck", *sys.argv[1:]]),
        log=console.print,
    )


@app.command()
def evaluate(
    labels: Annotated[
        list[Path], typer.Argument(exists=True, dir_okay=False, help="Labels CSVs (shared/data format), merged.")
    ],
    attribute: Annotated[str, typer.Option("--attribute", "-a", help="eyes, mouth or veil.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the plots and summaries.")] = Path("evaluation"),
    split: Annotated[str, typer.Option(help="validation (groups no model saw) or all.")] = "validation",
    workers: Annotated[int, typer.Option("--workers", "-w", help="Worker processes; 0 = one per core.")] = 1,
    plots: Annotated[bool, typer.Option(help="Write DET and precision-recall PNGs (needs matplotlib).")] = True,
    write_threshold: Annotated[
        bool, typer.Option(help="Ship the EER threshold found here: write it into the model card.")
    ] = False,
    fusion: Annotated[
        str, typer.Option(help="keep the card's fusion; fit one on training photos; or drop it.")
    ] = "keep",
) -> None:
    """Measure a check on whole labelled photos through the whole pipeline: DET, EER, rates at the shipped threshold."""
    from icaocheck.classify import load_attribute_model
    from icaocheck.evaluate import (
        ATTRIBUTE_LABELS,
        fit_photo_fusion,
        markdown_summary,
        read_evaluation_set,
        score_photos,
        ship_threshold,
        summarise,
        write_fusion,
        write_outputs,
    )
    from icaocheck.model_files import models_dir

    if attribute not in ATTRIBUTE_LABELS or split not in ("validation", "all"):
        console.print(
            f"[red]error:[/] expected --attribute among {', '.join(ATTRIBUTE_LABELS)} and --split validation|all"
        )
        raise typer.Exit(EXIT_INPUT_ERROR)
    if plots and importlib.util.find_spec("matplotlib") is None:
        console.print("[red]error:[/] plots need matplotlib: pip install 'icaocheck[train]', or pass --no-plots")
        raise typer.Exit(EXIT_INPUT_ERROR)
    model = load_attribute_model(attribute)
    if model is None:
        console.print(f"[red]error:[/] no {attribute} model in the models folder: train it first")
        raise typer.Exit(EXIT_INPUT_ERROR)
    card_path = models_dir() / f"{attribute}.json"
    if fusion == "fit":
        training = [photo for csv_file in labels for photo in read_evaluation_set(csv_file, attribute, "train")]
        with console.status(f"scoring {len(training)} training photos for the fusion"):
            fitted = fit_photo_fusion(attribute, score_photos(training, attribute, workers))
        write_fusion(card_path, fitted, f"{len(training)} training photos of {', '.join(map(str, labels))}")
        console.print(f"fusion fitted: {fitted}")
    elif fusion == "drop":
        write_fusion(card_path, None)
    elif fusion != "keep":
        console.print("[red]error:[/] expected --fusion keep, fit or drop")
        raise typer.Exit(EXIT_INPUT_ERROR)
    # A changed fusion changes what the score means: its threshold must be set anew.
    write_threshold = write_threshold or fusion != "keep"
    photos = [photo for csv_file in labels for photo in read_evaluation_set(csv_file, attribute, split)]
    with console.status(f"scoring {len(photos)} photos"):
        scored = score_photos(photos, attribute, workers)
    if write_threshold:
        if split != "validation":
            console.print(
                "[red]error:[/] --write-threshold needs --split validation: a threshold is set on unseen photos"
            )
            raise typer.Exit(EXIT_INPUT_ERROR)
        ship_threshold(models_dir() / f"{attribute}.json", summarise(attribute, scored, None), [str(p) for p in labels])
        model = load_attribute_model(attribute)
        assert model is not None
        console.print(f"wrote threshold {model.card.threshold:.4f} into {models_dir() / f'{attribute}.json'}")
    evaluation = summarise(attribute, scored, model.card.threshold)
    for path in write_outputs(scored, evaluation, out_dir, plots=plots):
        console.print(f"wrote {path}")
    Console().print(markdown_summary(evaluation))


@app.command("export-mtcnn")
def export_mtcnn_command(
    out_dir: Annotated[Path | None, typer.Argument(help="Target folder (default: icaocheck's models folder).")] = None,
) -> None:
    """Rebuild the MTCNN P/R/O-Net ONNX files from the weights shipped in the mtcnn package."""
    from icaocheck.model_files import models_dir
    from icaocheck.tools.export_mtcnn import export_mtcnn

    for path in export_mtcnn(out_dir or models_dir()):
        console.print(f"wrote {path}")


if __name__ == "__main__":
    app()
