"""Runs & export page logic, without Streamlit calls: the run list, the comparison of two
runs, and downloads as bytes.

The CSV and XLSX downloads use the writers of ``painpoints analyze``
(:mod:`painpoints.report`), so they are formula-safe in the same way. A CSV text
cell starting with ``=``, ``+``, ``-`` or ``@`` gets a leading apostrophe. An XLSX
text cell is stored as text, never as a formula. CSV files are UTF-8 with a
byte-order mark, so Excel shows Chinese.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from painpoints import schema as S
from painpoints.i18n import tr
from painpoints.report import write_csv, write_xlsx
from painpoints.store import StoredRun, list_run_infos

try:  # imported as ui._export by the tests
    from . import _edit
except ImportError:  # imported from the ui folder by the app
    import _edit

CSV_MIME = "text/csv"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PNG_MIME = "image/png"
# Columns of the side-by-side comparison, per run.
COMPARED_COLUMNS = ("label", "customers", "churn_rate", "lift")


class Download(NamedTuple):
    """A file the page offers: kind (``outcomes_csv`` …), file name, bytes maker, MIME type."""

    kind: str
    filename: str
    make: Callable[[], bytes]
    mime: str


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """Return the frame as a formula-safe UTF-8 CSV with a byte-order mark."""
    buffer = io.BytesIO()
    write_csv(frame, buffer)
    return buffer.getvalue()


def xlsx_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    """Return the frames as sheets of one XLSX workbook. Text cells never become formulas."""
    buffer = io.BytesIO()
    write_xlsx(sheets, buffer)
    return buffer.getvalue()


def table_downloads(run: StoredRun) -> list[Download]:
    """List the table downloads of a run. Their bytes are made when called.

    Kinds: ``outcomes_csv``, ``outcomes_xlsx``, ``documents_csv``, ``documents_xlsx``;
    the outcome files are left out when the run has no outcome.
    """
    files = []
    if not run.topic_outcomes.empty:
        files.append(Download("outcomes_csv", f"{run.run_id}_topic_outcomes.csv",
                              partial(csv_bytes, run.topic_outcomes), CSV_MIME))
        files.append(Download("outcomes_xlsx", f"{run.run_id}_topic_outcomes.xlsx",
                              partial(xlsx_bytes, {"topic_outcomes": run.topic_outcomes, "topics": run.topics}),
                              XLSX_MIME))
    files.append(Download("documents_csv", f"{run.run_id}_documents.csv", partial(csv_bytes, run.documents),
                          CSV_MIME))
    files.append(Download("documents_xlsx", f"{run.run_id}_documents.xlsx",
                          partial(xlsx_bytes, {"documents": run.documents}), XLSX_MIME))
    return files


def _charts_module():
    try:
        from . import _charts
    except ImportError:
        try:
            import _charts
        except ImportError:
            return None
    return _charts


def chart_downloads(run: StoredRun, language: str) -> list[Download]:
    """List the PNG downloads of the run's charts drawn by ``_charts.py``: topic sizes,
    forest plot of the topic-vs-churn table, and topic trends when the run has them.
    """
    charts = _charts_module()
    if charts is None:
        return []
    wanted = [("topic_sizes_png", "topic_sizes", run.topics, not run.topics.empty),
              ("forest_plot_png", "forest_plot", run.topic_outcomes, not run.topic_outcomes.empty),
              ("trend_png", "trends", run.analyses.get("trends"), "trends" in run.analyses)]
    return [Download(kind, f"{run.run_id}_{kind}.png", partial(getattr(charts, function), table, language),
                     PNG_MIME)
            for function, kind, table, present in wanted if present and hasattr(charts, function)]


def run_list(store: Path, language: str) -> pd.DataFrame:
    """Return one row per stored run, newest first: id, date, input file, rows, topics, model, edited.

    Raises
    ------
    painpoints.errors.StoreError
        When the store is missing or cannot be opened.
    """
    infos = list_run_infos(store)
    return pd.DataFrame({
        tr("ui.col_run", language): list(infos),
        tr("ui.col_created", language): [_edit.format_time(info.get("created_at"), language)
                                         for info in infos.values()],
        tr("ui.col_input", language): [Path(str(info.get("input_path", ""))).name for info in infos.values()],
        tr("ui.col_rows", language): [f"{int(info.get('rows', 0)):,}" for info in infos.values()],
        tr("ui.col_topics", language): [f"{int((info.get('topics') or {}).get('count', 0)):,}"
                                        for info in infos.values()],
        tr("ui.col_model", language): [(info.get("embedding") or {}).get("model_id", "–") for info in infos.values()],
        tr("ui.col_edited", language): [_edit.format_time(info["edited_at"], language) if info.get("edited_at")
                                        else "" for info in infos.values()],
    })


def compare_outcomes(first: StoredRun, second: StoredRun, language: str) -> pd.DataFrame:
    """Put the topic-vs-churn lines of two runs side by side, matched by topic id.

    Columns: topic id, then label, customers, churn rate and lift of each run, the
    run id in the header. Ids match across runs scored with the same codebook.
    """
    def lines(run: StoredRun) -> pd.DataFrame:
        if run.topic_outcomes.empty:
            return pd.DataFrame(columns=[S.TOPIC_ID, *COMPARED_COLUMNS]).set_index(S.TOPIC_ID)
        frame = run.topic_outcomes[[S.TOPIC_ID, *COMPARED_COLUMNS]].copy()
        frame[S.TOPIC_ID] = frame[S.TOPIC_ID].astype("int64")
        # The run stored these two labels in its own language, so show them in the reader's.
        frame.loc[frame[S.TOPIC_ID] == S.UNCLUSTERED, "label"] = tr("topics.unclustered_label", language)
        frame.loc[frame[S.TOPIC_ID] == S.NO_CONTENT_TOPIC, "label"] = tr("topics.no_content_label", language)
        return frame.set_index(S.TOPIC_ID)

    headers = {"label": "ui.col_label", "customers": "ui.col_customers", "churn_rate": "ui.col_churn_rate",
               "lift": "ui.col_lift"}
    joined = lines(first).join(lines(second), how="outer", lsuffix="_a", rsuffix="_b").sort_index()
    table = pd.DataFrame({tr("ui.col_topic_id", language): joined.index.to_numpy()})
    for suffix, run in (("_a", first), ("_b", second)):
        for column in COMPARED_COLUMNS:
            table[f"{tr(headers[column], language)} · {run.run_id}"] = joined[column + suffix].to_numpy()
    return table
