"""Tests of trends per period, emerging topics and segment tables (painpoints.outcomes._trends)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportions_ztest

from painpoints import schema as S
from painpoints.outcomes import (
    SegmentTable,
    TopicTrends,
    analyse_outcomes,
    build_customers,
    customer_memberships,
    topic_segments,
    topic_trends,
)
from painpoints.outcomes._trends import EMERGING_COLUMNS, SEGMENT_COLUMNS, TREND_COLUMNS
from tests.conftest import outcome_note

LABELS = {0: "login", 1: "outage", S.UNCLUSTERED: "unclustered"}


def make_documents() -> pd.DataFrame:
    """Forty customers a month for four months; topic 1 jumps from 5 % to 50 % in April."""
    rows = []
    for month, topic1_customers in ((1, 2), (2, 2), (3, 2), (4, 20)):
        for index in range(40):
            customer = f"m{month}-{index:02d}"
            topic = 1 if index < topic1_customers else 0
            rows.append(
                {
                    S.CUSTOMER_ID: customer,
                    S.STATUS: "topic",
                    S.TOPIC_ID: topic,
                    S.DATE: pd.Timestamp(2024, month, 1 + index % 28),
                    S.CHURNED: index % 4 == 0,
                    "region": "north" if index % 2 else "south",
                }
            )
    frame = pd.DataFrame(rows)
    frame[S.TOPIC_ID] = frame[S.TOPIC_ID].astype("Int64")
    return frame


def population_of(documents: pd.DataFrame, covariates=()) -> pd.DataFrame:
    return build_customers(documents, covariates=covariates)


def test_trend_table_shares_by_hand():
    documents = make_documents()
    result = topic_trends(documents, population_of(documents), LABELS, period="month")
    assert isinstance(result, TopicTrends)
    table = result.to_frame()
    assert tuple(table.columns) == TREND_COLUMNS
    april = table[(table["period"] == pd.Timestamp(2024, 4, 1)) & (table[S.TOPIC_ID] == 1)].iloc[0]
    assert april["customers"] == 20
    assert april["period_customers"] == 40
    assert april["share"] == pytest.approx(0.5)
    # Customers 0, 4, 8, 12, 16 of the first twenty churned.
    assert april["churned"] == 5
    assert april["churn_rate"] == pytest.approx(0.25)
    assert result.latest_period == pd.Timestamp(2024, 4, 1)


def test_emerging_flag_against_proportions_ztest():
    documents = make_documents()
    result = topic_trends(documents, population_of(documents), LABELS, period="month")
    emerging = result.emerging.set_index(S.TOPIC_ID)
    assert tuple(result.emerging.columns) == EMERGING_COLUMNS
    # Reference: proportions_ztest([20, 6], [40, 120], alternative="larger")
    expected = proportions_ztest(np.array([20, 6]), np.array([40, 120]), alternative="larger")[1]
    assert emerging.at[1, "emerging_p_value"] == pytest.approx(expected)
    assert emerging.at[1, "share_ratio"] == pytest.approx(0.5 / 0.05)
    assert bool(emerging.at[1, "emerging"])
    assert not bool(emerging.at[0, "emerging"])


def test_one_row_counts_once_per_customer_and_period():
    documents = make_documents()
    repeated = pd.concat([documents, documents.iloc[:3]], ignore_index=True)
    result = topic_trends(repeated, population_of(repeated), LABELS)
    january = result.to_frame()
    january = january[(january["period"] == pd.Timestamp(2024, 1, 1)) & (january[S.TOPIC_ID] == 1)]
    assert january["customers"].iloc[0] == 2


def test_weekly_periods_start_on_monday():
    documents = make_documents()
    result = topic_trends(documents, population_of(documents), LABELS, period="week")
    assert (result.to_frame()["period"].dt.dayofweek == 0).all()


def test_short_history_not_flagged_with_message():
    documents = make_documents()
    documents = documents[documents[S.DATE] >= pd.Timestamp(2024, 3, 1)]
    result = topic_trends(documents, population_of(documents), LABELS)
    assert not result.emerging["emerging"].any()
    note = outcome_note(result.messages, "trends_short_history")
    assert note.params["minimum"] == 2
    assert "fewer than 2" in note.text("en")


def test_undated_rows_left_out_with_message():
    documents = make_documents()
    documents.loc[:4, S.DATE] = pd.NaT
    result = topic_trends(documents, population_of(documents), LABELS)
    note = outcome_note(result.messages, "trends_undated")
    assert note.params == {"count": 5}
    assert note.text("en") == "trends: 5 rows without a date are left out"


def test_unknown_period_raises():
    documents = make_documents()
    with pytest.raises(ValueError, match="period must be one of"):
        topic_trends(documents, population_of(documents), LABELS, period="day")


def test_analyse_outcomes_unknown_period_raises():
    with pytest.raises(ValueError, match="period must be one of"):
        analyse_outcomes(make_documents(), LABELS, period="quarter")


def test_segment_table_by_hand():
    documents = make_documents()
    population = population_of(documents, covariates=["region"])
    lines = customer_memberships(documents)
    result = topic_segments(lines, population, ["region"], LABELS)
    assert isinstance(result, SegmentTable)
    table = result.to_frame()
    assert tuple(table.columns) == SEGMENT_COLUMNS
    south = population[population["region"] == "south"]
    south_topic1 = lines[(lines[S.TOPIC_ID] == 1) & lines[S.CUSTOMER_ID].isin(south[S.CUSTOMER_ID])]
    row = table[(table["segment"] == "south") & (table[S.TOPIC_ID] == 1)].iloc[0]
    assert row["segment_customers"] == len(south)
    assert row["customers"] == len(south_topic1)
    churned = south.set_index(S.CUSTOMER_ID).loc[south_topic1[S.CUSTOMER_ID], S.CHURNED]
    assert row["churn_rate"] == pytest.approx(churned.mean())
    assert row["segment_rate"] == pytest.approx(south[S.CHURNED].mean())
    assert row["baseline_rate"] == pytest.approx(
        (south[S.CHURNED].sum() - churned.sum()) / (len(south) - len(south_topic1))
    )


def test_missing_segment_value_gets_its_own_segment():
    documents = make_documents()
    documents.loc[documents[S.CUSTOMER_ID] == "m1-00", "region"] = ""
    analysis = analyse_outcomes(documents, LABELS, segment_cols=["region"])
    assert "(missing)" in analysis.segments.to_frame()["segment"].tolist()


def test_segment_cols_as_string_raises():
    with pytest.raises(TypeError, match="segment_cols must be a sequence"):
        analyse_outcomes(make_documents(), LABELS, segment_cols="region")


def test_unknown_segment_column_raises():
    with pytest.raises(ValueError, match=r"column\(s\) \['channel'\] not found"):
        analyse_outcomes(make_documents(), LABELS, segment_cols=["channel"])


def test_reserved_column_raises():
    with pytest.raises(ValueError, match="cannot include \\['churned'\\]"):
        analyse_outcomes(make_documents(), LABELS, duration_col=S.CHURNED)


def test_analyse_outcomes_tables_keys():
    analysis = analyse_outcomes(make_documents(), LABELS, segment_cols=["region"])
    assert list(analysis.tables()) == ["topic_outcomes", "trends", "emerging_topics", "segments"]
    pd.testing.assert_frame_equal(analysis.to_frame(), analysis.outcomes.to_frame())
    assert analysis.survival is None
    assert analysis.scores is None
