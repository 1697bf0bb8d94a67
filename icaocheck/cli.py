"""The ``icaocheck`` command: parse arguments, call the library, print, choose the exit code.

Heavy modules (onnxruntime, OpenCV, dlib, torch) are imported inside the commands so that
``icaocheck --help`` answers at once.

Exit codes (documented in README.md): 0 every photo compliant, 1 at least one photo fails
(see ``scan --fail-on``), 2 at least one input file could not be read, 64 bad usage (an
unknown option, a bad value, a profile or report that cannot be used), 73 the report cannot be
written, 130 interrupted.
"""

from __future__ import annotations

import importlib.util
import json
import signal
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from typer.core import TyperCommand, TyperGroup

from icaocheck.training.augment import Augmentation

if TYPE_CHECKING:
    from icaocheck.config import Config
    from icaocheck.resume import RunRecord
    from icaocheck.scan import Scan
    from icaocheck.summary import ScanSummary
    from icaocheck.types import ImageResult

EXIT_COMPLIANT = 0
EXIT_NON_COMPLIANT = 1
EXIT_INPUT_ERROR = 2
EXIT_USAGE = 64  # BSD sysexits' EX_USAGE: click's own 2 would read as "unreadable input"
EXIT_UNAVAILABLE = 69  # sysexits' EX_UNAVAILABLE: the Dask scheduler cannot be reached
EXIT_REPORT_ERROR = 73  # sysexits' EX_CANTCREAT: the report file cannot be created or written
EXIT_MODELS = 78  # sysexits' EX_CONFIG: a model file or card is missing, altered or inconsistent
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a process stopped by Ctrl-C

# Click's UsageError (unknown option, missing argument, bad value). Typer vendors click in some
# versions and depends on it in others; BadParameter derives from UsageError in both.
_USAGE_ERROR: type[Exception] = typer.BadParameter.__bases__[0]


def _value_names(params: list[Any]) -> list[Any]:
    """``params`` shown in help with the names of their values (``FILE``, ``N``), never Python types.

    Typer prints each parameter's Python type (``<bool>`` after a flag, ``<list[Path]>`` after an
    argument) and has no switch for it: a flag takes no value and an argument is named already, so
    they show none; an option shows its metavar, else its type in capitals.
    """
    for param in params:
        if param.param_type_name == "argument" or getattr(param, "is_flag", False):
            param.display_type_rich = lambda ctx: None
        elif param.metavar is None:
            param.display_type_rich = lambda ctx, param=param: _value_name(param.display_type(ctx))
    return params


def _value_name(python_type: str) -> str:
    """``<int>`` → ``N``, ``<list[str]>`` → ``TEXT`` (a repeatable option's one value), ``<file>`` → ``FILE``."""
    name = python_type.strip("<>")
    if name.startswith("list[") and name.endswith("]"):
        name = name[len("list[") : -1]
    return {"int": "N", "float": "NUMBER", "str": "TEXT", "directory": "DIR"}.get(name, name.upper())


def _examples(*commands: str) -> str:
    """A command's help epilog: example command lines."""
    return "Examples:\n\n" + "\n\n".join(f"  $ {command}" for command in commands)


class _Command(TyperCommand):
    """Typer's command, with help naming values instead of Python types (see :func:`_value_names`)."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _value_names(super().get_params(ctx))


class _Commands(TyperGroup):
    """Typer's group, with usage errors exiting with :data:`EXIT_USAGE` instead of 2."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _value_names(super().get_params(ctx))

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().make_context(*args, **kwargs)
        except _USAGE_ERROR as error:
            error.exit_code = EXIT_USAGE  # type: ignore[attr-defined]
            raise

    def invoke(self, ctx: Any) -> Any:
        # Sub-commands parse their arguments inside the group's invoke.
        try:
            return super().invoke(ctx)
        except _USAGE_ERROR as error:
            error.exit_code = EXIT_USAGE  # type: ignore[attr-defined]
            raise


app = typer.Typer(
    cls=_Commands,
    no_args_is_help=True,
    add_completion=False,
)
config_app = typer.Typer(
    cls=_Commands, help="Profiles: the effective configuration and the built-in profiles.", no_args_is_help=True
)
app.add_typer(config_app, name="config")
# Progress, tables and messages go to stderr so that a report written to stdout stays clean.
console = Console(stderr=True)
# Photo lines, tables and summaries meant for stdout.
stdout_console = Console()

# Options shared by `scan`, `config show` and `bench`, so all resolve a profile alike.
ProfileOption = Annotated[
    str | None,
    typer.Option("--profile", "-p", metavar="NAME", help="Built-in profile: icao-strict, lenient (default: default)."),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", exists=True, dir_okay=False, help="Profile file (TOML) over the built-in one."),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="KEY=VALUE",
        help="One value over the profile (repeatable), e.g. checks.eyes_closed.threshold=0.4.",
    ),
]


def _usage_error(message: str) -> NoReturn:
    console.print(f"[red]error:[/] {_shown(message)}", highlight=False)
    raise typer.Exit(EXIT_USAGE)


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


def _shown(text: str) -> str:
    """A path or reason as rich prints it: printable (no control characters, bytes as escapes), brackets not markup."""
    from icaocheck.names import printable

    return escape(printable(text))


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _print_version(asked: bool) -> None:
    if asked:
        from icaocheck import __version__

        typer.echo(f"icaocheck {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print icaocheck's version and exit."),
    ] = False,
) -> None:
    """Audit ID-document face photos for eyes closed, mouth open and covered faces (ICAO / ISO/IEC 19794-5)."""


@app.command(
    cls=_Command,
    epilog=_examples(
        "icaocheck scan examples/photos",
        "icaocheck scan archive/ -r --workers 0 -o report.html",
        "icaocheck scan archive/ -o report.xml --profile icao-strict --fail-on eyes_closed,face_covered",
    ),
)
def scan(
    paths: Annotated[
        list[str], typer.Argument(help="Photos and folders to audit; or fsspec URLs (s3://bucket/prefix/).")
    ],
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Descend into subfolders.")] = False,
    workers: Annotated[
        int,
        typer.Option("--workers", "-w", min=0, help="Worker processes; 0 = one per usable core (at most that many)."),
    ] = 1,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            envvar="DASK_SCHEDULER_ADDRESS",
            metavar="ADDRESS",
            help="Audit on the Dask cluster of this scheduler (tcp://host:8786); needs the dask extra.",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write the report to this file ('-' for stdout)."),
    ] = None,
    report_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="csv, json, jsonl, junit, html or ofiq; default: from --output's suffix.",
        ),
    ] = None,
    profile: ProfileOption = None,
    config_file: ConfigOption = None,
    overrides: SetOption = None,
    fail_on: Annotated[
        str,
        typer.Option(
            "--fail-on",
            metavar="CHECKS",
            help="Exit 1 when a photo fails one of these checks (comma-separated), 'any' or 'none'.",
        ),
    ] = "any",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress, lines or summary; errors only.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON summary on stdout at the end.")] = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the report at --output: skip the photos it holds.")
    ] = False,
    follow_symlinks: Annotated[
        bool,
        typer.Option("--follow-symlinks", help="Audit files that symlinks point to outside the scanned folders."),
    ] = False,
    every: Annotated[
        int, typer.Option("--every", min=1, metavar="N", help="Videos: analyse one frame in N (default: every frame).")
    ] = 1,
    smooth: Annotated[
        int,
        typer.Option(
            "--smooth",
            min=1,
            metavar="FRAMES",
            help="Videos: majority window (odd) over a check's frames before its failing spans are told; 1 = off.",
        ),
    ] = 3,
    save_best: Annotated[
        Path | None,
        typer.Option(
            "--save-best", metavar="DIR", help="Videos: write each video's best frame here (PNG) with its row (JSON)."
        ),
    ] = None,
) -> None:
    """Audit photos and videos; one report row per photo, one per analysed video frame.

    Exit code 0: every photo compliant; 1: a photo fails (--fail-on); 2: a file could not be read;
    64: bad usage; 69: the Dask scheduler cannot be reached; 73: the report cannot be written;
    78: the installed models are damaged (or differ between the cluster's workers);
    130: interrupted (the report holds every photo finished, --resume continues it).
    """
    from icaocheck.checks import CHECK_NAMES
    from icaocheck.classify import ModelCardError
    from icaocheck.executors import SchedulerUnreachableError, executor_for, usable_cores
    from icaocheck.io import is_url
    from icaocheck.model_files import ModelFileError
    from icaocheck.profiles import ProfileError, resolve
    from icaocheck.reports import check_report_path, format_for
    from icaocheck.resume import ResumeError, RunRecord
    from icaocheck.scan import ReportFile, Scan
    from icaocheck.storage import check_fsspec
    from icaocheck.summary import parse_fail_on

    to_stdout = output is not None and str(output) == "-"
    report_file = None if output is None or to_stdout else output
    local_paths = [Path(path) for path in paths if not is_url(path)]
    try:
        if scheduler and workers != 1:
            raise ValueError("--workers counts local processes: with --scheduler the cluster's workers audit")
        if not scheduler:  # on a cluster the workers list and read URLs: only they need the drivers
            for url in filter(is_url, paths):
                check_fsspec(url)
        if smooth % 2 == 0:
            raise ValueError(f"--smooth takes an odd number of frames (a window centred on each frame), got {smooth}")
        if report_file is not None:
            check_report_path(report_file, local_paths)
        chosen_format = format_for(report_file, report_format)
        settings = resolve(profile, config_file, overrides or ())
        failing_checks = parse_fail_on(fail_on)
    except (ValueError, ProfileError) as error:
        _usage_error(str(error))
    if resume and report_file is None:
        _usage_error("--resume continues a report file: give it with --output FILE")
    if as_json and to_stdout:
        _usage_error("--json and --output - would both write to stdout")
    if save_best is not None and not save_best.is_dir():
        console.print(
            f"[red]error:[/] --save-best: the folder {_shown(str(save_best))} does not exist: create it first"
        )
        raise typer.Exit(EXIT_REPORT_ERROR)
    if not scheduler and workers > usable_cores():
        # More processes than cores only costs memory (one set of models each) and switching.
        console.print(
            f"[yellow]warning:[/] --workers {workers} is more than the {usable_cores()} cores this process may "
            f"use: running {usable_cores()}",
            highlight=False,
        )
        workers = usable_cores()
    report = ReportFile(
        chosen_format,
        output=report_file,
        stream=sys.stdout.buffer if to_stdout else None,
        resume=resume,
        config=settings.config,
        fail_on=failing_checks,
        record=None if report_file is None else _with_every(RunRecord.of(settings, chosen_format), every),
        relative_inputs=any(not path.is_absolute() for path in local_paths),
    )
    try:  # before the report is opened: a scan that cannot start leaves an earlier report as it was
        executor = executor_for(workers, scheduler)
    except SchedulerUnreachableError as error:
        console.print(f"[red]error:[/] {_shown(str(error))}", highlight=False)
        raise typer.Exit(EXIT_UNAVAILABLE) from error
    job = Scan(paths, report, recursive, follow_symlinks, workers, settings.config, executor=executor, every=every)
    print_lines = output is None and not quiet and not as_json
    started = time.perf_counter()
    # CI systems cancel a job with SIGTERM: finish the report as Ctrl-C does.
    previous_handler = signal.signal(signal.SIGTERM, _interrupt)
    try:
        with job:
            _run(job, quiet, print_lines, started)
    except ResumeError as error:
        _usage_error(str(error))
    except (ModelFileError, ModelCardError) as error:
        console.print(f"[red]error:[/] the installed models cannot be used: {error}", highlight=False)
        raise typer.Exit(EXIT_MODELS) from error
    except SchedulerUnreachableError as error:
        hint = f"; --resume continues {_shown(str(report_file))}" if report_file else ""
        console.print(f"[red]error:[/] {_shown(str(error))}{hint}", highlight=False)
        raise typer.Exit(EXIT_UNAVAILABLE) from error
    except OSError as error:
        # Inputs that cannot be read are report rows, never exceptions: this is the report itself.
        console.print(f"[red]error:[/] cannot write the report: {_shown(str(error))}", highlight=False)
        raise typer.Exit(EXIT_REPORT_ERROR) from error
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous_handler)
        executor.close()
    summary = job.summary
    elapsed = time.perf_counter() - started
    if summary.images == 0 and not summary.interrupted:
        # The (empty) report is written all the same: CI looks for its file.
        skipped = "; ".join(f"{count} × {reason}" for reason, count in sorted(summary.skipped.items()))
        found = f"no image files found in the given paths{f' (skipped: {skipped})' if skipped else ''}"
        console.print(f"[red]error:[/] {escape(found)}", highlight=False)
    if summary.interrupted:
        hint = f"; run the same command with --resume to finish {_shown(str(report_file))}" if report_file else ""
        console.print(f"[yellow]interrupted[/] after {summary.images} photos{hint}")
    elif not quiet:
        _print_summary(summary, elapsed, report_file, settings.profile)
    videos = [video.as_dict(CHECK_NAMES, smooth) for video in job.videos.values()]
    if not quiet and not as_json:
        for video in videos:
            _print_video(video)
    code = _exit_code(summary)
    if save_best is not None:
        code = max(code, _save_best_frames(job, save_best, quiet or as_json))
    if as_json:
        facts = {"exit_code": code, "report": str(output) if output else None, "format": chosen_format}
        facts |= {"profile": settings.profile, "elapsed_s": round(elapsed, 2), **summary.as_dict()}
        typer.echo(json.dumps(facts | {"videos": videos}, indent=2))
    raise typer.Exit(code)


def _with_every(record: RunRecord, every: int) -> RunRecord:
    """The run record, holding ``--every`` when it is not 1: a resume must analyse the same frames of a video."""
    if every == 1:
        return record
    return replace(record, settings={**record.settings, "video.every": every})


def _print_video(video: dict[str, Any]) -> None:
    """A video's line: frames, the best frame, and the spans where each check fails."""
    if video["best_frame"] is None:
        return
    best = "compliant" if video["best_compliant"] else "not compliant (no frame is)"
    line = (
        f"[bold]video[/] {_shown(video['path'])}: {video['frames']} frames analysed, {video['compliant_frames']}"
        f" compliant; best frame {video['best_frame']} at {video['best_time_s']:.3f} s, {best}"
    )
    spans = [f"{s['check']} {s['start_s']:.2f}–{s['end_s']:.2f} s" for s in video["failing_spans"]]
    if spans:
        line += f"; failing (smoothed over {video['smoothing_frames']} frames): {', '.join(spans)}"
    stdout_console.print(line, highlight=False, soft_wrap=True)


def _save_best_frames(job: Scan, folder: Path, quiet: bool) -> int:
    """Write each video's best frame into ``folder``; the exit code this asks for (73 when one cannot be written)."""
    from icaocheck.io import ImageReadError
    from icaocheck.video import save_best_frame

    code = EXIT_COMPLIANT
    for video in job.videos.values():
        try:
            written = save_best_frame(video, folder)
        except (OSError, ImageReadError) as error:
            console.print(f"[red]error:[/] cannot save the best frame of {_shown(video.path)}: {_shown(str(error))}")
            code = EXIT_REPORT_ERROR
            continue
        if written is not None and not quiet:
            console.print(f"saved {_shown(str(written[0]))} and {_shown(str(written[1]))}", highlight=False)
    return code


def _run(job: Scan, quiet: bool, print_lines: bool, started: float) -> None:
    if quiet:
        for result in job:
            if result.status.value == "error":  # -q keeps errors: say which file could not be read, and why
                console.print(
                    f"[red]error:[/] {_shown(result.path)}: {_shown(result.reason)}", highlight=False, soft_wrap=True
                )
        return
    with _progress() as progress:
        task = progress.add_task("counting files", total=None, rate="")
        progress.update(task, total=job.count(), description="scanning")
        for done, result in enumerate(job, start=1):
            if print_lines:
                _print_line(result)
            progress.update(task, advance=1, rate=_rate(done, started))


def _exit_code(summary: ScanSummary) -> int:
    if summary.interrupted:
        return EXIT_INTERRUPTED
    if summary.errors or not summary.images:
        return EXIT_INPUT_ERROR
    return EXIT_NON_COMPLIANT if summary.failing else EXIT_COMPLIANT


def _print_line(result: ImageResult) -> None:
    if result.compliant is None:
        verdict = "[red]ERROR[/]"
    elif result.compliant:
        verdict = "[green]PASS[/]"
    else:
        verdict = "[yellow]FAIL[/]"
    failed = [c.reason for c in result.checks if c.verdict.value == "fail"]
    reason = result.reason if result.status.value == "error" else "; ".join(failed)
    skipped = sorted({c.reason for c in result.checks if c.verdict.value == "not_assessed"})
    line = f"{verdict} {_shown(result.path)}"
    if result.frame is not None:
        line += f" frame {result.frame.index} ({result.frame.time_s:.3f} s)"
    if reason:
        line += f" — {_shown(reason)}"
    if skipped and result.compliant:
        line += f" [dim]({'; '.join(skipped)})[/]"
    if result.notes:
        line += f" [dim]({_shown('; '.join(result.notes))})[/]"
    stdout_console.print(line, highlight=False, soft_wrap=True, markup=True)


def _print_summary(summary: ScanSummary, elapsed: float, output: Path | None, profile: str) -> None:
    from icaocheck.checks import CHECK_NAMES

    table = Table(title="icaocheck summary", show_header=False)
    table.add_row("images", str(summary.images))
    if summary.resumed:
        table.add_row("  from the earlier run", str(summary.resumed))
    table.add_row("compliant", str(summary.compliant))
    table.add_row("no face", str(summary.statuses["no_face"]))
    table.add_row("errors (unreadable)", str(summary.errors))
    for reason, count in sorted(summary.skipped.items()):
        table.add_row(f"skipped: {escape(reason)}", str(count))
    for name in CHECK_NAMES:
        if summary.failures[name]:
            table.add_row(f"failed: {name}", str(summary.failures[name]))
    new = summary.images - summary.resumed
    table.add_row("time", f"{elapsed:.1f} s ({new / elapsed if elapsed else 0:.1f} photos/s)")
    table.add_row("profile", profile)
    if output is not None:
        table.add_row("report", _shown(str(output)))
    console.print(table)


@config_app.command(
    "show",
    cls=_Command,
    epilog=_examples(
        "icaocheck config show",
        "icaocheck config show --profile lenient --json",
        "icaocheck config show --config ours.toml --set checks.eyes_closed.threshold=0.4",
    ),
)
def config_show(
    profile: ProfileOption = None,
    config_file: ConfigOption = None,
    overrides: SetOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print it as JSON.")] = False,
) -> None:
    """Print the effective configuration: every value and where it came from."""
    from icaocheck.profiles import ProfileError, resolve

    try:
        settings = resolve(profile, config_file, overrides or ())
    except ProfileError as error:
        _usage_error(str(error))
    if as_json:
        typer.echo(json.dumps(settings.as_dict(), indent=2))
        return
    # TOML-like lines, never cut to the terminal's width: keys and values can be pasted into a profile.
    lines = [(e.key, "—" if e.value is None else json.dumps(e.value), e.source) for e in settings.entries]
    width = max(len(key) + len(value) for key, value, _ in lines) + 3
    typer.echo(f"# profile {settings.profile}: {settings.description}")
    for key, value, source in lines:
        typer.echo(f"{f'{key} = {value}':<{width}}  # {source}")


@config_app.command(
    "profiles", cls=_Command, epilog=_examples("icaocheck config profiles", "icaocheck config show --profile lenient")
)
def config_profiles() -> None:
    """List the built-in profiles."""
    from icaocheck.profiles import builtin_profiles

    for name, description in builtin_profiles().items():
        stdout_console.print(f"[bold]{name}[/]: {description}", highlight=False)


@app.command(
    cls=_Command,
    epilog=_examples(
        "icaocheck crops ../shared/data/labels.csv work/crops -w 2",
        "icaocheck crops labels.csv work/eyes -a eyes --limit 50",
    ),
)
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
        _usage_error(f"expected attributes among {', '.join(CROPS_FOR_ATTRIBUTE)}, got {sorted(unknown)}")
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


@app.command(
    "augment-cover",
    cls=_Command,
    epilog=_examples(
        "icaocheck augment-cover ../shared/data/labels.csv work/covers --every 2 -w 2",
        "icaocheck augment-cover faces/ work/masks -r --kind medical_mask --copies 2",
    ),
)
def augment_cover(
    source: Annotated[Path, typer.Argument(exists=True, help="Labels CSV (uncovered faces) or photo folder.")],
    out_dir: Annotated[Path, typer.Argument(file_okay=False, help="Folder for covered images and labels.csv.")],
    kinds: Annotated[
        list[str] | None,
        typer.Option(
            "--kind",
            "-k",
            help="Kinds to draw (repeatable); default all covers. hand_near, microphone: hard negatives (uncovered).",
        ),
    ] = None,
    copies: Annotated[int, typer.Option(help="Covered versions per photo.")] = 1,
    every: Annotated[int, typer.Option(help="Use every N-th photo only.")] = 1,
    seed: Annotated[int, typer.Option(help="Seed of the random covers.")] = 0,
    workers: Annotated[int, typer.Option("--workers", "-w", help="Worker processes for the landmarks.")] = 1,
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Descend into subfolders.")] = False,
) -> None:
    """Draw synthetic masks, scarves, niqabs, veils and hands over real uncovered faces (training data).

    Also hard negatives: hands and microphones near the face, not over it (labelled uncovered).
    """
    from icaocheck.collect import synthesise_covers, uncovered_photos
    from icaocheck.covers import COVER_KINDS, NEAR_FACE_KINDS

    unknown = sorted(set(kinds or ()) - set(COVER_KINDS) - set(NEAR_FACE_KINDS))
    if unknown:
        _usage_error(f"expected kinds among {', '.join(COVER_KINDS + NEAR_FACE_KINDS)}, got {unknown}")
    photos = uncovered_photos(source, recursive)[:: max(every, 1)]
    with console.status(f"drawing covers over {len(photos)} photos"):
        rows = synthesise_covers(photos, out_dir, workers, tuple(kinds) if kinds else None, copies, seed)
    console.print(f"wrote {len(rows)} images and {out_dir / 'labels.csv'} (from {len(photos)} photos)")


@app.command(
    cls=_Command,
    epilog=_examples(
        "icaocheck bench",
        "icaocheck bench photo.jpg --repeat 50 --threads 2",
        "icaocheck bench --json",
        "icaocheck bench --set checks.no_head_covering.enabled=true",
    ),
)
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
    mesh: Annotated[
        bool,
        typer.Option(
            "--mesh", help='Place the attention face mesh even where no loaded model card reads it (stage "mesh").'
        ),
    ] = False,
    video: Annotated[
        Path | None,
        typer.Option(
            "--video", metavar="FILE", dir_okay=False, help="Time a video's frames instead: frames per second."
        ),
    ] = None,
    profile: ProfileOption = None,
    overrides: SetOption = None,
) -> None:
    """Time every pipeline stage on this machine: medians, p95, photos per second, JPEG decode floor.

    The profile's checks are timed (--profile, --set: e.g. a check that is off by default).
    """
    from icaocheck.profiles import ProfileError, resolve

    try:
        settings = resolve(profile, None, overrides or ())
    except (ValueError, ProfileError) as error:
        _usage_error(str(error))
    if video is not None:
        _bench_video(video, threads, models, as_json, settings.config)
        return

    from icaocheck.bench import run_bench
    from icaocheck.classify import ModelCardError
    from icaocheck.io import find_images
    from icaocheck.model_files import ModelFileError, examples_dir
    from icaocheck.pipeline import DECODE_MIN_SIDE

    files = [Path(p) for p in find_images(images or [examples_dir()])]
    if not files:
        console.print("[red]error:[/] no image files to time")
        raise typer.Exit(EXIT_INPUT_ERROR)
    try:
        report = run_bench(
            files,
            repeat,
            warmup,
            threads,
            config=settings.config,
            decode_min_side=None if full_decode else DECODE_MIN_SIDE,
            models=models,
            mesh=mesh,
        )
    except (ModelFileError, ModelCardError) as error:
        console.print(f"[red]error:[/] the installed models cannot be used: {error}", highlight=False)
        raise typer.Exit(EXIT_MODELS) from error
    except ValueError as error:
        console.print(f"[red]error:[/] {error}")
        raise typer.Exit(EXIT_INPUT_ERROR) from error
    for path, reason in report.skipped.items():
        console.print(f"[yellow]skipped[/] {_shown(str(path))}: {_shown(reason)}", highlight=False)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
        return
    table = Table(title=f"icaocheck bench: {report.images} photos × {report.repeat} runs, {threads} thread(s)")
    table.add_column("stage")
    table.add_column("median ms", justify="right")
    table.add_column("p95 ms", justify="right")
    table.add_column("fastest ms", justify="right")
    for stage, timing in report.stages.items():
        table.add_row(stage, f"{timing.median_ms:.2f}", f"{timing.p95_ms:.2f}", f"{timing.min_ms:.2f}")
    floor = report.bare_decode
    table.add_row("JPEG decode alone (floor)", f"{floor.median_ms:.2f}", f"{floor.p95_ms:.2f}", f"{floor.min_ms:.2f}")
    stdout_console.print(table)
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
        stdout_console.print(photos)
    facts = Table(show_header=False)
    facts.add_row("photos per second (1 process)", f"{report.photos_per_second:.1f}")
    facts.add_row("pipeline / JPEG decode (medians)", f"{report.pipeline_to_decode_ratio:.1f}×")
    facts.add_row("pipeline / JPEG decode (fastest stages)", f"{report.fastest_stages_to_decode_ratio:.1f}×")
    facts.add_row("model loading", f"{report.model_loading_ms:.0f} ms")
    facts.add_row("model loading + first result", f"{report.first_result_ms:.0f} ms")
    cold = "not measured: no new process could be started" if report.cold_start_ms is None else None
    facts.add_row("new process to first result", cold or f"{report.cold_start_ms:.0f} ms")
    facts.add_row("peak memory", f"{report.peak_memory_mb:.0f} MB")
    missing = [name for name, loaded in report.classifiers.items() if not loaded]
    facts.add_row("classifiers missing", ", ".join(missing) or "none")
    for key, value in report.machine.items():
        facts.add_row(key, value)
    stdout_console.print(facts)


def _models_unusable(error: Exception) -> NoReturn:
    console.print(f"[red]error:[/] the installed models cannot be used: {error}", highlight=False)
    raise typer.Exit(EXIT_MODELS) from error


def _bench_video(video: Path, threads: int, models: Path | None, as_json: bool, config: Config) -> None:
    """``bench --video``: decode and audit every frame of ``video`` in this process; frames per second."""
    from icaocheck.classify import ModelCardError
    from icaocheck.io import ImageReadError
    from icaocheck.model_files import ModelFileError
    from icaocheck.pipeline import Pipeline
    from icaocheck.video import bench_video

    try:
        report = bench_video(str(video), lambda: Pipeline(config, models=models, threads=threads))
    except (ModelFileError, ModelCardError) as error:
        _models_unusable(error)
    except ImageReadError as error:
        console.print(f"[red]error:[/] {_shown(error.reason)}", highlight=False)
        raise typer.Exit(EXIT_INPUT_ERROR) from error
    if as_json:
        typer.echo(json.dumps(report.as_dict() | {"threads": threads}, indent=2))
        return
    table = Table(title=f"icaocheck bench --video: {report.frames} frames of {report.width}×{report.height}")
    table.add_column("stage")
    table.add_column("median ms per frame", justify="right")
    for stage, median in report.stages_median_ms.items():
        table.add_row(stage, f"{median:.2f}")
    stdout_console.print(table)
    facts = Table(show_header=False)
    facts.add_row(f"frames per second (1 process, {threads} thread(s))", f"{report.frames_per_second:.1f}")
    facts.add_row("wall time, decoding included", f"{report.seconds:.2f} s")
    facts.add_row("model loading", f"{report.model_loading_ms:.0f} ms")
    stdout_console.print(facts)


@app.command(
    cls=_Command,
    epilog=_examples(
        "icaocheck capture --video clip.mp4 --save best.png",
        "icaocheck capture --camera 0 --save best.png --hold 5 --timeout 60",
    ),
)
def capture(
    camera: Annotated[
        int | None, typer.Option("--camera", min=0, metavar="INDEX", help="Read this camera (0: the first).")
    ] = None,
    video: Annotated[
        Path | None, typer.Option("--video", metavar="FILE", dir_okay=False, help="Read this video file instead.")
    ] = None,
    save: Annotated[
        Path | None,
        typer.Option("--save", metavar="FILE", help="Write the best compliant frame here (.png lossless, .jpg …)."),
    ] = None,
    hold: Annotated[
        int, typer.Option("--hold", min=1, metavar="K", help="Stop once K consecutive frames are compliant.")
    ] = 5,
    timeout: Annotated[
        float | None, typer.Option("--timeout", min=0.0, metavar="S", help="Give up after S seconds.")
    ] = None,
    profile: ProfileOption = None,
    config_file: ConfigOption = None,
    overrides: SetOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No live status line.")] = False,
) -> None:
    """Audit a camera's (or a video's) frames live until K consecutive ones are compliant; keep the best.

    Exit code 0: K consecutive compliant frames (the best saved with --save); 1: the stream ended or
    timed out first; 2: the camera or file cannot be opened; 64: bad usage; 73: --save cannot be
    written; 78: the installed models are damaged.
    """
    from rich.live import Live

    from icaocheck.classify import ModelCardError
    from icaocheck.io import ImageReadError
    from icaocheck.model_files import ModelFileError
    from icaocheck.pipeline import Pipeline
    from icaocheck.profiles import ProfileError, resolve
    from icaocheck.video import capture_best, save_frame

    if (camera is None) == (video is None):
        _usage_error("give one source: --camera INDEX or --video FILE")
    if save is not None and save.suffix.lower() not in (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"):
        _usage_error(f"--save {save}: expected an image file name (.png for a lossless copy), got {save.suffix!r}")
    if save is not None and not save.parent.is_dir():
        console.print(f"[red]error:[/] --save: the folder {_shown(str(save.parent))} does not exist: create it first")
        raise typer.Exit(EXIT_REPORT_ERROR)
    try:
        settings = resolve(profile, config_file, overrides or ())
        pipeline = Pipeline(settings.config)
    except (ValueError, ProfileError) as error:
        _usage_error(str(error))
    except (ModelFileError, ModelCardError) as error:
        _models_unusable(error)
    source: str | int = camera if camera is not None else str(video)
    streak = [0]

    with Live(console=console, transient=True, auto_refresh=False) as live:

        def show(result: ImageResult) -> None:
            streak[0] = streak[0] + 1 if result.compliant else 0
            if not quiet:
                live.update(_capture_line(result, streak[0], hold), refresh=True)

        try:
            outcome = capture_best(pipeline, source, hold, timeout, show)
        except ImageReadError as error:
            console.print(f"[red]error:[/] {_shown(error.reason)}", highlight=False)
            raise typer.Exit(EXIT_INPUT_ERROR) from error
    said = f"{outcome.frames_audited} frames audited, {outcome.dropped} dropped"
    if not outcome.found or outcome.best is None or outcome.best_pixels is None:
        why = "timed out" if outcome.why == "timeout" else "the stream ended"
        console.print(f"[yellow]no compliant frame kept:[/] {why} before {hold} consecutive compliant frames ({said})")
        raise typer.Exit(EXIT_NON_COMPLIANT)
    assert outcome.best.frame is not None
    kept = f"frame {outcome.best.frame.index} at {outcome.best.frame.time_s:.3f} s"
    if save is not None:
        try:
            save_frame(outcome.best_pixels, save)
        except OSError as error:
            console.print(f"[red]error:[/] cannot save {_shown(str(save))}: {_shown(str(error))}", highlight=False)
            raise typer.Exit(EXIT_REPORT_ERROR) from error
        kept += f", saved to {_shown(str(save))}"
    if not quiet:
        console.print(f"[green]compliant[/]: {hold} consecutive compliant frames; kept {kept} ({said})")
    raise typer.Exit(EXIT_COMPLIANT)


def _capture_line(result: ImageResult, streak: int, hold: int) -> str:
    """The live status line: each check's verdict and value, and how far the compliant run has got."""
    marks = {"pass": "[green]✓[/]", "fail": "[red]✗[/]", "not_assessed": "[dim]?[/]"}
    checks = " ".join(
        f"{check.name} {marks[check.verdict.value]}" + ("" if check.value is None else f" {check.value:.2f}")
        for check in result.checks
    )
    frame = "" if result.frame is None else f"frame {result.frame.index} "
    return f"{frame}{checks or _shown(result.reason)} │ compliant run {streak}/{hold}"


@app.command(
    cls=_Command,
    epilog=_examples(
        "icaocheck train eyes --data work/crops --epochs 30",
        "icaocheck train veil --data work/crops --data work/crops_covers --out models",
        "icaocheck train mouth --data work/crops --exclude-source helen_mouth --out work/without_helen",
    ),
)
def train(
    model: Annotated[str, typer.Argument(help="eyes, mouth or veil.")],
    data: Annotated[
        list[Path],
        typer.Option("--data", "-d", exists=True, help="Crops folder from `icaocheck crops` (repeatable), or a .npz."),
    ],
    out: Annotated[Path, typer.Option(help="Where the .onnx model and its card go.")] = Path("models"),
    epochs: Annotated[int, typer.Option(min=1, help="Training epochs.")] = 30,
    seed: Annotated[int, typer.Option(help="Seed of weights, sampling and augmentation.")] = 0,
    batch_size: Annotated[int, typer.Option(min=1, help="Crops per step.")] = 64,
    threads: Annotated[int, typer.Option(min=1, help="torch CPU threads.")] = 2,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    run_dir: Annotated[Path | None, typer.Option(help="Also keep the checkpoint and history here.")] = None,
    exclude_source: Annotated[
        list[str] | None,
        typer.Option(help="Leave this source's crops out of training and epoch choice (repeatable)."),
    ] = None,
    augmentation: Annotated[
        Augmentation,
        typer.Option(
            metavar="PRESET",
            help=Augmentation.described(),
        ),
    ] = Augmentation.DEFAULT,
    tone_balance: Annotated[
        bool,
        typer.Option(
            "--tone-balance", help="Share the compliant class's draws evenly by skin-tone group (cover model)."
        ),
    ] = False,
    input_norm: Annotated[
        bool,
        typer.Option("--input-norm", help="Standardise each crop (its mean and spread) inside the network."),
    ] = False,
) -> None:
    """Train one attribute model on crops (needs the `train` extra: torch), export ONNX and its model card."""
    import shlex

    from icaocheck.training.data import resolve_attribute

    try:
        resolve_attribute(model)
    except ValueError as error:
        _usage_error(str(error))
    if device not in ("auto", "cpu", "cuda"):
        _usage_error(f"expected --device auto, cpu or cuda, got {device!r}")
    try:
        from icaocheck.training.train import train_attribute
    except ImportError as error:
        _usage_error(f"training needs PyTorch: pip install 'icaocheck[train]' ({error})")
    try:
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
            exclude_sources=exclude_source or (),
            augmentation=augmentation.config(),
            tone_balance=tone_balance,
            input_norm=input_norm,
            command_line=shlex.join(["icaocheck", *sys.argv[1:]]),
            log=console.print,
        )
    except ValueError as error:
        # The crops cannot train this model (a class missing from a split, another crop size).
        console.print(f"[red]error:[/] {_shown(str(error))}", highlight=False)
        raise typer.Exit(EXIT_INPUT_ERROR) from error


@app.command(
    cls=_Command,
    epilog=_examples(
        "icaocheck evaluate ../shared/data/labels.csv -a eyes",
        "icaocheck evaluate ../shared/data/labels.csv -a mouth --write-threshold",
        "icaocheck evaluate ../shared/data/labels.csv -a eyes --set landmarks.source=mesh --out evaluation/mesh",
        "icaocheck evaluate ../shared/data/labels.csv -a mouth --cross-source --retrain --crops work/crops "
        "--augmentation robust",
    ),
)
def evaluate(
    labels: Annotated[
        list[Path], typer.Argument(exists=True, dir_okay=False, help="Labels CSVs (shared/data format), merged.")
    ],
    attribute: Annotated[str, typer.Option("--attribute", "-a", help="eyes, mouth or veil.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the plots and summaries.")] = Path("evaluation"),
    work_dir: Annotated[
        Path, typer.Option("--work", help="Folder for the per-photo score table (reused while the model is the same).")
    ] = Path("work/evaluation"),
    workers: Annotated[int, typer.Option("--workers", "-w", help="Worker processes; 0 = one per core.")] = 1,
    cross_source: Annotated[
        bool, typer.Option(help="Also measure each source at a threshold (and fusion) chosen without it.")
    ] = False,
    plots: Annotated[bool, typer.Option(help="Write the DET plot (needs matplotlib).")] = True,
    write_threshold: Annotated[
        bool, typer.Option(help="Ship the validation EER threshold and the test figures in the model card.")
    ] = False,
    fusion: Annotated[
        str, typer.Option(help="keep the card's fusion; fit one on validation photos and ship it; or drop it.")
    ] = "keep",
    models: Annotated[
        Path | None,
        typer.Option(exists=True, file_okay=False, help="Models folder to evaluate (default: the installed models)."),
    ] = None,
    retrain: Annotated[
        bool,
        typer.Option(help="With --cross-source: per source, train the model without it (on --crops), measure on it."),
    ] = False,
    crops: Annotated[
        list[Path] | None,
        typer.Option(exists=True, help="--retrain: training crops folder from `icaocheck crops` (repeatable)."),
    ] = None,
    epochs: Annotated[int, typer.Option(min=1, help="--retrain: training epochs per model.")] = 12,
    threads: Annotated[int, typer.Option(min=1, help="--retrain: torch CPU threads.")] = 1,
    source: Annotated[
        list[str] | None, typer.Option(help="--retrain: only these sources (repeatable; default every source).")
    ] = None,
    merge: Annotated[
        list[Path] | None,
        typer.Option(exists=True, dir_okay=False, help="--retrain: pool these results of runs over other sources."),
    ] = None,
    augmentation: Annotated[
        Augmentation,
        typer.Option(metavar="PRESET", help="--retrain: the training preset, as `icaocheck train --augmentation`."),
    ] = Augmentation.DEFAULT,
    overrides: SetOption = None,
) -> None:
    """Measure a check on held-out photos through the whole pipeline: thresholds chosen on validation, test reported.

    --set configures the pipeline that scores the photos (e.g. landmarks.source=mesh); its scores are cached
    apart from the default configuration's.
    """
    from icaocheck.evaluate import (
        ATTRIBUTE_LABELS,
        evaluate_attribute,
        fused_decision,
        markdown_summary,
        ship,
        write_outputs,
    )
    from icaocheck.model_files import models_dir
    from icaocheck.profiles import ProfileError, resolve

    if attribute not in ATTRIBUTE_LABELS or fusion not in ("keep", "fit", "drop"):
        console.print(
            f"[red]error:[/] expected --attribute among {', '.join(ATTRIBUTE_LABELS)} and --fusion keep|fit|drop"
        )
        raise typer.Exit(EXIT_USAGE)
    if fusion == "fit" and fused_decision(attribute) is None:
        console.print(f"[red]error:[/] --fusion fit: the run time cannot apply a fusion to the {attribute} model")
        raise typer.Exit(EXIT_USAGE)
    if overrides and (retrain or write_threshold or fusion != "keep"):
        # A card's threshold and fusion must fit the pipeline that ships (the default configuration).
        _usage_error("--set only measures: leave it out with --retrain, --write-threshold or --fusion")
    try:
        config = resolve(overrides=overrides, models=models).config if overrides else None
    except ProfileError as error:
        _usage_error(str(error))
    if retrain:
        _evaluate_retrained(
            labels,
            attribute,
            out_dir,
            work_dir,
            workers,
            cross_source,
            crops,
            epochs,
            threads,
            source,
            merge,
            augmentation,
        )
        return
    if plots and importlib.util.find_spec("matplotlib") is None:
        console.print("[red]error:[/] plots need matplotlib: pip install 'icaocheck[train]', or pass --no-plots")
        raise typer.Exit(EXIT_USAGE)
    card_path = (models or models_dir()) / f"{attribute}.json"
    if not card_path.is_file():
        console.print(f"[red]error:[/] no {attribute} model in the models folder: train it first")
        raise typer.Exit(EXIT_USAGE)
    try:
        with console.status(f"scoring the held-out photos of {attribute} (cached in {work_dir})"):
            table, evaluation = evaluate_attribute(labels, attribute, work_dir, workers, cross_source, models, config)
        evaluation.settings = list(overrides or [])  # the summaries say which pipeline their figures are of
    except ValueError as error:  # too few labelled photos on the validation side
        console.print(f"[red]error:[/] {error}")
        raise typer.Exit(EXIT_USAGE) from error
    if write_threshold or fusion != "keep":
        # A changed fusion changes what the score means: its threshold is set anew.
        fuse = fusion == "fit" or (fusion == "keep" and "fusion" in json.loads(card_path.read_text()))
        shipped = ship(card_path, evaluation, fuse, [str(p) for p in labels])
        console.print(f"wrote {shipped.decision}'s threshold {shipped.threshold:.4f} into {card_path}")
    for path in write_outputs(table, evaluation, out_dir, plots=plots):
        console.print(f"wrote {path}")
    stdout_console.print(markdown_summary(evaluation))


def _evaluate_retrained(
    labels: list[Path],
    attribute: str,
    out_dir: Path,
    work_dir: Path,
    workers: int,
    cross_source: bool,
    crops: list[Path] | None,
    epochs: int,
    threads: int,
    sources: list[str] | None,
    merge: list[Path] | None,
    augmentation: Augmentation,
) -> None:
    """``evaluate --cross-source --retrain``: :func:`icaocheck.training.cross_source.retrained_cross_source`,
    or with ``merge`` the pooled figures of runs over different sources."""
    if not cross_source or not (crops or merge):
        _usage_error("--retrain measures cross-source figures: give --cross-source and --crops (or --merge results)")
    try:
        from icaocheck.training import cross_source as retrained
    except ImportError as error:
        _usage_error(f"--retrain trains models and needs PyTorch: pip install 'icaocheck[train]' ({error})")
    try:
        if merge:
            result = retrained.merged([retrained.read_result(path) for path in merge], attribute)
        else:
            result = retrained.retrained_cross_source(
                labels,
                attribute,
                crops or [],
                work_dir,
                epochs,
                sources=sources,
                threads=threads,
                workers=workers,
                log=console.print,
                augmentation=augmentation,
            )
    except (OSError, ValueError, KeyError, TypeError) as error:  # unknown source, unusable crops, unreadable result
        console.print(f"[red]error:[/] {_shown(str(error))}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from error
    for path in retrained.write_outputs(result, out_dir):
        console.print(f"wrote {path}")
    stdout_console.print(retrained.markdown_summary(result))


def _export_target(out_dir: Path | None) -> Path:
    """Where an export writes: ``out_dir``, else the checkout's models/; never the installed package's."""
    from icaocheck.model_files import checkout_models_dir, installed_models_dir

    target = out_dir or checkout_models_dir()
    if target is None:
        _usage_error("icaocheck runs from an installed package, whose models are never overwritten: give a folder")
    installed = installed_models_dir()
    if installed is not None and target.resolve() == installed.resolve():
        _usage_error(f"{target} holds the installed package's models, which are never overwritten: give another folder")
    return target


@app.command(
    "export-mtcnn",
    cls=_Command,
    epilog=_examples("icaocheck export-mtcnn", "icaocheck export-mtcnn /tmp/mtcnn-models"),
)
def export_mtcnn_command(
    out_dir: Annotated[
        Path | None,
        typer.Argument(help="Target folder (default: models/ of the source checkout icaocheck runs from)."),
    ] = None,
) -> None:
    """Rebuild the MTCNN P/R/O-Net ONNX files from the weights shipped in the mtcnn package.

    Needs onnx, which a plain install leaves out: pip install onnx (or the export extra).
    """
    target = _export_target(out_dir)
    try:
        from icaocheck.tools.export_mtcnn import export_mtcnn
    except ModuleNotFoundError as error:
        _usage_error(f"export-mtcnn needs {error.name}: pip install onnx, or pip install 'icaocheck[export]'")
    for path in export_mtcnn(target):
        console.print(f"wrote {path}")


@app.command(
    "export-mesh",
    cls=_Command,
    epilog=_examples(
        "pip download --no-deps mediapipe==0.10.21 -d /tmp/wheels",
        "icaocheck export-mesh /tmp/wheels/mediapipe-0.10.21-*.whl",
    ),
)
def export_mesh_command(
    wheel: Annotated[
        Path,
        typer.Argument(help="mediapipe 0.10.21 wheel (pip download --no-deps mediapipe==0.10.21).", dir_okay=False),
    ],
    out_dir: Annotated[
        Path | None,
        typer.Argument(help="Target folder (default: models/ of the source checkout icaocheck runs from)."),
    ] = None,
) -> None:
    """Rebuild the BlazeFace, face-mesh and selfie-segmentation ONNX files from a mediapipe wheel's TFLite models.

    Needs the dev-time `export` extra: pip install -e ".[export]".
    """
    from icaocheck.tools.export_mediapipe import export_mediapipe

    try:
        written = export_mediapipe(wheel, _export_target(out_dir))
    except ModuleNotFoundError as error:
        console.print(f'[red]error:[/] {error.name} is not installed; pip install -e ".[export]"')
        raise typer.Exit(EXIT_USAGE) from None
    except (OSError, ValueError) as error:
        console.print(f"[red]error:[/] {error}", highlight=False)
        raise typer.Exit(EXIT_INPUT_ERROR) from None
    for path in written:
        console.print(f"wrote {path}")


if __name__ == "__main__":
    app()
