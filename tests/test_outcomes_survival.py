"""Tests of time to churn per topic (painpoints.outcomes._survival).

Each number is compared with the lifelines call named in the test, run on the same
customers.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test, proportional_hazard_test

from painpoints import schema as S
from painpoints.outcomes import SurvivalResult, analyse_outcomes, plot_survival, survival_by_topic
from painpoints.outcomes._survival import CURVE_COLUMNS, SURVIVAL_COLUMNS
from tests.conftest import outcome_note

LABELS = {0: "billing", 1: "app", S.UNCLUSTERED: "unclustered"}


def make_population(seed: int = 3, n: int = 300) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (lines, population) with topic 0 shortening time to churn."""
    rng = np.random.default_rng(seed)
    ids = [f"c{index:04d}" for index in range(n)]
    topic0 = rng.random(n) < 0.3
    topic1 = rng.random(n) < 0.4
    plan = np.where(rng.random(n) < 0.5, "basic", "pro")
    scale = np.where(topic0, 6.0, 15.0) * np.where(plan == "pro", 1.5, 1.0)
    time = rng.exponential(scale)
    censor = rng.uniform(5, 30, n)
    population = pd.DataFrame(
        {
            S.CUSTOMER_ID: ids,
            S.CHURNED: time <= censor,
            "tenure": np.round(np.minimum(time, censor), 2),
            "plan": plan,
        }
    )
    pairs = []
    for index, customer in enumerate(ids):
        if topic0[index]:
            pairs.append((customer, 0))
        if topic1[index]:
            pairs.append((customer, 1))
        if not topic0[index] and not topic1[index]:
            pairs.append((customer, S.UNCLUSTERED))
    lines = pd.DataFrame(pairs, columns=[S.CUSTOMER_ID, S.TOPIC_ID])
    lines[S.TOPIC_ID] = lines[S.TOPIC_ID].astype("Int64")
    return lines, population


def reference_frame(lines: pd.DataFrame, population: pd.DataFrame, topic: int) -> pd.DataFrame:
    members = lines.loc[lines[S.TOPIC_ID] == topic, S.CUSTOMER_ID]
    return pd.DataFrame(
        {
            "T": population["tenure"],
            "E": population[S.CHURNED].astype(int),
            "x": population[S.CUSTOMER_ID].isin(members).astype(float),
        }
    )


def as_documents(lines: pd.DataFrame) -> pd.DataFrame:
    status = np.where(lines[S.TOPIC_ID] == S.UNCLUSTERED, "unclustered", "topic")
    return lines.assign(**{S.STATUS: status})


def test_survival_columns_and_lines():
    lines, population = make_population()
    result = survival_by_topic(lines, population, "tenure", LABELS)
    assert isinstance(result, SurvivalResult)
    assert tuple(result.to_frame().columns) == SURVIVAL_COLUMNS
    assert tuple(result.curves.columns) == CURVE_COLUMNS
    assert result.to_frame()[S.TOPIC_ID].tolist() == [0, 1, S.UNCLUSTERED]
    assert result.n_customers == len(population)


def test_hazard_ratio_against_lifelines():
    lines, population = make_population()
    result = survival_by_topic(lines, population, "tenure", LABELS).to_frame().set_index(S.TOPIC_ID)
    for topic in (0, 1, S.UNCLUSTERED):
        data = reference_frame(lines, population, topic)
        # Reference: CoxPHFitter().fit(data, duration_col="T", event_col="E").summary
        fitter = CoxPHFitter().fit(data, duration_col="T", event_col="E")
        summary = fitter.summary.loc["x"]
        assert result.at[topic, "hazard_ratio"] == pytest.approx(summary["exp(coef)"], rel=1e-9)
        assert result.at[topic, "hr_ci_low"] == pytest.approx(summary["exp(coef) lower 95%"], rel=1e-9)
        assert result.at[topic, "hr_ci_high"] == pytest.approx(summary["exp(coef) upper 95%"], rel=1e-9)
        assert result.at[topic, "hr_p_value"] == pytest.approx(summary["p"], rel=1e-9)
        # Reference: proportional_hazard_test(fitter, data, time_transform="rank")
        check = proportional_hazard_test(fitter, data, time_transform="rank")
        assert result.at[topic, "ph_p_value"] == pytest.approx(check.summary.loc["x", "p"], rel=1e-9)


def test_planted_faster_churn_has_hazard_ratio_above_one():
    lines, population = make_population()
    table = survival_by_topic(lines, population, "tenure", LABELS).to_frame().set_index(S.TOPIC_ID)
    assert table.at[0, "hazard_ratio"] > 1.5
    assert table.at[0, "hr_ci_low"] > 1


def test_adjusted_hazard_ratio_against_lifelines():
    lines, population = make_population()
    result = survival_by_topic(lines, population, "tenure", LABELS, covariates=["plan"])
    data = reference_frame(lines, population, 0)
    data["plan_pro"] = (population["plan"] == "pro").astype(float)
    # Reference: CoxPHFitter().fit(data[T, E, x, plan_pro], "T", "E").hazard_ratios_["x"]
    fitter = CoxPHFitter().fit(data, duration_col="T", event_col="E")
    table = result.to_frame().set_index(S.TOPIC_ID)
    assert table.at[0, "hazard_ratio"] == pytest.approx(fitter.hazard_ratios_["x"], rel=1e-9)
    assert result.covariates == ("plan",)


def test_duration_column_left_out_of_cox_covariates():
    lines, population = make_population()
    alone = survival_by_topic(lines, population, "tenure", LABELS, covariates=["plan"])
    both = survival_by_topic(lines, population, "tenure", LABELS, covariates=["tenure", "plan"])
    assert both.covariates == ("plan",)
    pd.testing.assert_frame_equal(both.to_frame(), alone.to_frame())
    keys = [message.key for message in both.messages]
    assert keys.count("outcome_notes.survival_duration_covariate") == 1
    assert "Cox models leave it out" in next(message for message in both.messages
                                             if message.key.endswith("duration_covariate")).text("en")


def test_logrank_and_median_against_lifelines():
    lines, population = make_population()
    table = survival_by_topic(lines, population, "tenure", LABELS).to_frame().set_index(S.TOPIC_ID)
    data = reference_frame(lines, population, 0)
    with_topic = data[data["x"] == 1]
    without_topic = data[data["x"] == 0]
    # Reference: logrank_test(T_with, T_without, event_observed_A=E_with, event_observed_B=E_without)
    expected = logrank_test(
        with_topic["T"],
        without_topic["T"],
        event_observed_A=with_topic["E"],
        event_observed_B=without_topic["E"],
    )
    assert table.at[0, "logrank_p_value"] == pytest.approx(expected.p_value, rel=1e-9)
    # Reference: KaplanMeierFitter().fit(T_with, E_with).median_survival_time_
    fitter = KaplanMeierFitter().fit(with_topic["T"], with_topic["E"])
    assert table.at[0, "median_duration"] == pytest.approx(fitter.median_survival_time_)


def test_curves_against_kaplan_meier():
    lines, population = make_population()
    result = survival_by_topic(lines, population, "tenure", LABELS)
    data = reference_frame(lines, population, 1)
    without_topic = data[data["x"] == 0]
    # Reference: KaplanMeierFitter().fit(T, E).survival_function_ and its CI
    fitter = KaplanMeierFitter().fit(without_topic["T"], without_topic["E"])
    curve = result.curves[(result.curves[S.TOPIC_ID] == 1) & (result.curves["group"] == "without_topic")]
    np.testing.assert_allclose(curve["survival"], fitter.survival_function_.iloc[:, 0])
    np.testing.assert_allclose(curve["ci_low"], fitter.confidence_interval_.iloc[:, 0])
    np.testing.assert_allclose(curve["at_risk"], fitter.event_table["at_risk"])


def test_missing_duration_left_out_with_message():
    lines, population = make_population()
    population.loc[:9, "tenure"] = np.nan
    result = survival_by_topic(lines, population, "tenure", LABELS)
    assert result.n_customers == len(population) - 10
    note = outcome_note(result.messages, "survival_missing")
    assert note.params == {"count": 10}
    assert "10 customers with a missing duration" in note.text("en")


def test_negative_duration_raises():
    lines, population = make_population()
    population.loc[0, "tenure"] = -1.0
    with pytest.raises(ValueError, match="duration column 'tenure' must be >= 0"):
        survival_by_topic(lines, population, "tenure", LABELS)


def test_text_duration_raises():
    lines, population = make_population()
    population["tenure"] = population["tenure"].astype(object)
    population.loc[0, "tenure"] = "long"
    with pytest.raises(ValueError, match="duration column 'tenure' must be numeric"):
        survival_by_topic(lines, population, "tenure", LABELS)


def test_line_without_churn_left_empty():
    lines, population = make_population()
    members = lines.loc[lines[S.TOPIC_ID] == 0, S.CUSTOMER_ID]
    population.loc[population[S.CUSTOMER_ID].isin(members), S.CHURNED] = False
    result = survival_by_topic(lines, population, "tenure", LABELS)
    table = result.to_frame().set_index(S.TOPIC_ID)
    assert np.isnan(table.at[0, "hazard_ratio"])
    note = outcome_note(result.messages, "survival_no_churn_with_topic")
    assert note.params == {"topic": 0}
    assert "nobody with topic 0 churned" in note.text("en")


def test_no_churn_at_all_left_empty():
    lines, population = make_population()
    population[S.CHURNED] = False
    result = survival_by_topic(lines, population, "tenure", LABELS)
    assert result.to_frame()["hazard_ratio"].isna().all()
    notes = [message for message in result.messages if message.key == "outcome_notes.survival_no_churn"]
    assert notes
    assert all("no customer churned" in message.text("en") for message in notes)


def test_plot_survival_draws_both_groups(tmp_path):
    lines, population = make_population()
    result = survival_by_topic(lines, population, "tenure", LABELS)
    ax = plot_survival(result, 0)
    assert len(ax.get_lines()) == 2
    assert "billing" in ax.get_title()
    ax.figure.savefig(tmp_path / "km.png")
    assert (tmp_path / "km.png").stat().st_size > 0


def test_plot_survival_unknown_topic_raises():
    lines, population = make_population()
    result = survival_by_topic(lines, population, "tenure", LABELS)
    with pytest.raises(KeyError, match="topic 7 is not in the survival table"):
        plot_survival(result, 7)


def test_analyse_outcomes_takes_duration_from_documents():
    lines, population = make_population(n=120)
    documents = lines.merge(population, on=S.CUSTOMER_ID)
    documents[S.STATUS] = np.where(documents[S.TOPIC_ID] == S.UNCLUSTERED, "unclustered", "topic")
    analysis = analyse_outcomes(documents, LABELS, duration_col="tenure", period=None)
    direct = survival_by_topic(lines, population, "tenure", LABELS)
    pd.testing.assert_frame_equal(analysis.survival.to_frame(), direct.to_frame())
    assert "survival" in analysis.tables()
    assert "survival_curves" in analysis.tables()


def test_duration_from_start_and_end_dates():
    lines, population = make_population(n=120)
    start = pd.Timestamp("2023-01-01")
    population["signup"] = start
    population["last_seen"] = start + pd.to_timedelta(population["tenure"], unit="D")
    population.loc[0, "last_seen"] = pd.NaT
    documents = as_documents(lines)
    analysis = analyse_outcomes(
        documents, LABELS, population, start_col="signup", end_col="last_seen", period=None
    )
    expected = survival_by_topic(lines, population.drop(index=0), "tenure", LABELS)
    result = analysis.survival
    assert result.duration_col == "days_from_start_to_end"
    assert result.n_customers == len(population) - 1
    np.testing.assert_allclose(
        result.to_frame()["hazard_ratio"], expected.to_frame()["hazard_ratio"], rtol=1e-6
    )


def test_text_dates_parsed_and_invalid_raise():
    lines, population = make_population(n=60)
    population["signup"] = "2023-01-01"
    population["last_seen"] = "2023-06-01"
    population.loc[3, "last_seen"] = "soon"
    documents = as_documents(lines)
    with pytest.raises(ValueError, match="date column 'last_seen' has value\\(s\\) \\['soon'\\]"):
        analyse_outcomes(documents, LABELS, population, start_col="signup", end_col="last_seen")


def test_start_without_end_raises():
    lines, population = make_population(n=60)
    population["signup"] = "2023-01-01"
    documents = as_documents(lines)
    with pytest.raises(ValueError, match="start_col and end_col must be given together"):
        analyse_outcomes(documents, LABELS, population, start_col="signup")


def test_datetime_covariate_kept_as_datetime():
    from painpoints.outcomes._inputs import normalize_covariate

    values = pd.Series(pd.to_datetime(["2024-01-01", None]))
    assert normalize_covariate(values).dtype == values.dtype


def test_collinear_covariate_cox_failure_is_a_message():
    lines, population = make_population()
    members = lines.loc[lines[S.TOPIC_ID] == 0, S.CUSTOMER_ID]
    population["copy_of_topic0"] = population[S.CUSTOMER_ID].isin(members).astype(float)
    result = survival_by_topic(lines, population, "tenure", LABELS, covariates=["copy_of_topic0"])
    table = result.to_frame().set_index(S.TOPIC_ID)
    assert np.isnan(table.at[0, "hazard_ratio"])
    assert np.isfinite(table.at[1, "hazard_ratio"])
    failed = outcome_note(result.messages, "survival_cox_failed")
    assert failed.params["topic"] == 0
    assert "Cox model of topic 0 failed" in failed.text("en")
    assert "http" not in failed.text("en")
