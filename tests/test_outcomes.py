"""Tests of the outcomes stage (painpoints.outcomes).

Statistics are compared with the reference library call named in each test, run on
the same 2x2 counts.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.contingency_tables import Table2x2
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep

from painpoints import schema as S
from painpoints.outcomes import (
    OutcomeTable,
    build_customers,
    customer_memberships,
    topic_outcomes,
)
from painpoints.outcomes import _inputs
from tests.conftest import outcome_note

CUSTOMERS = "customers"
CHURNED_COUNT = "churned"
BASELINE_CUSTOMERS = "baseline_customers"
BASELINE_CHURNED = "baseline_churned"


def make_documents(rows: list[tuple]) -> pd.DataFrame:
    """Build a documents frame from (customer_id, status, topic_id, churned, value) tuples."""
    frame = pd.DataFrame(rows, columns=[S.CUSTOMER_ID, S.STATUS, S.TOPIC_ID, S.CHURNED, S.VALUE])
    frame.insert(0, S.ROW_NUMBER, range(1, len(frame) + 1))
    frame[S.TOPIC_ID] = frame[S.TOPIC_ID].astype("Int64")
    frame[S.CHURNED] = frame[S.CHURNED].astype("boolean")
    frame[S.VALUE] = frame[S.VALUE].astype("float64")
    return frame


def toy_documents() -> pd.DataFrame:
    """Ten customers; c01 to c04 churned. c11 has an unknown outcome, c12 only a rejected row.

    Lines by hand (population of 10, 4 churned):
      topic 0: c01 (5 rows), c02, c05, c08 -> 4 customers, 2 churned
      topic 1: c02, c04 (duplicate), c06 (2 rows), c09, c10 -> 5 customers, 2 churned
      -1 (unclustered): c03 -> 1 customer, 1 churned
      -2 (no content): c07 -> 1 customer, 0 churned
    """
    rows = [("c01", "topic", 0, True, 10.0)] * 5
    rows += [
        ("c02", "topic", 0, True, 20.0),
        ("c02", "topic", 1, True, 20.0),
        ("c03", "unclustered", -1, True, 30.0),
        ("c04", "duplicate", 1, True, 40.0),
        ("c05", "topic", 0, False, 50.0),
        ("c06", "topic", 1, False, 60.0),
        ("c06", "topic", 1, None, 60.0),
        ("c07", "no_content", None, False, 70.0),
        ("c08", "topic", 0, False, 80.0),
        ("c08", "rejected", None, True, 999.0),
        ("c09", "topic", 1, False, 90.0),
        ("c10", "topic", 1, False, 100.0),
        ("c11", "topic", 0, None, 110.0),
        ("c12", "rejected", None, True, 120.0),
    ]
    return make_documents(rows)


def by_topic(result: OutcomeTable) -> pd.DataFrame:
    return result.table.set_index(S.TOPIC_ID)


def two_by_two(row: pd.Series) -> tuple[int, int, int, int]:
    a = int(row[CHURNED_COUNT])
    b = int(row[CUSTOMERS]) - a
    c = int(row[BASELINE_CHURNED])
    d = int(row[BASELINE_CUSTOMERS]) - c
    return a, b, c, d


def simulate_two_topics(seed: int, n_customers: int = 2000) -> pd.DataFrame:
    """Topic 0 raises churn from 15 % to 40 %; topic 1 is frequent (50 %) with no effect."""
    rng = np.random.default_rng(seed)
    has_a = rng.random(n_customers) < 0.2
    has_b = rng.random(n_customers) < 0.5
    churned = rng.random(n_customers) < np.where(has_a, 0.40, 0.15)
    rows = []
    for i in range(n_customers):
        customer = f"c{i:04d}"
        if has_a[i]:
            rows += [(customer, "topic", 0, bool(churned[i]), None)] * int(rng.integers(1, 3))
        if has_b[i]:
            rows += [(customer, "topic", 1, bool(churned[i]), None)] * int(rng.integers(1, 3))
        if not (has_a[i] or has_b[i]):
            rows.append((customer, "unclustered", -1, bool(churned[i]), None))
    return make_documents(rows)


# --- memberships and population -------------------------------------------------------


def test_status_constants_match_schema():
    statuses = {
        _inputs.STATUS_TOPIC,
        _inputs.STATUS_UNCLUSTERED,
        _inputs.STATUS_NO_CONTENT,
        _inputs.STATUS_DUPLICATE,
        _inputs.STATUS_REJECTED,
    }
    assert statuses == set(S.STATUSES)


def test_memberships_status_rules():
    pairs = customer_memberships(toy_documents())
    expected = {
        ("c01", 0),
        ("c02", 0),
        ("c02", 1),
        ("c03", S.UNCLUSTERED),
        ("c04", 1),
        ("c05", 0),
        ("c06", 1),
        ("c07", S.NO_CONTENT_TOPIC),
        ("c08", 0),
        ("c09", 1),
        ("c10", 1),
        ("c11", 0),
    }
    assert list(pairs.columns) == [S.CUSTOMER_ID, S.TOPIC_ID]
    assert set(zip(pairs[S.CUSTOMER_ID], pairs[S.TOPIC_ID].astype(int))) == expected
    assert len(pairs) == len(expected)
    assert "c12" not in set(pairs[S.CUSTOMER_ID])


def test_memberships_five_tickets_one_pair():
    pairs = customer_memberships(toy_documents())
    assert (pairs[S.CUSTOMER_ID] == "c01").sum() == 1


def test_memberships_duplicate_of_unclustered():
    documents = make_documents([("c1", "duplicate", -1, True, None)])
    pairs = customer_memberships(documents)
    assert pairs[S.TOPIC_ID].tolist() == [S.UNCLUSTERED]


def test_memberships_frame_replaces_topic_id():
    documents = toy_documents()
    # Row 6 is c02's topic-0 row; it gets topics 2 and 3 instead. Row 8 (unclustered)
    # keeps its status line although memberships lists it.
    memberships = pd.DataFrame({S.ROW_NUMBER: [6, 6, 8], S.TOPIC_ID: [2, 3, 4]})
    pairs = customer_memberships(documents, memberships)
    c02 = set(pairs.loc[pairs[S.CUSTOMER_ID] == "c02", S.TOPIC_ID].astype(int))
    c03 = set(pairs.loc[pairs[S.CUSTOMER_ID] == "c03", S.TOPIC_ID].astype(int))
    assert c02 == {1, 2, 3}
    assert c03 == {S.UNCLUSTERED}


def test_memberships_unknown_row_number_raises():
    memberships = pd.DataFrame({S.ROW_NUMBER: [999], S.TOPIC_ID: [1]})
    with pytest.raises(ValueError, match=r"row_number is not in documents \(values \[999\]\)"):
        customer_memberships(toy_documents(), memberships)


def test_build_customers_any_row_churned():
    documents = make_documents(
        [
            ("a", "topic", 0, False, 5.0),
            ("a", "topic", 0, True, 7.0),
            ("a", "topic", 0, None, 6.0),
            ("b", "topic", 0, False, None),
            ("b", "rejected", None, True, 50.0),
            ("c", "topic", 0, None, 1.0),
        ]
    )
    customers = build_customers(documents).set_index(S.CUSTOMER_ID)
    assert customers.loc["a", S.CHURNED]
    assert customers.loc["a", S.VALUE] == 7.0
    # The rejected row of b has churned True, but rejected rows do not count.
    assert not customers.loc["b", S.CHURNED]
    assert math.isnan(customers.loc["b", S.VALUE])
    assert "c" not in customers.index


def test_build_customers_feedback_attrs():
    customers = build_customers(toy_documents())
    assert len(customers) == 10
    assert customers[S.CHURNED].dtype == bool
    assert customers[S.VALUE].dtype == "float64"
    assert customers.attrs["population"] == "feedback"
    assert customers.attrs["customers_with_unknown_outcome"] == 1
    assert customers.attrs["customers_without_feedback"] == 0


def test_build_customers_file_keeps_all():
    customers_file = pd.DataFrame(
        {
            S.CUSTOMER_ID: ["c01", "c02", "x1", "x2"],
            S.CHURNED: [True, False, False, None],
            "plan": ["pro", "free", "free", "pro"],
        }
    )
    customers = build_customers(toy_documents(), customers_file)
    assert customers[S.CUSTOMER_ID].tolist() == ["c01", "c02", "x1"]
    assert list(customers.columns) == [S.CUSTOMER_ID, S.CHURNED, S.VALUE, "plan"]
    assert customers[S.VALUE].isna().all()
    assert customers.attrs["population"] == "customers_file"
    assert customers.attrs["customers_with_unknown_outcome"] == 1
    assert customers.attrs["customers_without_feedback"] == 1


# --- counts by hand -------------------------------------------------------------------


def test_toy_counts_by_hand():
    result = topic_outcomes(toy_documents(), {0: "billing", 1: "login"})
    table = by_topic(result)

    assert result.n_customers == 10
    assert result.n_churned == 4
    assert result.overall_rate == pytest.approx(0.4)
    assert result.population == "feedback"
    assert result.unit == "customer"

    expected = {
        # topic: customers, churned, churn_rate,
        #        baseline_customers, baseline_churned, baseline_rate, lift
        0: (4, 2, 0.5, 6, 2, 1 / 3, 1.5),
        1: (5, 2, 0.4, 5, 2, 0.4, 1.0),
        S.UNCLUSTERED: (1, 1, 1.0, 9, 3, 1 / 3, 3.0),
        S.NO_CONTENT_TOPIC: (1, 0, 0.0, 9, 4, 4 / 9, 0.0),
    }
    assert set(table.index) == set(expected)
    for topic, values in expected.items():
        customers, churned, rate, base_customers, base_churned, base_rate, lift = values
        row = table.loc[topic]
        assert row[CUSTOMERS] == customers, topic
        assert row[CHURNED_COUNT] == churned, topic
        assert row["churn_rate"] == pytest.approx(rate), topic
        assert row[BASELINE_CUSTOMERS] == base_customers, topic
        assert row[BASELINE_CHURNED] == base_churned, topic
        assert row["baseline_rate"] == pytest.approx(base_rate), topic
        assert row["lift"] == pytest.approx(lift), topic
        assert row["risk_difference"] == pytest.approx(rate - base_rate), topic


def test_toy_labels_and_sorting():
    result = topic_outcomes(toy_documents(), {0: "billing", 1: "login"})
    table = result.table
    assert table[S.TOPIC_ID].tolist() == [S.UNCLUSTERED, 0, 1, S.NO_CONTENT_TOPIC]
    assert table["label"].tolist() == ["", "billing", "login", ""]


def test_toy_value_columns_by_hand():
    table = by_topic(topic_outcomes(toy_documents(), {}))
    # Churned customers with topic 0 are c01 (10) and c02 (20).
    assert table.loc[0, "revenue_at_risk"] == pytest.approx(30.0)
    # Churned customers with topic 1 are c02 (20) and c04 (40).
    assert table.loc[1, "revenue_at_risk"] == pytest.approx(60.0)
    assert table.loc[S.NO_CONTENT_TOPIC, "revenue_at_risk"] == 0.0
    # 4 customers x (1/2 - 1/3) x mean value (10 + 20 + 50 + 80) / 4 = 40.
    assert table.loc[0, "excess_loss"] == pytest.approx(4 * (0.5 - 1 / 3) * 40.0)
    assert table.loc[0, "excess_loss_low"] == pytest.approx(4 * table.loc[0, "rd_ci_low"] * 40.0)
    assert table.loc[0, "excess_loss_high"] == pytest.approx(4 * table.loc[0, "rd_ci_high"] * 40.0)


def test_no_value_gives_nan_revenue():
    documents = toy_documents()
    documents[S.VALUE] = np.nan
    table = topic_outcomes(documents, {}).table
    assert table["revenue_at_risk"].isna().all()
    assert table["excess_loss"].isna().all()


def test_partly_missing_value_message():
    documents = toy_documents()
    documents.loc[documents[S.CUSTOMER_ID] == "c05", S.VALUE] = np.nan
    result = topic_outcomes(documents, {})
    note = outcome_note(result.messages, "value_partly_missing")
    assert note.params == {"missing": 1, "customers": 10}
    assert note.text("en").startswith("value is missing for 1 of 10 customers;")
    # c01 (10), c02 (20) and c08 (80) remain known among topic 0's customers.
    assert by_topic(result).loc[0, "excess_loss"] == pytest.approx(4 * (0.5 - 1 / 3) * 110 / 3)


def test_table_columns_match_schema():
    result = topic_outcomes(toy_documents(), {})
    assert tuple(result.table.columns) == S.OUTCOME_COLUMNS
    assert result.table[S.TOPIC_ID].dtype == "Int64"
    assert result.table["small_group"].dtype == bool


def test_to_frame_returns_copy():
    result = topic_outcomes(toy_documents(), {})
    frame = result.to_frame()
    frame.loc[0, CUSTOMERS] = -1
    assert result.table.loc[0, CUSTOMERS] != -1
    pd.testing.assert_frame_equal(result.to_frame(), result.table)


def test_customers_plus_baseline_is_population():
    result = topic_outcomes(toy_documents(), {})
    table = result.table
    assert (table[CUSTOMERS] + table[BASELINE_CUSTOMERS] == result.n_customers).all()
    assert (table[CHURNED_COUNT] + table[BASELINE_CHURNED] == result.n_churned).all()


@settings(max_examples=40, deadline=None, database=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 14), st.integers(-2, 3), st.booleans()),
        min_size=1,
        max_size=60,
    )
)
def test_invariants_on_random_documents(rows):
    records = []
    churned_by_customer: dict[str, bool] = {}
    for customer, topic, churned in rows:
        customer_id = f"c{customer}"
        # One outcome per customer, as a real export would have.
        churned = churned_by_customer.setdefault(customer_id, churned)
        if topic == S.NO_CONTENT_TOPIC:
            records.append((customer_id, "no_content", None, churned, None))
        elif topic == S.UNCLUSTERED:
            records.append((customer_id, "unclustered", topic, churned, None))
        else:
            records.append((customer_id, "topic", topic, churned, None))
    result = topic_outcomes(make_documents(records), {})
    table = result.table

    assert result.n_customers == len(churned_by_customer)
    assert (table[CUSTOMERS] + table[BASELINE_CUSTOMERS] == result.n_customers).all()
    assert (table[CHURNED_COUNT] + table[BASELINE_CHURNED] == result.n_churned).all()
    assert (table[CUSTOMERS] >= 1).all()
    assert table[S.TOPIC_ID].is_unique


def test_five_tickets_count_once():
    rows = [("heavy", "topic", 0, True, None)] * 5
    rows += [("light", "topic", 0, False, None), ("other", "topic", 1, False, None)]
    table = by_topic(topic_outcomes(make_documents(rows), {}))
    assert table.loc[0, CUSTOMERS] == 2
    assert table.loc[0, CHURNED_COUNT] == 1
    assert table.loc[0, "churn_rate"] == pytest.approx(0.5)


def test_small_group_rule():
    result = topic_outcomes(toy_documents(), {}, min_customers=5, min_events=2)
    table = by_topic(result)
    # Topic 1: 5 customers, 2 churned, baseline 2 churned -> not small.
    assert not table.loc[1, "small_group"]
    # Topic 0: 4 customers < 5.
    assert table.loc[0, "small_group"]
    # Unclustered: 1 customer and 1 churned.
    assert table.loc[S.UNCLUSTERED, "small_group"]


def test_small_group_baseline_events():
    # Topic 0: 20 customers, 10 churned, but only 2 churned customers in its baseline.
    rows = [(f"a{i}", "topic", 0, i < 10, None) for i in range(20)]
    rows += [(f"b{i}", "topic", 1, i < 2, None) for i in range(20)]
    table = by_topic(topic_outcomes(make_documents(rows), {}, min_customers=10, min_events=5))
    assert table.loc[0, "small_group"]
    table = by_topic(topic_outcomes(make_documents(rows), {}, min_customers=10, min_events=2))
    assert not table.loc[0, "small_group"]


# --- statistics against the reference libraries ---------------------------------------


def large_documents() -> pd.DataFrame:
    """Topic 0: 60 customers, 30 churned. Topic 1: 140 customers, 28 churned."""
    rows = []
    for i in range(60):
        rows.append((f"a{i}", "topic", 0, i < 30, None))
    for i in range(140):
        rows.append((f"b{i}", "topic", 1, i < 28, None))
    return make_documents(rows)


def test_odds_ratio_matches_statsmodels_table2x2():
    table = by_topic(topic_outcomes(large_documents(), {}))
    row = table.loc[0]
    reference = Table2x2(np.array([[30, 30], [28, 112]]), shift_zeros=False)
    low, high = reference.oddsratio_confint(alpha=0.05)
    assert row["odds_ratio"] == pytest.approx(reference.oddsratio)
    assert row["odds_ratio"] == pytest.approx(30 * 112 / (30 * 28))
    assert row["or_ci_low"] == pytest.approx(low)
    assert row["or_ci_high"] == pytest.approx(high)


def test_zero_cell_odds_ratio_haldane_anscombe():
    result = topic_outcomes(toy_documents(), {})
    row = by_topic(result).loc[S.NO_CONTENT_TOPIC]
    a, b, c, d = two_by_two(row)
    assert (a, b, c, d) == (0, 1, 4, 5)

    # Haldane–Anscombe adds 0.5 to all four cells. Table2x2(shift_zeros=True) would
    # replace only the zero cell, a different and non-standard correction.
    corrected = np.array([[a, b], [c, d]], dtype=float) + 0.5
    reference = Table2x2(corrected, shift_zeros=False)
    low, high = reference.oddsratio_confint(alpha=0.05)
    assert math.isfinite(row["odds_ratio"])
    assert row["odds_ratio"] == pytest.approx(0.5 * 5.5 / (1.5 * 4.5))
    assert row["odds_ratio"] == pytest.approx(reference.oddsratio)
    assert row["or_ci_low"] == pytest.approx(low)
    assert row["or_ci_high"] == pytest.approx(high)
    note = outcome_note(result.messages, "zero_cell_corrected")
    assert S.NO_CONTENT_TOPIC in note.params["topics"]
    assert "Haldane–Anscombe" in note.text("en")


def test_p_value_matches_scipy_fisher_exact():
    table = by_topic(topic_outcomes(toy_documents(), {}))
    for topic, row in table.iterrows():
        a, b, c, d = two_by_two(row)
        reference = stats.fisher_exact([[a, b], [c, d]], alternative="two-sided")
        assert row["test"] == "fisher", topic
        assert row["p_value"] == pytest.approx(reference.pvalue), topic


def test_p_value_matches_scipy_chi2_contingency():
    row = by_topic(topic_outcomes(large_documents(), {})).loc[0]
    reference = stats.chi2_contingency(np.array([[30, 30], [28, 112]]), correction=False)
    assert row["test"] == "chi2"
    assert row["p_value"] == pytest.approx(reference.pvalue)


def test_fisher_when_expected_count_below_five():
    # 40 customers on topic 0 with 2 churned, 60 on topic 1 with 4 churned: the expected
    # churned count on topic 0 is 40 x 6 / 100 = 2.4 < 5.
    rows = [(f"a{i}", "topic", 0, i < 2, None) for i in range(40)]
    rows += [(f"b{i}", "topic", 1, i < 4, None) for i in range(60)]
    row = by_topic(topic_outcomes(make_documents(rows), {})).loc[0]
    reference = stats.fisher_exact([[2, 38], [4, 56]])
    assert row["test"] == "fisher"
    assert row["p_value"] == pytest.approx(reference.pvalue)


def test_q_value_matches_multipletests_fdr_bh():
    table = topic_outcomes(simulate_two_topics(seed=1, n_customers=500), {}).table
    reference = multipletests(table["p_value"].to_numpy(), method="fdr_bh")[1]
    np.testing.assert_allclose(table["q_value"].to_numpy(), reference)


def test_rd_ci_matches_confint_proportions_2indep():
    table = by_topic(topic_outcomes(toy_documents(), {}))
    for topic, row in table.iterrows():
        a, b, c, d = two_by_two(row)
        low, high = confint_proportions_2indep(a, a + b, c, c + d, compare="diff", method="newcomb")
        assert row["rd_ci_low"] == pytest.approx(low), topic
        assert row["rd_ci_high"] == pytest.approx(high), topic


def test_alpha_sets_ci_level():
    row = by_topic(topic_outcomes(large_documents(), {}, alpha=0.1)).loc[0]
    low, _ = confint_proportions_2indep(
        30, 60, 28, 140, compare="diff", method="newcomb", alpha=0.1
    )
    or_low, _ = Table2x2(np.array([[30, 30], [28, 112]])).oddsratio_confint(alpha=0.1)
    assert row["rd_ci_low"] == pytest.approx(low)
    assert row["or_ci_low"] == pytest.approx(or_low)


def test_every_customer_on_line_leaves_nan():
    rows = [(f"c{i}", "topic", 0, i < 3, None) for i in range(10)]
    rows += [("c0", "topic", 1, True, None), ("c5", "topic", 1, False, None)]
    result = topic_outcomes(make_documents(rows), {})
    row = by_topic(result).loc[0]
    assert row[BASELINE_CUSTOMERS] == 0
    assert math.isnan(row["baseline_rate"])
    assert math.isnan(row["lift"])
    assert math.isnan(row["odds_ratio"])
    assert math.isnan(row["p_value"])
    assert row["test"] == ""
    note = outcome_note(result.messages, "no_baseline")
    assert note.params == {"topics": [0]}
    assert note.text("en").startswith("topic(s) [0]: every customer has this line")
    # The NaN p-value stays out of the BH correction of the other line.
    assert math.isfinite(by_topic(result).loc[1, "q_value"])


def test_nobody_churned_leaves_or_nan():
    rows = [(f"c{i}", "topic", i % 2, False, None) for i in range(10)]
    result = topic_outcomes(make_documents(rows), {})
    assert result.table["odds_ratio"].isna().all()
    assert result.table["lift"].isna().all()
    assert (result.table["risk_difference"] == 0).all()
    note = outcome_note(result.messages, "no_churn")
    assert note.text("en") == "no customer churned, so lift and odds ratios are left empty"


def test_population_note_counts_customers_without_text():
    # c07's only row has no content; c01 has one row without content besides topic rows.
    documents = pd.concat([toy_documents(), make_documents([("c01", "no_content", -2, True, 10.0)])],
                          ignore_index=True)
    result = topic_outcomes(documents, {})
    note = outcome_note(result.messages, "population_feedback_without_text")
    assert note.params == {"without_text": 1}
    assert "including 1 whose rows have no text (line −2)" in note.text("en")
    with_text_only = toy_documents()[lambda frame: frame[S.STATUS] != "no_content"]
    plain = topic_outcomes(with_text_only, {})
    assert outcome_note(plain.messages, "population_feedback").params == {}


def test_near_certain_churn_topic_gets_a_note():
    # Topic 0: 40 customers, 37 churned (92.5 %). Topic 1: 40 customers, 10 churned.
    rows = [(f"a{i}", "topic", 0, i < 37, None) for i in range(40)]
    rows += [(f"b{i}", "topic", 1, i < 10, None) for i in range(40)]
    result = topic_outcomes(make_documents(rows), {})
    note = outcome_note(result.messages, "near_certain_churn")
    assert note.params == {"topics": [0], "share": "90%"}
    assert note.text("en").startswith("topic(s) [0]: 90% or more of their customers churned.")
    # Two churned customers fewer leave 35 of 40 (87.5 %), below the threshold.
    rows[35] = ("a35", "topic", 0, False, None)
    rows[36] = ("a36", "topic", 0, False, None)
    below = topic_outcomes(make_documents(rows), {})
    assert "outcome_notes.near_certain_churn" not in [message.key for message in below.messages]


# --- customers file -------------------------------------------------------------------


def test_customers_file_grows_baseline():
    documents = toy_documents()
    churned = {f"c{i:02d}": i <= 4 for i in range(1, 11)}
    # Twenty customers without feedback, five of whom churned.
    churned.update({f"quiet{i}": i < 5 for i in range(20)})
    customers = pd.DataFrame({S.CUSTOMER_ID: list(churned), S.CHURNED: list(churned.values())})

    from_feedback = by_topic(topic_outcomes(documents, {}))
    result = topic_outcomes(documents, {}, customers)
    from_file = by_topic(result)

    assert result.population == "customers_file"
    assert result.n_customers == 30
    assert result.n_churned == 9
    assert from_file.loc[0, BASELINE_CUSTOMERS] == from_feedback.loc[0, BASELINE_CUSTOMERS] + 20
    assert from_file.loc[0, BASELINE_CHURNED] == from_feedback.loc[0, BASELINE_CHURNED] + 5
    assert from_file.loc[0, CUSTOMERS] == from_feedback.loc[0, CUSTOMERS]
    note = outcome_note(result.messages, "population_customers_file")
    assert note.params == {"without_feedback": 20}
    assert "including 20 customers without feedback" in note.text("en")


def test_customers_file_overrides_document_outcome():
    documents = toy_documents().drop(columns=[S.CHURNED])
    customers = pd.DataFrame({S.CUSTOMER_ID: ["c01", "c05"], S.CHURNED: [False, True]})
    result = topic_outcomes(documents, {}, customers)
    row = by_topic(result).loc[0]
    assert result.n_customers == 2
    assert row[CUSTOMERS] == 2
    assert row[CHURNED_COUNT] == 1
    note = outcome_note(result.messages, "not_in_customers_file")
    # c02 to c11 without c05 have non-rejected rows but are not in the customers file.
    assert note.params == {"count": 9}
    assert "customers with feedback are not in the customers file" in note.text("en")


def test_integer_customer_ids_match_strings():
    documents = make_documents([("7", "topic", 0, None, None), ("8", "topic", 1, None, None)])
    customers = pd.DataFrame({S.CUSTOMER_ID: [7, 8], S.CHURNED: [1, 0]})
    table = by_topic(topic_outcomes(documents, {}, customers))
    assert table.loc[0, CHURNED_COUNT] == 1


# --- adjusted model -------------------------------------------------------------------


def adjusted_fixture(seed: int = 7, n_customers: int = 600) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = [f"c{i:03d}" for i in range(n_customers)]
    age = rng.normal(40, 10, n_customers)
    plan = rng.choice(["free", "pro", "team"], n_customers)
    topic_0 = rng.random(n_customers) < 0.3
    topic_1 = rng.random(n_customers) < 0.4
    logit = -2 + 0.9 * topic_0 + 0.2 * topic_1 + 0.03 * (age - 40) + 0.5 * (plan == "team")
    churned = rng.random(n_customers) < 1 / (1 + np.exp(-logit))

    rows = []
    for i, customer in enumerate(ids):
        if topic_0[i]:
            rows.append((customer, "topic", 0, None, None))
        if topic_1[i]:
            rows.append((customer, "topic", 1, None, None))
    customers = pd.DataFrame({S.CUSTOMER_ID: ids, S.CHURNED: churned, "age": age, "plan": plan})
    return make_documents(rows), customers


def test_adjusted_or_matches_statsmodels_logit():
    documents, customers = adjusted_fixture()
    result = topic_outcomes(documents, {}, customers, covariates=["age", "plan"])
    table = by_topic(result)

    has = customer_memberships(documents)
    design = pd.DataFrame({"const": 1.0, "age": customers["age"]})
    design = pd.concat(
        [design, pd.get_dummies(customers[["plan"]], drop_first=True, dtype=float)], axis=1
    )
    for topic in (0, 1):
        members = set(has.loc[has[S.TOPIC_ID] == topic, S.CUSTOMER_ID])
        design[f"t{topic}"] = customers[S.CUSTOMER_ID].isin(members).astype(float)
    reference = sm.Logit(customers[S.CHURNED].astype(float), design).fit(disp=0)
    intervals = np.exp(reference.conf_int(alpha=0.05))

    for topic in (0, 1):
        name = f"t{topic}"
        expected = np.exp(reference.params[name])
        assert table.loc[topic, "adjusted_odds_ratio"] == pytest.approx(expected)
        assert table.loc[topic, "aor_ci_low"] == pytest.approx(intervals.loc[name, 0])
        assert table.loc[topic, "aor_ci_high"] == pytest.approx(intervals.loc[name, 1])


def test_adjusted_columns_nan_without_covariates():
    documents, customers = adjusted_fixture()
    table = topic_outcomes(documents, {}, customers).table
    for column in ("adjusted_odds_ratio", "aor_ci_low", "aor_ci_high"):
        assert table[column].isna().all(), column


def test_adjusted_separated_topic_left_empty():
    documents, customers = adjusted_fixture()
    # Topic 5 goes to 15 customers who did not churn: perfect separation on topic 5.
    quiet = customers.loc[~customers[S.CHURNED], S.CUSTOMER_ID].head(15)
    extra = make_documents([(customer, "topic", 5, None, None) for customer in quiet])
    documents = pd.concat([documents, extra], ignore_index=True)
    documents[S.ROW_NUMBER] = range(1, len(documents) + 1)

    result = topic_outcomes(documents, {}, customers, covariates=["age"])
    table = by_topic(result)
    assert table.loc[5, ["adjusted_odds_ratio", "aor_ci_low", "aor_ci_high"]].isna().all()
    assert math.isfinite(table.loc[0, "adjusted_odds_ratio"])
    assert math.isfinite(table.loc[5, "odds_ratio"])
    note = outcome_note(result.messages, "adjusted_separated_topics")
    assert note.params == {"topics": [5]}
    assert "perfect separation on topic(s) [5]" in note.text("en")


def test_adjusted_separating_covariate_left_empty():
    documents, customers = adjusted_fixture()
    noise = np.linspace(0, 0.5, len(customers))
    customers["score"] = np.where(customers[S.CHURNED], 1.0, 0.0) + noise
    result = topic_outcomes(documents, {}, customers, covariates=["score"])
    assert result.table["adjusted_odds_ratio"].isna().all()
    adjusted = [message for message in result.messages if message.key.startswith("outcome_notes.adjusted_")]
    assert adjusted
    assert all(message.text("en").startswith("adjusted model:") for message in adjusted)
    assert any("separation" in message.text("en") for message in adjusted)


def test_adjusted_one_line_per_customer():
    # Every customer has exactly one line, so the indicators sum to the intercept and
    # the last line in order (no content) is left out as the reference.
    rng = np.random.default_rng(3)
    rows = []
    for i in range(300):
        kind = i % 3
        churned = bool(rng.random() < (0.4 if kind == 0 else 0.2))
        if kind == 2:
            rows.append((f"c{i}", "no_content", None, churned, float(rng.normal(50, 10))))
        else:
            rows.append((f"c{i}", "topic", kind, churned, float(rng.normal(50, 10))))
    result = topic_outcomes(make_documents(rows), {}, covariates=[S.VALUE])
    table = by_topic(result)
    assert math.isnan(table.loc[S.NO_CONTENT_TOPIC, "adjusted_odds_ratio"])
    assert math.isfinite(table.loc[0, "adjusted_odds_ratio"])
    assert math.isfinite(table.loc[1, "adjusted_odds_ratio"])
    note = outcome_note(result.messages, "adjusted_dependent_topics")
    assert note.params == {"topics": [S.NO_CONTENT_TOPIC]}
    assert "topic(s) [-2] are linear combinations" in note.text("en")


def test_adjusted_missing_covariate_rows_left_out():
    documents, customers = adjusted_fixture()
    customers.loc[:9, "age"] = np.nan
    result = topic_outcomes(documents, {}, customers, covariates=["age"])
    note = outcome_note(result.messages, "adjusted_missing_covariate")
    assert note.params == {"count": 10}
    expected = "adjusted model: 10 customers with a missing covariate are left out of the model"
    assert note.text("en") == expected
    assert math.isfinite(by_topic(result).loc[0, "adjusted_odds_ratio"])


# --- simulation -----------------------------------------------------------------------


def test_simulation_finds_true_effect():
    # Seed 1 is fixed so that the test is deterministic. With it, topic 0's 95 % RD CI
    # is about [0.22, 0.32] and topic 1's q-value about 0.79. Seed 0 would give an
    # RD CI of [0.15, 0.249], just missing 0.25, as 5 % of seeds should.
    result = topic_outcomes(simulate_two_topics(seed=1), {0: "A", 1: "B"})
    table = by_topic(result)
    assert result.n_customers == 2000
    assert table.loc[0, "q_value"] < 0.05
    assert table.loc[0, "rd_ci_low"] <= 0.25 <= table.loc[0, "rd_ci_high"]
    assert table.loc[1, "q_value"] > 0.05
    assert table.loc[1, CUSTOMERS] > 900


# --- options, messages and logging ----------------------------------------------------


def test_unit_row_recorded():
    result = topic_outcomes(toy_documents(), {}, unit="row")
    assert result.unit == "row"
    note = outcome_note(result.messages, "unit_row")
    assert note.text("en").startswith("unit: the documents had no customer column")


def test_unknown_outcome_message():
    result = topic_outcomes(toy_documents(), {})
    note = outcome_note(result.messages, "unknown_outcome")
    assert note.params == {"count": 1}
    assert note.text("en") == "customers left out because their churn outcome is unknown: 1"


def test_logs_counts(caplog):
    with caplog.at_level(logging.INFO, logger="painpoints.outcomes"):
        topic_outcomes(toy_documents(), {})
    assert "outcome table: 10 customers, 4 churned, 4 lines" in caplog.text


# --- invalid input --------------------------------------------------------------------


def test_missing_document_columns_raise():
    documents = toy_documents().drop(columns=[S.STATUS, S.TOPIC_ID])
    expected = (
        r"missing required column\(s\) \['status', 'topic_id'\]; "
        r"columns present: \['row_number'"
    )
    with pytest.raises(ValueError, match=expected):
        topic_outcomes(documents, {})


def test_missing_churned_without_customers_raises():
    documents = toy_documents().drop(columns=[S.CHURNED])
    expected = r"documents is missing required column\(s\) \['churned'\]"
    with pytest.raises(ValueError, match=expected):
        build_customers(documents)


def test_missing_customer_columns_raise():
    customers = pd.DataFrame({S.CUSTOMER_ID: ["c01"]})
    expected = r"customers is missing required column\(s\) \['churned'\]"
    with pytest.raises(ValueError, match=expected):
        topic_outcomes(toy_documents(), {}, customers)


def test_empty_population_raises():
    documents = make_documents([("a", "topic", 0, None, None), ("b", "rejected", None, True, None)])
    with pytest.raises(ValueError, match="no customer with a known churn outcome remains"):
        topic_outcomes(documents, {})


def test_empty_documents_raise():
    with pytest.raises(ValueError, match="no customer with a known churn outcome remains"):
        topic_outcomes(make_documents([]), {})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.assign(status="open"), r"column 'status' has invalid value\(s\) \['open'\]"),
        (lambda d: d.assign(churned="yes"), r"column 'churned' must be True/False or 1/0"),
        (lambda d: d.assign(value="lots"), r"column 'value' must be numeric"),
        (lambda d: d.assign(customer_id=None), r"row\(s\) with a missing customer_id"),
        (
            lambda d: d.assign(topic_id=pd.array([None] * len(d), dtype="Int64")),
            r"'topic' row\(s\) whose topic_id is missing",
        ),
    ],
)
def test_invalid_documents_raise(change, message):
    with pytest.raises(ValueError, match=message):
        topic_outcomes(change(toy_documents()), {})


def test_repeated_customer_in_file_raises():
    customers = pd.DataFrame({S.CUSTOMER_ID: ["c01", "c01"], S.CHURNED: [True, False]})
    expected = r"one row per customer; repeated customer_id value\(s\) \['c01'\]"
    with pytest.raises(ValueError, match=expected):
        topic_outcomes(toy_documents(), {}, customers)


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"unit": "ticket"}, ValueError, r"unit must be one of \('customer', 'row'\)"),
        ({"alpha": 1.5}, ValueError, "alpha must be between 0 and 1"),
        ({"min_events": -1}, ValueError, "min_events must be >= 0"),
        ({"covariates": ["age"]}, ValueError, r"covariate column\(s\) \['age'\] not found"),
        ({"covariates": "age"}, TypeError, "covariates must be a sequence of column names"),
        ({"covariates": [S.CHURNED]}, ValueError, r"covariates cannot include \['churned'\]"),
    ],
)
def test_invalid_options_raise(options, error, message):
    with pytest.raises(error, match=message):
        topic_outcomes(toy_documents(), {}, **options)


def test_labels_must_be_mapping():
    with pytest.raises(TypeError, match="labels must be a mapping"):
        topic_outcomes(toy_documents(), ["billing"])


def test_documents_must_be_frame():
    with pytest.raises(TypeError, match="documents must be a pandas DataFrame, got list"):
        customer_memberships([])


def test_repeated_row_number_with_memberships_raises():
    documents = toy_documents()
    documents[S.ROW_NUMBER] = 1
    memberships = pd.DataFrame({S.ROW_NUMBER: [1], S.TOPIC_ID: [0]})
    with pytest.raises(ValueError, match="row_number' must be unique"):
        topic_outcomes(documents, {}, memberships=memberships)


def test_no_lines_gives_empty_table():
    documents = make_documents([("a", "rejected", None, True, None)])
    customers = pd.DataFrame(
        {S.CUSTOMER_ID: ["a", "b"], S.CHURNED: [True, False], "age": [1.0, 2.0]}
    )
    result = topic_outcomes(documents, {}, customers, covariates=["age"])
    assert result.table.empty
    assert tuple(result.table.columns) == S.OUTCOME_COLUMNS
    assert result.n_customers == 2


def test_repeated_index_labels_accepted():
    documents = toy_documents()
    documents.index = [0] * len(documents)
    customers = pd.DataFrame(
        {S.CUSTOMER_ID: ["c01", "c05"], S.CHURNED: [True, False]}, index=[3, 3]
    )
    from_feedback = topic_outcomes(documents, {})
    from_file = topic_outcomes(documents, {}, customers)
    pd.testing.assert_frame_equal(from_feedback.table, topic_outcomes(toy_documents(), {}).table)
    assert from_file.n_customers == 2


def test_build_customers_covariates_from_documents():
    documents = make_documents(
        [
            ("a", "topic", 0, True, None),
            ("a", "topic", 1, True, None),
            ("b", "topic", 0, False, None),
            ("c", "topic", 1, False, None),
        ]
    )
    # Text cells as a reader with dtype=str produces them: blanks and numbers as text.
    documents["tenure"] = ["", " 12", "30", ""]
    documents["plan"] = ["pro", "free", "free", ""]
    customers = build_customers(documents, covariates=["tenure", "plan"]).set_index(S.CUSTOMER_ID)
    assert customers["tenure"].dtype == "float64"
    assert customers.loc["a", "tenure"] == 12.0
    assert customers.loc["b", "tenure"] == 30.0
    assert math.isnan(customers.loc["c", "tenure"])
    assert customers.loc["a", "plan"] == "pro"
    assert pd.isna(customers.loc["c", "plan"])


def test_covariate_conflict_message():
    documents, _ = adjusted_fixture()
    documents["plan"] = "free"
    first_row_of_each = ~documents[S.CUSTOMER_ID].duplicated()
    documents.loc[first_row_of_each, "plan"] = "pro"
    customers_with_two_rows = documents[S.CUSTOMER_ID].value_counts().gt(1).sum()
    documents[S.CHURNED] = documents[S.CUSTOMER_ID].str[-1].isin(list("0123")).astype("boolean")
    result = topic_outcomes(documents, {}, covariates=["plan"])
    note = outcome_note(result.messages, "covariate_conflict")
    assert note.params == {"column": "plan", "customers": customers_with_two_rows}
    expected = f"covariate 'plan' differs between the rows of {customers_with_two_rows} customers"
    assert note.text("en").startswith(expected)


def test_adjusted_or_with_document_covariates():
    documents, customers = adjusted_fixture()
    # Without a customers file, churned and age come from the documents as text.
    by_id = customers.set_index(S.CUSTOMER_ID)
    documents[S.CHURNED] = documents[S.CUSTOMER_ID].map(by_id[S.CHURNED]).astype("boolean")
    documents["age"] = documents[S.CUSTOMER_ID].map(by_id["age"]).map(repr)
    result = topic_outcomes(documents, {}, covariates=["age"])
    table = by_topic(result)

    has = customer_memberships(documents)
    with_feedback = customers[customers[S.CUSTOMER_ID].isin(has[S.CUSTOMER_ID])]
    design = pd.DataFrame({"const": 1.0, "age": with_feedback["age"]})
    for topic in (0, 1):
        members = set(has.loc[has[S.TOPIC_ID] == topic, S.CUSTOMER_ID])
        design[f"t{topic}"] = with_feedback[S.CUSTOMER_ID].isin(members).astype(float)
    reference = sm.Logit(with_feedback[S.CHURNED].astype(float), design).fit(disp=0)

    assert result.n_customers == len(with_feedback)
    for topic in (0, 1):
        expected = np.exp(reference.params[f"t{topic}"])
        assert table.loc[topic, "adjusted_odds_ratio"] == pytest.approx(expected)
