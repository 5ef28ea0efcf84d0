"""The outcome table: per-topic churn statistics at customer level."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from painpoints import schema as S
from painpoints.outcomes._adjusted import adjusted_odds_ratios
from painpoints.outcomes._crude import crude_statistics
from painpoints.outcomes._inputs import (
    validate_covariates,
    validate_customers,
    validate_documents,
    validate_memberships,
    validate_options,
)
from painpoints.outcomes._messages import OutcomeMessage
from painpoints.outcomes._population import (
    POPULATION_CUSTOMERS_FILE,
    PopulationSource,
    memberships_of,
    population_of,
)
from painpoints.outcomes._sentiment import add_outcome_sentiment

logger = logging.getLogger(__name__)

_ADJUSTED_COLUMNS = ["adjusted_odds_ratio", "aor_ci_low", "aor_ci_high"]


@dataclass(frozen=True)
class OutcomeTable:
    """Per-topic churn statistics with the population they were computed on.

    Attributes
    ----------
    table : pandas.DataFrame
        Exactly ``schema.OUTCOME_COLUMNS``, one row per line, sorted by lift
        descending with NaN last (ties by customers descending, then topic_id).
    n_customers : int
        Customers in the population.
    n_churned : int
        Churned customers in the population.
    overall_rate : float
        ``n_churned / n_customers``.
    unit : {"customer", "row"}
        ``"row"`` when the documents had no customer column, so each row counts as a
        customer.
    population : {"feedback", "customers_file"}
        Who the baseline is: customers with feedback rows, or every customer of the
        customers frame including those without feedback.
    messages : tuple of OutcomeMessage
        Notes on left-out customers and on statistics left empty.
        ``message.text(language)`` returns a note in Chinese or English.
    """

    table: pd.DataFrame
    n_customers: int
    n_churned: int
    overall_rate: float
    unit: Literal["customer", "row"]
    population: PopulationSource
    messages: tuple[OutcomeMessage, ...]

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of `table`."""
        return self.table.copy()


def topic_outcomes(
    documents: pd.DataFrame,
    labels: Mapping[int, str],
    customers: pd.DataFrame | None = None,
    *,
    memberships: pd.DataFrame | None = None,
    covariates: Sequence[str] = (),
    unit: Literal["customer", "row"] = "customer",
    min_customers: int = 30,
    min_events: int = 5,
    alpha: float = 0.05,
) -> OutcomeTable:
    """Compute churn statistics of every topic line at customer level.

    A line is every topic id in the customers' memberships: topics >= 0,
    ``UNCLUSTERED`` (-1) and ``NO_CONTENT_TOPIC`` (-2). For each line the population
    splits into a = churned customers with the line, b = not churned with it,
    c = churned without it and d = not churned without it.

    - churn_rate = a / (a + b), baseline_rate = c / (c + d), lift = their ratio
      (NaN when baseline_rate is 0).
    - risk_difference with the Newcombe hybrid score CI
      (``statsmodels.stats.proportion.confint_proportions_2indep``).
    - odds_ratio with the Woolf (logit) CI (``statsmodels Table2x2``). With a zero
      cell, 0.5 is added to every cell (Haldane–Anscombe) so the ratio stays finite.
      The odds ratio is NaN when nobody or everybody churned or the line has no
      baseline customers, and a message in ``messages`` explains why.
    - p_value of Fisher's exact test (two-sided) when an expected cell count is below
      5, otherwise of Pearson's chi-square test without continuity correction. The
      test column contains ``"fisher"``, ``"chi2"``, or ``""`` when no baseline exists.
    - q_value: Benjamini–Hochberg adjusted p-value across all lines.
    - small_group: True when a + b < `min_customers`, a < `min_events` or
      c < `min_events`, because the estimates are then unstable.
    - adjusted_odds_ratio and its CI: from one logistic regression of churned on all
      line indicators plus `covariates`, NaN without covariates. Lines that separate
      the outcome or are collinear stay NaN with a message. The customers of a
      separating line are left out of the model (their line's coefficient would be
      infinite), so they do not join the reference group of the other lines.
    - revenue_at_risk = sum of value over churned customers with the line (NaN when
      no customer has a value).
    - excess_loss = (a + b) × risk_difference × mean value of customers with the line,
      with excess_loss_low and excess_loss_high from the risk-difference CI.

    - mean_sentiment, share_negative, churn_rate_negative and churn_rate_non_negative:
      from the documents' sentiment columns, see :func:`add_outcome_sentiment`. They
      are NaN when the documents have no ``sentiment`` column.

    Every CI has level 1 - `alpha`.

    Parameters
    ----------
    documents : pandas.DataFrame
        Documents frame with customer_id, status and topic_id. Churned is required
        when `customers` is not given, and row_number when `memberships` is given.
    labels : Mapping[int, str]
        Label of each topic id. Ids not in the mapping get ``""``.
    customers : pandas.DataFrame, optional
        The population: one row per customer with customer_id and churned, optional
        value and covariates. Customers without feedback count in every baseline.
        Without it, the population is built from the documents by
        :func:`build_customers`.
    memberships : pandas.DataFrame, optional
        Long frame of (row_number, topic_id) for rows with several topics, as in
        :func:`customer_memberships`.
    covariates : sequence of str
        Columns to adjust for: value, columns of `customers`, or columns of
        `documents` (the first non-missing value of each customer's rows, as in
        :func:`build_customers`). Numeric columns enter as is, others one-hot encoded
        with the first level dropped.
    unit : {"customer", "row"}
        ``"row"`` when the documents had no customer column. It is only recorded in the
        result and its messages.
    min_customers, min_events : int
        Thresholds of small_group.
    alpha : float
        1 - confidence level of every CI, and the FDR level passed to multipletests.

    Returns
    -------
    OutcomeTable
        Its ``table`` has the columns of ``schema.OUTCOME_COLUMNS``: topic_id, label,
        customers, churned, churn_rate, baseline_customers, baseline_churned,
        baseline_rate, lift, risk_difference, rd_ci_low, rd_ci_high, odds_ratio,
        or_ci_low, or_ci_high, p_value, test, q_value, small_group,
        adjusted_odds_ratio, aor_ci_low, aor_ci_high, revenue_at_risk, excess_loss,
        excess_loss_low, excess_loss_high, mean_sentiment, share_negative,
        churn_rate_negative, churn_rate_non_negative.

    Raises
    ------
    TypeError
        If a frame is not a DataFrame, `labels` is not a mapping or `covariates` is a
        string.
    ValueError
        If a required column is missing (the message names the missing and the present
        columns), a column contains invalid values, an option is out of range, or no
        customer with a known churn outcome remains.
    """
    validate_documents(
        documents, need_outcome=customers is None, need_row_number=memberships is not None
    )
    if customers is not None:
        validate_customers(customers)
    if memberships is not None:
        validate_memberships(memberships, documents)
    validate_covariates(covariates, documents, customers)
    validate_options(
        labels=labels,
        unit=unit,
        min_customers=min_customers,
        min_events=min_events,
        alpha=alpha,
    )

    population = population_of(documents, customers, covariates)
    frame = population.customers
    if frame.empty:
        raise ValueError(
            f"no customer with a known churn outcome remains ({population.unknown_outcome} left "
            f"out with unknown outcome); check the {S.CHURNED!r} column"
        )

    messages = _population_messages(
        population.source, population.unknown_outcome, population.without_feedback, unit, population.without_text
    )
    for column, conflicts in population.covariate_conflicts.items():
        if conflicts:
            messages.append(
                OutcomeMessage.of("covariate_conflict", column=column, customers=conflicts)
            )
    lines = memberships_of(documents, memberships)
    in_population = lines[S.CUSTOMER_ID].isin(frame[S.CUSTOMER_ID])
    outside = lines.loc[~in_population, S.CUSTOMER_ID].nunique()
    if outside and population.source == POPULATION_CUSTOMERS_FILE:
        messages.append(OutcomeMessage.of("not_in_customers_file", count=outside))
    lines = lines[in_population]

    crude = crude_statistics(
        lines, frame, alpha=alpha, min_customers=min_customers, min_events=min_events
    )
    messages.extend(crude.messages)
    table = crude.table
    table["label"] = [labels.get(topic, "") for topic in table[S.TOPIC_ID]]

    if covariates and len(table):
        adjusted = adjusted_odds_ratios(lines, frame, covariates, alpha)
        messages.extend(adjusted.messages)
        table = table.join(adjusted.table, on=S.TOPIC_ID)
    else:
        for column in _ADJUSTED_COLUMNS:
            table[column] = np.nan

    table = add_outcome_sentiment(table, documents, frame, memberships)
    table = _finish(table)
    n_churned = int(frame[S.CHURNED].sum())
    logger.info(
        "outcome table: %d customers, %d churned, %d lines, %d messages",
        len(frame),
        n_churned,
        len(table),
        len(messages),
    )
    for message in messages:
        logger.info("outcomes: %s", message.text("en"))

    return OutcomeTable(
        table=table,
        n_customers=len(frame),
        n_churned=n_churned,
        overall_rate=n_churned / len(frame),
        unit=unit,
        population=population.source,
        messages=tuple(messages),
    )


def _population_messages(
    source: PopulationSource, unknown_outcome: int, without_feedback: int, unit: str, without_text: int = 0
) -> list[OutcomeMessage]:
    messages = []
    if source == POPULATION_CUSTOMERS_FILE:
        messages.append(
            OutcomeMessage.of("population_customers_file", without_feedback=without_feedback)
        )
    elif without_text:
        messages.append(OutcomeMessage.of("population_feedback_without_text", without_text=without_text))
    else:
        messages.append(OutcomeMessage.of("population_feedback"))
    if unknown_outcome:
        messages.append(OutcomeMessage.of("unknown_outcome", count=unknown_outcome))
    if unit == "row":
        messages.append(OutcomeMessage.of("unit_row"))
    return messages


def _finish(table: pd.DataFrame) -> pd.DataFrame:
    """Order rows by lift and columns as schema.OUTCOME_COLUMNS, and set dtypes."""
    produced = set(table.columns)
    expected = set(S.OUTCOME_COLUMNS)
    if produced != expected:
        raise RuntimeError(
            f"outcome table columns do not match schema.OUTCOME_COLUMNS: missing "
            f"{sorted(expected - produced)}, unexpected {sorted(produced - expected)}"
        )

    table = table.sort_values(
        ["lift", "customers", S.TOPIC_ID],
        ascending=[False, False, True],
        na_position="last",
        kind="mergesort",
    )
    table = table[list(S.OUTCOME_COLUMNS)].reset_index(drop=True)
    table[S.TOPIC_ID] = table[S.TOPIC_ID].astype("Int64")
    for column in ("customers", "churned", "baseline_customers", "baseline_churned"):
        table[column] = table[column].astype("int64")
    table["small_group"] = table["small_group"].astype(bool)
    table["label"] = table["label"].astype(str)
    table["test"] = table["test"].astype(str)
    return table
