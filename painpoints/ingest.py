"""Ingest stage: read a feedback export, map its columns, parse the outcome and reject bad rows.

Every value is read as text first (see :mod:`painpoints.readers`), so ids keep their
leading zeros and nothing is guessed before the column roles are known
(see :mod:`painpoints.columns`).

A row is ``rejected`` here, with one of these reasons, when it cannot be linked to an
outcome or its cells cannot be trusted:

``extra_cells``
    A CSV record with more filled cells than the header (an unquoted delimiter in a
    text shifts every cell after it).
``unclosed_quote``
    A CSV record whose quote opening a cell is never closed, so the lines after it
    were read into that cell (see :class:`~painpoints.readers.TableInfo`).
``missing_customer_id``
    The file has a customer id column and the row's cell is blank, so the row cannot
    be joined to its customer.
``unknown_outcome_value``
    The outcome cell is no known spelling, and at most ``MAX_UNKNOWN_OUTCOME_SHARE``
    of the outcome cells are unknown. Above that share the whole file is an error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pandas as pd

from painpoints import schema as S
from painpoints.columns import (
    EVENT_SPELLINGS,
    HEADER_CANDIDATES,
    MAX_UNKNOWN_OUTCOME_SHARE,
    NON_EVENT_SPELLINGS,
    detect_columns,
    find_column,
    normalise_header,
    outcome_value_counts,
    parse_dates,
    parse_number,
    parse_outcome,
    unknown_outcomes,
)
from painpoints.errors import InputDataError
from painpoints.readers import (
    CSV_SUFFIXES,
    EXCEL_SUFFIXES,
    JSONL_SUFFIXES,
    PARQUET_SUFFIXES,
    SUPPORTED_SUFFIXES,
    TableInfo,
    cell_text,
    decode_bytes,
    read_table,
)
from painpoints.sentiment import label_column_candidates
from painpoints.settings import AnalysisSettings, ColumnMapping

__all__ = [
    "CSV_SUFFIXES", "EXCEL_SUFFIXES", "EVENT_SPELLINGS", "HEADER_CANDIDATES", "JSONL_SUFFIXES",
    "MAX_UNKNOWN_OUTCOME_SHARE", "NON_EVENT_SPELLINGS", "PARQUET_SUFFIXES", "REJECTION_COLUMNS",
    "SUPPORTED_SUFFIXES", "Feedback", "TableInfo", "cell_text", "decode_bytes", "detect_columns",
    "load_customers", "load_feedback", "normalise_header", "parse_dates", "parse_number", "parse_outcome",
    "read_table", "unknown_outcomes",
]

logger = logging.getLogger(__name__)

# One line per problem found in a row; a row can have several.
REJECTION_COLUMNS: Final = (S.ROW_NUMBER, "column", "value", S.REASON)


@dataclass(frozen=True)
class Feedback:
    """A feedback export after ingest.

    Attributes
    ----------
    documents : pandas.DataFrame
        One row per input row with ``row_number``, ``ticket_id``, ``customer_id``,
        ``raw_text``, ``date``, ``churned`` (nullable boolean), ``value`` (float),
        ``status`` (``"rejected"`` or ``""``) and ``reason`` (the first rejection
        reason, else ``""``), plus the covariate columns requested, in input order.
    mapping : ColumnMapping
        The input column used for each role after auto-detection.
    info : TableInfo
    has_customer_column : bool
        False when each row stands for its own customer.
    rejections : pandas.DataFrame
        ``REJECTION_COLUMNS``: the row, the input column, the cell as read and the reason.
    label_columns : tuple of str
        Unmapped columns that look like sentiment labels (a rating, 满意/不满意), see
        :func:`painpoints.sentiment.label_column_candidates`.
    outcome_values : dict or None
        With ``--event-value``, the counts of :func:`painpoints.columns.outcome_value_counts`.
    input_columns : tuple of str
        Every column of the file, in file order, for messages that name a missing one.
    """

    documents: pd.DataFrame
    mapping: ColumnMapping
    info: TableInfo
    has_customer_column: bool
    rejections: pd.DataFrame
    label_columns: tuple[str, ...] = ()
    outcome_values: dict | None = None
    input_columns: tuple[str, ...] = ()


def _reject(documents: pd.DataFrame, rows: pd.Series, column: str, values: pd.Series, reason: str) -> pd.DataFrame:
    """Mark ``rows`` (a boolean mask) rejected and return their rejection lines."""
    first_reason = rows & documents[S.REASON].eq("")
    documents.loc[first_reason, S.REASON] = reason
    documents.loc[rows, S.STATUS] = "rejected"
    return pd.DataFrame({
        S.ROW_NUMBER: documents.loc[rows, S.ROW_NUMBER].to_numpy(),
        "column": column,
        "value": values[rows.to_numpy()].astype(str).to_numpy(),
        S.REASON: reason,
    })


def load_feedback(path: str | Path, settings: AnalysisSettings, covariates: tuple[str, ...] = ()) -> Feedback:
    """Read and map a feedback export, rejecting rows that cannot be used.

    Parameters
    ----------
    path : str or Path
    settings : AnalysisSettings
        Column overrides, sheet and event value.
    covariates : tuple of str
        Columns to carry through for adjusted models when they are in this file.

    Returns
    -------
    Feedback
        See :class:`Feedback` for the columns of ``documents`` and ``rejections``.

    Raises
    ------
    InputDataError
        When the file cannot be read, has no data row or no text column, a named
        column is missing, or the outcome column is not a churn flag.
    """
    frame, info = read_table(path, settings.sheet)
    if frame.empty:
        raise InputDataError("ingest.empty_file" if len(frame.columns) else "ingest.empty_file_no_header",
                             path=info.path)
    mapping = detect_columns(frame, settings.columns, info.path)

    documents = pd.DataFrame({S.ROW_NUMBER: range(1, len(frame) + 1)})
    documents["raw_text"] = frame[mapping.text].astype(str).to_numpy()
    documents[S.STATUS] = ""
    documents[S.REASON] = ""
    rejections: list[pd.DataFrame] = []
    if info.extra_cells:
        extra = pd.Series("", index=documents.index)
        for row_number, cells in info.extra_cells:
            extra.iloc[row_number - 1] = cells
        rejections.append(_reject(documents, extra.ne(""), "", extra, "extra_cells"))
    if info.unclosed_quotes:
        drawn = pd.Series("", index=documents.index)
        for row_number, lines in info.unclosed_quotes:
            drawn.iloc[row_number - 1] = lines
        rejections.append(_reject(documents, drawn.ne(""), "", drawn, "unclosed_quote"))
    # The cells of these rows are shifted, so their outcome cells are not parsed.
    shifted = documents[S.STATUS].eq("rejected").to_numpy()

    if mapping.ticket_id:
        ticket = frame[mapping.ticket_id].astype(str).str.strip()
        documents[S.TICKET_ID] = ticket.where(ticket != "", documents[S.ROW_NUMBER].astype(str)).to_numpy()
    else:
        documents[S.TICKET_ID] = documents[S.ROW_NUMBER].astype(str)
    has_customer_column = mapping.customer_id is not None
    if has_customer_column:
        customer = frame[mapping.customer_id].astype(str).str.strip()
        fallback = "row-" + documents[S.ROW_NUMBER].astype(str)
        documents[S.CUSTOMER_ID] = customer.where(customer != "", fallback).to_numpy()
        rejections.append(_reject(documents, pd.Series(customer.eq("").to_numpy()), mapping.customer_id,
                                  frame[mapping.customer_id], "missing_customer_id"))
    else:
        documents[S.CUSTOMER_ID] = ("row-" + documents[S.ROW_NUMBER].astype(str)).to_numpy()
    documents[S.DATE] = parse_dates(frame[mapping.date]).to_numpy() if mapping.date else pd.NaT
    outcome_values = None
    if mapping.outcome:
        outcome = frame[mapping.outcome].where(~shifted, "")
        documents[S.CHURNED] = parse_outcome(outcome, settings.event_value, info.path, mapping.outcome,
                                             MAX_UNKNOWN_OUTCOME_SHARE).to_numpy()
        unknown = pd.Series(unknown_outcomes(outcome, settings.event_value).to_numpy())
        outcome_values = outcome_value_counts(outcome, settings.event_value)
        rejections.append(_reject(documents, unknown, mapping.outcome, outcome, "unknown_outcome_value"))
    elif settings.event_value is not None:
        raise InputDataError("ingest.no_outcome_column", path=info.path, value=settings.event_value,
                             columns=", ".join(map(str, frame.columns)))
    else:
        documents[S.CHURNED] = pd.array([pd.NA] * len(frame), dtype="boolean")
    documents[S.VALUE] = parse_number(frame[mapping.value]).to_numpy() if mapping.value else float("nan")
    for covariate in covariates:
        if covariate in frame.columns:
            documents[covariate] = frame[covariate].to_numpy()

    table = pd.concat(rejections, ignore_index=True) if rejections else pd.DataFrame(columns=list(REJECTION_COLUMNS))
    table = table.sort_values(S.ROW_NUMBER, kind="stable").reset_index(drop=True)
    logger.info("mapped columns of %s: %s", info.path, mapping)
    if len(table):
        logger.info("rejected %d rows of %s: %s", int(documents[S.STATUS].eq("rejected").sum()), info.path,
                    table[S.REASON].value_counts().to_dict())
    mapped = [column for column in vars(mapping).values() if column]
    label_columns = tuple(label_column_candidates(frame, exclude=mapped))
    return Feedback(documents, mapping, info, has_customer_column, table, label_columns, outcome_values,
                    tuple(map(str, frame.columns)))


def load_customers(
    path: str | Path,
    settings: AnalysisSettings,
    covariates: tuple[str, ...] = (),
) -> tuple[pd.DataFrame, ColumnMapping, TableInfo, dict | None]:
    """Read a customers file: one row per customer with the outcome, value and covariates.

    Returns
    -------
    customers : pandas.DataFrame
        ``customer_id`` (str), ``churned`` (nullable boolean), ``value`` (float) and the
        covariate columns found in the file.
    mapping : ColumnMapping
    info : TableInfo
    outcome_values : dict or None
        With ``--event-value`` and an outcome column, the counts of
        :func:`painpoints.columns.outcome_value_counts`.

    Raises
    ------
    InputDataError
        When the file has no customer id column or repeats a customer id. Rows with
        a blank customer id are skipped.
    """
    frame, info = read_table(path, None)
    # The feedback file's column flags apply here too when the customers file has that column.
    resolved: dict[str, str | None] = {}
    taken: set[str] = set()
    for role in ("customer_id", "outcome", "value"):
        named = getattr(settings.columns, role)
        column = named if named in frame.columns else find_column(frame, role, taken)
        resolved[role] = column
        if column:
            taken.add(column)
    if resolved["customer_id"] is None:
        raise InputDataError("ingest.no_customer_column", path=info.path, columns=", ".join(frame.columns))
    customers = pd.DataFrame({S.CUSTOMER_ID: frame[resolved["customer_id"]].astype(str).str.strip()})
    blank = customers[S.CUSTOMER_ID].eq("")
    repeated = customers[S.CUSTOMER_ID].duplicated() & ~blank
    if repeated.any():
        first = int(repeated.to_numpy().nonzero()[0][0])
        raise InputDataError(
            "ingest.duplicate_customer", path=info.path, row=first + 1, column=resolved["customer_id"],
            value=customers[S.CUSTOMER_ID].iloc[first],
        )
    if blank.any():
        # A customer row without an id matches no feedback row, so it cannot take part.
        logger.warning("skipped %d rows of %s with a blank customer id", int(blank.sum()), info.path)
        frame = frame[~blank.to_numpy()].reset_index(drop=True)
        customers = customers[~blank].reset_index(drop=True)
    if resolved["outcome"]:
        customers[S.CHURNED] = parse_outcome(frame[resolved["outcome"]], settings.event_value, info.path,
                                             resolved["outcome"]).to_numpy()
        outcome_values = outcome_value_counts(frame[resolved["outcome"]], settings.event_value)
    else:
        customers[S.CHURNED] = pd.array([pd.NA] * len(frame), dtype="boolean")
        outcome_values = None
    customers[S.VALUE] = parse_number(frame[resolved["value"]]).to_numpy() if resolved["value"] else float("nan")
    for covariate in covariates:
        if covariate in frame.columns:
            customers[covariate] = frame[covariate].to_numpy()
    mapping = ColumnMapping(customer_id=resolved["customer_id"], outcome=resolved["outcome"], value=resolved["value"])
    return customers, mapping, info, outcome_values
