"""Customer-level population and topic memberships built from the documents frame."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np
import pandas as pd

from painpoints import schema as S
from painpoints.outcomes._inputs import (
    STATUS_NO_CONTENT,
    STATUS_REJECTED,
    STATUS_UNCLUSTERED,
    TOPIC_STATUSES,
    customer_ids,
    normalize_covariate,
    to_boolean,
    to_float,
    validate_covariates,
    validate_customers,
    validate_documents,
    validate_memberships,
)

logger = logging.getLogger(__name__)

PopulationSource = Literal["feedback", "customers_file"]
POPULATION_FEEDBACK: Final = "feedback"
POPULATION_CUSTOMERS_FILE: Final = "customers_file"

# Keys of the DataFrame.attrs that build_customers sets.
ATTR_POPULATION: Final = "population"
ATTR_UNKNOWN_OUTCOME: Final = "customers_with_unknown_outcome"
ATTR_WITHOUT_FEEDBACK: Final = "customers_without_feedback"


@dataclass(frozen=True)
class Population:
    """Customers that the outcome statistics count, with how they were chosen."""

    customers: pd.DataFrame
    source: PopulationSource
    # Customers left out because churned is missing on all their rows (or in the file).
    unknown_outcome: int
    # Customers of the population without any non-rejected feedback row.
    without_feedback: int
    # Per covariate taken from the documents: customers whose rows have different values.
    covariate_conflicts: dict[str, int] = field(default_factory=dict)
    # Customers with feedback rows, all of them without content (blank or filler only).
    without_text: int = 0


def customer_memberships(
    documents: pd.DataFrame, memberships: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Collect the unique (customer, topic) pairs of the documents.

    A customer has a topic when any of their rows has it, so five rows of one customer
    on one topic give one pair. Rows with status ``topic`` or ``duplicate`` contribute
    their topic_id (a duplicate of an unclustered row has ``UNCLUSTERED``). Rows with
    status ``unclustered`` contribute ``UNCLUSTERED`` (-1), rows with status
    ``no_content`` contribute ``NO_CONTENT_TOPIC`` (-2), and ``rejected`` rows
    contribute nothing.

    Parameters
    ----------
    documents : pandas.DataFrame
        Documents frame with customer_id, status and topic_id (and row_number when
        `memberships` is given).
    memberships : pandas.DataFrame, optional
        Long frame of (row_number, topic_id) pairs for rows that belong to several
        topics. For a ``topic`` or ``duplicate`` row listed here, these topic ids
        replace the row's single topic_id. Entries for rows of other statuses are
        ignored because the status decides their line.

    Returns
    -------
    pandas.DataFrame
        Columns customer_id (str) and topic_id (Int64), one row per unique pair,
        sorted by customer_id then topic_id.

    Raises
    ------
    TypeError
        If an input is not a DataFrame.
    ValueError
        If a required column is missing or contains invalid values, as checked by
        :func:`painpoints.outcomes._inputs.validate_documents`.
    """
    validate_documents(documents, need_outcome=False, need_row_number=memberships is not None)
    if memberships is not None:
        validate_memberships(memberships, documents)
    return memberships_of(documents, memberships)


def memberships_of(documents: pd.DataFrame, memberships: pd.DataFrame | None) -> pd.DataFrame:
    # A RangeIndex keeps the index-aligned steps below independent of the caller's index.
    documents = documents.reset_index(drop=True)
    status = documents[S.STATUS]
    has_topic_id = status.isin(TOPIC_STATUSES)

    line = pd.Series(np.nan, index=documents.index, dtype="float64")
    line[has_topic_id] = to_float(documents.loc[has_topic_id, S.TOPIC_ID])
    line[status == STATUS_UNCLUSTERED] = S.UNCLUSTERED
    line[status == STATUS_NO_CONTENT] = S.NO_CONTENT_TOPIC
    pairs = pd.DataFrame({S.CUSTOMER_ID: customer_ids(documents[S.CUSTOMER_ID]), S.TOPIC_ID: line})

    if memberships is not None:
        row_numbers = to_float(documents[S.ROW_NUMBER])
        listed_rows = to_float(memberships[S.ROW_NUMBER])
        replaced = has_topic_id & row_numbers.isin(listed_rows)
        pairs = pairs[~replaced]

        replaced_rows = pd.DataFrame(
            {
                S.ROW_NUMBER: row_numbers[replaced],
                S.CUSTOMER_ID: customer_ids(documents.loc[replaced, S.CUSTOMER_ID]),
            }
        )
        listed = pd.DataFrame(
            {S.ROW_NUMBER: listed_rows, S.TOPIC_ID: to_float(memberships[S.TOPIC_ID])}
        )
        joined = listed.merge(replaced_rows, on=S.ROW_NUMBER, how="inner")
        ignored = len(listed) - len(joined)
        if ignored:
            logger.debug(
                "ignored %d membership entries of rows whose status is not %s",
                ignored,
                TOPIC_STATUSES,
            )
        pairs = pd.concat([pairs, joined[[S.CUSTOMER_ID, S.TOPIC_ID]]], ignore_index=True)

    pairs = pairs.dropna(subset=[S.TOPIC_ID]).drop_duplicates()
    pairs[S.TOPIC_ID] = pairs[S.TOPIC_ID].astype("int64").astype("Int64")
    return pairs.sort_values([S.CUSTOMER_ID, S.TOPIC_ID]).reset_index(drop=True)


def build_customers(
    documents: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    *,
    covariates: Sequence[str] = (),
) -> pd.DataFrame:
    """Build the customer population with one row per customer.

    Without `customers`, the population is every customer with a non-rejected row.
    A customer counts as churned when any of their non-rejected rows has churned True,
    as not churned when those rows have only False, and their value is the maximum
    value of those rows. Customers whose churned is missing on every row are left out.

    With `customers`, that frame is the population, including customers that have no
    feedback rows, who count in every line's baseline. The documents' churned and
    value columns are then not used. Customers whose churned is missing are left out.

    A covariate that is not a column of `customers` is taken from the documents: the
    first non-missing value among the customer's non-rejected rows, in input order.
    Customers without such a value get a missing value. In every covariate, blank
    text counts as missing, and text columns whose values are all numbers become
    float64.

    Parameters
    ----------
    documents : pandas.DataFrame
        Documents frame with customer_id and status, and churned when `customers` is
        not given. The value column is optional.
    customers : pandas.DataFrame, optional
        One row per customer with customer_id and churned, optionally value and
        covariate columns.
    covariates : sequence of str
        Columns to carry per customer, from `customers` where it has them, else from
        `documents`.

    Returns
    -------
    pandas.DataFrame
        Columns customer_id (str), churned (bool), value (float, NaN when unknown),
        then the other columns of `customers` in their order, then the covariates
        taken from `documents`. ``DataFrame.attrs``
        stores ``"population"`` (``"feedback"`` or ``"customers_file"``),
        ``"customers_with_unknown_outcome"`` (left out) and
        ``"customers_without_feedback"`` (kept, with no non-rejected row).

    Raises
    ------
    TypeError
        If an input is not a DataFrame.
    ValueError
        If a required column is missing or contains invalid values, or a covariate is
        in neither frame.
    """
    validate_documents(documents, need_outcome=customers is None, need_row_number=False)
    if customers is not None:
        validate_customers(customers)
    validate_covariates(covariates, documents, customers)
    population = population_of(documents, customers, covariates)

    frame = population.customers.copy()
    frame.attrs[ATTR_POPULATION] = population.source
    frame.attrs[ATTR_UNKNOWN_OUTCOME] = population.unknown_outcome
    frame.attrs[ATTR_WITHOUT_FEEDBACK] = population.without_feedback
    return frame


def population_of(
    documents: pd.DataFrame, customers: pd.DataFrame | None, covariates: Sequence[str] = ()
) -> Population:
    # A RangeIndex keeps the index-aligned steps below independent of the caller's index.
    documents = documents.reset_index(drop=True)
    if customers is not None:
        customers = customers.reset_index(drop=True)
    usable = documents[documents[S.STATUS] != STATUS_REJECTED]
    feedback_ids = customer_ids(usable[S.CUSTOMER_ID])

    if customers is None:
        frame, unknown = _customers_from_feedback(usable, feedback_ids)
        source: PopulationSource = POPULATION_FEEDBACK
    else:
        frame, unknown = _customers_from_file(customers)
        source = POPULATION_CUSTOMERS_FILE

    from_documents = [column for column in covariates if column not in frame.columns]
    for column in covariates:
        if column in frame.columns:
            frame[column] = normalize_covariate(frame[column])
    conflicts: dict[str, int] = {}
    if from_documents:
        frame, conflicts = _covariates_from_documents(frame, usable, feedback_ids, from_documents)

    has_feedback = frame[S.CUSTOMER_ID].isin(feedback_ids)
    without_feedback = int((~has_feedback).sum())
    with_text = feedback_ids[(usable[S.STATUS] != STATUS_NO_CONTENT).to_numpy()]
    without_text = int((has_feedback & ~frame[S.CUSTOMER_ID].isin(with_text)).sum())
    logger.info(
        "population from %s: %d customers, %d churned, %d left out with unknown outcome, "
        "%d without feedback, %d with feedback rows that have no content",
        source,
        len(frame),
        int(frame[S.CHURNED].sum()),
        unknown,
        without_feedback,
        without_text,
    )
    return Population(frame, source, unknown, without_feedback, conflicts, without_text)


def _covariates_from_documents(
    frame: pd.DataFrame, usable: pd.DataFrame, ids: pd.Series, columns: list[str]
) -> tuple[pd.DataFrame, dict[str, int]]:
    values = pd.DataFrame({column: normalize_covariate(usable[column]) for column in columns})
    grouped = values.groupby(ids, sort=False)
    # GroupBy.first skips missing values, so it takes the first known value per column.
    first = grouped.first()
    conflicts = {column: int((grouped[column].nunique() > 1).sum()) for column in columns}
    return frame.join(first, on=S.CUSTOMER_ID), conflicts


def _customers_from_feedback(usable: pd.DataFrame, ids: pd.Series) -> tuple[pd.DataFrame, int]:
    churned = to_boolean(usable[S.CHURNED])
    if S.VALUE in usable.columns:
        value = to_float(usable[S.VALUE])
    else:
        value = pd.Series(np.nan, index=usable.index, dtype="float64")

    any_churned = churned.fillna(False).astype(bool).groupby(ids).any()
    any_known = churned.notna().groupby(ids).any()
    max_value = value.groupby(ids).max()

    frame = pd.DataFrame(
        {
            S.CUSTOMER_ID: any_churned.index.astype(str),
            S.CHURNED: any_churned.to_numpy(dtype=bool),
            S.VALUE: max_value.reindex(any_churned.index).to_numpy(dtype="float64"),
        }
    )
    known = any_known.reindex(any_churned.index).to_numpy(dtype=bool)
    return frame[known].reset_index(drop=True), int((~known).sum())


def _customers_from_file(customers: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    churned = to_boolean(customers[S.CHURNED])
    known = churned.notna().to_numpy(dtype=bool)
    if S.VALUE in customers.columns:
        value = to_float(customers[S.VALUE])
    else:
        value = pd.Series(np.nan, index=customers.index, dtype="float64")

    known_columns = (S.CUSTOMER_ID, S.CHURNED, S.VALUE)
    extra = [column for column in customers.columns if column not in known_columns]
    frame = pd.DataFrame(
        {
            S.CUSTOMER_ID: customer_ids(customers[S.CUSTOMER_ID]),
            S.CHURNED: churned.fillna(False).astype(bool),
            S.VALUE: value,
        }
    )
    frame = pd.concat([frame, customers[extra]], axis=1)
    return frame[known].reset_index(drop=True), int((~known).sum())
