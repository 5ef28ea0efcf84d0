"""Upload & run page: file checks, settings, progress, the run saved to the store, Stop.

The page is a callable page of ``ui/app.py``, so the AppTest cases run its ``render``
through ``AppTest.from_function`` (see ``ui_page_script``); AppTest's
``file_uploader`` in Streamlit 1.67 accepts uploaded bytes.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from painpoints import store as store_module
from painpoints.errors import InputDataError, SettingsError
from painpoints.pipeline import STAGES
from painpoints.settings import MAX_UPLOAD_MB, ColumnMapping
from painpoints.store import list_runs, load_run
from tests.ui_pages import UI_DIR, themed_csv_bytes, ui_page_script
from ui import _upload, _view

APP_PATH = UI_DIR / "app.py"


class StopPressed(Exception):
    """Stands for the exception Streamlit raises in a script whose Stop button was pressed."""


# --- upload and analyse ----------------------------------------------------------------


def test_analyse_upload_saves_run(themed_csv, embedder, tmp_path):
    store = tmp_path / "runs.duckdb"
    run_id = _upload.analyse_upload(themed_csv.read_bytes(), "工单导出.csv", store, embedder=embedder,
                                    cache_dir=tmp_path / "cache")
    assert list_runs(store)["run_id"].tolist() == [run_id]
    run = load_run(store, run_id)
    assert len(run.documents) == 40
    assert run.info["input_path"] == "工单导出.csv"
    assert not run.topic_outcomes.empty


def test_analyse_upload_reports_bad_outcome(tmp_path, embedder):
    data = "反馈内容,是否流失\n快递太慢,也许\n退款没到,是\n".encode()
    with pytest.raises(InputDataError, match=r"工单\.csv.*--event-value") as raised:
        _upload.analyse_upload(data, "工单.csv", tmp_path / "runs.duckdb", embedder=embedder,
                               cache_dir=tmp_path / "cache")
    # The message names the uploaded file, not the temporary folder it was written to.
    assert "painpoints-upload-" not in raised.value.message("en")
    assert "工单.csv" in raised.value.message("zh")


def test_upload_types_cover_formats():
    assert {"csv", "tsv", "xlsx", "parquet", "jsonl"} <= set(_upload.UPLOAD_TYPES)
    assert _upload.embedding_choices()[:1] == ["auto"]
    assert {"e5-multilingual", "hashing"} <= set(_upload.embedding_choices())


@pytest.mark.parametrize("language, expected", [
    ("en", f"Files up to {MAX_UPLOAD_MB} MB can be uploaded here. For larger exports run: painpoints analyze"),
    ("zh", f"此处可上传不超过 {MAX_UPLOAD_MB} MB 的文件。更大的导出文件请运行：painpoints analyze"),
])
def test_page_states_upload_limit(tmp_path, monkeypatch, language, expected):
    monkeypatch.setenv(_view.STORE_ENV, str(tmp_path / "missing.duckdb"))
    monkeypatch.setenv("PAINPOINTS_LANG", language)
    app = AppTest.from_file(str(APP_PATH), default_timeout=60).run()
    assert not app.exception
    captions = [element.value for element in app.caption]
    assert any(caption.startswith(expected) for caption in captions), captions


# --- inspecting a file before the run --------------------------------------------------

PROBLEM_CSV = (
    "工单编号,客户ID,反馈内容,是否流失,月消费\n"
    "T1,C1,快递太慢了三天没到,是,100\n"
    "T2,,退款一直没到账,否,80\n"
    "T3,C3,,否,90\n"
    "T4,C4,客服电话打不通,也许,70\n"
    + "".join(f"T{n},C{n},应用闪退第{n}次,否,60\n" for n in range(5, 25))
)


def test_inspect_upload_maps_and_lists_problems():
    check = _upload.inspect_upload(PROBLEM_CSV.encode("gbk"), "工单.csv")
    assert check.mapping == ColumnMapping(text="反馈内容", ticket_id="工单编号", customer_id="客户ID",
                                          outcome="是否流失", value="月消费")
    assert check.encoding == "gb18030"
    assert check.file_format == "csv"
    assert check.rows == 24
    assert check.columns == ["工单编号", "客户ID", "反馈内容", "是否流失", "月消费"]
    assert check.preview["反馈内容"].iloc[0] == "快递太慢了三天没到"
    assert check.error is None
    assert check.unknown_values == {"也许": 1}
    assert check.outcome_values == ["也许", "否", "是"]
    reasons = dict(zip(check.problems["row_number"], check.problems["reason"]))
    assert reasons == {2: "missing_customer_id", 3: "empty_text", 4: "unknown_outcome_value"}


def test_problem_table_translates_reasons():
    check = _upload.inspect_upload(PROBLEM_CSV.encode(), "工单.csv")
    table = _upload.problem_table(check.problems, "zh")
    assert list(table.columns) == ["行号", "列", "取值", "原因"]
    assert table["原因"].tolist() == ["缺少客户 ID", "没有文本", "结果列的取值无法识别"]
    assert table["行号"].tolist() == [2, 3, 4]


def test_inspect_upload_keeps_preview_when_outcome_unreadable():
    data = "反馈内容,状态\n" + "".join(f"第{n}条反馈,{'好' if n % 2 else '坏'}\n" for n in range(30))
    check = _upload.inspect_upload(data.encode(), "反馈.csv", ColumnMapping(outcome="状态"))
    assert check.error is not None and check.error.key == "ingest.ambiguous_outcome"
    assert check.outcome_values == ["坏", "好"]
    assert len(check.preview) == _upload.PREVIEW_ROWS
    fixed = _upload.inspect_upload(data.encode(), "反馈.csv", ColumnMapping(outcome="状态"), event_value="坏")
    assert fixed.error is None
    assert fixed.unknown_values == {}


def test_inspect_upload_rejects_unknown_column():
    with pytest.raises(InputDataError) as raised:
        _upload.inspect_upload(PROBLEM_CSV.encode(), "工单.csv", ColumnMapping(text="备注"))
    assert raised.value.key == "ingest.column_not_found"


def test_build_settings_turns_empty_choices_into_auto():
    settings = _upload.build_settings({"text": "反馈内容", "outcome": "", "value": None}, event_value="",
                                      min_topic_size=0, covariates=["地区"], segments=["渠道"], score_col="")
    assert settings.columns == ColumnMapping(text="反馈内容")
    assert settings.event_value is None
    assert settings.min_topic_size is None
    assert settings.covariates == ("地区",)
    assert settings.segment_cols == ("渠道",)
    assert settings.score_col is None
    with pytest.raises(SettingsError):
        _upload.build_settings({"text": "反馈内容"}, min_topic_size=1)


# --- progress -------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_tracker_rate_and_time_left():
    clock = FakeClock()
    tracker = _upload.ProgressTracker(clock)
    first = tracker.update("embed", 0, 1000)
    assert first.rate is None
    assert first.seconds_left is None
    assert first.fraction == 0.0
    clock.now += 4.0
    middle = tracker.update("embed", 200, 1000)
    assert middle.rate == pytest.approx(50.0)
    assert middle.seconds_left == pytest.approx(16.0)
    assert middle.fraction == pytest.approx(0.2)
    clock.now += 1.0
    # A new stage restarts the rate.
    assert tracker.update("topics", 0, 4).rate is None
    done = tracker.update("topics", 4, 4)
    assert done.fraction == 1.0
    assert done.seconds_left == 0.0


@pytest.mark.parametrize("seconds, language, expected", [
    (0.2, "en", "1 s"), (59, "en", "59 s"), (65, "en", "1 min 5 s"), (125.5, "zh", "2 分 6 秒"),
])
def test_format_duration(seconds, language, expected):
    assert _upload.format_duration(seconds, language) == expected


def test_progress_text_in_both_languages():
    progress = _upload.StageProgress("embed", 1200, 5000, 0.24, 340.0, 11.2)
    steps = len(STAGES)
    assert STAGES.index("embed") == 2
    assert _upload.progress_text(progress, "en") == (
        f"Step 3 of {steps}: Embedding · 1,200 of 5,000 · 340 per second · about 12 s left")
    assert _upload.progress_text(progress, "zh") == (
        f"第 3/{steps} 步：向量化 · 已完成 1,200/5,000 · 每秒 340 条 · 预计还需 12 秒")
    assert _upload.overall_fraction(progress) == pytest.approx((2 + 0.24) / steps)


# --- Stop: an interrupted run leaves the store as it was -------------------------------


def test_stop_during_run_keeps_earlier_runs(themed_csv, embedder, tmp_path):
    store = tmp_path / "runs.duckdb"
    data = themed_csv.read_bytes()
    first = _upload.analyse_upload(data, "a.csv", store, embedder=embedder, cache_dir=tmp_path / "cache")
    stages = []

    def stop_at_topics(stage: str, done: int, total: int) -> None:
        stages.append(stage)
        if stage == "topics":
            raise StopPressed

    with pytest.raises(StopPressed):
        _upload.analyse_upload(data, "b.csv", store, embedder=embedder, cache_dir=tmp_path / "cache",
                               progress=stop_at_topics)
    assert "embed" in stages
    assert list_runs(store)["run_id"].tolist() == [first]


def test_stop_during_save_rolls_back(themed_csv, embedder, tmp_path, monkeypatch):
    store = tmp_path / "runs.duckdb"
    data = themed_csv.read_bytes()
    first = _upload.analyse_upload(data, "a.csv", store, embedder=embedder, cache_dir=tmp_path / "cache")
    insert = store_module._insert

    def insert_then_stop(connection, table, frame, run_id):
        insert(connection, table, frame, run_id)
        if table == "topics":
            raise StopPressed

    monkeypatch.setattr(store_module, "_insert", insert_then_stop)
    with pytest.raises(StopPressed):
        _upload.analyse_upload(data, "b.csv", store, embedder=embedder, cache_dir=tmp_path / "cache")
    assert list_runs(store)["run_id"].tolist() == [first]
    with duckdb.connect(str(store), read_only=True) as connection:
        run_ids = {run_id for (run_id,) in connection.execute("SELECT DISTINCT run_id FROM documents").fetchall()}
    assert run_ids == {first}


# --- the page through AppTest ---------------------------------------------------------


def upload_page(store: Path, language: str = "en") -> AppTest:
    return AppTest.from_function(ui_page_script, args=(str(UI_DIR), "page_upload", str(store), language, None),
                                 default_timeout=120)


def test_page_shows_mapping_and_problems(tmp_path):
    app = upload_page(tmp_path / "runs.duckdb").run()
    assert not app.exception
    assert app.info[0].value.startswith("Upload a feedback export")
    app.file_uploader(key="upload").upload("工单.csv", PROBLEM_CSV.encode(), "text/csv")
    app.run()
    assert not app.exception
    assert app.selectbox(key="upload_map_text_en").value == "反馈内容"
    assert app.selectbox(key="upload_map_outcome_en").value == "是否流失"
    assert app.selectbox(key="upload_map_date_en").value == ""
    assert any("24 rows, 5 columns · format CSV · encoding utf-8" in caption.value for caption in app.caption)
    assert any("也许 (1)" in warning.value for warning in app.warning)
    problems = app.dataframe[1].value
    assert problems["Row"].tolist() == [2, 3, 4]

    # Choosing the event value clears the unknown-value warning.
    app.selectbox(key="upload_event_en").set_value("是").run()
    assert not app.exception
    assert not any("也许" in warning.value for warning in app.warning)


@pytest.mark.parametrize("language, words", [("en", "never closed in these rows: 5"), ("zh", "未闭合的引号：5")])
def test_page_warns_of_unclosed_quote(tmp_path, language, words):
    lines = PROBLEM_CSV.split("\n")
    lines[5] = lines[5].replace("应用闪退", '"应用闪退')
    app = upload_page(tmp_path / "runs.duckdb", language).run()
    app.file_uploader(key="upload").upload("工单.csv", "\n".join(lines).encode(), "text/csv")
    app.run()
    assert not app.exception
    assert any(words in warning.value for warning in app.warning)
    assert any(_view.format_count(24) in caption.value for caption in app.caption)


def test_page_runs_upload_and_saves(tmp_path):
    store = tmp_path / "runs.duckdb"
    app = upload_page(store, "zh").run()
    app.file_uploader(key="upload").upload("工单.csv", themed_csv_bytes(), "text/csv")
    app.run()
    assert not app.exception
    app.selectbox(key="upload_model").set_value("hashing")
    app.number_input(key="upload_min_topic_size").set_value(5)
    app.toggle(key="upload_redact").set_value(False)
    app.button(key="upload_run").click().run()
    assert not app.exception
    runs = list_runs(store)["run_id"].tolist()
    assert len(runs) == 1
    assert app.session_state["open_run"] == runs[0]
    assert app.success[0].value.startswith(f"运行 {runs[0]} 已保存。")
    run = load_run(store, runs[0])
    assert run.info["settings"]["min_topic_size"] == 5
    assert run.info["settings"]["redact_pii"] is False
    assert run.info["embedding"]["model_id"] == "hashing"
    assert run.info["input_path"] == "工单.csv"


def test_page_shows_error_in_users_language(tmp_path):
    app = upload_page(tmp_path / "runs.duckdb", "zh").run()
    app.file_uploader(key="upload").upload("工单.xlsx", b"not a workbook", "application/octet-stream")
    app.run()
    assert not app.exception
    assert app.error[0].value.startswith("无法读取 工单.xlsx 中的表格")
    assert "painpoints-upload-" not in app.error[0].value


def test_page_blocks_run_until_event_value_chosen(tmp_path):
    data = "反馈内容,是否流失\n" + "".join(f"第{n}条反馈,{'好' if n % 2 else '坏'}\n" for n in range(30))
    app = upload_page(tmp_path / "runs.duckdb").run()
    app.file_uploader(key="upload").upload("反馈.csv", data.encode(), "text/csv")
    app.run()
    assert not app.exception
    assert "--event-value" in app.error[0].value
    assert app.button(key="upload_run").disabled
    app.selectbox(key="upload_event_en").set_value("坏").run()
    assert not app.exception
    assert not app.error
    assert not app.button(key="upload_run").disabled
