"""Unadjusted 2x2 statistics of each topic line against the rest of the population.

For a line, ``a`` counts churned customers with the line, ``b`` customers with it who
did not churn, ``c`` churned customers without it and ``d`` the remaining customers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.contingency_tables import Table2x2
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep

from painpoints import schema as S
from painpoints.outcomes._messages import OutcomeMessage

# Fisher's exact test replaces the chi-square test when an expected count is below this,
# the common rule of thumb for when the chi-square approximation is reliable.
MIN_EXPECTED_COUNT: Final = 5.0
TEST_FISHER: Final = "fisher"
TEST_CHI2: Final = "chi2"
# Haldane–Anscombe correction: added to every cell of a table with a zero cell.
ZERO_CELL_CORRECTION: Final = 0.5
# Churn rate from which a topic that is not a small group gets the near-certain note:
# its texts often describe the leaving itself, and its odds ratio is large and imprecise.
NEAR_CERTAIN_CHURN: Final = 0.9


@dataclass(frozen=True)
class PairStatistics:
    """Statistics of one 2x2 table, NaN where undefined."""

    risk_difference: float = math.nan
    rd_ci_low: float = math.nan
    rd_ci_high: float = math.nan
    odds_ratio: float = math.nan
    or_ci_low: float = math.nan
    or_ci_high: float = math.nan
    p_value: float = math.nan
    # "fisher", "chi2", or "" when no test was run.
    test: str = ""
    zero_cell_corrected: bool = False


@dataclass
class CrudeResult:
    table: pd.DataFrame
    messages: list[OutcomeMessage] = field(default_factory=list)


def compare_groups(a: int, b: int, c: int, d: int, alpha: float) -> PairStatistics:
    """Compare churn of customers with a line (a, b) against those without it (c, d).

    Returns all NaN when either group is empty. The odds ratio is NaN when nobody or
    everybody churned. With a zero cell, the odds ratio and its Woolf CI come from the
    table with 0.5 added to every cell (Haldane–Anscombe), so they stay finite.
    """
    if a + b == 0 or c + d == 0:
        return PairStatistics()

    risk_difference = a / (a + b) - c / (c + d)
    rd_low, rd_high = confint_proportions_2indep(
        a, a + b, c, c + d, compare="diff", method="newcomb", alpha=alpha
    )

    counts = np.array([[a, b], [c, d]], dtype="float64")
    odds_ratio = or_low = or_high = math.nan
    corrected = False
    if a + c > 0 and b + d > 0:
        corrected = bool((counts == 0).any())
        # NOTE: Table2x2(shift_zeros=True) replaces only the zero cells with 0.5, which is
        # not the Haldane–Anscombe correction, so the 0.5 is added here and the shift is off.
        shifted = counts + ZERO_CELL_CORRECTION if corrected else counts
        table = Table2x2(shifted, shift_zeros=False)
        odds_ratio = float(table.oddsratio)
        or_low, or_high = (float(bound) for bound in table.oddsratio_confint(alpha=alpha))

    n = counts.sum()
    expected = np.outer(counts.sum(axis=1), counts.sum(axis=0)) / n
    if (expected < MIN_EXPECTED_COUNT).any():
        p_value = float(stats.fisher_exact(counts.astype("int64"), alternative="two-sided").pvalue)
        test = TEST_FISHER
    else:
        p_value = float(stats.chi2_contingency(counts, correction=False).pvalue)
        test = TEST_CHI2

    return PairStatistics(
        risk_difference=float(risk_difference),
        rd_ci_low=float(rd_low),
        rd_ci_high=float(rd_high),
        odds_ratio=odds_ratio,
        or_ci_low=or_low,
        or_ci_high=or_high,
        p_value=p_value,
        test=test,
        zero_cell_corrected=corrected,
    )


def benjamini_hochberg(p_values: pd.Series, alpha: float) -> pd.Series:
    """Return Benjamini–Hochberg q-values of the finite p-values, NaN elsewhere."""
    q_values = pd.Series(np.nan, index=p_values.index, dtype="float64")
    finite = p_values.notna()
    if finite.any():
        adjusted = multipletests(p_values[finite].to_numpy(), alpha=alpha, method="fdr_bh")
        q_values[finite] = adjusted[1]
    return q_values


def crude_statistics(
    lines: pd.DataFrame,
    population: pd.DataFrame,
    *,
    alpha: float,
    min_customers: int,
    min_events: int,
) -> CrudeResult:
    """Compute counts, rates, 2x2 statistics, q-values and value columns of every line.

    Parameters
    ----------
    lines : pandas.DataFrame
        Unique (customer_id, topic_id) pairs, all of customers in `population`.
    population : pandas.DataFrame
        One row per customer with customer_id, churned (bool) and value (float).

    Returns
    -------
    CrudeResult
        A table with one row per topic id (every outcome column but label and the
        adjusted odds ratio columns) and messages about undefined statistics.
    """
    messages: list[OutcomeMessage] = []
    n_customers = len(population)
    n_churned = int(population[S.CHURNED].sum())

    by_customer = population.set_index(S.CUSTOMER_ID)
    members = lines.join(by_customer[[S.CHURNED, S.VALUE]], on=S.CUSTOMER_ID)
    members["churned_value"] = members[S.VALUE].where(members[S.CHURNED])
    grouped = members.groupby(S.TOPIC_ID, sort=True)

    table = pd.DataFrame(
        {
            "customers": grouped.size(),
            "churned": grouped[S.CHURNED].sum().astype("int64"),
            "revenue_at_risk": grouped["churned_value"].sum(min_count=1),
            "mean_value": grouped[S.VALUE].mean(),
        }
    )
    table.index = table.index.astype("int64")
    a = table["churned"]
    b = table["customers"] - a
    c = n_churned - a
    d = n_customers - n_churned - b

    table["churn_rate"] = a / table["customers"]
    table["baseline_customers"] = c + d
    table["baseline_churned"] = c
    table["baseline_rate"] = (c / (c + d)).where(c + d > 0)
    table["lift"] = (table["churn_rate"] / table["baseline_rate"]).where(table["baseline_rate"] > 0)

    pairs = [compare_groups(int(a[t]), int(b[t]), int(c[t]), int(d[t]), alpha) for t in table.index]
    numeric_fields = (
        "risk_difference",
        "rd_ci_low",
        "rd_ci_high",
        "odds_ratio",
        "or_ci_low",
        "or_ci_high",
        "p_value",
    )
    for name in numeric_fields:
        table[name] = [float(getattr(pair, name)) for pair in pairs]
    table["test"] = [pair.test for pair in pairs]
    table["q_value"] = benjamini_hochberg(table["p_value"], alpha)
    table["small_group"] = (
        (table["customers"] < min_customers) | (a < min_events) | (c < min_events)
    ).astype(bool)

    # A line without churned customers puts nothing at risk. Without any known value,
    # every value column stays NaN.
    table["revenue_at_risk"] = table["revenue_at_risk"].where(a > 0, 0.0)
    if population[S.VALUE].isna().all():
        table["revenue_at_risk"] = np.nan
    scale = table["customers"] * table["mean_value"]
    table["excess_loss"] = scale * table["risk_difference"]
    table["excess_loss_low"] = scale * table["rd_ci_low"]
    table["excess_loss_high"] = scale * table["rd_ci_high"]

    messages.extend(_undefined_messages(table, pairs, n_customers, n_churned, population))
    table = table.drop(columns="mean_value").rename_axis(S.TOPIC_ID).reset_index()
    return CrudeResult(table, messages)


def _undefined_messages(
    table: pd.DataFrame,
    pairs: list[PairStatistics],
    n_customers: int,
    n_churned: int,
    population: pd.DataFrame,
) -> list[OutcomeMessage]:
    messages = []
    if n_churned == 0:
        messages.append(OutcomeMessage.of("no_churn"))
    elif n_churned == n_customers:
        messages.append(OutcomeMessage.of("all_churned"))

    no_baseline = table.index[table["baseline_customers"] == 0].tolist()
    if no_baseline:
        messages.append(OutcomeMessage.of("no_baseline", topics=no_baseline))

    near_certain = table.index[(table["churn_rate"] >= NEAR_CERTAIN_CHURN) & (table["baseline_customers"] > 0)
                               & ~table["small_group"] & (table.index >= 0)].tolist()
    if near_certain and n_churned < n_customers:
        messages.append(OutcomeMessage.of("near_certain_churn", topics=near_certain,
                                          share=f"{NEAR_CERTAIN_CHURN:.0%}"))

    corrected = [topic for topic, pair in zip(table.index, pairs) if pair.zero_cell_corrected]
    if corrected:
        messages.append(OutcomeMessage.of("zero_cell_corrected", topics=corrected))

    missing_value = int(population[S.VALUE].isna().sum())
    if 0 < missing_value < n_customers:
        messages.append(
            OutcomeMessage.of("value_partly_missing", missing=missing_value, customers=n_customers)
        )
    return messages
