"""Time to churn per topic line: Kaplan–Meier curves, log-rank test and Cox hazard ratios.

Each line is compared with the customers without it. The duration is the time a
customer was observed (tenure, or days from a start date to an end date, see
``analyse_outcomes``), and churned is the event: customers who did not churn are
censored at their duration.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.exceptions import ConvergenceError, ConvergenceWarning
from lifelines.statistics import logrank_test, proportional_hazard_test

from painpoints import schema as S
from painpoints.outcomes._adjusted import covariate_design, line_order
from painpoints.outcomes._messages import OutcomeMessage

DURATION: Final = "duration"
GROUP_WITH: Final = "with_topic"
GROUP_WITHOUT: Final = "without_topic"
_INDICATOR: Final = "has_topic"

SURVIVAL_COLUMNS: Final = (
    S.TOPIC_ID,
    "label",
    "customers",
    "churned",
    "median_duration",
    "baseline_median_duration",
    "logrank_p_value",
    "hazard_ratio",
    "hr_ci_low",
    "hr_ci_high",
    "hr_p_value",
    "ph_p_value",
    "ph_violated",
)
CURVE_COLUMNS: Final = (S.TOPIC_ID, "group", "time", "survival", "ci_low", "ci_high", "at_risk")


@dataclass(frozen=True)
class SurvivalResult:
    """Time-to-churn comparison of every topic line with the customers without it.

    Attributes
    ----------
    table : pandas.DataFrame
        ``SURVIVAL_COLUMNS``, one row per line in the order of ``line_order``:

        - customers, churned: customers with the line and churned among them.
        - median_duration, baseline_median_duration: Kaplan–Meier median duration with
          and without the line (inf when survival never falls to 0.5).
        - logrank_p_value: two-sided log-rank test of the two curves.
        - hazard_ratio, hr_ci_low, hr_ci_high, hr_p_value: exp(coef) of the line
          indicator in a Cox proportional-hazards model of the indicator plus
          `covariates` (Efron ties), with its Wald CI and p-value.
        - ph_p_value: p-value of the scaled Schoenfeld residual test of the indicator
          (rank time transform). ph_violated is True when it is below alpha, so the
          hazard ratio is an average over time, not a constant ratio.
    curves : pandas.DataFrame
        ``CURVE_COLUMNS``: the Kaplan–Meier step function of each line's two groups
        (``"with_topic"`` and ``"without_topic"``) with its exponential Greenwood CI and
        the number at risk at each time.
    duration_col : str
        Column the durations came from.
    covariates : tuple of str
        Covariates of every Cox model.
    n_customers : int
        Customers with a known duration that the models used.
    messages : tuple of OutcomeMessage
        Notes on left-out customers and on statistics left empty.
    """

    table: pd.DataFrame
    curves: pd.DataFrame
    duration_col: str
    covariates: tuple[str, ...]
    n_customers: int
    messages: tuple[OutcomeMessage, ...]

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of `table`."""
        return self.table.copy()


def survival_by_topic(
    lines: pd.DataFrame,
    population: pd.DataFrame,
    duration_col: str,
    labels: dict[int, str],
    *,
    covariates: Sequence[str] = (),
    alpha: float = 0.05,
) -> SurvivalResult:
    """Compare time to churn of each line with the customers without it.

    Parameters
    ----------
    lines : pandas.DataFrame
        Unique (customer_id, topic_id) pairs of customers in `population`.
    population : pandas.DataFrame
        One row per customer with customer_id, churned and `duration_col`, plus the
        covariates.
    duration_col : str
        Column with the observed time of each customer, in any unit (the output uses
        the same unit). Missing durations leave the customer out with a message.
    labels : dict
        Label of each topic id.
    covariates : sequence of str
        Columns added to every Cox model, encoded as in the adjusted logistic model.
        ``duration_col`` is left out of them, with a message.
    alpha : float
        1 - confidence level of the CIs, and the level of the PH check.

    Raises
    ------
    ValueError
        If a duration is not a number or is negative.
    """
    messages: list[OutcomeMessage] = []
    if duration_col in covariates:
        # A Cox model cannot adjust for its own time scale: the fit fails to converge.
        covariates = [column for column in covariates if column != duration_col]
        messages.append(OutcomeMessage.of("survival_duration_covariate", column=duration_col))
    durations = pd.to_numeric(population[duration_col], errors="coerce")
    invalid = population[duration_col][durations.isna() & population[duration_col].notna()]
    if len(invalid):
        raise ValueError(
            f"duration column {duration_col!r} must be numeric; found invalid value(s) "
            f"{invalid.unique()[:5].tolist()}"
        )
    if (durations < 0).any():
        raise ValueError(
            f"duration column {duration_col!r} must be >= 0; found "
            f"{durations[durations < 0].unique()[:5].tolist()}"
        )

    known = durations.notna() & population[list(covariates)].notna().all(axis=1)
    if not known.all():
        messages.append(OutcomeMessage.of("survival_missing", count=int((~known).sum())))
    frame = pd.DataFrame(
        {
            S.CUSTOMER_ID: population[S.CUSTOMER_ID],
            DURATION: durations.astype("float64"),
            S.CHURNED: population[S.CHURNED].astype(bool),
        }
    )[known]
    # lifelines' PH test breaks tied durations in row order, so rows are put in
    # customer_id order to make the result independent of the input order.
    order = frame[S.CUSTOMER_ID].sort_values(kind="mergesort").index
    frame = frame.loc[order]
    design = covariate_design(population[known], covariates).loc[order] if covariates else None

    topics = line_order(lines[S.TOPIC_ID].astype("int64").unique().tolist())
    rows = []
    curves = []
    for topic in topics:
        members = lines.loc[lines[S.TOPIC_ID] == topic, S.CUSTOMER_ID]
        has_topic = frame[S.CUSTOMER_ID].isin(members)
        row, curve = _compare_line(frame, has_topic, design, alpha, topic, messages)
        row["label"] = labels.get(topic, "")
        rows.append(row)
        curves.append(curve)

    table = pd.DataFrame(rows, columns=list(SURVIVAL_COLUMNS))
    table[S.TOPIC_ID] = table[S.TOPIC_ID].astype("Int64")
    table["ph_violated"] = table["ph_violated"].astype(bool)
    curve_frame = (
        pd.concat(curves, ignore_index=True)
        if curves
        else pd.DataFrame(columns=list(CURVE_COLUMNS))
    )
    return SurvivalResult(
        table=table,
        curves=curve_frame,
        duration_col=duration_col,
        covariates=tuple(covariates),
        n_customers=int(len(frame)),
        messages=tuple(messages),
    )


def _compare_line(
    frame: pd.DataFrame,
    has_topic: pd.Series,
    design: pd.DataFrame | None,
    alpha: float,
    topic: int,
    messages: list[OutcomeMessage],
) -> tuple[dict, pd.DataFrame]:
    with_topic = frame[has_topic]
    without_topic = frame[~has_topic]
    row: dict = {
        S.TOPIC_ID: topic,
        "customers": int(len(with_topic)),
        "churned": int(with_topic[S.CHURNED].sum()),
        "median_duration": math.nan,
        "baseline_median_duration": math.nan,
        "logrank_p_value": math.nan,
        "hazard_ratio": math.nan,
        "hr_ci_low": math.nan,
        "hr_ci_high": math.nan,
        "hr_p_value": math.nan,
        "ph_p_value": math.nan,
        "ph_violated": False,
    }
    curves = []
    for group, part, key in (
        (GROUP_WITH, with_topic, "median_duration"),
        (GROUP_WITHOUT, without_topic, "baseline_median_duration"),
    ):
        if len(part):
            fitter = KaplanMeierFitter(alpha=alpha).fit(part[DURATION], part[S.CHURNED])
            row[key] = float(fitter.median_survival_time_)
            curves.append(_curve_frame(fitter, topic, group))

    if with_topic.empty or without_topic.empty:
        messages.append(OutcomeMessage.of("survival_one_side_empty", topic=topic))
        return row, pd.concat(curves, ignore_index=True)
    if not with_topic[S.CHURNED].any() and not without_topic[S.CHURNED].any():
        messages.append(OutcomeMessage.of("survival_no_churn", topic=topic))
        return row, pd.concat(curves, ignore_index=True)

    row["logrank_p_value"] = float(
        logrank_test(
            with_topic[DURATION],
            without_topic[DURATION],
            event_observed_A=with_topic[S.CHURNED],
            event_observed_B=without_topic[S.CHURNED],
        ).p_value
    )

    if not with_topic[S.CHURNED].any():
        messages.append(OutcomeMessage.of("survival_no_churn_with_topic", topic=topic))
        return row, pd.concat(curves, ignore_index=True)
    row.update(_cox_line(frame, has_topic, design, alpha, topic, messages))
    return row, pd.concat(curves, ignore_index=True)


def _cox_line(
    frame: pd.DataFrame,
    has_topic: pd.Series,
    design: pd.DataFrame | None,
    alpha: float,
    topic: int,
    messages: list[OutcomeMessage],
) -> dict:
    data = frame[[DURATION, S.CHURNED]].copy()
    data[S.CHURNED] = data[S.CHURNED].astype(int)
    data[_INDICATOR] = has_topic.astype(float)
    if design is not None:
        data = pd.concat([data, design], axis=1)
    # Constant covariate columns (one level among the modeled customers) make the
    # Hessian singular, so they are dropped before fitting.
    constant = [column for column in data.columns[3:] if data[column].nunique() < 2]
    data = data.drop(columns=constant)

    fitter = CoxPHFitter(alpha=alpha)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fitter.fit(data, duration_col=DURATION, event_col=S.CHURNED)
    except (ConvergenceError, np.linalg.LinAlgError) as error:
        # lifelines appends tips and a URL to the reason, so only its first sentence is kept.
        reason = str(error).strip().split(". ")[0] or type(error).__name__
        messages.append(OutcomeMessage.of("survival_cox_failed", topic=topic, reason=reason))
        return {}
    if any(issubclass(warning.category, ConvergenceWarning) for warning in caught):
        messages.append(OutcomeMessage.of("survival_cox_not_converged", topic=topic))

    summary = fitter.summary.loc[_INDICATOR]
    level = round(100 * (1 - alpha))
    values = {
        "hazard_ratio": float(summary["exp(coef)"]),
        "hr_ci_low": float(summary[f"exp(coef) lower {level}%"]),
        "hr_ci_high": float(summary[f"exp(coef) upper {level}%"]),
        "hr_p_value": float(summary["p"]),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check = proportional_hazard_test(fitter, data, time_transform="rank")
    ph_p_value = float(check.summary.loc[_INDICATOR, "p"])
    values["ph_p_value"] = ph_p_value
    values["ph_violated"] = bool(ph_p_value < alpha)
    return values


def _curve_frame(fitter: KaplanMeierFitter, topic: int, group: str) -> pd.DataFrame:
    # NOTE: one row per distinct duration, so with continuous durations the curves of
    # all lines can outgrow an XLSX sheet (1,048,576 rows). Integer tenures stay small.
    survival = fitter.survival_function_.iloc[:, 0]
    bounds = fitter.confidence_interval_survival_function_
    at_risk = fitter.event_table["at_risk"].reindex(survival.index)
    return pd.DataFrame(
        {
            S.TOPIC_ID: topic,
            "group": group,
            "time": survival.index.to_numpy(dtype="float64"),
            "survival": survival.to_numpy(dtype="float64"),
            "ci_low": bounds.iloc[:, 0].to_numpy(dtype="float64"),
            "ci_high": bounds.iloc[:, 1].to_numpy(dtype="float64"),
            "at_risk": at_risk.to_numpy(dtype="float64"),
        }
    )


def plot_survival(result: SurvivalResult, topic_id: int, ax=None, *, title: str | None = None):
    """Draw the Kaplan–Meier curves of one line and of the customers without it.

    Parameters
    ----------
    result : SurvivalResult
    topic_id : int
        Line to draw.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is created when omitted.
    title : str, optional
        Axes title. The default contains the label, the hazard ratio with its CI
        ("adjusted HR" when the Cox models had covariates) and the PH check result.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    KeyError
        If `topic_id` is not a line of `result`.
    """
    import matplotlib.pyplot as plt

    rows = result.table[result.table[S.TOPIC_ID] == topic_id]
    if rows.empty:
        raise KeyError(
            f"topic {topic_id} is not in the survival table; lines: "
            f"{result.table[S.TOPIC_ID].tolist()}"
        )
    row = rows.iloc[0]
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.5))
    names = {GROUP_WITH: f"with topic (n={row['customers']})", GROUP_WITHOUT: "without topic"}
    for group, colour in ((GROUP_WITH, "tab:red"), (GROUP_WITHOUT, "tab:blue")):
        curve = result.curves[(result.curves[S.TOPIC_ID] == topic_id) & (result.curves["group"] == group)]
        ax.step(curve["time"], curve["survival"], where="post", color=colour, label=names[group])
        ax.fill_between(
            curve["time"], curve["ci_low"], curve["ci_high"], step="post", color=colour, alpha=0.15
        )
    if title is None:
        ph = "PH check failed" if row["ph_violated"] else "PH check passed"
        kind = "adjusted HR" if result.covariates else "HR"
        title = (
            f"{row['label']}: {kind} {row['hazard_ratio']:.2f} "
            f"({row['hr_ci_low']:.2f}–{row['hr_ci_high']:.2f}), {ph}"
        )
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(result.duration_col)
    ax.set_ylabel("share not churned (Kaplan–Meier)")
    ax.set_ylim(0, 1.02)
    ax.legend(loc="best")
    return ax
