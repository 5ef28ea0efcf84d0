"""Runs & export page: the run list, downloads as CSV and XLSX (formula-safe, same rows),
comparing two runs, opening a run and deleting one after confirmation.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from streamlit.testing.v1 import AppTest

from painpoints import schema as S
from painpoints.store import list_runs, load_run
from tests.ui_pages import UI_DIR, build_store, copied_store, page_app
from ui import _export

FORMULA_TEXTS = ('=HYPERLINK("http://example.com") 快递太慢了物流不更新', "@SUM(A1) 退款一直没到账",
                 "+客服电话打不通怎么办", "-退款被拒绝了理由莫名其妙")


@pytest.fixture(scope="module")
def base_store(tmp_path_factory) -> tuple[Path, list[str]]:
    return build_store(tmp_path_factory.mktemp("runs-store"), runs=2, extra_texts=FORMULA_TEXTS)


@pytest.fixture
def store(base_store, tmp_path) -> tuple[Path, str, str]:
    """A copy of the module's store: (path, earlier run id, later run id)."""
    return copied_store(base_store, tmp_path)


def runs_page(store: Path, run_id: str | None, language: str = "en") -> AppTest:
    return page_app(store, "page_runs", run_id, language)


def downloads(run) -> dict[str, bytes]:
    return {download.kind: download.make() for download in _export.table_downloads(run)}


def test_csv_downloads_round_trip(base_store):
    path, (_, run_id) = base_store
    run = load_run(path, run_id)
    files = downloads(run)
    assert set(files) == {"outcomes_csv", "outcomes_xlsx", "documents_csv", "documents_xlsx"}
    assert files["documents_csv"].startswith("\ufeff".encode())
    documents = pd.read_csv(io.BytesIO(files["documents_csv"]), encoding="utf-8-sig", keep_default_na=False)
    assert documents[S.ROW_NUMBER].tolist() == run.documents[S.ROW_NUMBER].tolist()
    assert list(documents.columns) == list(run.documents.columns)
    # Formula-like texts come back with one leading apostrophe; the others as they were.
    texts = documents[S.TEXT].tolist()
    expected = ["'" + text if text.startswith(("=", "+", "-", "@")) else text for text in run.documents[S.TEXT]]
    assert texts == expected
    assert sum(text.startswith("'") for text in texts) == len(FORMULA_TEXTS)
    outcomes = pd.read_csv(io.BytesIO(files["outcomes_csv"]), encoding="utf-8-sig")
    assert outcomes[S.TOPIC_ID].tolist() == run.topic_outcomes[S.TOPIC_ID].tolist()
    assert outcomes["customers"].tolist() == run.topic_outcomes["customers"].tolist()


def test_xlsx_downloads_are_formula_safe(base_store):
    path, (_, run_id) = base_store
    run = load_run(path, run_id)
    files = downloads(run)
    workbook = load_workbook(io.BytesIO(files["documents_xlsx"]))
    sheet = workbook["documents"]
    header = [cell.value for cell in sheet[1]]
    text_column = header.index(S.TEXT)
    cells = [row[text_column] for row in sheet.iter_rows(min_row=2)]
    assert [cell.value for cell in cells] == run.documents[S.TEXT].tolist()
    formula_like = [cell for cell in cells if str(cell.value).startswith(("=", "+", "-", "@"))]
    assert len(formula_like) == len(FORMULA_TEXTS)
    assert {cell.data_type for cell in formula_like} == {"s"}
    outcome_book = load_workbook(io.BytesIO(files["outcomes_xlsx"]))
    assert outcome_book.sheetnames == ["topic_outcomes", "topics"]
    frame = pd.read_excel(io.BytesIO(files["outcomes_xlsx"]), sheet_name="topic_outcomes")
    assert frame[S.TOPIC_ID].tolist() == run.topic_outcomes[S.TOPIC_ID].tolist()


def test_run_list_in_both_languages(base_store):
    path, run_ids = base_store
    english = _export.run_list(path, "en")
    assert english["Run"].tolist() == list(reversed(run_ids))
    assert set(english["Input file"]) == {"tickets.csv"}
    assert set(english["Rows"]) == {"44"}
    assert set(english["Embedding model"]) == {"hashing"}
    chinese = _export.run_list(path, "zh")
    assert list(chinese.columns)[:4] == ["运行", "创建时间（UTC）", "输入文件", "行数"]
    assert all("年" in value for value in chinese["创建时间（UTC）"])


def test_compare_outcomes_side_by_side(base_store):
    path, (earlier, later) = base_store
    first, second = load_run(path, earlier), load_run(path, later)
    table = _export.compare_outcomes(first, second, "en")
    assert table["Topic id"].tolist() == sorted(first.topic_outcomes[S.TOPIC_ID].astype(int))
    assert f"Churn rate · {earlier}" in table.columns
    assert table[f"Customers · {earlier}"].tolist() == table[f"Customers · {later}"].tolist()


def test_page_lists_runs_and_compares(store):
    path, earlier, later = store
    app = runs_page(path, later).run()
    assert not app.exception
    assert app.dataframe[0].value["Run"].tolist() == [later, earlier]
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics["Stable"] != "0"
    assert metrics["New"] == "0"


def test_open_sets_the_run(store):
    path, earlier, later = store
    app = runs_page(path, later).run()
    app.selectbox(key="runs_open_select").set_value(earlier)
    app.button(key="runs_open").click().run()
    assert not app.exception
    assert app.session_state["open_run"] == earlier


def test_delete_asks_then_deletes(store):
    path, earlier, later = store
    app = runs_page(path, later, "zh").run()
    app.selectbox(key="runs_delete_select").set_value(earlier)
    app.button(key="runs_delete").click().run()
    assert not app.exception
    assert earlier in app.warning[0].value
    assert list_runs(path)["run_id"].tolist() == [later, earlier]

    app.button(key="runs_delete_cancel").click().run()
    assert list_runs(path)["run_id"].tolist() == [later, earlier]

    app.selectbox(key="runs_delete_select").set_value(earlier)
    app.button(key="runs_delete").click().run()
    app.button(key="runs_delete_confirm").click().run()
    assert not app.exception
    assert list_runs(path)["run_id"].tolist() == [later]
    assert app.success[0].value == f"运行 {earlier} 已删除。"


def test_page_without_store(tmp_path):
    app = runs_page(tmp_path / "missing.duckdb", None).run()
    assert not app.exception
    assert app.info[0].value


def test_chart_downloads_are_png(base_store, monkeypatch):
    monkeypatch.syspath_prepend(str(UI_DIR))
    import _export as app_export  # as ui/app.py imports it, so that _charts can be found

    path, (_, run_id) = base_store
    files = {download.kind: download for download in app_export.chart_downloads(load_run(path, run_id), "zh")}
    assert {"topic_sizes", "forest_plot"} <= set(files)
    for download in files.values():
        assert download.filename.endswith(".png")
        assert download.make().startswith(b"\x89PNG\r\n\x1a\n")
