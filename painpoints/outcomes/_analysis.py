"""All outcome analyses of one run in one call: the bundle behind every output."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import pandas as pd

from painpoints import schema as S
from painpoints.outcomes._inputs import validate_options
from painpoints.outcomes._messages import OutcomeMessage
from painpoints.outcomes._population import memberships_of, population_of
from painpoints.outcomes._scores import (
    SCORE_KINDS,
    ScoreImpact,
    ScoreKind,
    score_impact,
)
from painpoints.outcomes._survival import SurvivalResult, survival_by_topic
from painpoints.outcomes._table import OutcomeTable, topic_outcomes
from painpoints.outcomes._trends import (
    PERIODS,
    Period,
    SegmentTable,
    TopicTrends,
    topic_segments,
    topic_trends,
)

logger = logging.getLogger(__name__)

# Name of the duration column that analyse_outcomes derives from start and end dates.
DAYS_FROM_DATES: Final = "days_from_start_to_end"


@dataclass(frozen=True)
class OutcomeAnalysis:
    """Every outcome analysis of one run.

    Attributes
    ----------
    outcomes : OutcomeTable
        Crude and adjusted per-topic churn statistics (:func:`topic_outcomes`).
    survival : SurvivalResult or None
        Time to churn, when a duration column was given.
    scores : ScoreImpact or None
        NPS or CSAT impact, when a score column was given.
    trends : TopicTrends or None
        Share and churn per period, when the documents have dates.
    segments : SegmentTable or None
        Topic-by-segment table, when segment columns were given.
    messages : tuple of OutcomeMessage
        Messages of every part, the outcome table's first.
    """

    outcomes: OutcomeTable
    survival: SurvivalResult | None = None
    scores: ScoreImpact | None = None
    trends: TopicTrends | None = None
    segments: SegmentTable | None = None
    messages: tuple[OutcomeMessage, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """Return the outcome table (a copy of ``outcomes.table``)."""
        return self.outcomes.to_frame()

    def tables(self) -> dict[str, pd.DataFrame]:
        """Return every table that exists, keyed by its output file name without suffix.

        Keys: ``topic_outcomes``, then ``survival``, ``survival_curves``, ``scores``,
        ``trends``, ``emerging_topics`` and ``segments`` where those parts were computed.
        """
        tables = {"topic_outcomes": self.outcomes.to_frame()}
        if self.survival is not None:
            tables["survival"] = self.survival.to_frame()
            tables["survival_curves"] = self.survival.curves.copy()
        if self.scores is not None:
            tables["scores"] = self.scores.to_frame()
        if self.trends is not None:
            tables["trends"] = self.trends.to_frame()
            tables["emerging_topics"] = self.trends.emerging.copy()
        if self.segments is not None:
            tables["segments"] = self.segments.to_frame()
        return tables


def analyse_outcomes(
    documents: pd.DataFrame,
    labels: Mapping[int, str],
    customers: pd.DataFrame | None = None,
    *,
    memberships: pd.DataFrame | None = None,
    covariates: Sequence[str] = (),
    duration_col: str | None = None,
    start_col: str | None = None,
    end_col: str | None = None,
    score_col: str | None = None,
    score_kind: ScoreKind = "nps",
    segment_cols: Sequence[str] = (),
    period: Period | None = "month",
    unit: Literal["customer", "row"] = "customer",
    min_customers: int = 30,
    min_events: int = 5,
    alpha: float = 0.05,
) -> OutcomeAnalysis:
    """Run the outcome table and every optional analysis the inputs allow.

    Parameters
    ----------
    documents, labels, customers, memberships, covariates, unit, min_customers, min_events, alpha
        As in :func:`topic_outcomes`.
    duration_col : str, optional
        Observed time per customer (tenure): a column of `customers` or of `documents`
        (first non-missing value of each customer's rows). Turns on the survival part,
        whose Cox models use `covariates` too.
    start_col, end_col : str, optional
        Dates (signup, and churn or last seen) taken like `duration_col`. When both are
        given and `duration_col` is not, the duration is end - start in days.
        Customers with a missing date are left out of the survival part.
    score_col : str, optional
        NPS (0–10) or CSAT (1–5) answer per customer, taken like `duration_col`.
    score_kind : {"nps", "csat"}
    segment_cols : sequence of str
        Columns to cross with the topic lines (region, channel, product …).
    period : {"week", "month"} or None
        Period of the trend table. Trends need a date column in `documents` with at
        least one date; None turns them off.

    Returns
    -------
    OutcomeAnalysis

    Raises
    ------
    TypeError, ValueError
        As :func:`topic_outcomes`; ValueError also when an extra column is in neither
        frame, `score_kind` or `period` is unknown, only one of `start_col` and
        `end_col` is given, a date cannot be parsed, or a duration or score is invalid
        (see :func:`survival_by_topic` and :func:`score_impact`).
    """
    if isinstance(segment_cols, str):
        raise TypeError(
            f"segment_cols must be a sequence of column names, got the string {segment_cols!r}"
        )
    if score_kind not in SCORE_KINDS:
        raise ValueError(f"score_kind must be one of {SCORE_KINDS}, got {score_kind!r}")
    if period is not None and period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS} or None, got {period!r}")
    validate_options(
        labels=labels, unit=unit, min_customers=min_customers, min_events=min_events, alpha=alpha
    )
    if (start_col is None) != (end_col is None):
        raise ValueError(
            f"start_col and end_col must be given together, got start_col={start_col!r} and "
            f"end_col={end_col!r}"
        )
    extra = [
        column for column in (duration_col, start_col, end_col, score_col) if column is not None
    ]
    extra += list(segment_cols)
    _check_extra_columns(extra, documents, customers)

    outcomes = topic_outcomes(
        documents,
        labels,
        customers,
        memberships=memberships,
        covariates=covariates,
        unit=unit,
        min_customers=min_customers,
        min_events=min_events,
        alpha=alpha,
    )
    messages = list(outcomes.messages)
    carried = list(dict.fromkeys([*covariates, *extra]))
    population = population_of(documents, customers, carried).customers
    lines = memberships_of(documents, memberships)
    lines = lines[lines[S.CUSTOMER_ID].isin(population[S.CUSTOMER_ID])]
    label_map = dict(labels)

    survival = scores = trends = segments = None
    if duration_col is None and start_col is not None and end_col is not None:
        duration_col = DAYS_FROM_DATES
        population[duration_col] = _days_between(population, start_col, end_col)
    if duration_col is not None:
        survival = survival_by_topic(
            lines, population, duration_col, label_map, covariates=covariates, alpha=alpha
        )
        messages.extend(survival.messages)
    if score_col is not None:
        scores = score_impact(lines, population, score_col, label_map, score_kind)
        messages.extend(scores.messages)
    has_dates = S.DATE in documents.columns and pd.to_datetime(
        documents[S.DATE], errors="coerce"
    ).notna().any()
    if period is not None and has_dates:
        trends = topic_trends(
            documents, population, label_map, memberships=memberships, period=period, alpha=alpha
        )
        messages.extend(trends.messages)
    if segment_cols:
        segments = topic_segments(lines, population, segment_cols, label_map)

    logger.info(
        "outcome analysis: survival %s, scores %s, trends %s, segments %s",
        survival is not None,
        scores is not None,
        trends is not None,
        segments is not None,
    )
    return OutcomeAnalysis(
        outcomes=outcomes,
        survival=survival,
        scores=scores,
        trends=trends,
        segments=segments,
        messages=tuple(messages),
    )


def _days_between(population: pd.DataFrame, start_col: str, end_col: str) -> pd.Series:
    dates = {}
    for column in (start_col, end_col):
        raw = population[column]
        parsed = pd.to_datetime(raw, errors="coerce", format="mixed")
        invalid = raw[parsed.isna() & raw.notna()]
        if len(invalid):
            raise ValueError(
                f"date column {column!r} has value(s) {invalid.unique()[:5].tolist()} that are "
                f"not dates; write them as YYYY-MM-DD"
            )
        dates[column] = parsed
    return (dates[end_col] - dates[start_col]).dt.total_seconds() / 86400.0


def _check_extra_columns(
    columns: Sequence[str], documents: pd.DataFrame, customers: pd.DataFrame | None
) -> None:
    customer_columns = [] if customers is None else list(customers.columns)
    reserved = [column for column in columns if column in (S.CUSTOMER_ID, S.CHURNED)]
    if reserved:
        raise ValueError(
            f"duration, score and segment columns cannot include {reserved}; they are the id "
            f"and the outcome"
        )
    present = {S.VALUE, *customer_columns, *documents.columns}
    missing = [column for column in columns if column not in present]
    if missing:
        raise ValueError(
            f"column(s) {missing} not found in the customers frame or the documents; "
            f"customers columns: {customer_columns}, documents columns: {list(documents.columns)}"
        )
