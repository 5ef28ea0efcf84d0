"""Sentiment per topic: mean score, share negative, and churn of negative vs other customers."""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from painpoints import schema as S
from painpoints.outcomes._inputs import customer_ids
from painpoints.outcomes._population import memberships_of

TOPIC_SENTIMENT_COLUMNS: Final = ("mean_sentiment", "share_negative")
OUTCOME_SENTIMENT_COLUMNS: Final = (*TOPIC_SENTIMENT_COLUMNS, "churn_rate_negative", "churn_rate_non_negative")


def topic_sentiment(documents: pd.DataFrame, topic_ids: pd.Series) -> pd.DataFrame:
    """Compute mean_sentiment and share_negative per topic over the scored rows.

    Parameters
    ----------
    documents : pandas.DataFrame
        Documents with ``sentiment`` and ``sentiment_label``. Without them the result is empty.
    topic_ids : pandas.Series
        Topic of each row of `documents` (same index), missing for rows without one.

    Returns
    -------
    pandas.DataFrame
        Indexed by topic id, with the columns ``TOPIC_SENTIMENT_COLUMNS``. Topics whose
        rows have no score are absent.
    """
    if S.SENTIMENT not in documents.columns:
        return pd.DataFrame(columns=list(TOPIC_SENTIMENT_COLUMNS), dtype=float)
    scores = pd.to_numeric(documents[S.SENTIMENT], errors="coerce")
    scored = scores.notna() & topic_ids.notna()
    rows = pd.DataFrame({
        S.TOPIC_ID: topic_ids[scored].astype("int64"),
        S.SENTIMENT: scores[scored],
        "negative": documents.loc[scored, S.SENTIMENT_LABEL].eq("negative").astype(float),
    })
    grouped = rows.groupby(S.TOPIC_ID)
    return pd.DataFrame({"mean_sentiment": grouped[S.SENTIMENT].mean(), "share_negative": grouped["negative"].mean()})


def add_outcome_sentiment(
    table: pd.DataFrame,
    documents: pd.DataFrame,
    population: pd.DataFrame,
    memberships: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Add ``OUTCOME_SENTIMENT_COLUMNS`` to an outcome table.

    A row counts for every line it belongs to (its topic, or its entries in
    `memberships`), and only when its customer is in `population`. Per line,
    mean_sentiment and share_negative are taken over those rows with a score.
    churn_rate_negative is the churn rate of the line's customers with at least one
    negative row on the line. churn_rate_non_negative is the churn rate of its other
    customers with a scored row on it. A rate is NaN when its group is empty. All four
    are NaN for a line without scored rows (the no-content line), and for documents
    without sentiment columns.

    Parameters
    ----------
    table : pandas.DataFrame
        Outcome table with a ``topic_id`` column.
    documents : pandas.DataFrame
        Documents frame, as passed to :func:`topic_outcomes`.
    population : pandas.DataFrame
        One row per customer with ``customer_id`` and a boolean ``churned``.
    memberships : pandas.DataFrame, optional
        Long frame of (row_number, topic_id), as in :func:`topic_outcomes`.

    Returns
    -------
    pandas.DataFrame
        A copy of `table` with the four columns added.
    """
    table = table.copy()
    for column in OUTCOME_SENTIMENT_COLUMNS:
        table[column] = np.nan
    if S.SENTIMENT not in documents.columns or table.empty:
        return table

    rows = _row_lines(documents, memberships)
    rows = rows[rows[S.CUSTOMER_ID].isin(population[S.CUSTOMER_ID])]
    if rows.empty:
        return table
    churned = population.drop_duplicates(S.CUSTOMER_ID).set_index(S.CUSTOMER_ID)[S.CHURNED].astype(float)
    by_line = rows.groupby(S.TOPIC_ID)
    means = by_line[S.SENTIMENT].mean()
    shares = by_line["negative"].mean()

    customers = rows.groupby([S.TOPIC_ID, S.CUSTOMER_ID])["negative"].max().reset_index()
    customers["churned"] = customers[S.CUSTOMER_ID].map(churned).to_numpy()
    rates = customers.groupby([S.TOPIC_ID, "negative"])["churned"].mean()

    topic_ids = table[S.TOPIC_ID].astype("int64")
    table["mean_sentiment"] = topic_ids.map(means).astype(float).to_numpy()
    table["share_negative"] = topic_ids.map(shares).astype(float).to_numpy()
    table["churn_rate_negative"] = [float(rates.get((topic, 1.0), np.nan)) for topic in topic_ids]
    table["churn_rate_non_negative"] = [float(rates.get((topic, 0.0), np.nan)) for topic in topic_ids]
    return table


def _row_lines(documents: pd.DataFrame, memberships: pd.DataFrame | None) -> pd.DataFrame:
    """Return one row per (scored document row, line) with customer_id, sentiment and a 0/1 negative flag.

    :func:`memberships_of` decides the lines, called with a per-row key in place of the
    customer id so that it keeps one pair per row.
    """
    documents = documents.reset_index(drop=True)
    keyed = documents.copy()
    keyed[S.CUSTOMER_ID] = [f"row{position}" for position in range(len(documents))]
    pairs = memberships_of(keyed, memberships)
    positions = pairs[S.CUSTOMER_ID].str.slice(3).astype("int64").to_numpy()

    scores = pd.to_numeric(documents[S.SENTIMENT], errors="coerce").to_numpy()
    lines = pd.DataFrame({
        S.TOPIC_ID: pairs[S.TOPIC_ID].astype("int64").to_numpy(),
        # The population's ids went through the same normalisation in memberships_of.
        S.CUSTOMER_ID: customer_ids(documents[S.CUSTOMER_ID]).to_numpy()[positions],
        S.SENTIMENT: scores[positions],
        "negative": documents[S.SENTIMENT_LABEL].eq("negative").astype(float).to_numpy()[positions],
    })
    return lines[lines[S.SENTIMENT].notna()]
