"""Reading and formatting helpers of the viewer (``ui/app.py``).

Plain functions without Streamlit, so that tests can call them. Every text a user
reads comes from the catalogue through :func:`painpoints.i18n.tr`.

Numbers use the same format in both interface languages, because the CLDR locale
data of ``en`` and ``zh`` share the decimal point ".", the grouping separator ","
and the percent pattern ``#,##0%``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Final

import duckdb
import pandas as pd

from painpoints import schema as S
from painpoints.errors import StoreError
from painpoints.i18n import detect_language, normalise_language, tr
from painpoints.outcomes._messages import stored_message_text
from painpoints.settings import default_store_path
from painpoints.store import list_edits, list_runs

STORE_ENV: Final = "PAINPOINTS_STORE"
STORE_ARGUMENT: Final = "--store"
LANGUAGE_NAMES: Final = {"zh": "中文", "en": "English"}
MISSING: Final = "–"

# Findings: how many lines to read out, and the false discovery rate they must pass.
FINDINGS_LIMIT: Final = 3
FINDINGS_MAX_Q: Final = 0.05

OUTCOME_HEADER_KEYS: Final = {
    S.TOPIC_ID: "ui.col_topic_id",
    "label": "ui.col_label",
    "customers": "ui.col_customers",
    "churned": "ui.col_churned",
    "churn_rate": "ui.col_churn_rate",
    "baseline_rate": "ui.col_baseline_rate",
    "lift": "ui.col_lift",
    "q_value": "ui.col_q_value",
    "small_group": "ui.col_small_group",
    "revenue_at_risk": "ui.col_revenue_at_risk",
    "odds_ratio": "ui.col_odds_ratio",
    "p_value": "ui.col_p_value",
    "mean_sentiment": "ui.col_mean_sentiment",
    "share_negative": "ui.col_share_negative",
}

VERBATIM_HEADER_KEYS: Final = {
    S.TICKET_ID: "ui.col_ticket_id",
    S.CUSTOMER_ID: "ui.col_customer_id",
    S.TEXT: "ui.col_text",
    S.SENTIMENT: "ui.col_sentiment",
    S.SENTIMENT_LABEL: "ui.col_sentiment_label",
    S.CHURNED: "ui.col_churned_flag",
    S.DATE: "ui.col_date",
}

# Choice of the verbatim filter that keeps every row; the others are S.SENTIMENT_LABELS.
ALL_SENTIMENTS: Final = "all"

# Characters that Streamlit's Markdown would read as formatting, LaTeX ($) or HTML.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]{}<>#|~$])")


def resolve_store_path(argv: Sequence[str], environ: Mapping[str, str]) -> Path:
    """Return the run store to read.

    ``--store PATH`` (or ``--store=PATH``) in ``argv`` wins, then the
    ``PAINPOINTS_STORE`` environment variable, then
    :func:`painpoints.settings.default_store_path`.
    """
    for index, argument in enumerate(argv):
        if argument == STORE_ARGUMENT and index + 1 < len(argv):
            return Path(argv[index + 1]).expanduser()
        if argument.startswith(STORE_ARGUMENT + "="):
            return Path(argument.split("=", 1)[1]).expanduser()
    configured = environ.get(STORE_ENV)
    if configured:
        return Path(configured).expanduser()
    return default_store_path()


def initial_language(environ: Mapping[str, str], browser_locale: str | None) -> str:
    """Pick the interface language of a new session: ``"zh"`` or ``"en"``.

    ``PAINPOINTS_LANG`` wins, then the browser's locale (``st.context.locale``, such
    as ``"zh-CN"``), then the system locale through :func:`painpoints.i18n.detect_language`.
    A browser locale that is neither Chinese nor English falls through to the system locale.
    """
    if environ.get("PAINPOINTS_LANG"):
        return detect_language()
    if browser_locale:
        try:
            return normalise_language(browser_locale)
        except ValueError:
            pass
    return detect_language()


def run_labels(runs: pd.DataFrame) -> dict[str, str]:
    """Return ``{run_id: "run_id · file name"}`` for the run select, in the order of ``runs``."""
    return {row.run_id: f"{row.run_id} · {Path(str(row.input_path)).name}" for row in runs.itertuples()}


def comparable_runs(runs: pd.DataFrame, run_id: str) -> list[str]:
    """Return the other runs' ids, those of the same input file as ``run_id`` first, each group newest first.

    A drift report between exports of different files means little, so the select
    that picks the earlier run starts on the latest run of the same file.
    """
    paths = dict(zip(runs["run_id"], runs["input_path"].map(lambda path: Path(str(path)).name)))
    others = [other for other in runs["run_id"] if other != run_id]
    return sorted(others, key=lambda other: paths.get(other) != paths.get(run_id))


def read_run_list(store: Path) -> pd.DataFrame:
    """Return the runs in ``store``, newest first, as :func:`painpoints.store.list_runs` does.

    A DuckDB file without a ``runs`` table yet counts as a store with no runs.

    Raises
    ------
    painpoints.errors.StoreError
        When the file is missing or cannot be opened.
    """
    try:
        return list_runs(store)
    except duckdb.CatalogException:
        return pd.DataFrame(columns=["run_id", "created_at", "input_path"])


def no_runs_message(store: Path, language: str) -> str:
    """Return the ``ui.no_runs`` message as Markdown, with the store path escaped."""
    return tr("ui.no_runs", language, store=escape_markdown(str(store)))


def store_error_message(error: StoreError, language: str) -> str:
    """Return the message of a store error as Markdown, with its values (paths, details) escaped."""
    params = {name: escape_markdown(str(value)) for name, value in error.params.items()}
    return tr(error.key, language, **params)


def _is_missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def escape_markdown(text: str) -> str:
    """Backslash-escape the characters that Streamlit's Markdown would format."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def format_count(value: object) -> str:
    """Format a count with thousands separators: ``12345`` -> ``"12,345"``."""
    if _is_missing(value):
        return MISSING
    return f"{int(value):,}"


def format_percent(value: object) -> str:
    """Format a proportion as a percentage with one decimal: ``0.7`` -> ``"70.0%"``."""
    if _is_missing(value):
        return MISSING
    return f"{float(value):,.1%}"


def format_ratio(value: object) -> str:
    """Format a lift or odds ratio with two decimals: ``1.5`` -> ``"1.50"``."""
    if _is_missing(value):
        return MISSING
    return f"{float(value):,.2f}"


def format_ratio_ci(value: object, low: object, high: object) -> str:
    """Format a ratio with its confidence interval: ``"1.80 (1.20–2.70)"``.

    Returns only the ratio when a bound is missing, and ``"–"`` when the ratio is.
    """
    if _is_missing(value):
        return MISSING
    if _is_missing(low) or _is_missing(high):
        return format_ratio(value)
    return f"{format_ratio(value)} ({format_ratio(low)}–{format_ratio(high)})"


def format_p_value(value: object) -> str:
    """Format a p- or q-value with three significant digits: ``0.000123`` -> ``"0.000123"``."""
    if _is_missing(value):
        return MISSING
    return f"{float(value):.3g}"


def format_money(value: object) -> str:
    """Format an amount rounded to whole currency units: ``12345.6`` -> ``"12,346"``."""
    if _is_missing(value):
        return MISSING
    return f"{float(value):,.0f}"


def format_sentiment(value: object) -> str:
    """Format a sentiment score in −1 … 1 with a sign and two decimals: ``-0.5`` -> ``"-0.50"``."""
    if _is_missing(value):
        return MISSING
    return f"{float(value):+.2f}"


def format_flag(value: object) -> str:
    """Format a yes/no flag as a check mark, or nothing when false or missing."""
    return "✓" if not _is_missing(value) and bool(value) else ""


def display_label(topic_id: object, label: str, language: str) -> str:
    """Return a topic's label, translating the labels of the unclustered and no-content lines.

    The pipeline writes those two labels in the language of the run, but the viewer
    shows them in the language the user chose.
    """
    if topic_id == S.UNCLUSTERED:
        return tr("topics.unclustered_label", language)
    if topic_id == S.NO_CONTENT_TOPIC:
        return tr("topics.no_content_label", language)
    return label


def row_unit_notice(info: Mapping, language: str) -> str | None:
    """Return the notice that each row counts as a customer, or None when the run has a customer column.

    The pages use "customers" and "churned" for any outcome, so a file without customer
    ids (reviews with a rating as the outcome) shows this notice at the top.
    """
    outcomes = info.get("outcomes") or {}
    if outcomes.get("unit") != "row":
        return None
    column = (info.get("column_mapping") or {}).get("outcome") or "–"
    return tr("ui.row_unit_notice", language, column=column)


def edited_analyses_notice(store: Path, run_id: str, language: str) -> str | None:
    """Return the notice that the survival, trend and segment tables predate the run's edits, or None.

    A merge, split or move rewrites the run's topics and topic-vs-churn table, but not
    these tables (see :func:`painpoints.store.save_edited_run`). A rename changes no count.
    """
    try:
        edits = list_edits(store, run_id)
    except StoreError:
        return None
    changes = int((edits["action"] != "rename").sum())
    return tr("ui.analyses_before_edits", language, count=changes) if changes else None


def rows_with_several_topics(memberships: pd.DataFrame) -> int:
    """Return how many rows belong to more than one topic (0 for runs saved without memberships)."""
    if memberships is None or memberships.empty:
        return 0
    return int((memberships.groupby(S.ROW_NUMBER).size() > 1).sum())


def status_line(info: Mapping, language: str) -> str:
    """Return the row counts by status, e.g. ``"Rows: 40 = topic 38 + unclustered 2 + …"``."""
    counts = info.get("rows_by_status", {})
    formatted = {status: format_count(counts.get(status, 0)) for status in S.STATUSES}
    return tr("cli.status_counts", language, total=format_count(info.get("rows", 0)), **formatted)


def run_summary(run_id: str, info: Mapping, language: str) -> str:
    """Return the ``ui.run_summary`` line of a run: id, input file, rows and topics."""
    return tr(
        "ui.run_summary", language,
        run_id=run_id,
        path=info.get("input_path", MISSING),
        rows=format_count(info.get("rows", 0)),
        topics=format_count(info.get("topics", {}).get("count", 0)),
    )


def outcome_notes(info: Mapping, language: str) -> list[str]:
    """Return the outcome notes of a run (run.json's ``outcomes.messages``) in ``language``.

    Runs saved before the notes had catalogue keys contain English strings, which are
    returned as they are.
    """
    outcomes = info.get("outcomes") or {}
    return [stored_message_text(note, language) for note in outcomes.get("messages") or []]


def sort_by_lift(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Return the outcome table sorted by lift, highest first, with missing lifts last."""
    return outcomes.sort_values("lift", ascending=False, na_position="last", kind="stable").reset_index(drop=True)


def outcome_table_frame(outcomes: pd.DataFrame, language: str, sort: bool = True) -> pd.DataFrame:
    """Build the topic-vs-churn table that the viewer shows, sorted by lift unless ``sort`` is False.

    Columns keep their numeric values so that sorting in the browser stays numeric.
    :func:`outcome_table_formats` turns them into text. The odds ratio and its 95% CI
    form one text column. Headers are translated.
    """
    ordered = sort_by_lift(outcomes) if sort else outcomes.reset_index(drop=True)
    table = pd.DataFrame({
        S.TOPIC_ID: ordered[S.TOPIC_ID].astype("int64"),
        "label": [display_label(topic, label, language)
                  for topic, label in zip(ordered[S.TOPIC_ID], ordered["label"])],
        "customers": ordered["customers"],
        "churned": ordered["churned"],
        "churn_rate": ordered["churn_rate"],
        "baseline_rate": ordered["baseline_rate"],
        "lift": ordered["lift"],
        # Lift, q, the small-group flag and the revenue at risk come first, because a
        # product manager reads them first. The odds ratio and p follow.
        "q_value": ordered["q_value"],
        "small_group": ordered["small_group"].astype(bool),
        # An all-empty column comes back from DuckDB as None objects, which the browser
        # shows as "None"; as floats they are NaN and formatted as missing.
        "revenue_at_risk": pd.to_numeric(ordered["revenue_at_risk"], errors="coerce").astype(float),
        "odds_ratio": [format_ratio_ci(value, low, high) for value, low, high
                       in zip(ordered["odds_ratio"], ordered["or_ci_low"], ordered["or_ci_high"])],
        "p_value": ordered["p_value"],
        # Runs saved before sentiment scoring have no sentiment columns.
        "mean_sentiment": ordered.get("mean_sentiment", pd.Series(float("nan"), index=ordered.index)),
        "share_negative": ordered.get("share_negative", pd.Series(float("nan"), index=ordered.index)),
    })
    return table.rename(columns=outcome_headers(language))


def outcome_headers(language: str) -> dict[str, str]:
    """Return the translated header of each column of :func:`outcome_table_frame`."""
    return {column: tr(key, language) for column, key in OUTCOME_HEADER_KEYS.items()}


def outcome_table_formats(language: str) -> dict[str, Callable[[object], str]]:
    """Return a pandas ``Styler.format`` formatter for each non-text column, by translated header."""
    headers = outcome_headers(language)
    formatters = {
        "customers": format_count,
        "churned": format_count,
        "churn_rate": format_percent,
        "baseline_rate": format_percent,
        "lift": format_ratio,
        "p_value": format_p_value,
        "q_value": format_p_value,
        "small_group": format_flag,
        "revenue_at_risk": format_money,
        "mean_sentiment": format_sentiment,
        "share_negative": format_percent,
    }
    return {headers[column]: formatter for column, formatter in formatters.items()}


def churn_findings(outcomes: pd.DataFrame, language: str, limit: int = FINDINGS_LIMIT,
                   max_q: float = FINDINGS_MAX_Q) -> list[str]:
    """Describe in plain words the topics with the highest churn lift.

    A topic qualifies when it is not a small group, its q-value is below ``max_q`` and
    its lift is known. The unclustered and no-content lines are left out, because no
    customer "mentions" them. Returns at most ``limit`` sentences, highest lift first.
    """
    if outcomes.empty:
        return []
    candidates = outcomes[
        (outcomes[S.TOPIC_ID] >= 0)
        & ~outcomes["small_group"].astype(bool)
        & (outcomes["q_value"] < max_q)
        & outcomes["lift"].notna()
    ]
    return [churn_finding(row, language) for _, row in sort_by_lift(candidates).head(limit).iterrows()]


def churn_finding(row: Mapping, language: str) -> str:
    """Return the ``ui.finding`` sentence for one line of the outcome table."""
    return tr(
        "ui.finding", language,
        label=row["label"],
        rate=format_percent(row["churn_rate"]),
        lift=format_ratio(row["lift"]),
        low=format_ratio(row["or_ci_low"]),
        high=format_ratio(row["or_ci_high"]),
    )


def topic_choices(topics: pd.DataFrame, language: str) -> dict[int, str]:
    """Return ``{topic_id: "id: label"}`` for the topic select, unclustered (-1) included."""
    return {
        int(topic): f"{int(topic)}: {display_label(int(topic), label, language)}"
        for topic, label in zip(topics[S.TOPIC_ID], topics["label"])
    }


def topic_rows(documents: pd.DataFrame, topic_id: int | None) -> pd.DataFrame:
    """Return the documents of one topic with ticket_id, customer_id, text, churned and date.

    ``None`` (no topic chosen) returns no rows.
    """
    if documents.empty or topic_id is None:
        return pd.DataFrame(columns=list(VERBATIM_HEADER_KEYS))
    # Rows without a topic (no content, rejected) have a missing topic_id.
    in_topic = (documents[S.TOPIC_ID] == topic_id).fillna(False).astype(bool)
    # reindex: runs saved before sentiment scoring have no sentiment columns.
    return documents.loc[in_topic].reindex(columns=list(VERBATIM_HEADER_KEYS)).reset_index(drop=True)


def sentiment_choices(language: str) -> dict[str, str]:
    """Return ``{choice: translated name}`` for the verbatim filter: all, negative, neutral, positive."""
    return {ALL_SENTIMENTS: tr("ui.sentiment_all", language),
            **{label: tr(f"ui.sentiment_{label}", language) for label in S.SENTIMENT_LABELS}}


def filter_by_sentiment(rows: pd.DataFrame, choice: str) -> pd.DataFrame:
    """Return the rows whose sentiment_label is ``choice``; ``"all"`` keeps every row.

    Raises
    ------
    ValueError
        When ``choice`` is neither ``"all"`` nor one of ``schema.SENTIMENT_LABELS``.
    """
    if choice == ALL_SENTIMENTS:
        return rows
    if choice not in S.SENTIMENT_LABELS:
        raise ValueError(f"invalid sentiment filter {choice!r}: expected {ALL_SENTIMENTS!r} or one of "
                         f"{', '.join(S.SENTIMENT_LABELS)}")
    return rows[rows[S.SENTIMENT_LABEL].eq(choice).fillna(False).astype(bool)].reset_index(drop=True)


def search_rows(rows: pd.DataFrame, query: str) -> pd.DataFrame:
    """Return the rows whose text contains ``query``, ignoring case. A blank query keeps every row."""
    needle = query.strip()
    if not needle:
        return rows
    matches = rows[S.TEXT].astype("string").str.contains(needle, case=False, regex=False, na=False)
    return rows[matches.astype(bool)].reset_index(drop=True)


def verbatim_headers(language: str) -> dict[str, str]:
    """Return the translated header of each column of :func:`topic_rows`."""
    return {column: tr(key, language) for column, key in VERBATIM_HEADER_KEYS.items()}


def rows_caption(total: int, matching: int, query: str, language: str, sentiment: str = ALL_SENTIMENTS) -> str:
    """Return the row count under the verbatims: all rows of the topic, or those the search and filter keep.

    ``sentiment`` is the choice of the sentiment filter (``"all"`` or a label).
    """
    counts = {"shown": format_count(matching), "count": format_count(total)}
    if sentiment != ALL_SENTIMENTS:
        name = sentiment_choices(language)[sentiment].lower()
        if not query.strip():
            return tr("ui.rows_with_sentiment", language, sentiment=name, **counts)
        return tr("ui.rows_with_sentiment_matching", language, sentiment=name, query=query.strip(), **counts)
    if not query.strip():
        return tr("ui.rows_in_topic", language, count=format_count(total))
    return tr("ui.rows_matching", language, query=query.strip(), **counts)
