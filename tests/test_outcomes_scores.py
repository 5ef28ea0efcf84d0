"""Tests of the NPS/CSAT impact per topic (painpoints.outcomes._scores)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from painpoints import schema as S
from painpoints.outcomes import ScoreImpact, analyse_outcomes, score_impact, summary_score
from painpoints.outcomes._scores import SCORE_COLUMNS

LABELS = {0: "delivery", 1: "price"}


def make_inputs() -> tuple[pd.DataFrame, pd.DataFrame]:
    # c1–c4 have topic 0 (low scores), c3–c6 topic 1, c7 none.
    population = pd.DataFrame(
        {
            S.CUSTOMER_ID: [f"c{index}" for index in range(1, 9)],
            S.CHURNED: [True, True, False, False, False, False, False, True],
            "nps": [2, 5, 6, 9, 10, 9, 7, np.nan],
        }
    )
    lines = pd.DataFrame(
        {
            S.CUSTOMER_ID: ["c1", "c2", "c3", "c4", "c3", "c4", "c5", "c6", "c8"],
            S.TOPIC_ID: pd.array([0, 0, 0, 0, 1, 1, 1, 1, 1], dtype="Int64"),
        }
    )
    return lines, population


def test_summary_score_nps_and_csat():
    assert summary_score(pd.Series([10, 9, 7, 3]), "nps") == 25.0
    assert summary_score(pd.Series([5, 4, 3, 1]), "csat") == 50.0
    assert np.isnan(summary_score(pd.Series([], dtype=float), "nps"))


def test_score_impact_by_hand():
    lines, population = make_inputs()
    result = score_impact(lines, population, "nps", LABELS, "nps")
    assert isinstance(result, ScoreImpact)
    assert tuple(result.to_frame().columns) == SCORE_COLUMNS
    # Respondents c1..c7: promoters c4, c5, c6; detractors c1, c2, c3 -> NPS 0.
    assert result.overall_score == 0.0
    assert result.respondents == 7
    table = result.to_frame().set_index(S.TOPIC_ID)
    # Without topic 0: c5, c6, c7 -> 2 promoters of 3.
    assert table.at[0, "baseline_score"] == pytest.approx(100 * 2 / 3)
    assert table.at[0, "impact"] == pytest.approx(100 * 2 / 3)
    # Topic 0: c1 to c4 -> 1 promoter, 3 detractors.
    assert table.at[0, "topic_score"] == pytest.approx(-50.0)
    assert table.at[0, "respondents"] == 4
    assert table.at[0, "mean_score"] == pytest.approx(np.mean([2, 5, 6, 9]))
    assert table.at[0, "baseline_mean_score"] == pytest.approx(np.mean([10, 9, 7]))
    assert table.index[0] == 0, "the largest impact comes first"


def test_mean_difference_against_scipy():
    lines, population = make_inputs()
    table = score_impact(lines, population, "nps", LABELS).to_frame().set_index(S.TOPIC_ID)
    # Reference: scipy.stats.ttest_ind(with, without, equal_var=False)
    expected = stats.ttest_ind([2, 5, 6, 9], [10, 9, 7], equal_var=False).pvalue
    assert table.at[0, "mean_diff_p_value"] == pytest.approx(expected)


def test_missing_scores_left_out_with_message():
    lines, population = make_inputs()
    result = score_impact(lines, population, "nps", LABELS)
    assert [message.key for message in result.messages] == ["outcome_notes.scores_missing"]
    assert result.messages[0].params == {"count": 1}
    assert result.messages[0].text("en") == "scores: 1 customers without a score are left out"


def test_score_out_of_range_raises():
    lines, population = make_inputs()
    with pytest.raises(ValueError, match="outside 1–5, the range of CSAT"):
        score_impact(lines, population, "nps", LABELS, "csat")


def test_text_score_raises():
    lines, population = make_inputs()
    population["nps"] = population["nps"].astype(object)
    population.loc[0, "nps"] = "great"
    with pytest.raises(ValueError, match="score column 'nps' must be numeric"):
        score_impact(lines, population, "nps", LABELS)


def test_unknown_score_kind_raises():
    lines, population = make_inputs()
    with pytest.raises(ValueError, match="score kind must be one of"):
        score_impact(lines, population, "nps", LABELS, "ces")


def test_analyse_outcomes_unknown_score_kind_raises():
    lines, population = make_inputs()
    documents = lines.assign(**{S.STATUS: "topic"})
    with pytest.raises(ValueError, match="score_kind must be one of"):
        analyse_outcomes(documents, LABELS, population, score_col="nps", score_kind="ces")


def test_analyse_outcomes_scores_from_customers_file():
    lines, population = make_inputs()
    documents = lines.assign(**{S.STATUS: "topic"})
    analysis = analyse_outcomes(documents, LABELS, population, score_col="nps", period=None)
    direct = score_impact(lines, population, "nps", LABELS)
    pd.testing.assert_frame_equal(analysis.scores.to_frame(), direct.to_frame())
    assert "scores" in analysis.tables()
