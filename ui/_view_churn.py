"""Logic of the Topic vs churn page: sorting, forest-plot rows and Kaplan–Meier curves.

Plain functions without Streamlit, so that tests can call them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
import pandas as pd
from _view import display_label, format_ratio_ci

from painpoints import schema as S
from painpoints.i18n import tr

# Sort keys of the outcome table and forest plot: choice -> (outcome column, catalogue key).
SORT_CHOICES: Final = {
    "lift": ("lift", "ui.sort_lift"),
    "revenue": ("revenue_at_risk", "ui.sort_revenue"),
    "size": ("customers", "ui.sort_size"),
}
# Estimates the forest plot can draw: choice -> (estimate, CI low, CI high, catalogue key).
ESTIMATES: Final = {
    "crude": ("odds_ratio", "or_ci_low", "or_ci_high", "ui.estimate_crude"),
    "adjusted": ("adjusted_odds_ratio", "aor_ci_low", "aor_ci_high", "ui.estimate_adjusted"),
}
# q-value below which a topic counts as significant in the forest plot's colours.
SIGNIFICANT_Q: Final = 0.05


def sort_choices(language: str) -> dict[str, str]:
    """Return ``{choice: translated name}`` for the sort select: lift, revenue at risk, size."""
    return {choice: tr(key, language) for choice, (_, key) in SORT_CHOICES.items()}


def sort_outcomes(outcomes: pd.DataFrame, choice: str) -> pd.DataFrame:
    """Return the outcome table sorted by ``choice``, highest first, missing values last, ties by topic id.

    Raises
    ------
    ValueError
        When ``choice`` is not one of ``SORT_CHOICES``.
    """
    if choice not in SORT_CHOICES:
        raise ValueError(f"invalid sort choice {choice!r}: expected one of {', '.join(SORT_CHOICES)}")
    column = SORT_CHOICES[choice][0]
    ordered = outcomes.sort_values(S.TOPIC_ID, kind="stable")
    ordered = ordered.sort_values(column, ascending=False, na_position="last", kind="stable")
    return ordered.reset_index(drop=True)


def has_adjusted(outcomes: pd.DataFrame) -> bool:
    """Tell whether the run has adjusted odds ratios (it was run with covariates)."""
    return "adjusted_odds_ratio" in outcomes.columns and outcomes["adjusted_odds_ratio"].notna().any()


def estimate_choices(outcomes: pd.DataFrame, info: Mapping, language: str) -> dict[str, str]:
    """Return ``{choice: translated name}`` of the estimates the run has: crude, and adjusted when it exists."""
    choices = {"crude": tr(ESTIMATES["crude"][3], language)}
    if has_adjusted(outcomes):
        covariates = ", ".join((info.get("settings") or {}).get("covariates") or [])
        choices["adjusted"] = tr(ESTIMATES["adjusted"][3], language, covariates=covariates)
    return choices


def forest_rows(outcomes: pd.DataFrame, language: str, estimate: str = "crude") -> pd.DataFrame:
    """Return one forest-plot row per outcome line with an estimate and both CI bounds, in table order.

    Columns: ``topic_id``, ``label`` (``"id: label"``, unique), ``estimate``, ``low``,
    ``high``, ``q_value``, ``small_group``, ``significant`` (not a small group, and q < 0.05
    for the crude estimate; the table has no q-value of the adjusted estimate, so there
    its 95% CI must exclude 1),
    ``order`` (the row's position, for the chart's vertical order) and ``text``
    (estimate and CI as text). Lines whose estimate or a bound is missing or not
    positive are left out, because a log axis cannot draw them.
    """
    value_column, low_column, high_column, _ = ESTIMATES[estimate]
    rows = []
    for _, line in outcomes.iterrows():
        value, low, high = line.get(value_column), line.get(low_column), line.get(high_column)
        values = np.array([value, low, high], dtype=float)
        if not np.all(np.isfinite(values)) or np.any(values <= 0):
            continue
        topic_id = int(line[S.TOPIC_ID])
        q_value = float(line["q_value"]) if pd.notna(line["q_value"]) else float("nan")
        small = bool(line["small_group"])
        rows.append({
            S.TOPIC_ID: topic_id,
            "label": f"{topic_id}: {display_label(topic_id, str(line['label']), language)}",
            "estimate": float(value),
            "low": float(low),
            "high": float(high),
            "q_value": q_value,
            "small_group": small,
            "significant": not small and (bool(q_value < SIGNIFICANT_Q) if estimate == "crude"
                                          else bool(low > 1 or high < 1)),
            "text": format_ratio_ci(value, low, high),
        })
    frame = pd.DataFrame(rows, columns=[S.TOPIC_ID, "label", "estimate", "low", "high", "q_value", "small_group",
                                        "significant", "text"])
    frame["order"] = range(len(frame))
    return frame


def forest_group_names(language: str, estimate: str = "crude") -> dict[str, str]:
    """Return the legend names of the forest plot's point colours for the ``estimate`` drawn."""
    significant_key = "ui.forest_significant" if estimate == "crude" else "ui.forest_ci_excludes_one"
    return {"significant": tr(significant_key, language),
            "not_significant": tr("ui.forest_not_significant", language),
            "small_group": tr("ui.forest_small_group", language)}


def forest_group(row: Mapping) -> str:
    """Return the legend group of one forest row: small group first, then significant or not."""
    if row["small_group"]:
        return "small_group"
    return "significant" if row["significant"] else "not_significant"


def survival_topics(curves: pd.DataFrame | None, ordered: pd.DataFrame, language: str) -> dict[int, str]:
    """Return ``{topic_id: "id: label"}`` of the lines that have Kaplan–Meier curves.

    Topics come in the order of ``ordered`` (the sorted outcome table), followed by
    the unclustered and no-content lines, so the select starts at the top topic.
    """
    if curves is None or curves.empty:
        return {}
    available = {int(topic) for topic in curves[S.TOPIC_ID].unique()}
    labels = dict(zip(ordered[S.TOPIC_ID].astype(int), ordered["label"]))
    order = [int(topic) for topic in ordered[S.TOPIC_ID] if int(topic) >= 0]
    order += sorted((topic for topic in available if topic not in order), key=lambda topic: (topic < 0, -topic))
    return {topic: f"{topic}: {display_label(topic, str(labels.get(topic, '')), language)}"
            for topic in order if topic in available}


def km_curve(curves: pd.DataFrame, topic_id: int, language: str) -> pd.DataFrame:
    """Return the Kaplan–Meier curves of one line: time, survival, ci_low, ci_high, at_risk and group name.

    ``group`` is the stored code (``with_topic`` or ``without_topic``) and ``group_name``
    its translation. Rows are sorted by group and time, as a step chart needs.
    """
    picked = curves[curves[S.TOPIC_ID] == topic_id].copy()
    names = {"with_topic": tr("ui.km_with", language), "without_topic": tr("ui.km_without", language)}
    picked["group_name"] = picked["group"].map(names).fillna(picked["group"])
    return picked.sort_values(["group", "time"], kind="stable").reset_index(drop=True)[
        ["group", "group_name", "time", "survival", "ci_low", "ci_high", "at_risk"]]


def km_time_title(info: Mapping, language: str) -> str:
    """Return the time axis title of the Kaplan–Meier plot, naming the duration column of the run."""
    settings = info.get("settings") or {}
    if settings.get("duration_col"):
        return tr("ui.km_time", language, column=settings["duration_col"])
    return tr("ui.km_time_days", language)


def with_adjusted_column(table: pd.DataFrame, ordered: pd.DataFrame, language: str) -> pd.DataFrame:
    """Insert the adjusted odds ratio with its 95% CI as text after the crude odds ratio of an outcome table.

    ``table`` is :func:`_view.outcome_table_frame` of ``ordered`` without re-sorting, so
    their rows line up.
    """
    crude_header = tr("ui.col_odds_ratio", language)
    values = [format_ratio_ci(value, low, high) for value, low, high
              in zip(ordered["adjusted_odds_ratio"], ordered["aor_ci_low"], ordered["aor_ci_high"])]
    table = table.copy()
    table.insert(table.columns.get_loc(crude_header) + 1, tr("ui.col_adjusted_odds_ratio", language), values)
    return table
