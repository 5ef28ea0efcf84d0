"""Adjusted odds ratios when a line separates the outcome (painpoints.outcomes._adjusted)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from painpoints import schema as S
from painpoints.outcomes import topic_outcomes
from tests.conftest import outcome_note


def one_line_per_customer(seed: int = 11, n_customers: int = 900) -> pd.DataFrame:
    """Documents where each customer has one line; the 20 topic 2 customers all churned."""
    rng = np.random.default_rng(seed)
    rows = []
    for index in range(n_customers):
        kind = index % 6
        plan = "monthly" if rng.random() < 0.5 else "annual"
        base = 0.35 if plan == "monthly" else 0.10
        if kind == 0:
            status, topic, churned = "topic", 0, rng.random() < base + 0.25
        elif kind == 1:
            status, topic, churned = "topic", 1, rng.random() < base
        elif kind == 2 and index < 120:
            status, topic, churned = "topic", 2, True
        else:
            status, topic, churned = "no_content", None, rng.random() < base
        rows.append(
            {
                S.CUSTOMER_ID: f"c{index:04d}",
                S.STATUS: status,
                S.TOPIC_ID: topic,
                S.CHURNED: bool(churned),
                "plan": plan,
            }
        )
    frame = pd.DataFrame(rows)
    frame[S.TOPIC_ID] = frame[S.TOPIC_ID].astype("Int64")
    return frame


def test_separated_line_customers_leave_model():
    documents = one_line_per_customer()
    result = topic_outcomes(documents, {}, covariates=["plan"])
    table = result.to_frame().set_index(S.TOPIC_ID)
    assert np.isnan(table.at[2, "adjusted_odds_ratio"])

    # Reference: sm.Logit(churned, [const, plan_monthly, t0, t1]) on the customers
    # without topic 2. No content is the reference line because every customer has one line.
    without_topic2 = documents[documents[S.TOPIC_ID].fillna(-2) != 2]
    design = pd.DataFrame(
        {
            "const": 1.0,
            "plan_monthly": (without_topic2["plan"] == "monthly").astype(float),
            "t0": (without_topic2[S.TOPIC_ID] == 0).fillna(False).astype(float),
            "t1": (without_topic2[S.TOPIC_ID] == 1).fillna(False).astype(float),
        }
    )
    reference = sm.Logit(without_topic2[S.CHURNED].astype(float), design).fit(disp=0)
    intervals = np.exp(reference.conf_int(alpha=0.05))
    for topic, name in ((0, "t0"), (1, "t1")):
        assert table.at[topic, "adjusted_odds_ratio"] == pytest.approx(np.exp(reference.params[name]))
        assert table.at[topic, "aor_ci_low"] == pytest.approx(intervals.loc[name, 0])
        assert table.at[topic, "aor_ci_high"] == pytest.approx(intervals.loc[name, 1])
    assert np.isnan(table.at[S.NO_CONTENT_TOPIC, "adjusted_odds_ratio"])


def test_separated_line_messages():
    documents = one_line_per_customer()
    result = topic_outcomes(documents, {}, covariates=["plan"])
    separated = outcome_note(result.messages, "adjusted_separated_topics")
    assert separated.params == {"topics": [2]}
    assert "perfect separation on topic(s) [2]" in separated.text("en")
    left_out = outcome_note(result.messages, "adjusted_separated_customers")
    assert left_out.params == {"count": 20}
    assert "the 20 customers of separated lines are left out of the model" in left_out.text("en")
    dependent = outcome_note(result.messages, "adjusted_dependent_topics")
    assert dependent.params == {"topics": [-2]}
    assert "topic(s) [-2] are linear combinations" in dependent.text("en")
