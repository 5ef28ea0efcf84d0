"""Viewer upload: analysing a file given as bytes, and the upload limit on the page."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from painpoints.errors import InputDataError
from painpoints.settings import MAX_UPLOAD_MB
from painpoints.store import list_runs, load_run
from ui import _upload, _view

APP_PATH = Path(__file__).resolve().parents[1] / "ui" / "app.py"


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
    with pytest.raises(InputDataError, match=r"工单\.csv.*--event-value"):
        _upload.analyse_upload(data, "工单.csv", tmp_path / "runs.duckdb", embedder=embedder,
                               cache_dir=tmp_path / "cache")


def test_upload_types_cover_formats():
    assert {"csv", "tsv", "xlsx", "parquet", "jsonl"} <= set(_upload.UPLOAD_TYPES)
    assert _upload.embedding_choices()[:1] == ["auto"]
    assert "e5-multilingual" in _upload.embedding_choices()


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
