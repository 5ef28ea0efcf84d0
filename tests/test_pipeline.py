import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from painpoints import schema as S
from painpoints.pipeline import run_analysis
from painpoints.report import write_outputs
from painpoints.sample import SAMPLE_PATH
from painpoints.store import delete_run, list_runs, load_run, save_run


@pytest.fixture
def themed_result(themed_csv, settings, embedder):
    return run_analysis(themed_csv, settings, embedder=embedder)


def test_rows_in_equal_rows_out(themed_result, themed_frame):
    documents = themed_result.documents
    assert len(documents) == len(themed_frame)
    assert documents[S.ROW_NUMBER].tolist() == list(range(1, len(themed_frame) + 1))
    assert list(documents.columns) == list(S.DOCUMENT_COLUMNS)
    counts = themed_result.info["rows_by_status"]
    assert sum(counts.values()) == len(themed_frame)
    assert set(counts) == set(S.STATUSES)


def test_every_row_has_topic_or_reason(themed_result):
    documents = themed_result.documents
    with_topic = documents[S.STATUS] == "topic"
    assert (documents.loc[with_topic, S.TOPIC_ID] >= 0).all()
    assert (documents.loc[~with_topic, S.REASON] != "").all()


def test_outcome_table_counts_customers(themed_result, themed_frame):
    table = themed_result.outcomes.to_frame()
    assert list(table.columns) == list(S.OUTCOME_COLUMNS)
    assert themed_result.outcomes.n_customers == themed_frame["客户ID"].nunique()
    assert themed_result.outcomes.n_churned == int((themed_frame["是否流失"] == "是").sum())
    assert (table["customers"] + table["baseline_customers"] == themed_result.outcomes.n_customers).all()


def test_planted_theme_churn_recovered(themed_result, themed_frame):
    documents = themed_result.documents.assign(theme=themed_frame["theme"].to_numpy())
    table = themed_result.outcomes.to_frame().set_index(S.TOPIC_ID)
    courier_topic = documents.loc[documents["theme"] == "courier", S.TOPIC_ID].mode().iloc[0]
    crash_topic = documents.loc[documents["theme"] == "crash", S.TOPIC_ID].mode().iloc[0]
    assert table.at[courier_topic, "lift"] > table.at[crash_topic, "lift"]


def test_outputs_follow_contract(themed_result, tmp_path, themed_frame):
    written = write_outputs(themed_result, tmp_path / "out")
    documents = pd.read_csv(written["documents"], dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert len(documents) == len(themed_frame)
    assert documents[S.TICKET_ID].is_unique
    topics = pd.read_csv(written["topics"], encoding="utf-8-sig")
    assert list(topics.columns) == list(S.TOPIC_COLUMNS)
    assert S.UNCLUSTERED in topics[S.TOPIC_ID].tolist()
    assert not topics["label"].isna().any()
    outcomes = pd.read_csv(written["topic_outcomes"], encoding="utf-8-sig")
    assert list(outcomes.columns) == list(S.OUTCOME_COLUMNS)
    info = json.loads(written["run"].read_text(encoding="utf-8"))
    for key in ("input_path", "rows_by_status", "settings", "seed", "embedding", "package_versions", "stage_seconds"):
        assert key in info
    assert info["seed"] == 42
    assert info["package_versions"]["bertopic"].startswith("0.17")


def test_store_round_trip(themed_result, tmp_path):
    store = tmp_path / "runs.duckdb"
    save_run(themed_result, store)
    loaded = load_run(store)
    assert loaded.run_id == themed_result.run_id
    pd.testing.assert_frame_equal(
        loaded.documents[[S.ROW_NUMBER, S.TICKET_ID, S.STATUS]],
        themed_result.documents[[S.ROW_NUMBER, S.TICKET_ID, S.STATUS]],
        check_dtype=False,
    )
    assert len(loaded.topic_outcomes) == len(themed_result.outcomes.to_frame())
    assert loaded.info["rows"] == len(themed_result.documents)
    assert list_runs(store)["run_id"].tolist() == [themed_result.run_id]
    delete_run(store, themed_result.run_id)
    assert list_runs(store).empty


def test_two_runs_kept_latest_loaded(themed_csv, settings, embedder, tmp_path):
    store = tmp_path / "runs.duckdb"
    first = run_analysis(themed_csv, settings, embedder=embedder)
    second = run_analysis(themed_csv, settings, embedder=embedder)
    save_run(first, store)
    save_run(second, store)
    assert len(list_runs(store)) == 2
    assert load_run(store, first.run_id).run_id == first.run_id


def test_pii_never_reaches_outputs(tmp_path, settings, embedder, themed_frame):
    frame = themed_frame.drop(columns="theme").copy()
    frame.loc[0, "反馈内容"] += " 我的电话13912345678 邮箱 wang.fang@example.com"
    path = tmp_path / "pii.csv"
    frame.to_csv(path, index=False)
    result = run_analysis(path, settings, embedder=embedder)
    out = tmp_path / "out"
    write_outputs(result, out)
    store = tmp_path / "runs.duckdb"
    save_run(result, store)
    for file in out.iterdir():
        content = file.read_bytes()
        assert b"13912345678" not in content, file
        assert b"wang.fang" not in content, file
    assert b"13912345678" not in store.read_bytes()


def test_demo_sample_with_hashing_embedder(settings, embedder):
    result = run_analysis(SAMPLE_PATH, settings, embedder=embedder)
    assert len(result.documents) == len(pd.read_csv(SAMPLE_PATH, dtype=str, keep_default_na=False))
    assert result.info["rows_by_status"]["no_content"] > 0
    assert result.info["rows_by_status"]["duplicate"] > 0
    assert result.outcomes.n_customers == 600


def test_cli_analyze_and_summary(themed_csv, tmp_path, monkeypatch):
    from painpoints.cli import app

    monkeypatch.setenv("PAINPOINTS_HOME", str(tmp_path / "home"))
    result = CliRunner().invoke(app, [
        "analyze", str(themed_csv), "--embedding", "hashing", "--min-topic-size", "5",
        "--out", str(tmp_path / "out"), "--store", str(tmp_path / "runs.duckdb"), "--lang-ui", "en",
    ])
    assert result.exit_code == 0, result.output
    assert "Top topics by churn lift" in result.output
    assert "Rows: 40 = topic" in result.output
    assert "population: customers with at least one non-rejected feedback row" in result.output
    assert (tmp_path / "out" / "topic_outcomes.csv").is_file()


def test_cli_data_error_is_a_message(tmp_path):
    from painpoints.cli import app

    path = tmp_path / "bad.csv"
    path.write_text("text,churn\nslow parcel,maybe\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["analyze", str(path), "--embedding", "hashing", "--lang-ui", "zh",
                                      "--out", str(tmp_path / "out"), "--store", str(tmp_path / "s.duckdb")])
    assert result.exit_code == 2
    assert "不是可识别的流失标记" in result.output
    assert "Traceback" not in result.output


def test_cli_help_in_chinese():
    import subprocess
    import sys

    english = subprocess.run([sys.executable, "-m", "painpoints.cli", "analyze", "--help", "--lang-ui", "en"],
                             capture_output=True, text=True, env={"COLUMNS": "200", "PATH": ""}, check=True)
    chinese = subprocess.run([sys.executable, "-m", "painpoints.cli", "analyze", "--help", "--lang-ui", "zh"],
                             capture_output=True, text=True, env={"COLUMNS": "200", "PATH": ""}, check=True)
    assert "Column with the feedback text" in english.stdout
    assert "反馈文本所在列" in chinese.stdout


def test_unknown_covariate_is_a_data_error(themed_csv, settings, embedder):
    from dataclasses import replace

    from painpoints.errors import InputDataError

    with pytest.raises(InputDataError, match=r"Covariate column 'tenure' is not in .*Columns in the file: 工单编号, 客户ID, 反馈内容, 是否流失\."):
        run_analysis(themed_csv, replace(settings, covariates=("tenure",)), embedder=embedder)
