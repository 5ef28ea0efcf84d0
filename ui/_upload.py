"""Upload & run page logic, without Streamlit calls: check an uploaded file, build the
settings, run the analysis and describe its progress.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import duckdb
import pandas as pd

from painpoints import schema as S
from painpoints.clean import clean_documents, skipped_rows
from painpoints.columns import detect_columns, unknown_outcomes
from painpoints.embed import Embedder, load_registry
from painpoints.errors import PainpointsError, StoreError
from painpoints.i18n import reason_text, tr
from painpoints.ingest import load_customers, load_feedback
from painpoints.pipeline import STAGES, TEXT_STAGES, run_analysis
from painpoints.readers import SUPPORTED_SUFFIXES, read_table
from painpoints.settings import MAX_UPLOAD_MB, AnalysisSettings, ColumnMapping
from painpoints.store import list_runs, load_codebook, save_run

# The uploader takes extensions without the dot.
UPLOAD_TYPES: Final = tuple(suffix.lstrip(".") for suffix in SUPPORTED_SUFFIXES)
# Column roles of painpoints.settings.ColumnMapping, in the order the page shows them.
MAPPING_ROLES: Final = ("text", "ticket_id", "customer_id", "date", "outcome", "value")
PREVIEW_ROWS: Final = 20
# An outcome column with more distinct values than this is offered no value list.
MAX_EVENT_CHOICES: Final = 50


def embedding_choices() -> list[str]:
    """Return ``auto`` followed by the backends of the model registry."""
    return ["auto", *load_registry()]


def upload_limit_mb() -> int:
    """Return the viewer's upload limit in MB (also set in ``.streamlit/config.toml``)."""
    return MAX_UPLOAD_MB


@contextmanager
def _uploaded_file(data: bytes, filename: str) -> Iterator[Path]:
    """Write uploaded bytes under their own file name in a temporary folder.

    The format is chosen by the extension. A ``PainpointsError`` raised inside names
    the uploaded file, not the temporary folder.
    """
    with tempfile.TemporaryDirectory(prefix="painpoints-upload-") as folder:
        path = Path(folder) / Path(filename).name
        path.write_bytes(data)
        try:
            yield path
        except PainpointsError as error:
            _name_upload(error, path)
            raise


def _name_upload(error: PainpointsError, path: Path) -> None:
    """Replace the temporary path of an uploaded file by its name in an error's values."""
    error.params = {name: value.replace(str(path), path.name) if isinstance(value, str) else value
                    for name, value in error.params.items()}
    error.args = (error.message("en"),)


@dataclass(frozen=True)
class UploadCheck:
    """Facts the page shows about an uploaded file before the run starts.

    Attributes
    ----------
    columns : list of str
        The file's column headers.
    preview : pandas.DataFrame
        Its first ``PREVIEW_ROWS`` rows, every cell as text.
    mapping : ColumnMapping
        The column of each role: the user's choice, else the detected one.
    file_format, encoding : str, str or None
    rows : int
        Data rows, header not counted.
    problems : pandas.DataFrame
        ``schema.SKIPPED_ROW_COLUMNS``: rejected rows and rows without content.
    unknown_values : dict
        Outcome cells that are no known yes/no spelling -> their count.
    outcome_values : list of str
        Distinct non-blank values of the outcome column (empty when there are more
        than ``MAX_EVENT_CHOICES``), for choosing the event value.
    error : PainpointsError or None
        A problem that stops the run (for example an outcome column without a known
        yes/no spelling); the preview and mapping are still filled.
    repaired_quotes : tuple of int
        Rows whose never-closed quote was read as a character, see
        :class:`painpoints.readers.TableInfo`.
    """

    columns: list[str]
    preview: pd.DataFrame
    mapping: ColumnMapping
    file_format: str
    encoding: str | None
    rows: int
    problems: pd.DataFrame
    unknown_values: dict[str, int] = field(default_factory=dict)
    outcome_values: list[str] = field(default_factory=list)
    error: PainpointsError | None = None
    repaired_quotes: tuple[int, ...] = ()


def inspect_upload(
    data: bytes,
    filename: str,
    columns: ColumnMapping = ColumnMapping(),
    event_value: str | None = None,
    redact_pii: bool = True,
) -> UploadCheck:
    """Read and map an uploaded file without embedding it, and list its problems.

    Uses the ingest and clean stages of ``painpoints analyze``, so the rows listed
    are the ones the run would reject or find without content.

    Raises
    ------
    painpoints.errors.PainpointsError
        When the file cannot be read at all (format, encoding, no text column).
    """
    settings = AnalysisSettings(columns=columns, event_value=event_value or None, redact_pii=redact_pii)
    with _uploaded_file(data, filename) as path:
        frame, info = read_table(path)
        mapping = detect_columns(frame, columns, info.path)
        outcome_values: list[str] = []
        unknown: dict[str, int] = {}
        if mapping.outcome:
            cells = frame[mapping.outcome].astype(str).str.strip()
            distinct = sorted(value for value in cells.unique() if value)
            outcome_values = distinct if len(distinct) <= MAX_EVENT_CHOICES else []
            unknown = {str(value): int(count) for value, count in
                       cells[unknown_outcomes(frame[mapping.outcome], settings.event_value).to_numpy()]
                       .value_counts().items()}
        error = None
        problems = pd.DataFrame(columns=list(S.SKIPPED_ROW_COLUMNS))
        try:
            feedback = load_feedback(path, settings)
        except PainpointsError as raised:
            error = raised
        else:
            cleaned = clean_documents(feedback.documents, redact=redact_pii)
            problems = skipped_rows(cleaned, feedback.rejections, feedback.mapping.text, redact=redact_pii)
        if error is not None:
            _name_upload(error, path)
    return UploadCheck(list(map(str, frame.columns)), frame.head(PREVIEW_ROWS), mapping, info.file_format,
                       info.encoding, len(frame), problems, unknown, outcome_values, error, info.repaired_quotes)


def inspect_customers(data: bytes, filename: str, event_value: str | None = None) -> tuple[list[str], ColumnMapping,
                                                                                           int]:
    """Read an uploaded customers file: its columns, the detected mapping and its row count.

    Raises
    ------
    painpoints.errors.PainpointsError
        As ``painpoints analyze --customers``.
    """
    settings = AnalysisSettings(event_value=event_value or None)
    with _uploaded_file(data, filename) as path:
        frame, _ = read_table(path)
        customers, mapping, _, _ = load_customers(path, settings)
    return list(map(str, frame.columns)), mapping, len(customers)


def problem_table(problems: pd.DataFrame, language: str) -> pd.DataFrame:
    """Return the problem rows with translated headers and reasons, for display."""
    return pd.DataFrame({
        tr("ui.col_row", language): problems[S.ROW_NUMBER].astype("int64").to_numpy(),
        tr("ui.col_column", language): problems["column"].astype(str).to_numpy(),
        tr("ui.col_value", language): problems["value"].astype(str).to_numpy(),
        tr("ui.col_reason", language): [reason_text(str(reason), language) for reason in problems[S.REASON]],
    })


def build_settings(
    mapping: dict[str, str | None],
    *,
    event_value: str | None = None,
    language: str = "auto",
    embedding: str = "auto",
    min_topic_size: int | None = None,
    redact_pii: bool = True,
    covariates: Sequence[str] = (),
    segments: Sequence[str] = (),
    score_col: str | None = None,
    score_kind: str = "nps",
    duration_col: str | None = None,
    cache_dir: Path | None = None,
) -> AnalysisSettings:
    """Turn the page's choices into analysis settings. An empty choice means auto or none.

    Raises
    ------
    painpoints.errors.SettingsError
        When a value is invalid (a minimum topic size below 2).
    """
    columns = ColumnMapping(**{role: mapping.get(role) or None for role in MAPPING_ROLES})
    return AnalysisSettings(
        columns=columns, event_value=event_value or None, language=language, embedding=embedding,
        min_topic_size=min_topic_size or None, redact_pii=redact_pii, covariates=tuple(covariates),
        segment_cols=tuple(segments), score_col=score_col or None, score_kind=score_kind,
        duration_col=duration_col or None, cache_dir=cache_dir,
    )


def analyse_upload(
    data: bytes,
    filename: str,
    store: Path,
    *,
    outcome_column: str | None = None,
    event_value: str | None = None,
    embedding: str = "auto",
    settings: AnalysisSettings | None = None,
    customers: tuple[bytes, str] | None = None,
    codebook_run: str | None = None,
    embedder: Embedder | None = None,
    cache_dir: Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> str:
    """Analyse uploaded bytes as if they were the file ``filename`` and save the run.

    `settings` wins over `outcome_column`, `event_value` and `embedding`. `customers`
    is an optional customers file as ``(bytes, file name)``. With `codebook_run`, the
    texts are scored with the codebook saved for that run (ids and names kept), and
    ``embedding="auto"`` becomes the codebook's model. The run is saved in one
    transaction after the last stage, so an exception raised by `progress` (the
    viewer's Stop button) leaves the store as it was.

    Returns
    -------
    str
        The id of the saved run.

    Raises
    ------
    painpoints.errors.PainpointsError
        For every problem with the file or the settings, as ``painpoints analyze``.
    """
    if settings is None:
        settings = AnalysisSettings(columns=ColumnMapping(outcome=outcome_column or None),
                                    event_value=event_value or None, embedding=embedding)
    if cache_dir is not None:
        settings = AnalysisSettings(**{**vars(settings), "cache_dir": cache_dir})
    codebook = load_codebook(store, codebook_run) if codebook_run else None
    if codebook is not None and settings.embedding == "auto" and codebook.model_id in load_registry():
        settings = AnalysisSettings(**{**vars(settings), "embedding": codebook.model_id})
    with _uploaded_file(data, filename) as path:
        if customers is not None:
            with _uploaded_file(*customers) as customers_path:
                result = run_analysis(path, settings, customers_path, embedder=embedder, progress=progress,
                                      codebook=codebook)
            result.info["customers_path"] = Path(customers[1]).name
        else:
            result = run_analysis(path, settings, embedder=embedder, progress=progress, codebook=codebook)
    result.info["input_path"] = Path(filename).name
    result.info["codebook_run"] = codebook_run
    return save_run(result, store)


def codebook_runs(store: Path) -> list[str]:
    """Return the ids of the stored runs that have a saved codebook, newest first (none without a store)."""
    try:
        run_ids = list_runs(store)["run_id"].tolist()
    except (StoreError, duckdb.CatalogException):
        return []
    found = []
    for run_id in run_ids:
        try:
            load_codebook(store, run_id)
        except StoreError:
            continue
        found.append(run_id)
    return found


@dataclass(frozen=True)
class StageProgress:
    """Progress of one pipeline stage: fraction done, rate (items/s) and time left (s)."""

    stage: str
    done: int
    total: int
    fraction: float
    rate: float | None
    seconds_left: float | None


class ProgressTracker:
    """Turn the pipeline's ``(stage, done, total)`` calls into rate and time left.

    The rate of a stage is the items done since its first call divided by the time
    since then. The time left is the items still to do divided by that rate.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._stage: str | None = None
        self._started = 0.0
        self._first_done = 0

    def update(self, stage: str, done: int, total: int) -> StageProgress:
        """Record a progress call and return the stage's progress."""
        now = self._clock()
        if stage != self._stage:
            self._stage, self._started, self._first_done = stage, now, done
        elapsed = now - self._started
        fraction = min(max(done / total, 0.0), 1.0) if total > 0 else 0.0
        rate = (done - self._first_done) / elapsed if elapsed > 0 and done > self._first_done else None
        left = (total - done) / rate if rate and total > 0 and done < total else (0.0 if total and done >= total
                                                                                  else None)
        return StageProgress(stage, done, total, fraction, rate, left)


def format_duration(seconds: float, language: str) -> str:
    """Return ``seconds`` rounded up, as seconds below a minute, else minutes and seconds."""
    whole = max(int(math.ceil(seconds)), 0)
    if whole < 60:
        return tr("ui.duration_seconds", language, seconds=whole)
    return tr("ui.duration_minutes", language, minutes=whole // 60, seconds=whole % 60)


def progress_text(progress: StageProgress, language: str) -> str:
    """Return the line under the progress bar: step, stage, counts, rate and time left."""
    step = STAGES.index(progress.stage) + 1 if progress.stage in STAGES else 0
    parts = [tr("ui.progress_step", language, step=step, steps=len(STAGES),
                stage=tr(f"cli.stage_{progress.stage}", language))]
    if progress.total > 0:
        parts.append(tr("ui.progress_count", language, done=f"{progress.done:,}", total=f"{progress.total:,}"))
    if progress.rate is not None and progress.stage in TEXT_STAGES:
        parts.append(tr("ui.progress_rate", language, rate=f"{progress.rate:,.0f}"))
    if progress.seconds_left is not None and progress.done < progress.total:
        parts.append(tr("ui.progress_left", language, left=format_duration(progress.seconds_left, language)))
    return " · ".join(parts)


def overall_fraction(progress: StageProgress) -> float:
    """Return the share of the whole run done, each of the pipeline's stages counting equally."""
    if progress.stage not in STAGES:
        return 0.0
    return min((STAGES.index(progress.stage) + progress.fraction) / len(STAGES), 1.0)
