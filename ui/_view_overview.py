"""Logic of the Overview page: row counts by status, topic sizes, topic map and churn baseline.

Plain functions without Streamlit, so that tests can call them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import pandas as pd
from _view import display_label, format_count, format_percent

from painpoints import schema as S
from painpoints.i18n import tr
from painpoints.topic_map import MAP_X, MAP_Y

STATUS_KEYS: Final = {status: f"ui.status_{status}" for status in S.STATUSES}


def status_counts(documents: pd.DataFrame, language: str) -> pd.DataFrame:
    """Count the documents by status, in the order of ``schema.STATUSES``, with every status present.

    Columns ``status`` (the code), ``name`` (translated), ``rows`` and ``share`` of all
    rows. The rows add up to ``len(documents)``: every input row has exactly one status.
    """
    if len(documents):
        counts = documents[S.STATUS].value_counts().reindex(list(S.STATUSES), fill_value=0)
    else:
        counts = pd.Series(0, index=list(S.STATUSES))
    total = max(int(counts.sum()), 1)
    return pd.DataFrame({
        "status": list(S.STATUSES),
        "name": [tr(STATUS_KEYS[status], language) for status in S.STATUSES],
        "rows": [int(counts[status]) for status in S.STATUSES],
        "share": [int(counts[status]) / total for status in S.STATUSES],
    })


def status_table(counts: pd.DataFrame, language: str) -> pd.DataFrame:
    """Return :func:`status_counts` as display text with translated headers."""
    return pd.DataFrame({
        tr("ui.col_status", language): counts["name"],
        tr("ui.col_rows", language): [format_count(value) for value in counts["rows"]],
        tr("ui.col_share_of_rows", language): [format_percent(value) for value in counts["share"]],
    })


def topic_sizes(topics: pd.DataFrame, language: str) -> pd.DataFrame:
    """Return the topics >= 0 with ``topic_id``, translated ``label``, ``rows`` and ``customers``, largest first.

    The unclustered line is left out, because it is not a topic.
    """
    columns = [S.TOPIC_ID, "label", "rows", "customers"]
    if topics.empty:
        return pd.DataFrame(columns=columns)
    sized = topics[topics[S.TOPIC_ID] >= 0]
    frame = pd.DataFrame({
        S.TOPIC_ID: sized[S.TOPIC_ID].astype("int64"),
        "label": [display_label(int(topic), label, language) for topic, label in zip(sized[S.TOPIC_ID], sized["label"])],
        "rows": sized["rows"].astype("int64"),
        "customers": sized["customers"].astype("int64"),
    })
    return frame.sort_values(["rows", S.TOPIC_ID], ascending=[False, True], kind="stable").reset_index(drop=True)


def topic_map_points(topics: pd.DataFrame, outcomes: pd.DataFrame, language: str) -> pd.DataFrame | None:
    """Return the points of the topic map, or None when the run has no map coordinates.

    One row per topic with coordinates: ``topic_id``, ``label``, ``map_x``, ``map_y``,
    ``rows`` and, when the run has an outcome, ``lift`` (NaN otherwise). Runs saved
    before the map existed lack the columns or have them empty, and return None.
    """
    if topics.empty or MAP_X not in topics.columns or MAP_Y not in topics.columns:
        return None
    placed = topics[topics[MAP_X].notna() & topics[MAP_Y].notna() & (topics[S.TOPIC_ID] >= 0)]
    if placed.empty:
        return None
    lift = outcomes.set_index(S.TOPIC_ID)["lift"] if not outcomes.empty else pd.Series(dtype=float)
    return pd.DataFrame({
        S.TOPIC_ID: placed[S.TOPIC_ID].astype("int64"),
        "label": [display_label(int(topic), label, language) for topic, label in zip(placed[S.TOPIC_ID], placed["label"])],
        MAP_X: placed[MAP_X].astype(float),
        MAP_Y: placed[MAP_Y].astype(float),
        "rows": placed["rows"].astype("int64"),
        "lift": [float(lift.get(int(topic), float("nan"))) for topic in placed[S.TOPIC_ID]],
    }).reset_index(drop=True)


def churn_baseline(info: Mapping, language: str) -> str | None:
    """Return the churn rate of all customers in the outcome population as a sentence, or None without an outcome."""
    outcomes = info.get("outcomes")
    if not outcomes:
        return None
    unit_key = "ui.unit_rows" if outcomes.get("unit") == "row" else "ui.unit_customers"
    return tr("ui.baseline_sentence", language,
              rate=format_percent(outcomes.get("overall_rate")),
              churned=format_count(outcomes.get("churned")),
              customers=format_count(outcomes.get("customers")),
              unit=tr(unit_key, language))
