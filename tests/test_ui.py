"""Viewer tests: the ``ui/_view.py`` helpers, and ``ui/app.py`` run through Streamlit's AppTest.

The app tests build a real run from the 40-row themed CSV with the hashing embedder,
save it to a DuckDB store under ``tmp_path`` and pass that store to the app through
``PAINPOINTS_STORE``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from painpoints import schema as S
from painpoints.errors import StoreError
from painpoints.i18n import tr
from painpoints.pipeline import run_analysis
from painpoints.store import list_runs, load_run, save_run
from ui import _view

APP_PATH = Path(__file__).resolve().parents[1] / "ui" / "app.py"


# --- formatting helpers ----------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [
    (0.7, "70.0%"),
    (0.36666, "36.7%"),
    (0.0, "0.0%"),
    (1.0, "100.0%"),
    (12.3456, "1,234.6%"),
    (float("nan"), "–"),
    (None, "–"),
])
def test_format_percent(value, expected):
    assert _view.format_percent(value) == expected


@pytest.mark.parametrize("value, expected", [
    (0, "0"),
    (999, "999"),
    (12345, "12,345"),
    (1234567, "1,234,567"),
    (float("nan"), "–"),
    (pd.NA, "–"),
])
def test_format_count(value, expected):
    assert _view.format_count(value) == expected


@pytest.mark.parametrize("value, low, high, expected", [
    (1.8, 1.2, 2.7, "1.80 (1.20–2.70)"),
    (4.030303, 0.861482, 18.855113, "4.03 (0.86–18.86)"),
    (1234.5, 10.0, 20000.0, "1,234.50 (10.00–20,000.00)"),
    (1.8, float("nan"), 2.7, "1.80"),
    (float("nan"), float("nan"), float("nan"), "–"),
])
def test_format_ratio_ci(value, low, high, expected):
    assert _view.format_ratio_ci(value, low, high) == expected


def test_format_money_and_p_value():
    assert _view.format_money(12345.6) == "12,346"
    assert _view.format_money(float("nan")) == "–"
    assert _view.format_p_value(0.000123456) == "0.000123"
    assert _view.format_p_value(0.28019) == "0.28"
    assert _view.format_p_value(float("nan")) == "–"


def test_escape_markdown():
    assert _view.escape_markdown("a_b *c* $5 [x](y) `z` <i> #1 | ~") == (
        r"a\_b \*c\* \$5 \[x\](y) \`z\` \<i\> \#1 \| \~")
    assert _view.escape_markdown("快递 · 物流 · 三天 1.5%") == "快递 · 物流 · 三天 1.5%"


# --- plain-language findings ----------------------------------------------------------


def _outcome_row(topic_id: int, label: str, lift: float, q_value: float, small_group: bool = False,
                 churn_rate: float = 0.5) -> dict:
    return {S.TOPIC_ID: topic_id, "label": label, "customers": 120, "churned": 60, "churn_rate": churn_rate,
            "baseline_rate": 0.2, "lift": lift, "odds_ratio": 1.8,
            "or_ci_low": 1.2, "or_ci_high": 2.7, "p_value": q_value / 2, "q_value": q_value,
            "small_group": small_group, "revenue_at_risk": float("nan")}


def test_churn_finding_english():
    row = _outcome_row(0, "refund · delay", lift=2.345, q_value=0.01, churn_rate=0.4567)
    assert _view.churn_finding(row, "en") == (
        'Customers who mention "refund · delay" churn at 45.7%, 2.35 times the rate of other customers '
        "(odds ratio 95% CI 1.20–2.70).")


def test_churn_finding_chinese():
    row = _outcome_row(0, "退款 · 到账", lift=2.345, q_value=0.01, churn_rate=0.4567)
    assert _view.churn_finding(row, "zh") == (
        "提到「退款 · 到账」的客户流失率为 45.7%，是其他客户的 2.35 倍（优势比 95% 置信区间 1.20–2.70）。")


def test_churn_findings_filters_and_orders():
    outcomes = pd.DataFrame([
        _outcome_row(0, "lift 1.5", lift=1.5, q_value=0.01),
        _outcome_row(1, "small group", lift=9.0, q_value=0.001, small_group=True),
        _outcome_row(2, "not significant", lift=8.0, q_value=0.05),
        _outcome_row(3, "lift 3", lift=3.0, q_value=0.02),
        _outcome_row(S.UNCLUSTERED, "Unclustered", lift=7.0, q_value=0.001),
        _outcome_row(S.NO_CONTENT_TOPIC, "No content", lift=6.0, q_value=0.001),
        _outcome_row(4, "lift unknown", lift=float("nan"), q_value=0.001),
        _outcome_row(5, "lift 2", lift=2.0, q_value=0.03),
        _outcome_row(6, "lift 1.2", lift=1.2, q_value=0.04),
    ])
    findings = _view.churn_findings(outcomes, "en")
    assert len(findings) == 3
    assert '"lift 3"' in findings[0]
    assert '"lift 2"' in findings[1]
    assert '"lift 1.5"' in findings[2]


def test_churn_findings_empty_table():
    assert _view.churn_findings(pd.DataFrame(columns=list(S.OUTCOME_COLUMNS)), "zh") == []


# --- table and verbatim helpers --------------------------------------------------------


def test_outcome_table_frame_sorts_and_translates():
    outcomes = pd.DataFrame([
        _outcome_row(0, "low", lift=0.5, q_value=0.2),
        _outcome_row(S.UNCLUSTERED, "Unclustered", lift=float("nan"), q_value=float("nan")),
        _outcome_row(1, "high", lift=2.5, q_value=0.01),
    ])
    table = _view.outcome_table_frame(outcomes, "zh")
    headers = _view.outcome_headers("zh")

    assert list(table.columns) == [tr(key, "zh") for key in _view.OUTCOME_HEADER_KEYS.values()]
    assert table[headers[S.TOPIC_ID]].tolist() == [1, 0, S.UNCLUSTERED]
    assert table[headers["label"]].tolist() == ["high", "low", "未归类"]
    assert table[headers["odds_ratio"]].tolist() == ["1.80 (1.20–2.70)"] * 3
    assert table[headers["churn_rate"]].dtype.kind == "f"


def test_outcome_table_formats():
    formats = _view.outcome_table_formats("en")
    assert formats["Churn rate"](0.25) == "25.0%"
    assert formats["Customers"](1234) == "1,234"
    assert formats["Small group"](True) == "✓"
    assert formats["Small group"](False) == ""
    assert set(formats) <= set(_view.outcome_headers("en").values())


def test_display_label_translates_special_lines():
    assert _view.display_label(S.UNCLUSTERED, "Unclustered", "zh") == "未归类"
    assert _view.display_label(S.UNCLUSTERED, "未归类", "en") == "Unclustered"
    assert _view.display_label(S.NO_CONTENT_TOPIC, "x", "en") == tr("topics.no_content_label", "en")
    assert _view.display_label(3, "退款 · 到账", "en") == "退款 · 到账"


def test_topic_rows_skips_rows_without_topic():
    documents = pd.DataFrame({
        S.TICKET_ID: ["a", "b", "c", "d"],
        S.CUSTOMER_ID: ["1", "2", "3", "4"],
        S.TEXT: ["Refund late", "app crash", "", "REFUND never came"],
        S.CHURNED: [True, False, pd.NA, True],
        S.DATE: pd.to_datetime(["2024-01-01", None, None, "2024-02-01"]),
        S.TOPIC_ID: pd.array([0, 1, pd.NA, 0], dtype="Int64"),
    })
    rows = _view.topic_rows(documents, 0)
    assert rows[S.TICKET_ID].tolist() == ["a", "d"]
    assert list(rows.columns) == [S.TICKET_ID, S.CUSTOMER_ID, S.TEXT, S.SENTIMENT, S.SENTIMENT_LABEL, S.CHURNED, S.DATE]
    assert _view.topic_rows(documents, None).empty


def test_search_rows_ignores_case():
    rows = pd.DataFrame({S.TEXT: ["Refund late", "app crash", "REFUND never came", None]})
    assert _view.search_rows(rows, "refund")[S.TEXT].tolist() == ["Refund late", "REFUND never came"]
    assert _view.search_rows(rows, "  Crash ")[S.TEXT].tolist() == ["app crash"]
    assert len(_view.search_rows(rows, "")) == 4
    assert _view.search_rows(rows, "(").empty


def test_rows_caption():
    assert _view.rows_caption(1234, 1234, " ", "en") == "1,234 rows in this topic"
    assert _view.rows_caption(10, 6, "到账", "zh") == "该话题共 10 行，其中 6 行包含“到账”"


def test_store_error_message_escapes_values():
    error = StoreError("store.not_found", path="/data/_runs_/x.duckdb")
    assert _view.store_error_message(error, "en").startswith(r"Run store not found: /data/\_runs\_/x.duckdb.")


# --- store path -------------------------------------------------------------------------


def test_store_path_argument_wins():
    assert _view.resolve_store_path(["--store", "/from/argv.duckdb"], {_view.STORE_ENV: "/env"}) == Path(
        "/from/argv.duckdb")
    assert _view.resolve_store_path(["--store=/a.duckdb"], {}) == Path("/a.duckdb")


def test_store_path_env_then_default(monkeypatch, tmp_path):
    assert _view.resolve_store_path(["-q"], {_view.STORE_ENV: "/from/env.duckdb"}) == Path("/from/env.duckdb")
    monkeypatch.setenv("PAINPOINTS_HOME", str(tmp_path))
    assert _view.resolve_store_path(["--store"], {}) == tmp_path / "runs.duckdb"


def test_read_run_list_without_runs_table(tmp_path):
    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    assert _view.read_run_list(path).empty
    with pytest.raises(StoreError):
        _view.read_run_list(tmp_path / "missing.duckdb")


# --- the app through AppTest -------------------------------------------------------------
#
# The app is a multipage app whose pages are callables (``st.Page(render, url_path=...)``).
# AppTest.switch_page() reaches only file pages, so the tests drive the app in two ways.
# ``_start`` runs ui/app.py itself: sidebar, run select and the start page (Overview with
# runs). ``run_page`` runs one page's ``render`` through AppTest.from_function, with the
# run loaded from the store as ui/app.py passes it.


@pytest.fixture
def store(tmp_path, themed_csv, settings) -> Path:
    path = tmp_path / "runs.duckdb"
    save_run(run_analysis(themed_csv, settings), path)
    return path


def _start(monkeypatch, store_path: Path, language: str = "en") -> AppTest:
    monkeypatch.setenv(_view.STORE_ENV, str(store_path))
    monkeypatch.setenv("PAINPOINTS_LANG", language)
    app = AppTest.from_file(str(APP_PATH), default_timeout=60)
    app.run()
    return app


def _render_page(module_name: str, ui_dir: str, store: str, language: str, run_id: str | None) -> None:
    # AppTest.from_function runs this function's source as a script, so it imports what it needs.
    import importlib
    import sys
    from pathlib import Path

    from painpoints.store import load_run

    if ui_dir not in sys.path:
        sys.path.insert(0, ui_dir)
    page = importlib.import_module(module_name)
    run = load_run(store, run_id) if run_id else None
    page.render(Path(store), language, run)


def run_page(module_name: str, store_path: Path, language: str = "en", run_id: str | None = None,
             missing_run: bool = False) -> AppTest:
    """Run ``ui/<module_name>.py``'s ``render`` in AppTest with a run of ``store_path``.

    ``run_id`` None picks the newest run; ``missing_run`` passes no run at all.
    """
    if run_id is None and not missing_run:
        run_id = list_runs(store_path)["run_id"][0]
    app = AppTest.from_function(_render_page, default_timeout=60, kwargs={
        "module_name": module_name, "ui_dir": str(APP_PATH.parent), "store": str(store_path),
        "language": language, "run_id": run_id})
    app.run()
    return app


def _captions(app: AppTest) -> list[str]:
    return [element.value for element in app.caption]


def _display_values(app: AppTest, index: int) -> pd.DataFrame:
    """Return the text Streamlit shows for a styled dataframe (the Styler's display values)."""
    styler = app.dataframe[index].proto.arrow_data.styler
    return pa.ipc.open_stream(styler.display_values).read_all().to_pandas()


def test_app_shows_run_overview(monkeypatch, store):
    app = _start(monkeypatch, store)
    run = load_run(store)

    assert not app.exception
    assert app.title[0].value == tr("ui.page_overview", "en")
    assert app.markdown[0].value == _view.escape_markdown(_view.run_summary(run.run_id, run.info, "en"))
    assert "Rows: 40 = topic 40 + unclustered 0 + no content 0 + duplicate 0 + rejected 0" in _captions(app)


def test_app_opens_the_run_a_page_asked_for(monkeypatch, store, themed_csv, settings):
    save_run(run_analysis(themed_csv, settings), store)
    app = _start(monkeypatch, store)
    selected = app.session_state["run"]
    other = next(run_id for run_id in list_runs(store)["run_id"] if run_id != selected)

    app.session_state["open_run"] = other
    app.run()

    assert not app.exception
    assert app.session_state["run"] == other
    assert "open_run" not in app.session_state


def test_churn_table_lists_topics(store):
    app = run_page("page_churn", store)
    run = load_run(store)
    table = app.dataframe[0].value
    outcomes = run.topic_outcomes

    assert not app.exception
    assert sorted(table["Topic id"]) == sorted(outcomes[S.TOPIC_ID])
    assert set(table["Label"]) == set(outcomes["label"])
    assert table["Lift"].tolist() == sorted(outcomes["lift"], reverse=True)
    assert list(table.columns) == list(_view.outcome_headers("en").values())


def test_churn_table_formats_numbers(store):
    app = run_page("page_churn", store)
    outcomes = _view.sort_by_lift(load_run(store).topic_outcomes)
    displayed = _display_values(app, 0)

    assert displayed["Churn rate"].tolist() == [_view.format_percent(rate) for rate in outcomes["churn_rate"]]
    assert displayed["Odds ratio (95% CI)"].tolist() == [
        _view.format_ratio_ci(row.odds_ratio, row.or_ci_low, row.or_ci_high) for row in outcomes.itertuples()]


def test_churn_reports_no_findings_for_small_groups(store):
    app = run_page("page_churn", store)
    assert load_run(store).topic_outcomes["small_group"].all()
    assert tr("ui.no_findings", "en") in _captions(app)


def test_app_switches_to_chinese(monkeypatch, store):
    app = _start(monkeypatch, store)
    app.radio(key="language").set_value("zh").run()

    assert not app.exception
    assert app.title[0].value == "概览"
    assert app.selectbox(key="run").label == "运行"


def test_pages_in_chinese(store):
    churn = run_page("page_churn", store, language="zh")
    verbatims = run_page("page_verbatims", store, language="zh")

    assert not churn.exception
    assert not verbatims.exception
    assert churn.title[0].value == "话题与流失"
    assert list(churn.dataframe[0].value.columns) == [
        "话题编号", "话题标签", "客户数", "流失数", "流失率", "其他客户流失率", "提升倍数",
        "q 值（FDR）", "小样本", "风险收入", "优势比（95% 置信区间）", "p 值", "平均情感", "负面占比"]
    assert list(verbatims.dataframe[0].value.columns) == [
        "工单编号", "客户 ID", "反馈内容", "情感得分", "情感类别", "是否流失", "日期"]


def _notes_expander(app: AppTest, language: str, count: int):
    label = tr("ui.outcome_notes", language, count=count)
    found = [expander for expander in app.expander if expander.label == label]
    assert len(found) == 1, [expander.label for expander in app.expander]
    return found[0]


def test_churn_shows_outcome_notes(store):
    app = run_page("page_churn", store)
    notes = load_run(store).info["outcomes"]["messages"]

    assert not app.exception
    expander = _notes_expander(app, "en", len(notes))
    assert [element.value for element in expander.markdown] == [
        "- " + _view.escape_markdown(note["en"]) for note in notes]
    assert expander.markdown[0].value == "- population: customers with at least one non-rejected feedback row"


def test_churn_outcome_notes_in_chinese(store):
    app = run_page("page_churn", store, language="zh")
    notes = load_run(store).info["outcomes"]["messages"]

    assert not app.exception
    expander = _notes_expander(app, "zh", len(notes))
    assert [element.value for element in expander.markdown] == [
        "- " + _view.escape_markdown(note["zh"]) for note in notes]
    assert expander.markdown[0].value == "- 总体：至少有一行未被剔除的反馈的客户"


def test_churn_outcome_notes_of_legacy_run(tmp_path, themed_csv, settings):
    result = run_analysis(themed_csv, settings)
    legacy = ["population: customers with at least one non-rejected feedback row", "topic(s) [0]: a note"]
    result.info["outcomes"]["messages"] = legacy
    path = tmp_path / "runs.duckdb"
    save_run(result, path)
    app = run_page("page_churn", path, language="zh")

    assert not app.exception
    expander = _notes_expander(app, "zh", 2)
    assert [element.value for element in expander.markdown] == [
        "- " + _view.escape_markdown(note) for note in legacy]


def test_app_language_defaults_to_environment(monkeypatch, store):
    app = _start(monkeypatch, store, language="zh")
    assert app.radio(key="language").value == "zh"
    assert app.title[0].value == tr("ui.page_overview", "zh")


def test_initial_language_order(monkeypatch):
    monkeypatch.setenv("PAINPOINTS_LANG", "en")
    assert _view.initial_language({"PAINPOINTS_LANG": "en"}, "zh-CN") == "en"
    monkeypatch.delenv("PAINPOINTS_LANG")
    monkeypatch.setenv("LC_ALL", "en_US.UTF-8")
    assert _view.initial_language({}, "zh-CN") == "zh"
    assert _view.initial_language({}, "en-GB") == "en"
    assert _view.initial_language({}, "fr-FR") == "en"
    assert _view.initial_language({}, None) == "en"


def test_verbatims_topic_shows_its_rows(store):
    app = run_page("page_verbatims", store)
    run = load_run(store)
    topic_options = app.selectbox(key="topic").options

    assert len(topic_options) == len(run.topics)
    for topic_id, expected_rows in zip(run.topics[S.TOPIC_ID], run.topics["rows"]):
        app.selectbox(key="topic").set_value(int(topic_id)).run()
        displayed = app.dataframe[0].value
        assert not app.exception
        assert len(displayed) == expected_rows, f"topic {topic_id}"
        assert tr("ui.rows_in_topic", "en", count=expected_rows) in _captions(app)
        texts = run.documents.loc[run.documents[S.TOPIC_ID] == topic_id, S.TEXT]
        assert sorted(displayed["Feedback"]) == sorted(texts)


def test_verbatims_search_filters_rows(store):
    app = run_page("page_verbatims", store)
    documents = load_run(store).documents
    refund_topic = int(documents.loc[documents[S.TEXT].str.contains("退款"), S.TOPIC_ID].mode()[0])
    in_topic = documents[documents[S.TOPIC_ID] == refund_topic]
    expected = in_topic[in_topic[S.TEXT].str.contains("到账")][S.TEXT].tolist()

    app.selectbox(key="topic").set_value(refund_topic).run()
    app.text_input(key="search").set_value("到账").run()
    displayed = app.dataframe[0].value

    assert not app.exception
    assert len(expected) > 0
    assert len(expected) < len(in_topic)
    assert sorted(displayed["Feedback"]) == sorted(expected)
    caption = tr("ui.rows_matching", "en", shown=len(expected), count=len(in_topic), query="到账")
    assert caption in _captions(app)


def test_verbatims_search_without_match_shows_no_rows(store):
    app = run_page("page_verbatims", store)
    app.text_input(key="search").set_value("no such words").run()
    assert not app.exception
    assert app.dataframe[0].value.empty


def test_app_run_select_lists_newest_first(monkeypatch, store, themed_csv, settings):
    save_run(run_analysis(themed_csv, settings), store)
    runs = list_runs(store)
    app = _start(monkeypatch, store)
    select = app.selectbox(key="run")

    assert select.options == [f"{row.run_id} · {Path(row.input_path).name}" for row in runs.itertuples()]
    assert select.value == runs["run_id"][0]

    older = runs["run_id"][1]
    select.set_value(older).run()
    assert not app.exception
    assert older in app.markdown[0].value


def test_app_store_argument_wins_over_env(monkeypatch, store, tmp_path):
    monkeypatch.setattr(sys, "argv", [str(APP_PATH), "--store", str(store)])
    app = _start(monkeypatch, tmp_path / "missing.duckdb")

    assert not app.exception
    assert not app.info
    assert load_run(store).run_id in app.markdown[0].value


def test_app_missing_store_shows_no_runs(monkeypatch, tmp_path):
    missing = tmp_path / "missing.duckdb"
    app = _start(monkeypatch, missing)

    assert not app.exception
    assert _view.no_runs_message(missing, "en") in [element.value for element in app.info]
    assert app.title[0].value == tr("ui.page_upload", "en")


def test_app_empty_store_shows_no_runs(monkeypatch, tmp_path):
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    app = _start(monkeypatch, empty)

    assert not app.exception
    assert _view.no_runs_message(empty, "en") in [element.value for element in app.info]


def test_app_unreadable_store_shows_error(monkeypatch, tmp_path):
    broken = tmp_path / "broken.duckdb"
    broken.write_text("not a database", encoding="utf-8")
    app = _start(monkeypatch, broken)

    assert not app.exception
    assert len(app.error) == 1
    assert app.error[0].value.startswith("Cannot open the run store")


@pytest.mark.parametrize("module_name", ["page_overview", "page_churn", "page_verbatims", "page_trends"])
def test_reading_pages_without_run(tmp_path, module_name):
    missing = tmp_path / "missing.duckdb"
    app = run_page(module_name, missing, missing_run=True)

    assert not app.exception
    assert [element.value for element in app.info] == [_view.no_runs_message(missing, "en")]


def test_run_without_outcome(tmp_path, themed_frame, settings):
    feedback = tmp_path / "no_outcome.csv"
    themed_frame.drop(columns=["theme", "是否流失"]).to_csv(feedback, index=False, encoding="utf-8")
    path = tmp_path / "runs.duckdb"
    save_run(run_analysis(feedback, settings), path)
    churn = run_page("page_churn", path)
    verbatims = run_page("page_verbatims", path)

    assert not churn.exception
    assert [element.value for element in churn.info] == [tr("ui.no_outcome", "en")]
    assert not churn.dataframe
    assert not verbatims.exception
    assert len(verbatims.dataframe[0].value) == load_run(path).topics["rows"][0]
    assert not [radio for radio in verbatims.radio if radio.key == "churned"]


def test_rows_with_several_topics():
    memberships = pd.DataFrame({S.ROW_NUMBER: [1, 1, 2, 3, 3, 3], S.TOPIC_ID: [0, 1, 0, 2, 0, 1]})
    assert _view.rows_with_several_topics(memberships) == 2
    assert _view.rows_with_several_topics(pd.DataFrame(columns=[S.ROW_NUMBER, S.TOPIC_ID])) == 0


def test_comparable_runs_put_the_same_file_first():
    runs = pd.DataFrame({"run_id": ["r4", "r3", "r2", "r1"],
                         "input_path": ["/a/waimai.csv", "demo.csv", "waimai.csv", "/b/waimai.csv"]})
    assert _view.comparable_runs(runs, "r4") == ["r2", "r1", "r3"]
    assert _view.comparable_runs(runs, "r3") == ["r4", "r2", "r1"]


def test_row_unit_notice_only_without_customer_column():
    row_run = {"outcomes": {"unit": "row"}, "column_mapping": {"outcome": "label"}}
    assert "label" in _view.row_unit_notice(row_run, "zh")
    assert _view.row_unit_notice(row_run, "en").startswith("This file has no customer column")
    assert _view.row_unit_notice({"outcomes": {"unit": "customer"}}, "en") is None
    assert _view.row_unit_notice({}, "en") is None


def test_pages_show_row_unit_notice(tmp_path, themed_frame, settings):
    export = tmp_path / "reviews.csv"
    themed_frame.drop(columns=["theme", "客户ID"]).to_csv(export, index=False)
    path = tmp_path / "runs.duckdb"
    save_run(run_analysis(export, settings), path)
    notice = _view.row_unit_notice(load_run(path).info, "zh")

    for page in ("page_churn", "page_overview"):
        app = run_page(page, path, language="zh", run_id=load_run(path).run_id)
        assert not app.exception
        assert [box.value for box in app.info][0] == _view.escape_markdown(notice)
