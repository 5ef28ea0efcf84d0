"""Adjusted odds ratios of all topic lines from one logistic regression.

The model regresses churned on an intercept, the covariates and one 0/1 indicator per
topic line, so each line's odds ratio is adjusted for the covariates and the other lines.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd
import scipy.linalg
import statsmodels.api as sm
from statsmodels.discrete.discrete_model import BinaryResultsWrapper
from statsmodels.tools.sm_exceptions import (
    ConvergenceWarning,
    PerfectSeparationError,
    PerfectSeparationWarning,
)

from painpoints import schema as S
from painpoints.outcomes._messages import OutcomeMessage

INTERCEPT: Final = "(intercept)"
# A column whose part orthogonal to the columns before it is below this fraction of its
# own norm counts as a linear combination of them and is left out of the model.
COLLINEAR_TOLERANCE: Final = 1e-8
MAX_ITERATIONS: Final = 100


@dataclass
class AdjustedResult:
    # Indexed by topic_id, with columns adjusted_odds_ratio, aor_ci_low and aor_ci_high.
    table: pd.DataFrame
    messages: list[OutcomeMessage] = field(default_factory=list)


def indicator_name(topic: int) -> str:
    return f"topic[{topic}]"


def line_order(topics: Sequence[int]) -> list[int]:
    """Order topics >= 0 first, then UNCLUSTERED, then NO_CONTENT_TOPIC.

    When indicators are linearly dependent, the later ones are left out, so the
    special lines become the reference before a real topic does.
    """
    real = sorted(topic for topic in topics if topic >= 0)
    special = [topic for topic in (S.UNCLUSTERED, S.NO_CONTENT_TOPIC) if topic in topics]
    return real + special


def covariate_design(population: pd.DataFrame, covariates: Sequence[str]) -> pd.DataFrame:
    """Encode covariates as float columns.

    Numeric columns enter as is, others one-hot encoded with the first level dropped.
    """
    selected = population[list(covariates)]
    numeric = [column for column in covariates if pd.api.types.is_numeric_dtype(selected[column])]
    categorical = [column for column in covariates if column not in numeric]
    encoded = selected[numeric].astype("float64")
    if categorical:
        dummies = pd.get_dummies(selected[categorical], drop_first=True, dtype=float)
        encoded = pd.concat([encoded, dummies], axis=1)
    return encoded


def dependent_columns(design: pd.DataFrame) -> list[str]:
    """Return columns that are linear combinations of the columns before them.

    Uses the diagonal of R from an unpivoted QR decomposition: |R[j, j]| is the norm of
    column j after removing its projection on columns 0..j-1.
    """
    matrix = design.to_numpy(dtype="float64")
    r = scipy.linalg.qr(matrix, mode="r")[0]
    norms = np.linalg.norm(matrix, axis=0)
    diagonal = np.abs(np.diag(r))
    dependent = diagonal <= COLLINEAR_TOLERANCE * np.maximum(norms, np.finfo(float).tiny)
    return [column for column, flag in zip(design.columns, dependent) if flag]


def _empty(topics: Sequence[int]) -> pd.DataFrame:
    return pd.DataFrame(
        np.nan,
        index=pd.Index(list(topics), name=S.TOPIC_ID, dtype="int64"),
        columns=["adjusted_odds_ratio", "aor_ci_low", "aor_ci_high"],
    )


def adjusted_odds_ratios(
    lines: pd.DataFrame,
    population: pd.DataFrame,
    covariates: Sequence[str],
    alpha: float,
) -> AdjustedResult:
    """Fit one Logit of churned on all line indicators and the covariates.

    Customers with a missing covariate are left out of the model. Lines whose
    indicator is constant, separates the outcome (nobody or everybody with the line
    churned) or is a linear combination of earlier columns are left out of the model
    with NaN results. The customers of a separating line are left out too: the MLE of
    its coefficient is infinite, so those customers add nothing to the likelihood of
    the other coefficients, and keeping them without their indicator would put them in
    the reference group. When the fit fails (perfect separation, a singular matrix, or
    no convergence), every line is NaN. Each case adds a message instead of raising.

    Returns
    -------
    AdjustedResult
        Odds ratios exp(coef) and their 1 - alpha CIs exp(conf_int) per topic id.
    """
    topics = line_order(lines[S.TOPIC_ID].astype("int64").unique().tolist())
    result = AdjustedResult(_empty(topics))
    messages = result.messages

    indicators = pd.crosstab(lines[S.CUSTOMER_ID], lines[S.TOPIC_ID].astype("int64")).clip(upper=1)
    indicators = indicators.reindex(index=population[S.CUSTOMER_ID], columns=topics, fill_value=0)
    indicators.columns = [indicator_name(topic) for topic in topics]
    indicators.index = population.index

    covariate_columns = covariate_design(population, covariates)
    complete = population[list(covariates)].notna().all(axis=1)
    if not complete.all():
        messages.append(
            OutcomeMessage.of("adjusted_missing_covariate", count=int((~complete).sum()))
        )
    outcome = population.loc[complete, S.CHURNED].astype("float64")
    design = pd.concat(
        [
            pd.Series(1.0, index=population.index, name=INTERCEPT),
            covariate_columns,
            indicators.astype("float64"),
        ],
        axis=1,
    )[complete]

    if outcome.nunique() < 2:
        messages.append(OutcomeMessage.of("adjusted_constant_outcome"))
        return result

    names = dict(zip(indicators.columns, topics))
    design, outcome = _leave_out_separated(design, outcome, names, messages)
    if outcome.nunique() < 2:
        messages.append(OutcomeMessage.of("adjusted_constant_after_separation"))
        return result

    dependent = dependent_columns(design)
    if dependent:
        dependent_topics = [names[column] for column in dependent if column in names]
        dependent_covariates = [column for column in dependent if column not in names]
        if dependent_covariates:
            messages.append(
                OutcomeMessage.of("adjusted_dependent_covariates", columns=dependent_covariates)
            )
        if dependent_topics:
            messages.append(
                OutcomeMessage.of("adjusted_dependent_topics", topics=dependent_topics)
            )
        design = design.drop(columns=dependent)

    if len(outcome) <= design.shape[1]:
        messages.append(
            OutcomeMessage.of(
                "adjusted_too_few_customers", customers=len(outcome), parameters=design.shape[1]
            )
        )
        return result

    fitted = _fit_logit(outcome, design, messages)
    if fitted is None:
        return result

    odds = np.exp(fitted.params)
    intervals = np.exp(fitted.conf_int(alpha=alpha))
    for column in design.columns:
        if column in names:
            topic = names[column]
            result.table.loc[topic] = [
                odds[column],
                intervals.loc[column, 0],
                intervals.loc[column, 1],
            ]
    return result


def _leave_out_separated(
    design: pd.DataFrame,
    outcome: pd.Series,
    names: dict[str, int],
    messages: list[OutcomeMessage],
) -> tuple[pd.DataFrame, pd.Series]:
    """Drop constant and separating indicators, and the customers of separating ones.

    Dropping customers can make another indicator constant or separating, so the check
    repeats until nothing changes.
    """
    separated_customers = 0
    while True:
        remaining = {column: topic for column, topic in names.items() if column in design.columns}
        constant, separated = _indicators_to_leave_out(design, outcome, remaining, messages)
        if separated:
            with_separated = (design[separated] == 1).any(axis=1)
            separated_customers += int(with_separated.sum())
            design = design[~with_separated]
            outcome = outcome[~with_separated]
        design = design.drop(columns=constant + separated)
        if not separated:
            break
    if separated_customers:
        messages.append(
            OutcomeMessage.of("adjusted_separated_customers", count=separated_customers)
        )
    return design, outcome


def _indicators_to_leave_out(
    design: pd.DataFrame,
    outcome: pd.Series,
    names: dict[str, int],
    messages: list[OutcomeMessage],
) -> tuple[list[str], list[str]]:
    """Return the constant and the separating indicator columns, adding a message for each kind."""
    constant: list[int] = []
    separated: list[int] = []
    constant_columns: list[str] = []
    separated_columns: list[str] = []
    for column, topic in names.items():
        with_line = design[column] == 1
        if with_line.all() or not with_line.any():
            constant.append(topic)
            constant_columns.append(column)
            continue
        churned_with_line = outcome[with_line]
        if churned_with_line.nunique() < 2:
            separated.append(topic)
            separated_columns.append(column)

    if constant:
        messages.append(OutcomeMessage.of("adjusted_constant_indicator", topics=constant))
    if separated:
        messages.append(OutcomeMessage.of("adjusted_separated_topics", topics=separated))
    return constant_columns, separated_columns


def _fit_logit(
    outcome: pd.Series, design: pd.DataFrame, messages: list[OutcomeMessage]
) -> BinaryResultsWrapper | None:
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fitted = sm.Logit(outcome, design).fit(disp=0, maxiter=MAX_ITERATIONS)
    except PerfectSeparationError as error:
        messages.append(OutcomeMessage.of("adjusted_separation_error", reason=str(error)))
        return None
    except np.linalg.LinAlgError as error:
        messages.append(OutcomeMessage.of("adjusted_singular_matrix", reason=str(error)))
        return None

    categories = {type(warning.message) for warning in caught}
    if PerfectSeparationWarning in categories:
        messages.append(OutcomeMessage.of("adjusted_separation_combination"))
        return None
    if ConvergenceWarning in categories or not fitted.mle_retvals.get("converged", False):
        messages.append(OutcomeMessage.of("adjusted_not_converged", iterations=MAX_ITERATIONS))
        return None
    return fitted
