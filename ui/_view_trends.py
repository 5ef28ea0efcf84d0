"""Logic of the Trends & segments page: share and churn per period, emerging topics, segment heatmap.

Plain functions without Streamlit, so that tests can call them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import pandas as pd
from _view import display_label, format_count, format_percent, format_ratio

from painpoints import schema as S
from painpoints.i18n import tr

# Topics drawn in the trend charts by default: the largest ones.
DEFAULT_TREND_TOPICS: Final = 5
# Measures of the segment heatmap: choice -> (segments column, catalogue key).
HEATMAP_MEASURES: Final = {"share": ("share", "ui.measure_share"), "churn_rate": ("churn_rate", "ui.measure_churn")}


def format_period(value: object, period: str, language: str) -> str:
    """Format the start of a trend period: a month as ``"Jan 2025"`` / ``"2025年1月"``, a week by its first day.

    ``period`` is ``"month"`` or ``"week"``, as in the run's settings.
    """
    stamp = pd.Timestamp(value)
    if period == "month":
        return f"{stamp.year}年{stamp.month}月" if language == "zh" else stamp.strftime("%b %Y")
    return f"{stamp.year}年{stamp.month}月{stamp.day}日" if language == "zh" else stamp.strftime("%d %b %Y")


def line_name(topic_id: int, label: str, language: str) -> str:
    """Return ``"id: label"`` with the special lines' labels translated."""
    return f"{topic_id}: {display_label(topic_id, label, language)}"


def trend_topic_choices(trends: pd.DataFrame, language: str) -> dict[int, str]:
    """Return ``{topic_id: "id: label"}`` of the trend lines, largest (most customers over all periods) first."""
    if trends is None or trends.empty:
        return {}
    totals = trends.groupby(S.TOPIC_ID)["customers"].sum()
    labels = trends.drop_duplicates(S.TOPIC_ID).set_index(S.TOPIC_ID)["label"]
    order = sorted(totals.index, key=lambda topic: (-int(totals[topic]), int(topic)))
    return {int(topic): line_name(int(topic), str(labels[topic]), language) for topic in order}


def default_trend_topics(choices: Mapping[int, str], count: int = DEFAULT_TREND_TOPICS) -> list[int]:
    """Return the first ``count`` topics >= 0 of :func:`trend_topic_choices`."""
    return [topic for topic in choices if topic >= 0][:count]


def trend_points(trends: pd.DataFrame, topic_ids: list[int], period: str, language: str) -> pd.DataFrame:
    """Return the trend rows of the chosen topics, ready for a line chart.

    Columns: ``period`` (timestamp), ``period_name`` (formatted), ``topic`` (``"id: label"``),
    ``share``, ``churn_rate``, ``customers`` and ``period_customers``, sorted by topic
    and period.
    """
    picked = trends[trends[S.TOPIC_ID].isin(topic_ids)]
    frame = pd.DataFrame({
        "period": pd.to_datetime(picked["period"]),
        "period_name": [format_period(value, period, language) for value in picked["period"]],
        "topic": [line_name(int(topic), str(label), language) for topic, label in zip(picked[S.TOPIC_ID],
                                                                                    picked["label"])],
        S.TOPIC_ID: picked[S.TOPIC_ID].astype("int64"),
        "share": picked["share"].astype(float),
        "churn_rate": picked["churn_rate"].astype(float),
        "customers": picked["customers"].astype("int64"),
        "period_customers": picked["period_customers"].astype("int64"),
    })
    return frame.sort_values([S.TOPIC_ID, "period"], kind="stable").reset_index(drop=True)


def emerging_table(emerging: pd.DataFrame, language: str) -> pd.DataFrame:
    """Return the topics flagged as emerging, fastest-growing first, as display text with translated headers."""
    flagged = emerging[emerging["emerging"].astype(bool)] if not emerging.empty else emerging
    flagged = flagged.sort_values("share_ratio", ascending=False, kind="stable")
    return pd.DataFrame({
        tr("ui.col_topic", language): [line_name(int(topic), str(label), language)
                                       for topic, label in zip(flagged[S.TOPIC_ID], flagged["label"])],
        tr("ui.col_latest_customers", language): [format_count(value) for value in flagged["latest_customers"]],
        tr("ui.col_latest_share", language): [format_percent(value) for value in flagged["latest_share"]],
        tr("ui.col_history_share", language): [format_percent(value) for value in flagged["history_share"]],
        tr("ui.col_share_ratio", language): [format_ratio(value) for value in flagged["share_ratio"]],
    })


def segment_column_choices(segments: pd.DataFrame) -> list[str]:
    """Return the segment columns of the segments table, in stored order."""
    if segments is None or segments.empty:
        return []
    return list(dict.fromkeys(segments["segment_col"].astype(str)))


def heatmap_measures(language: str) -> dict[str, str]:
    """Return ``{measure: translated name}`` for the heatmap select: share of customers, churn rate."""
    return {measure: tr(key, language) for measure, (_, key) in HEATMAP_MEASURES.items()}


def heatmap_cells(segments: pd.DataFrame, segment_col: str, measure: str, language: str) -> pd.DataFrame:
    """Return one heatmap cell per (topic, segment) of one segment column.

    Columns: ``topic`` (``"id: label"``), ``topic_id``, ``segment``, ``value`` (the
    measure, a proportion), ``text`` (the value as a percentage), ``customers`` and
    ``segment_customers``. The no-content line (-2) is left out, because it is not a
    topic. Rows are sorted by topic id and segment.
    """
    column = HEATMAP_MEASURES[measure][0]
    picked = segments[(segments["segment_col"].astype(str) == segment_col) & (segments[S.TOPIC_ID] != S.NO_CONTENT_TOPIC)]
    frame = pd.DataFrame({
        "topic": [line_name(int(topic), str(label), language) for topic, label in zip(picked[S.TOPIC_ID],
                                                                                    picked["label"])],
        S.TOPIC_ID: picked[S.TOPIC_ID].astype("int64"),
        "segment": picked["segment"].astype(str),
        "value": picked[column].astype(float),
        "text": [format_percent(value) for value in picked[column]],
        "customers": picked["customers"].astype("int64"),
        "segment_customers": picked["segment_customers"].astype("int64"),
    })
    # The unclustered line (-1) goes last, after the topics.
    order = frame[S.TOPIC_ID].where(frame[S.TOPIC_ID] >= 0, frame[S.TOPIC_ID].max() + 1 if len(frame) else 0)
    return frame.assign(_order=order).sort_values(["_order", "segment"], kind="stable").drop(columns="_order") \
        .reset_index(drop=True)


def missing_trends_reason(info: Mapping, language: str) -> str:
    """Say why a run has no trend table: no outcome, no date column, or trends turned off."""
    if not info.get("outcomes"):
        return tr("ui.no_trends_outcome", language)
    settings = info.get("settings") or {}
    if settings.get("period") is None:
        return tr("ui.no_trends_period", language)
    return tr("ui.no_trends_date", language)


def missing_segments_reason(info: Mapping, language: str) -> str:
    """Say why a run has no segments table: no outcome, or no segment columns chosen."""
    if not info.get("outcomes"):
        return tr("ui.no_segments_outcome", language)
    return tr("ui.no_segments_columns", language)
