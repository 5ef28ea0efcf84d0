"""Seeded simulation with planted effects: the analysis must recover each one.

The generator is painpoints.outcomes._simulation (its docstring lists the effects).
benchmarks/outcomes_coverage.py repeats it many times to measure CI coverage.
"""

from __future__ import annotations

import math

import pytest

from painpoints import schema as S
from painpoints.outcomes import analyse_outcomes
from painpoints.outcomes._simulation import (
    CONTRACT,
    LABELS,
    TENURE,
    TOPIC_A,
    TOPIC_B,
    TOPIC_C,
    TOPIC_D,
    simulate_churn,
    simulation_truth,
)

N_CUSTOMERS = 4000
SEED = 20240601


@pytest.fixture(scope="module")
def analysis():
    documents = simulate_churn(N_CUSTOMERS, SEED)
    return analyse_outcomes(
        documents, LABELS, covariates=[CONTRACT], duration_col=TENURE, period=None
    )


@pytest.fixture(scope="module")
def table(analysis):
    return analysis.outcomes.to_frame().set_index(S.TOPIC_ID)


@pytest.fixture(scope="module")
def survival(analysis):
    return analysis.survival.to_frame().set_index(S.TOPIC_ID)


def test_simulation_counts_customers_once(analysis, table):
    documents = simulate_churn(N_CUSTOMERS, SEED)
    assert analysis.outcomes.n_customers == N_CUSTOMERS
    for topic in (TOPIC_A, TOPIC_B, TOPIC_C, TOPIC_D):
        expected = documents.loc[documents[S.TOPIC_ID] == topic, S.CUSTOMER_ID].nunique()
        assert table.at[topic, "customers"] == expected
    assert len(documents) > N_CUSTOMERS, "repeat tickets must exist for this check to mean anything"


def test_topic_a_significant_and_covers_truth(table):
    truth = simulation_truth()
    row = table.loc[TOPIC_A]
    assert row["q_value"] < 0.05
    assert row["rd_ci_low"] <= truth.risk_difference_a <= row["rd_ci_high"]
    assert row["or_ci_low"] <= truth.odds_ratio_a <= row["or_ci_high"]
    assert row["aor_ci_low"] <= truth.adjusted_odds_ratio_a <= row["aor_ci_high"]
    assert row["churn_rate"] == pytest.approx(truth.churn_with_a, abs=0.05)
    assert row["baseline_rate"] == pytest.approx(truth.churn_without_a, abs=0.03)


def test_topic_b_not_significant(table):
    row = table.loc[TOPIC_B]
    assert row["p_value"] > 0.05
    assert row["q_value"] > 0.05
    assert row["rd_ci_low"] <= 0 <= row["rd_ci_high"]
    assert row["aor_ci_low"] <= 1 <= row["aor_ci_high"]


def test_topic_c_vanishes_after_adjustment(table):
    truth = simulation_truth()
    row = table.loc[TOPIC_C]
    assert row["or_ci_low"] > 1, "the crude odds ratio is confounded by contract"
    assert row["or_ci_low"] <= truth.crude_odds_ratio_c <= row["or_ci_high"]
    assert row["aor_ci_low"] <= 1 <= row["aor_ci_high"]
    assert abs(math.log(row["adjusted_odds_ratio"])) < 0.25


def test_topic_d_faster_churn_same_rate(table, survival):
    assert table.at[TOPIC_D, "rd_ci_low"] <= 0 <= table.at[TOPIC_D, "rd_ci_high"]
    assert survival.at[TOPIC_D, "hazard_ratio"] > 1
    assert survival.at[TOPIC_D, "hr_ci_low"] > 1
    assert survival.at[TOPIC_D, "median_duration"] == float("inf")


def test_topic_b_hazard_ratio_covers_one(survival):
    assert survival.at[TOPIC_B, "hr_ci_low"] <= 1 <= survival.at[TOPIC_B, "hr_ci_high"]


def test_simulation_same_seed_same_result():
    first = simulate_churn(300, 7)
    second = simulate_churn(300, 7)
    assert first.equals(second)
