"""The outcome analyses inside a run: settings, CLI options, output files and the store."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from painpoints.errors import InputDataError, SettingsError
from painpoints.pipeline import run_analysis
from painpoints.report import write_outputs
from painpoints.settings import AnalysisSettings
from painpoints.store import load_run, save_run


@pytest.fixture
def rich_csv(tmp_path: Path, themed_frame: pd.DataFrame) -> Path:
    """The themed tickets plus tenure, an NPS answer, a region and a date per row."""
    frame = themed_frame.drop(columns="theme").copy()
    count = len(frame)
    frame["tenure"] = [(index * 7) % 30 + 1 for index in range(count)]
    frame["nps"] = [(index * 3) % 11 for index in range(count)]
    frame["region"] = ["north" if index % 3 else "south" for index in range(count)]
    frame["日期"] = [f"2024-0{1 + index % 4}-1{index % 9}" for index in range(count)]
    path = tmp_path / "rich.csv"
    frame.to_csv(path, index=False, encoding="utf-8")
    return path


@pytest.fixture
def rich_settings(settings: AnalysisSettings) -> AnalysisSettings:
    return replace(
        settings, duration_col="tenure", score_col="nps", segment_cols=("region",), period="month"
    )


def test_run_has_every_analysis(rich_csv, rich_settings, embedder):
    result = run_analysis(rich_csv, rich_settings, embedder=embedder)
    assert result.analysis is not None
    assert result.analysis.outcomes is result.outcomes
    assert set(result.analysis.tables()) == {
        "topic_outcomes", "survival", "survival_curves", "scores", "trends", "emerging_topics", "segments",
    }
    assert result.info["outcomes"]["analyses"] == sorted(result.analysis.tables())
    assert result.info["settings"]["segment_cols"] == ["region"]
    survival = result.analysis.survival.to_frame()
    assert survival["customers"].sum() >= 40


def test_outputs_and_store_have_analysis_tables(rich_csv, rich_settings, embedder, tmp_path):
    result = run_analysis(rich_csv, rich_settings, embedder=embedder)
    written = write_outputs(result, tmp_path / "out")
    for name in ("survival", "survival_curves", "scores", "trends", "emerging_topics", "segments"):
        assert written[name].is_file(), name
        frame = pd.read_csv(written[name], encoding="utf-8-sig")
        assert list(frame.columns) == list(result.analysis.tables()[name].columns)

    store = tmp_path / "runs.duckdb"
    save_run(result, store)
    stored = load_run(store)
    assert set(stored.analyses) == {
        "survival", "survival_curves", "scores", "trends", "emerging_topics", "segments",
    }
    assert len(stored.analyses["survival"]) == len(result.analysis.survival.to_frame())


def test_unknown_duration_column_is_a_data_error(themed_csv, settings, embedder):
    with pytest.raises(InputDataError, match=r"Column 'tenure' given with --duration-col is not in .*Columns in the file: "):
        run_analysis(themed_csv, replace(settings, duration_col="tenure"), embedder=embedder)


def test_negative_duration_is_a_data_error(tmp_path, themed_frame, settings, embedder):
    frame = themed_frame.drop(columns="theme").assign(tenure=-1)
    path = tmp_path / "negative.csv"
    frame.to_csv(path, index=False, encoding="utf-8")
    with pytest.raises(InputDataError, match="outcome analysis of .* failed: duration column 'tenure' must be >= 0"):
        run_analysis(path, replace(settings, duration_col="tenure"), embedder=embedder)


def test_invalid_period_setting_raises():
    with pytest.raises(SettingsError, match="Invalid value 'day' for --period"):
        AnalysisSettings(period="day")


def test_invalid_score_kind_setting_raises():
    with pytest.raises(SettingsError, match="Invalid value 'ces' for --score-kind"):
        AnalysisSettings(score_kind="ces")


def test_cli_outcome_options(rich_csv, tmp_path, monkeypatch):
    from painpoints.cli import app

    monkeypatch.setenv("PAINPOINTS_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(app, [
        "analyze", str(rich_csv), "--embedding", "hashing", "--min-topic-size", "5",
        "--duration-col", "tenure", "--score-col", "nps", "--score-kind", "nps",
        "--segments", "region", "--period", "week",
        "--out", str(tmp_path / "out"), "--store", str(tmp_path / "runs.duckdb"), "--lang-ui", "en",
    ])
    assert result.exit_code == 0, result.output
    for name in ("survival.csv", "scores.csv", "trends.csv", "segments.csv"):
        assert (tmp_path / "out" / name).is_file(), name
