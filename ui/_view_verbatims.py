"""Logic of the Verbatims page: filters by date, segment and churn, and keyword highlighting.

Plain functions without Streamlit, so that tests can call them. The highlighted rows
are HTML in which every piece of feedback text is escaped, so a text such as
``<script>`` or a redaction placeholder such as ``<PHONE>`` shows as written.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

import pandas as pd
from _view import VERBATIM_HEADER_KEYS, format_sentiment

from painpoints import schema as S
from painpoints.clean import PLACEHOLDERS
from painpoints.i18n import tr

# Choices of the churned filter.
CHURNED_CHOICES: Final = ("all", "yes", "no")
# Row orders of the page; see sort_rows.
ORDERS: Final = ("typical", "negative", "newest", "file")
# Rows drawn in the highlighted view; the table below it lists every row.
HIGHLIGHT_LIMIT: Final = 200
# Inline styles, because st.html draws into the page without the app's CSS classes.
_KEYWORD_STYLE: Final = "background:#fde68a;padding:0 1px;border-radius:2px"
_SEARCH_STYLE: Final = "background:#93c5fd;padding:0 1px;border-radius:2px"
_PLACEHOLDER_STYLE: Final = "background:#e5e7eb;color:#374151;font-family:monospace;padding:0 2px;border-radius:2px"


def segment_columns(documents: pd.DataFrame, info: Mapping) -> list[str]:
    """Return the run's segment columns that the stored documents contain, in the order of the settings."""
    chosen = (info.get("settings") or {}).get("segment_cols") or []
    return [column for column in chosen if column in documents.columns and column not in S.DOCUMENT_COLUMNS]


def segment_values(documents: pd.DataFrame, column: str) -> list[str]:
    """Return the distinct non-missing values of a segment column as sorted text."""
    return sorted({str(value) for value in documents[column].dropna()})


def date_bounds(rows: pd.DataFrame) -> tuple[dt.date, dt.date] | None:
    """Return the first and last date of the rows, or None when no row has a date."""
    if S.DATE not in rows.columns:
        return None
    dates = pd.to_datetime(rows[S.DATE], errors="coerce").dropna()
    if dates.empty:
        return None
    return dates.min().date(), dates.max().date()


def order_choices(language: str, memberships: pd.DataFrame | None, documents: pd.DataFrame) -> dict[str, str]:
    """Return ``{order: translated name}`` for the row order, the default first.

    "typical" needs the run's membership scores and "newest" a date column, so each is
    offered only when the run has them.
    """
    orders = []
    if memberships is not None and not memberships.empty:
        orders.append("typical")
    orders.append("negative")
    if S.DATE in documents.columns and documents[S.DATE].notna().any():
        orders.append("newest")
    orders.append("file")
    return {order: tr(f"ui.order_{order}", language) for order in orders}


def sort_rows(rows: pd.DataFrame, order: str, topic_id: int | None,
              memberships: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return ``rows`` (documents with ``row_number``) in the chosen order.

    - ``typical``: by the row's membership score for ``topic_id`` (the centred cosine
      similarity of its text to the topic centre), highest first, so the rows that
      read most like the topic come first;
    - ``negative``: by sentiment score, lowest first;
    - ``newest``: by date, latest first;
    - ``file``: as in the uploaded file.

    Ties and rows without a value (no date, no score) follow in file order.

    Raises
    ------
    ValueError
        When ``order`` is not one of these.
    """
    if order not in ORDERS:
        raise ValueError(f"unknown verbatim order {order!r}: expected one of {', '.join(ORDERS)}")
    rows = rows.sort_values(S.ROW_NUMBER, kind="stable")
    if order == "file":
        return rows
    if order == "typical":
        if memberships is None or memberships.empty or topic_id is None:
            return rows
        scores = memberships[memberships[S.TOPIC_ID] == topic_id].groupby(S.ROW_NUMBER)[S.MEMBERSHIP_SCORE].max()
        key = -rows[S.ROW_NUMBER].map(scores).astype(float)
    elif order == "negative":
        key = pd.to_numeric(rows[S.SENTIMENT], errors="coerce")
    else:
        key = -pd.to_datetime(rows[S.DATE], errors="coerce").rank(method="min")
    return rows.assign(_order=key.to_numpy()).sort_values("_order", kind="stable", na_position="last").drop(
        columns="_order")


def topic_rows_with(documents: pd.DataFrame, topic_id: int | None, extra_columns: Sequence[str],
                    order: str = "file", memberships: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return the documents of one topic with the verbatim columns followed by ``extra_columns``.

    ``None`` (no topic chosen) returns no rows. ``order`` and ``memberships`` are as in
    :func:`sort_rows`.
    """
    columns = [*VERBATIM_HEADER_KEYS, *extra_columns]
    if documents.empty or topic_id is None:
        return pd.DataFrame(columns=columns)
    in_topic = (documents[S.TOPIC_ID] == topic_id).fillna(False).astype(bool)
    ordered = sort_rows(documents.loc[in_topic], order, topic_id, memberships)
    return ordered.reindex(columns=columns).reset_index(drop=True)


def filter_rows(rows: pd.DataFrame, *, date_range: tuple[dt.date, dt.date] | None = None,
                segments: Mapping[str, Iterable[str]] | None = None, churned: str = "all") -> pd.DataFrame:
    """Keep the rows inside the date range (both ends included), in the chosen segments and with the churn state.

    ``date_range`` None keeps every row. With a range, rows without a date are dropped.
    ``segments`` maps a segment column to the values to keep; an empty selection keeps
    every row. ``churned`` is ``"all"``, ``"yes"`` or ``"no"``; rows with an unknown
    outcome pass only ``"all"``.

    Raises
    ------
    ValueError
        When ``churned`` is not one of ``CHURNED_CHOICES``.
    """
    if churned not in CHURNED_CHOICES:
        raise ValueError(f"invalid churned filter {churned!r}: expected one of {', '.join(CHURNED_CHOICES)}")
    keep = pd.Series(True, index=rows.index)
    if date_range is not None:
        dates = pd.to_datetime(rows[S.DATE], errors="coerce")
        start = pd.Timestamp(date_range[0])
        end = pd.Timestamp(date_range[1]) + pd.Timedelta(days=1)
        keep &= (dates >= start).fillna(False) & (dates < end).fillna(False)
    for column, values in (segments or {}).items():
        chosen = {str(value) for value in values}
        if chosen:
            keep &= rows[column].map(lambda value: pd.notna(value) and str(value) in chosen).astype(bool)
    if churned != "all":
        outcome = rows[S.CHURNED].astype("boolean")
        selected = outcome if churned == "yes" else ~outcome
        keep &= selected.fillna(False).astype(bool)
    return rows[keep.astype(bool)].reset_index(drop=True)


def churned_choices(language: str) -> dict[str, str]:
    """Return ``{choice: translated name}`` for the churned filter: all, yes, no."""
    return {choice: tr(f"ui.churned_{choice}", language) for choice in CHURNED_CHOICES}


def topic_keywords(topics: pd.DataFrame, topic_id: int | None) -> list[str]:
    """Return the stored keywords of a topic (the comma-separated ``keywords`` column)."""
    if topic_id is None or topics.empty:
        return []
    found = topics.loc[topics[S.TOPIC_ID] == topic_id, "keywords"]
    if found.empty or pd.isna(found.iloc[0]):
        return []
    return [word.strip() for word in str(found.iloc[0]).split(",") if word.strip()]


def highlight_html(text: object, keywords: Sequence[str], query: str = "") -> str:
    """Return ``text`` as escaped HTML with the keywords and the search term marked.

    Matching ignores case and prefers the longest term where terms overlap. The search
    term is marked in blue, keywords in yellow, and the redaction placeholders
    (``<PHONE>``, ``<EMAIL>`` …) in grey.
    """
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return ""
    text = str(text)
    styles = {term.casefold(): _KEYWORD_STYLE for term in keywords if term.strip()}
    if query.strip():
        styles[query.strip().casefold()] = _SEARCH_STYLE
    for placeholder in PLACEHOLDERS:
        styles[placeholder.casefold()] = _PLACEHOLDER_STYLE
    terms = sorted(styles, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(term) for term in terms), re.IGNORECASE)
    pieces = []
    position = 0
    for match in pattern.finditer(text):
        pieces.append(html.escape(text[position:match.start()]))
        style = styles.get(match.group().casefold(), _KEYWORD_STYLE)
        pieces.append(f'<mark style="{style}">{html.escape(match.group())}</mark>')
        position = match.end()
    pieces.append(html.escape(text[position:]))
    return "".join(pieces)


def highlighted_table(rows: pd.DataFrame, keywords: Sequence[str], query: str, language: str,
                      limit: int = HIGHLIGHT_LIMIT) -> str:
    """Return the first ``limit`` rows as an HTML table: ticket, date, churned, sentiment and highlighted text.

    Every value from the data is escaped.
    """
    headers = [tr(VERBATIM_HEADER_KEYS[column], language) for column in (S.TICKET_ID, S.DATE, S.CHURNED, S.SENTIMENT)]
    headers.append(tr(VERBATIM_HEADER_KEYS[S.TEXT], language))
    head = "".join(f'<th style="text-align:left;padding:4px 8px;white-space:nowrap">{html.escape(name)}</th>'
                   for name in headers)
    body = []
    for row in rows.head(limit).itertuples(index=False):
        values = row._asdict()
        date = pd.to_datetime(values.get(S.DATE), errors="coerce")
        churned = values.get(S.CHURNED)
        cells = [
            html.escape(str(values.get(S.TICKET_ID, ""))),
            "" if pd.isna(date) else date.strftime("%Y-%m-%d"),
            "" if churned is None or pd.isna(churned) else html.escape(tr(f"ui.churned_{'yes' if churned else 'no'}",
                                                                         language)),
            html.escape(format_sentiment(values.get(S.SENTIMENT))),
            highlight_html(values.get(S.TEXT), keywords, query),
        ]
        # The short columns stay on one line; the text column wraps.
        styles = ["white-space:nowrap"] * (len(cells) - 1) + [""]
        body.append("<tr>" + "".join(f'<td style="padding:4px 8px;vertical-align:top;{style}">{cell}</td>'
                                     for cell, style in zip(cells, styles)) + "</tr>")
    return ('<table style="border-collapse:collapse;width:100%;font-size:0.9rem">'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")
