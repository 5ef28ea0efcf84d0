"""Command line: ``painpoints analyze``, ``painpoints demo`` and ``painpoints ui``.

Help and messages follow ``--lang-ui``, else ``PAINPOINTS_LANG`` or the locale. The
language is read from the command line before the commands are built, so that
``--help`` itself is translated.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final, NoReturn, Optional

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from painpoints.cli_screens import adapt_typer_screens
from painpoints.cli_summary import LIST_SEPARATORS, print_summary
from painpoints.errors import PainpointsError
from painpoints.i18n import get_language, set_language, tr
from painpoints.settings import (
    DEFAULT_FIT_SAMPLE_SIZE,
    MAX_UPLOAD_MB,
    AnalysisSettings,
    ColumnMapping,
    default_cache_dir,
    default_store_path,
)

SAMPLE_PATH = Path(__file__).resolve().parent / "data" / "sample_feedback.csv"
UI_SCRIPT = Path(__file__).resolve().parent.parent / "ui" / "app.py"
# Stages whose progress counts texts, so their bar shows texts per second.
RATE_STAGES: Final = frozenset({"clean", "embed", "assign"})  # as painpoints.pipeline.TEXT_STAGES


def _language_from_argv(argv: list[str]) -> str | None:
    for index, argument in enumerate(argv):
        if argument == "--lang-ui" and index + 1 < len(argv):
            return argv[index + 1]
        if argument.startswith("--lang-ui="):
            return argument.split("=", 1)[1]
    return None


try:
    set_language(_language_from_argv(sys.argv))
except ValueError:
    set_language(None)

console = Console(stderr=True)


adapt_typer_screens()
app = typer.Typer(help=tr("cli.app_help"), add_completion=False, no_args_is_help=True)

LangUiOption = typer.Option(None, "--lang-ui", help=tr("cli.opt_lang_ui"))
StoreOption = typer.Option(None, "--store", help=tr("cli.opt_store"))
VerboseOption = typer.Option(False, "--verbose", "-v", help=tr("cli.opt_verbose"))


def _exit_with_error(message: str) -> NoReturn:
    """Print ``message`` after the error prefix and end the command with exit status 2."""
    console.print(f"[bold red]{tr('cli.error_prefix')}[/]{escape(message)}")
    raise typer.Exit(code=2)


def _configure(lang_ui: str | None, verbose: bool) -> None:
    if lang_ui:
        try:
            set_language(lang_ui)
        except ValueError as error:
            raise typer.BadParameter(tr("cli.error_lang_ui", value=lang_ui), param_hint="--lang-ui") from error
    # The log is technical and in English, so without -v only errors reach the screen.
    # What a user must know is in the summary, in the interface language.
    logging.basicConfig(
        level=logging.INFO if verbose else logging.ERROR,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False)],
    )


class RateColumn(ProgressColumn):
    """Texts per second of a stage that counts texts; blank for stages that count steps."""

    def render(self, task: Task) -> Text:
        if not task.fields.get("counts_texts") or not task.speed:
            return Text("")
        return Text(tr("cli.progress_rate", rate=f"{task.speed:,.0f}"), style="progress.data.speed")


def _progress_bar() -> tuple[Progress, callable]:
    progress = Progress(
        TextColumn("{task.description:<16}"), BarColumn(), MofNCompleteColumn(), RateColumn(), TimeElapsedColumn(),
        TimeRemainingColumn(), console=console, transient=False,
    )
    tasks: dict[str, int] = {}

    def report(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = progress.add_task(tr(f"cli.stage_{stage}"), total=total or None,
                                             counts_texts=stage in RATE_STAGES)
        progress.update(tasks[stage], completed=done, total=total or None)

    return progress, report


@contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold Ctrl+C back until the block ends, so that saving a finished run is never cut in half.

    Only the main thread can set signal handlers; elsewhere the block runs unprotected.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        logging.getLogger(__name__).info("Ctrl+C came while the run was being saved; the run is complete")


@contextmanager
def _sigint_not_swallowed(interrupted: threading.Event) -> Iterator[None]:
    """Let Ctrl+C set ``interrupted`` and raise KeyboardInterrupt, and hide destructor errors from then on.

    An interrupt that lands in a destructor, such as that of numba's compiler in the
    middle of a compilation, is swallowed there and the run would go on. The caller
    raises it again at the next progress report. Only the main thread can set signal
    handlers; elsewhere the block runs with the handler it has.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_interrupt(signum, frame):
        interrupted.set()
        sys.unraisablehook = lambda unraisable: None
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _publish(staging: Path, out: Path) -> None:
    """Move the files written in ``staging`` into ``out``, replacing files of the same name."""
    out.mkdir(parents=True, exist_ok=True)
    for path in staging.iterdir():
        os.replace(path, out / path.name)


def _run(feedback: Path, settings: AnalysisSettings, customers: Path | None, out: Path, store: Path | None) -> None:
    from painpoints.pipeline import run_analysis
    from painpoints.report import write_outputs
    from painpoints.store import save_run

    store_path = store or default_store_path()
    # A missing input fails here, before the progress bars draw their first line.
    for path in (feedback, customers):
        if path is not None and not Path(path).is_file():
            _exit_with_error(tr("ingest.file_not_found", path=path))
    progress, show = _progress_bar()
    interrupted = threading.Event()

    def report(stage: str, done: int, total: int) -> None:
        if interrupted.is_set():
            raise KeyboardInterrupt
        show(stage, done, total)

    staging: Path | None = None
    try:
        with progress, _sigint_not_swallowed(interrupted):
            result = run_analysis(feedback, settings, customers_path=customers, progress=report)
            report("save", 0, 1)
            # Files go to a hidden sibling folder first, so an interrupted or failed run
            # leaves --out as it was. They move into --out once the store has the run.
            out.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-partial-", dir=out.parent))
            write_outputs(result, staging)
            with _sigint_deferred():
                save_run(result, store_path)
                _publish(staging, out)
            report("save", 1, 1)
    except PainpointsError as error:
        _exit_with_error(error.message())
    except KeyboardInterrupt:
        # Objects that Ctrl-C left half built, such as numba's compiler mid-compilation, may
        # fail in their destructors as the process ends. Those errors are not printed.
        sys.unraisablehook = lambda unraisable: None
        console.print(tr("cli.interrupted"))
        raise typer.Exit(code=130)
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    print_summary(result, out, store_path)


@app.command(help=tr("cli.analyze_help"), options_metavar=tr("cli.metavar_options"))
def analyze(
    feedback: Path = typer.Argument(..., help=tr("cli.opt_feedback"), metavar=tr("cli.metavar_file")),
    customers: Optional[Path] = typer.Option(None, "--customers", help=tr("cli.opt_customers")),
    text_col: Optional[str] = typer.Option(None, "--text-col", help=tr("cli.opt_text_col")),
    id_col: Optional[str] = typer.Option(None, "--id-col", help=tr("cli.opt_id_col")),
    customer_col: Optional[str] = typer.Option(None, "--customer-col", help=tr("cli.opt_customer_col")),
    date_col: Optional[str] = typer.Option(None, "--date-col", help=tr("cli.opt_date_col")),
    outcome_col: Optional[str] = typer.Option(None, "--outcome-col", help=tr("cli.opt_outcome_col")),
    event_value: Optional[str] = typer.Option(None, "--event-value", help=tr("cli.opt_event_value")),
    value_col: Optional[str] = typer.Option(None, "--value-col", help=tr("cli.opt_value_col")),
    covariates: Optional[str] = typer.Option(None, "--covariates", help=tr("cli.opt_covariates")),
    duration_col: Optional[str] = typer.Option(None, "--duration-col", help=tr("outcomes.opt_duration_col")),
    start_col: Optional[str] = typer.Option(None, "--start-col", help=tr("outcomes.opt_start_col")),
    end_col: Optional[str] = typer.Option(None, "--end-col", help=tr("outcomes.opt_end_col")),
    score_col: Optional[str] = typer.Option(None, "--score-col", help=tr("outcomes.opt_score_col")),
    score_kind: str = typer.Option("nps", "--score-kind", help=tr("outcomes.opt_score_kind")),
    segments: Optional[str] = typer.Option(None, "--segments", help=tr("outcomes.opt_segments")),
    period: str = typer.Option("month", "--period", help=tr("outcomes.opt_period")),
    lang: str = typer.Option("auto", "--lang", help=tr("cli.opt_lang")),
    embedding: str = typer.Option("auto", "--embedding", help=tr("cli.opt_embedding")),
    seed: int = typer.Option(42, "--seed", help=tr("cli.opt_seed")),
    min_topic_size: Optional[int] = typer.Option(None, "--min-topic-size", help=tr("cli.opt_min_topic_size")),
    fit_sample: int = typer.Option(DEFAULT_FIT_SAMPLE_SIZE, "--fit-sample", help=tr("cli.opt_fit_sample")),
    engine: str = typer.Option("local", "--engine", help=tr("cli.opt_engine")),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help=tr("cli.opt_ray_address")),
    seed_topics: Optional[Path] = typer.Option(None, "--seed-topics", help=tr("cli.opt_seed_topics")),
    no_redact: bool = typer.Option(False, "--no-redact", help=tr("cli.opt_no_redact")),
    t2s: bool = typer.Option(False, "--t2s", help=tr("cli.opt_t2s")),
    sheet: Optional[str] = typer.Option(None, "--sheet", help=tr("cli.opt_sheet")),
    sentiment: str = typer.Option("auto", "--sentiment", help=tr("cli.opt_sentiment")),
    sentiment_label_col: Optional[str] = typer.Option(None, "--sentiment-label-col",
                                                      help=tr("cli.opt_sentiment_label_col")),
    out: Optional[Path] = typer.Option(None, "--out", help=f"{tr('cli.opt_out')} {tr('cli.opt_out_default')}"),
    store: Optional[Path] = StoreOption,
    lang_ui: Optional[str] = LangUiOption,
    verbose: bool = VerboseOption,
) -> None:
    _configure(lang_ui, verbose)
    try:
        settings = AnalysisSettings(
            columns=ColumnMapping(text=text_col, ticket_id=id_col, customer_id=customer_col, date=date_col,
                                  outcome=outcome_col, value=value_col),
            event_value=event_value,
            covariates=tuple(name.strip() for name in (covariates or "").split(",") if name.strip()),
            duration_col=duration_col,
            start_col=start_col,
            end_col=end_col,
            score_col=score_col,
            score_kind=score_kind,
            segment_cols=tuple(name.strip() for name in (segments or "").split(",") if name.strip()),
            period=period,
            language=lang,
            embedding=embedding,
            seed=seed,
            min_topic_size=min_topic_size,
            fit_sample_size=fit_sample or None,
            engine=engine,
            ray_address=ray_address,
            seed_topics=seed_topics,
            redact_pii=not no_redact,
            traditional_to_simplified=t2s,
            sheet=sheet,
            sentiment=sentiment,
            sentiment_label_col=sentiment_label_col,
        )
    except PainpointsError as error:
        _exit_with_error(error.message())
    _run(feedback, settings, customers, out or Path("painpoints-output") / feedback.stem, store)


# The British spelling, which the help text uses, runs the same command; hidden from the list.
app.command("analyse", hidden=True, help=tr("cli.analyze_help"), options_metavar=tr("cli.metavar_options"))(analyze)


@app.command(help=tr("cli.demo_help"))
def demo(
    out: Path = typer.Option(Path("painpoints-output") / "demo", "--out", help=tr("cli.opt_out")),
    embedding: str = typer.Option("auto", "--embedding", help=tr("cli.opt_embedding")),
    store: Optional[Path] = StoreOption,
    lang_ui: Optional[str] = LangUiOption,
    verbose: bool = VerboseOption,
) -> None:
    _configure(lang_ui, verbose)
    settings = AnalysisSettings(embedding=embedding, covariates=("在网月数",))
    _run(SAMPLE_PATH, settings, None, out, store)


@app.command(help=tr("cli.ui_help"))
def ui(
    store: Optional[Path] = StoreOption,
    port: int = typer.Option(8501, "--port", help=tr("cli.opt_port")),
    lang_ui: Optional[str] = LangUiOption,
) -> None:
    _configure(lang_ui, False)
    store_path = store or default_store_path()
    console.print(tr("cli.ui_starting", port=port, store=store_path))
    command = [
        sys.executable, "-m", "streamlit", "run", str(UI_SCRIPT),
        "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--server.maxUploadSize", str(MAX_UPLOAD_MB),
        "--client.toolbarMode", "viewer", "--", "--store", str(store_path),
    ]
    if lang_ui:
        # The viewer's first language: PAINPOINTS_LANG wins over the browser's locale.
        os.environ["PAINPOINTS_LANG"] = lang_ui
    # Replace this process with Streamlit, so that stopping "painpoints ui" (Ctrl+C
    # or kill) stops the server too instead of leaving a child process running.
    console.file.flush()
    os.execv(sys.executable, command)


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:,.1f} MB"


def _print_cache(report) -> None:
    output = Console()
    output.print(tr("cli.cache_folder", folder=report.folder, size=_megabytes(report.total_bytes)),
                 markup=False, highlight=False)
    if report.vectors:
        models = LIST_SEPARATORS[get_language()][0].join(f"{model} {count:,}" for model, count in report.vectors.items())
        output.print(tr("cli.cache_vectors", count=sum(report.vectors.values()), size=_megabytes(report.vector_bytes),
                        models=models), markup=False, highlight=False)
    else:
        output.print(tr("cli.cache_no_vectors"))
    output.print(tr("cli.cache_results", count=report.results, size=_megabytes(report.result_bytes)))


@app.command(help=tr("cli.cache_help"))
def cache(
    unused_days: Optional[int] = typer.Option(None, "--unused-days", help=tr("cli.opt_unused_days")),
    clear: bool = typer.Option(False, "--clear", help=tr("cli.opt_cache_clear")),
    lang_ui: Optional[str] = LangUiOption,
    verbose: bool = VerboseOption,
) -> None:
    from painpoints.vector_cache import cache_report, clear_cache, prune_cache

    _configure(lang_ui, verbose)
    if clear and unused_days is not None:
        _exit_with_error(tr("cli.cache_both_options"))
    if unused_days is not None and unused_days < 0:
        _exit_with_error(tr("cli.cache_negative_days", value=unused_days))
    folder = default_cache_dir()
    if clear:
        size = cache_report(folder).total_bytes
        clear_cache(folder)
        Console().print(tr("cli.cache_cleared", folder=folder, size=_megabytes(size)), markup=False, highlight=False)
        return
    if unused_days is not None:
        vectors, results = prune_cache(folder, unused_days)
        Console().print(tr("cli.cache_pruned", vectors=vectors, results=results, days=unused_days))
    _print_cache(cache_report(folder))


def main() -> None:
    """Entry point of the ``painpoints`` command."""
    app()


if __name__ == "__main__":
    main()
