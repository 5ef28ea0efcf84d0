"""Topic share and churn per period, emerging topics, and topic-by-segment tables."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal, get_args

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportions_ztest

from painpoints import schema as S
from painpoints.outcomes._inputs import STATUS_REJECTED, customer_ids
from painpoints.outcomes._messages import OutcomeMessage
from painpoints.outcomes._population import memberships_of

Period = Literal["week", "month"]
PERIODS: Final[tuple[str, ...]] = get_args(Period)
_PANDAS_FREQUENCY: Final = {"week": "W-SUN", "month": "M"}

# A topic is emerging when its share in the latest period is at least this many times
# its share over all earlier periods, and the one-sided two-proportion z-test of the
# two shares is significant at alpha.
EMERGING_MIN_RATIO: Final = 2.0
# Earlier periods needed before the latest one to judge a topic emerging.
EMERGING_MIN_HISTORY: Final = 2
MISSING_SEGMENT: Final = "(missing)"

TREND_COLUMNS: Final = (
    "period",
    S.TOPIC_ID,
    "label",
    "customers",
    "period_customers",
    "share",
    "churned",
    "churn_rate",
)
EMERGING_COLUMNS: Final = (
    S.TOPIC_ID,
    "label",
    "latest_customers",
    "latest_share",
    "history_share",
    "share_ratio",
    "emerging_p_value",
    "emerging",
)
SEGMENT_COLUMNS: Final = (
    "segment_col",
    "segment",
    S.TOPIC_ID,
    "label",
    "segment_customers",
    "customers",
    "share",
    "churned",
    "churn_rate",
    "baseline_rate",
    "segment_rate",
)


@dataclass(frozen=True)
class TopicTrends:
    """Topic share and churn rate per period, with the emerging-topic check.

    Attributes
    ----------
    table : pandas.DataFrame
        ``TREND_COLUMNS``, one row per (period, line) with at least one customer:
        period (start of the week or month), customers with the line among
        period_customers (customers with a dated feedback row in the period),
        share = customers / period_customers, and churned and churn_rate among those
        customers whose outcome is known.
    emerging : pandas.DataFrame
        ``EMERGING_COLUMNS``, one row per line: latest_share in the latest period,
        history_share pooled over all earlier periods, their ratio (inf when the line
        is new), the p-value of the one-sided two-proportion z-test
        (``statsmodels.stats.proportion.proportions_ztest``, alternative "larger"),
        and emerging: True when the ratio is >= EMERGING_MIN_RATIO, the p-value is
        below alpha and at least EMERGING_MIN_HISTORY earlier periods exist.
    period : {"week", "month"}
    latest_period : pandas.Timestamp or None
    messages : tuple of OutcomeMessage
    """

    table: pd.DataFrame
    emerging: pd.DataFrame
    period: Period
    latest_period: pd.Timestamp | None
    messages: tuple[OutcomeMessage, ...]

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of `table`."""
        return self.table.copy()


@dataclass(frozen=True)
class SegmentTable:
    """Topic lines within each segment (region, channel, product …).

    Attributes
    ----------
    table : pandas.DataFrame
        ``SEGMENT_COLUMNS``, one row per (segment column, segment value, line) with at
        least one customer: segment_customers in the segment, customers with the line
        among them, share, churned and churn_rate of those customers, baseline_rate
        of the segment's customers without the line and segment_rate of all of the
        segment's customers. Customers without a segment value form the segment
        ``"(missing)"``.
    segment_cols : tuple of str
    """

    table: pd.DataFrame
    segment_cols: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of `table`."""
        return self.table.copy()


def topic_trends(
    documents: pd.DataFrame,
    population: pd.DataFrame,
    labels: dict[int, str],
    *,
    memberships: pd.DataFrame | None = None,
    period: Period = "month",
    alpha: float = 0.05,
) -> TopicTrends:
    """Count each line's customers per period and check the latest period for emerging lines.

    A customer counts for a line in a period when any of their rows dated in that
    period has the line. Rows without a date are left out with a message.

    Raises
    ------
    ValueError
        If `period` is not "week" or "month".
    """
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}, got {period!r}")
    messages: list[OutcomeMessage] = []
    documents = documents.reset_index(drop=True)
    usable = documents[documents[S.STATUS] != STATUS_REJECTED]
    dates = pd.to_datetime(usable[S.DATE], errors="coerce")
    undated = int(dates.isna().sum())
    if undated:
        messages.append(OutcomeMessage.of("trends_undated", count=undated))
    usable = usable[dates.notna()]
    dates = dates[dates.notna()]
    starts = dates.dt.to_period(_PANDAS_FREQUENCY[period]).dt.start_time

    churned = population.set_index(S.CUSTOMER_ID)[S.CHURNED]
    records = []
    for start in sorted(starts.unique()):
        rows = usable[starts == start]
        period_customers = customer_ids(rows[S.CUSTOMER_ID]).nunique()
        pairs = memberships_of(rows, memberships)
        pairs["churned"] = pairs[S.CUSTOMER_ID].map(churned)
        for topic, group in pairs.groupby(S.TOPIC_ID, sort=True):
            known = group["churned"].dropna().astype(bool)
            records.append(
                {
                    "period": pd.Timestamp(start),
                    S.TOPIC_ID: int(topic),
                    "label": labels.get(int(topic), ""),
                    "customers": int(len(group)),
                    "period_customers": int(period_customers),
                    "share": len(group) / period_customers,
                    "churned": int(known.sum()),
                    "churn_rate": float(known.mean()) if len(known) else math.nan,
                }
            )
    table = pd.DataFrame(records, columns=list(TREND_COLUMNS))
    table[S.TOPIC_ID] = table[S.TOPIC_ID].astype("Int64")
    latest = table["period"].max() if len(table) else None
    emerging = _emerging(table, latest, labels, alpha, messages)
    return TopicTrends(
        table=table,
        emerging=emerging,
        period=period,
        latest_period=None if latest is None or pd.isna(latest) else pd.Timestamp(latest),
        messages=tuple(messages),
    )


def _emerging(
    table: pd.DataFrame,
    latest: pd.Timestamp | None,
    labels: dict[int, str],
    alpha: float,
    messages: list[OutcomeMessage],
) -> pd.DataFrame:
    if latest is None or table.empty:
        return pd.DataFrame(columns=list(EMERGING_COLUMNS))
    periods = table[["period", "period_customers"]].drop_duplicates()
    history_periods = periods[periods["period"] < latest]
    latest_total = int(periods.loc[periods["period"] == latest, "period_customers"].iloc[0])
    history_total = int(history_periods["period_customers"].sum())
    if len(history_periods) < EMERGING_MIN_HISTORY:
        messages.append(
            OutcomeMessage.of(
                "trends_short_history", periods=len(history_periods), minimum=EMERGING_MIN_HISTORY
            )
        )

    rows = []
    for topic in sorted(table[S.TOPIC_ID].astype(int).unique()):
        of_topic = table[table[S.TOPIC_ID] == topic]
        latest_count = int(of_topic.loc[of_topic["period"] == latest, "customers"].sum())
        history_count = int(of_topic.loc[of_topic["period"] < latest, "customers"].sum())
        latest_share = latest_count / latest_total
        history_share = history_count / history_total if history_total else math.nan
        if history_share > 0:
            ratio = latest_share / history_share
        elif latest_count > 0 and history_total:
            ratio = math.inf
        else:
            ratio = math.nan
        p_value = math.nan
        if history_total and latest_count + history_count > 0:
            counts = np.array([latest_count, history_count])
            totals = np.array([latest_total, history_total])
            if 0 < counts.sum() < totals.sum():
                p_value = float(proportions_ztest(counts, totals, alternative="larger")[1])
        flagged = (
            len(history_periods) >= EMERGING_MIN_HISTORY
            and not math.isnan(ratio)
            and ratio >= EMERGING_MIN_RATIO
            and not math.isnan(p_value)
            and p_value < alpha
        )
        rows.append(
            {
                S.TOPIC_ID: topic,
                "label": labels.get(topic, ""),
                "latest_customers": latest_count,
                "latest_share": latest_share,
                "history_share": history_share,
                "share_ratio": ratio,
                "emerging_p_value": p_value,
                "emerging": bool(flagged),
            }
        )
    emerging = pd.DataFrame(rows, columns=list(EMERGING_COLUMNS))
    emerging[S.TOPIC_ID] = emerging[S.TOPIC_ID].astype("Int64")
    emerging["emerging"] = emerging["emerging"].astype(bool)
    return emerging


def topic_segments(
    lines: pd.DataFrame,
    population: pd.DataFrame,
    segment_cols: Sequence[str],
    labels: dict[int, str],
) -> SegmentTable:
    """Cross each line with each segment column of the population."""
    records = []
    for column in segment_cols:
        segments = population[column].astype("string").str.strip()
        segments = segments.mask(segments.isna() | (segments == ""), MISSING_SEGMENT)
        frame = pd.DataFrame(
            {
                S.CUSTOMER_ID: population[S.CUSTOMER_ID],
                "segment": segments.astype(str),
                S.CHURNED: population[S.CHURNED].astype(bool),
            }
        )
        joined = lines.merge(frame, on=S.CUSTOMER_ID, how="inner")
        for segment, customers in frame.groupby("segment", sort=True):
            segment_churned = int(customers[S.CHURNED].sum())
            in_segment = joined[joined["segment"] == segment]
            for topic, group in in_segment.groupby(S.TOPIC_ID, sort=True):
                churned = int(group[S.CHURNED].sum())
                baseline_customers = len(customers) - len(group)
                baseline_churned = segment_churned - churned
                records.append(
                    {
                        "segment_col": column,
                        "segment": segment,
                        S.TOPIC_ID: int(topic),
                        "label": labels.get(int(topic), ""),
                        "segment_customers": int(len(customers)),
                        "customers": int(len(group)),
                        "share": len(group) / len(customers),
                        "churned": churned,
                        "churn_rate": churned / len(group),
                        "baseline_rate": (
                            baseline_churned / baseline_customers if baseline_customers else math.nan
                        ),
                        "segment_rate": segment_churned / len(customers),
                    }
                )
    table = pd.DataFrame(records, columns=list(SEGMENT_COLUMNS))
    table[S.TOPIC_ID] = table[S.TOPIC_ID].astype("Int64")
    return SegmentTable(table=table, segment_cols=tuple(segment_cols))
