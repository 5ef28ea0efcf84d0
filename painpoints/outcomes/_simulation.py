"""Seeded simulation of feedback with planted topic effects on churn, for tests and benchmarks.

Customers have a contract (month-to-month or annual) and up to four topics:

- A (topic 0, 10 % of customers): raises churn. Churn is 40 % with A and 15 % without.
- B (topic 1, 40 %): no effect on churn or its timing.
- C (topic 2): raised mostly by month-to-month customers (35 % against 5 % of annual
  ones) and without effect given the contract, so its crude odds ratio is above 1 and
  its contract-adjusted odds ratio is 1.
- D (topic 3, 20 %): same churn probability, but customers with D joined recently and
  are observed for D_WINDOW months instead of WINDOW, so the same share churns in a
  quarter of the time and its hazard ratio is about WINDOW / D_WINDOW = 4.

Churn follows logit P = b0 + b_contract * month_to_month + b_A * A, so the adjusted
logistic model of the analysis is correctly specified and its true odds ratios are
exp(b_A) for A and 1 for B, C and D.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.special import expit, logit

from painpoints import schema as S

TOPIC_A: Final = 0
TOPIC_B: Final = 1
TOPIC_C: Final = 2
TOPIC_D: Final = 3
LABELS: Final = {
    TOPIC_A: "A: raises churn",
    TOPIC_B: "B: no effect",
    TOPIC_C: "C: confounded by contract",
    TOPIC_D: "D: earlier churn",
    S.UNCLUSTERED: "unclustered",
    S.NO_CONTENT_TOPIC: "no content",
}
CONTRACT: Final = "contract"
TENURE: Final = "tenure"
MONTH_TO_MONTH: Final = "month-to-month"
ANNUAL: Final = "annual"

SHARE_MONTH_TO_MONTH: Final = 0.5
SHARE_A: Final = 0.10
SHARE_B: Final = 0.40
SHARE_C_MONTHLY: Final = 0.35
SHARE_C_ANNUAL: Final = 0.05
SHARE_D: Final = 0.20
SHARE_NO_CONTENT: Final = 0.05
CHURN_ANNUAL: Final = 0.05
CHURN_MONTHLY: Final = 0.25
CHURN_WITH_A: Final = 0.40
# Months observed: churners leave at a uniform time within their window, the others
# are censored at its end. Customers with topic D are observed for D_WINDOW months.
WINDOW: Final = 24.0
D_WINDOW: Final = 6.0


@dataclass(frozen=True)
class SimulationTruth:
    """True population values of the simulated effects."""

    churn_with_a: float
    churn_without_a: float
    risk_difference_a: float
    odds_ratio_a: float
    adjusted_odds_ratio_a: float
    crude_odds_ratio_c: float


def _coefficients() -> tuple[float, float, float]:
    intercept = float(logit(CHURN_ANNUAL))
    contract = float(logit(CHURN_MONTHLY) - logit(CHURN_ANNUAL))

    def churn_with_a(effect: float) -> float:
        monthly = SHARE_MONTH_TO_MONTH * expit(intercept + contract + effect)
        annual = (1 - SHARE_MONTH_TO_MONTH) * expit(intercept + effect)
        return monthly + annual - CHURN_WITH_A

    effect = float(optimize.brentq(churn_with_a, 0.0, 10.0, xtol=1e-12))
    return intercept, contract, effect


def simulation_truth() -> SimulationTruth:
    """Return the true effects the simulation plants."""
    intercept, contract, effect = _coefficients()
    rate_monthly = (1 - SHARE_A) * CHURN_MONTHLY + SHARE_A * expit(intercept + contract + effect)
    rate_annual = (1 - SHARE_A) * CHURN_ANNUAL + SHARE_A * expit(intercept + effect)
    with_c = SHARE_MONTH_TO_MONTH * SHARE_C_MONTHLY
    with_c_annual = (1 - SHARE_MONTH_TO_MONTH) * SHARE_C_ANNUAL
    without_c = SHARE_MONTH_TO_MONTH * (1 - SHARE_C_MONTHLY)
    without_c_annual = (1 - SHARE_MONTH_TO_MONTH) * (1 - SHARE_C_ANNUAL)
    churn_c = (with_c * rate_monthly + with_c_annual * rate_annual) / (with_c + with_c_annual)
    churn_no_c = (without_c * rate_monthly + without_c_annual * rate_annual) / (
        without_c + without_c_annual
    )
    churn_without_a = SHARE_MONTH_TO_MONTH * CHURN_MONTHLY + (1 - SHARE_MONTH_TO_MONTH) * CHURN_ANNUAL

    def odds(rate: float) -> float:
        return rate / (1 - rate)

    return SimulationTruth(
        churn_with_a=CHURN_WITH_A,
        churn_without_a=churn_without_a,
        risk_difference_a=CHURN_WITH_A - churn_without_a,
        odds_ratio_a=odds(CHURN_WITH_A) / odds(churn_without_a),
        adjusted_odds_ratio_a=float(np.exp(effect)),
        crude_odds_ratio_c=odds(churn_c) / odds(churn_no_c),
    )


def simulate_churn(n_customers: int, seed: int) -> pd.DataFrame:
    """Simulate a documents frame of `n_customers` customers with the planted effects.

    Each topic a customer has gives one to three rows (repeat tickets on one topic).
    Customers without a topic get one unclustered row, and about 5 % of customers one
    extra no-content row.

    Returns
    -------
    pandas.DataFrame
        Columns row_number, customer_id, status, topic_id (Int64), churned (bool),
        value (monthly charge), contract, tenure (months observed) and date (the row's
        date, within six months from 2024-01-01).
    """
    rng = np.random.default_rng(seed)
    intercept, contract_effect, effect = _coefficients()
    monthly = rng.random(n_customers) < SHARE_MONTH_TO_MONTH
    has = {
        TOPIC_A: rng.random(n_customers) < SHARE_A,
        TOPIC_B: rng.random(n_customers) < SHARE_B,
        TOPIC_C: rng.random(n_customers) < np.where(monthly, SHARE_C_MONTHLY, SHARE_C_ANNUAL),
        TOPIC_D: rng.random(n_customers) < SHARE_D,
    }
    churn_probability = expit(intercept + contract_effect * monthly + effect * has[TOPIC_A])
    churned = rng.random(n_customers) < churn_probability
    window = np.where(has[TOPIC_D], D_WINDOW, WINDOW)
    churn_time = rng.uniform(0.0, 1.0, n_customers) * window
    tenure = np.where(churned, churn_time, window)
    value = np.round(rng.uniform(20.0, 110.0, n_customers), 2)
    no_content = rng.random(n_customers) < SHARE_NO_CONTENT
    start = pd.Timestamp("2024-01-01")

    customer_ids = np.array([f"c{index:05d}" for index in range(n_customers)])
    records = []
    for index in range(n_customers):
        base = {
            S.CUSTOMER_ID: customer_ids[index],
            S.CHURNED: bool(churned[index]),
            S.VALUE: float(value[index]),
            CONTRACT: MONTH_TO_MONTH if monthly[index] else ANNUAL,
            TENURE: float(tenure[index]),
        }
        topics = [topic for topic, flags in has.items() if flags[index]]
        for topic in topics:
            for _ in range(int(rng.integers(1, 4))):
                records.append({**base, S.STATUS: "topic", S.TOPIC_ID: topic})
        if not topics:
            records.append({**base, S.STATUS: "unclustered", S.TOPIC_ID: S.UNCLUSTERED})
        if no_content[index]:
            records.append({**base, S.STATUS: "no_content", S.TOPIC_ID: pd.NA})

    documents = pd.DataFrame.from_records(records)
    documents[S.TOPIC_ID] = documents[S.TOPIC_ID].astype("Int64")
    documents[S.DATE] = start + pd.to_timedelta(rng.integers(0, 182, len(documents)), unit="D")
    documents.insert(0, S.ROW_NUMBER, np.arange(1, len(documents) + 1))
    return documents
